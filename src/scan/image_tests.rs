use super::*;

fn facts(importability: Importability, scheduled: bool) -> TagFacts {
    TagFacts {
        source: Some("nginx:1.27".into()),
        scheduled,
        importability: Some(importability),
        ..TagFacts::default()
    }
}

fn importable() -> Importability {
    Importability::Importable {
        source: "nginx:1.27".into(),
        registry: "docker.io".into(),
    }
}

fn ran(writes: bool, schedules: bool, over_budget: Option<&str>) -> StreamSeen {
    StreamSeen::Ran {
        writes,
        schedules,
        over_budget: over_budget.map(str::to_string),
    }
}

fn reason(imported: Imported) -> String {
    match imported {
        Imported::NotAtAll { reason } => reason,
        other => panic!("imported {other:?}"),
    }
}

#[test]
fn the_image_matches_however_docker_hub_is_spelt() {
    let query = Query::parse("nginx:1.27").unwrap();
    assert_eq!(query.canonical, "docker.io/library/nginx:1.27");
    for same in [
        "docker.io/library/nginx:1.27",
        "nginx:1.27",
        "index.docker.io/library/nginx:1.27",
        "library/nginx:1.27",
    ] {
        assert!(query.matches(same), "{same}");
    }
    for other in [
        "nginx:1.25",
        "nginx",
        "quay.io/library/nginx:1.27",
        "nginx:1.27.1",
    ] {
        assert!(!query.matches(other), "{other}");
    }
    assert!(Query::parse("UPPER::bad").is_err());
}

#[test]
fn a_tag_is_imported_on_schedule_on_the_next_apply_by_the_poller_or_not_at_all() {
    let seen_nothing = ran(true, false, None);
    assert_eq!(
        imported(&facts(importable(), true), false, &seen_nothing),
        Imported::Scheduled
    );
    // Scheduled by hand although the filters leave it out: OpenShift imports it all the same.
    let filtered = Importability::Filtered("docker.io/library/nginx".into());
    assert_eq!(
        imported(&facts(filtered.clone(), true), false, &seen_nothing),
        Imported::Scheduled
    );
    assert!(
        reason(imported(&facts(filtered, false), false, &seen_nothing))
            .contains("docker.io/library/nginx is left out by the repository filters")
    );
    assert_eq!(
        imported(&facts(importable(), false), true, &seen_nothing),
        Imported::Polled
    );
    assert_eq!(
        imported(&facts(importable(), false), false, &ran(true, true, None)),
        Imported::ScheduledOnNextApply
    );
    assert!(
        reason(imported(
            &facts(importable(), false),
            false,
            &ran(false, true, None)
        ))
        .contains("audited")
    );
    let budget = ran(true, false, Some("docker.io would reach 72 pulls/6h"));
    assert_eq!(
        reason(imported(&facts(importable(), false), false, &budget)),
        "not scheduled: pull budget: docker.io would reach 72 pulls/6h"
    );
    let out = StreamSeen::OutOfScope("namespace openshift is excluded".into());
    assert!(
        reason(imported(&facts(importable(), false), false, &out))
            .contains("out of the webhook's scope (namespace openshift is excluded)")
    );
    let own = Importability::OwnRegistry("registry.apps.example.com".into());
    assert!(
        reason(imported(&facts(own, false), true, &seen_nothing))
            .contains("cluster's own registry (registry.apps.example.com)")
    );
}

fn tag() -> TagRef {
    TagRef {
        namespace: "shop".into(),
        stream: "web".into(),
        tag: "1.27".into(),
    }
}

fn trigger(automatic: bool) -> view::StoredTrigger {
    view::StoredTrigger {
        tag: tag(),
        automatic,
        sole: true,
    }
}

fn object(writes: bool, would_change: bool) -> ObjectSeen<'static> {
    ObjectSeen {
        kind_name: "Deployment",
        triggers: StoredTriggers::Usable(BTreeMap::new()),
        writes,
        would_change,
        out_of_scope: None,
        status_label: Status::WouldChange.label(),
        verdict_detail: String::new(),
    }
}

fn tags(imported: Imported) -> BTreeMap<TagRef, Reach> {
    let reach = Reach {
        imported,
        tracks: Vec::new(),
    };
    BTreeMap::from([(tag(), reach)])
}

fn following<'a>(
    now: Option<&'a view::StoredTrigger>,
    after: Option<&'a view::StoredTrigger>,
    binding: Option<&'a ContainerBinding>,
) -> Following<'a> {
    Following {
        now,
        after,
        binding,
        runs_it: false,
    }
}

type Decided = Option<(Option<String>, Redeploys, Option<&'static str>, String)>;

fn decided(
    following: &Following<'_>,
    kind: Kind,
    object: &ObjectSeen<'_>,
    tags: &BTreeMap<TagRef, Reach>,
) -> Decided {
    decide(following, kind, object, tags)
        .map(|(tag, redeploys, when, reason)| (tag.map(|t| label(&t)), redeploys, when, reason))
}

#[test]
fn a_container_redeploys_now_after_the_next_apply_or_not_and_says_why() {
    let (on, off) = (trigger(true), trigger(false));
    let scheduled = tags(Imported::Scheduled);
    let yes = decided(
        &following(Some(&on), None, None),
        Kind::Deployment,
        &object(false, false),
        &scheduled,
    );
    assert_eq!(
        yes,
        Some((
            Some("shop/web:1.27".into()),
            Redeploys::Yes,
            Some(EVERY_15_MINUTES),
            String::new()
        ))
    );
    let paused = decided(
        &following(Some(&off), None, None),
        Kind::Deployment,
        &object(false, false),
        &scheduled,
    )
    .unwrap();
    assert_eq!(
        (paused.1, paused.3.as_str()),
        (Redeploys::No, "its trigger for web:1.27 is paused")
    );
    let manual = decided(
        &following(Some(&off), None, None),
        Kind::DeploymentConfig,
        &object(false, false),
        &scheduled,
    )
    .unwrap();
    assert!(manual.3.contains("automatic: false"), "{manual:?}");
    // The webhook resumes it on the next apply.
    let resumed = decided(
        &following(Some(&off), Some(&on), None),
        Kind::Deployment,
        &object(true, true),
        &scheduled,
    )
    .unwrap();
    assert_eq!(resumed.1, Redeploys::AfterTheNextApply);
    // A trigger the webhook adds, on a tag it schedules with the stream's next apply: both.
    let both = decided(
        &following(None, Some(&on), None),
        Kind::Deployment,
        &object(true, true),
        &tags(Imported::ScheduledOnNextApply),
    )
    .unwrap();
    assert_eq!(both.1, Redeploys::AfterTheNextApply);
    assert!(
        both.3
            .contains("adds the trigger for web:1.27 on the Deployment's next apply")
            && both.3.contains("on its ImageStream's next apply"),
        "{both:?}"
    );
    // Automatic, but the tag is never re-imported.
    let never = tags(Imported::NotAtAll {
        reason: "its source is pinned to a digest".into(),
    });
    let stuck = decided(
        &following(Some(&on), None, None),
        Kind::Deployment,
        &object(false, false),
        &never,
    )
    .unwrap();
    assert_eq!((stuck.1, stuck.2), (Redeploys::No, None));
    assert_eq!(
        stuck.3,
        "shop/web:1.27 is never re-imported: its source is pinned to a digest"
    );
    // Bound by the engine in an audited object: the trigger is only reported.
    let bound = ContainerBinding {
        pointer: "/spec/template/spec/containers/0".into(),
        container: "main".into(),
        tag: Some(tag()),
        kind: BindingKind::ExternalReference,
    };
    let audited = decided(
        &following(None, None, Some(&bound)),
        Kind::Deployment,
        &object(false, true),
        &scheduled,
    )
    .unwrap();
    assert_eq!(audited.1, Redeploys::No);
    assert!(audited.3.contains("audited"), "{audited:?}");
    // Neither following a matching tag nor running the image: not reached.
    assert_eq!(
        decided(
            &following(None, None, None),
            Kind::Deployment,
            &object(false, false),
            &scheduled
        ),
        None
    );
}

fn tag_ref(namespace: &str, stream: &str, tag: &str) -> TagRef {
    TagRef {
        namespace: namespace.into(),
        stream: stream.into(),
        tag: tag.into(),
    }
}

fn tracking(tracker: &TagRef, source: &TagRef) -> Tracking {
    Tracking {
        tag: tracker.tag.clone(),
        source: source.clone(),
        follows: source.namespace == tracker.namespace && source.stream == tracker.stream,
    }
}

#[test]
fn a_tracking_tag_moves_with_a_source_of_its_own_stream_and_never_with_another() {
    let importing = tag_ref("shop", "web", "1.27");
    let root = Reach {
        imported: Imported::Scheduled,
        tracks: Vec::new(),
    };
    // web:stable tracks web:1.27: it moves, on its schedule.
    let stable = tag_ref("shop", "web", "stable");
    let first = tracked(&tracking(&stable, &importing), &stable, &root);
    assert_eq!(first.imported, Imported::Scheduled);
    assert_eq!(first.tracks, vec![importing.clone()]);
    assert_eq!(first.importing(&stable), &importing);
    // web:prod tracks web:stable: OpenShift may leave it behind, and so what tracks it.
    let prod = tag_ref("shop", "web", "prod");
    let second = tracked(&tracking(&prod, &stable), &prod, &first);
    assert_eq!(
        second.imported,
        Imported::NotReliably {
            reason: "it tracks web:stable, itself a tracking tag: OpenShift copies a new image \
                     down a chain of tracking tags in one pass over the stream's tags, in no set \
                     order, so this tag may keep an old image (track web:1.27 itself)"
                .into()
        }
    );
    assert_eq!(second.tracks, vec![stable.clone(), importing.clone()]);
    assert_eq!(second.importing(&prod), &importing);
    let third = tag_ref("shop", "web", "canary");
    let deeper = tracked(&tracking(&third, &prod), &third, &second);
    assert!(matches!(deeper.imported, Imported::NotReliably { .. }));
    assert_eq!(deeper.tracks.len(), 3);
    assert_eq!(
        deeper.imported.label().split_once(':').unwrap().0,
        "not reliably"
    );
    // Polled, or scheduled by the webhook's next apply: the same for the tags tracking it.
    for moving in [Imported::Polled, Imported::ScheduledOnNextApply] {
        let source = Reach {
            imported: moving.clone(),
            tracks: Vec::new(),
        };
        let reached = tracked(&tracking(&stable, &importing), &stable, &source);
        assert_eq!(reached.imported, moving);
    }
    // Another stream, another namespace: copied once, when the tag was written.
    let copy = tag_ref("shop", "mirror", "copy");
    assert_eq!(
        reason(tracked(&tracking(&copy, &importing), &copy, &root).imported),
        "it tracks web:1.27 in another ImageStream: OpenShift copies that tag's image into it \
         only when this tag is written (oc tag), never when it moves"
    );
    let away = tag_ref("base", "web", "1.27");
    assert!(
        reason(tracked(&tracking(&away, &importing), &away, &root).imported)
            .starts_with("it tracks shop/web:1.27 in another namespace: "),
    );
    // A source never re-imported: nor is the tag tracking it, and it says why.
    let pinned = Reach {
        imported: Imported::NotAtAll {
            reason: "its source is pinned to a digest".into(),
        },
        tracks: Vec::new(),
    };
    assert_eq!(
        reason(tracked(&tracking(&stable, &importing), &stable, &pinned).imported),
        "it tracks web:1.27, which is never re-imported: its source is pinned to a digest"
    );
}

#[test]
fn a_container_on_a_tracking_tag_waits_for_the_importing_tag_to_be_scheduled() {
    let importing = tag();
    let stable = tag_ref("shop", "web", "stable");
    let tags = BTreeMap::from([
        (
            importing.clone(),
            Reach {
                imported: Imported::ScheduledOnNextApply,
                tracks: Vec::new(),
            },
        ),
        (
            stable.clone(),
            Reach {
                imported: Imported::ScheduledOnNextApply,
                tracks: vec![importing],
            },
        ),
    ]);
    let on = view::StoredTrigger {
        tag: stable,
        automatic: true,
        sole: true,
    };
    let waits = decided(
        &following(Some(&on), None, None),
        Kind::Deployment,
        &object(false, false),
        &tags,
    )
    .unwrap();
    assert_eq!(
        waits,
        (
            Some("shop/web:stable".into()),
            Redeploys::AfterTheNextApply,
            Some(EVERY_15_MINUTES),
            "the webhook schedules shop/web:1.27 on its ImageStream's next apply".into()
        )
    );
}

#[test]
fn the_source_column_shows_the_chain_down_to_the_imported_image() {
    let answer = |tracks: &[&str]| TagAnswer {
        namespace: "shop".into(),
        stream: "web".into(),
        tag: "prod".into(),
        source: "nginx:1.27".into(),
        tracks: tracks.iter().map(|t| t.to_string()).collect(),
        imported: Imported::Scheduled,
        import_failing: None,
    };
    assert_eq!(answer(&[]).source_label(), "nginx:1.27");
    assert_eq!(
        answer(&["shop/web:stable", "base/lib:1.27"]).source_label(),
        "tracks web:stable, which tracks base/lib:1.27, which imports nginx:1.27"
    );
}
