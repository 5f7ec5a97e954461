//! Do no harm, judged by what OpenShift's trigger and DeploymentConfig controllers do next.

use crate::Story;
use crate::stories::seed::image_change_trigger;
use crate::support::*;

pub const STORIES: &[Story] = &[
    Story {
        name: "harm::image_bump_sticks",
        exclusive: false,
        run: image_bump_sticks,
    },
    Story {
        name: "harm::dc_with_unmatched_short_name_deploys",
        exclusive: false,
        run: dc_with_unmatched_short_name_deploys,
    },
    Story {
        name: "harm::own_tag_image_rolls_out_once",
        exclusive: false,
        run: own_tag_image_rolls_out_once,
    },
    Story {
        name: "harm::untracked_bump_sticks",
        exclusive: false,
        run: untracked_bump_sticks,
    },
    Story {
        name: "harm::operator_owned_is_left_alone",
        exclusive: false,
        run: operator_owned_is_left_alone,
    },
    Story {
        name: "harm::foreign_digest_pin_sticks",
        exclusive: false,
        run: foreign_digest_pin_sticks,
    },
    Story {
        name: "harm::image_policy_short_name_gets_its_trigger",
        exclusive: false,
        run: image_policy_short_name_gets_its_trigger,
    },
    Story {
        name: "harm::image_policy_resolve_names_gets_its_trigger",
        exclusive: false,
        run: image_policy_resolve_names_gets_its_trigger,
    },
    Story {
        name: "harm::short_name_in_default_stays_docker_hubs",
        exclusive: false,
        run: short_name_in_default_stays_docker_hubs,
    },
];

/// A user bumps `quay.io/acme/app:1` to `quay.io/acme/app:2` in a Deployment the webhook gave a
/// trigger for `app:1`: the trigger follows `app:2`, the Deployment runs tag 2's image, and a
/// later push to tag 1 does not bring the old image back.
fn image_bump_sticks(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    kube.apply(&imagestream(
        ns,
        "app",
        &[("1", "quay.io/acme/app:1"), ("2", "quay.io/acme/app:2")],
    ));
    let one = push(ns, "app", "1", "quay.io/acme/app");
    let two = push(ns, "app", "2", "quay.io/acme/app");
    wait_catalog(ns, "quay.io/acme/app:1", Some(&one));
    wait_catalog(ns, "quay.io/acme/app:2", Some(&two));
    kube.apply(&deployment(ns, "web", "quay.io/acme/app:1"));
    // A fence: a second Deployment that keeps following tag 1.
    kube.apply(&deployment(ns, "fence", "quay.io/acme/app:1"));
    let stored = kube.must_get(ns, "deployment", "web");
    assert_eq!(image_of(&stored), one);

    kube.apply(&deployment(ns, "web", "quay.io/acme/app:2"));
    // A push to tag 1: the fence follows it; web, which no longer follows tag 1, does not.
    // Once the trigger controller has handled the push it has also handled the bump.
    let one_again = push(ns, "app", "1", "quay.io/acme/app");
    kube.wait_for(ns, "deployment", "fence", "tag 1's new image", REACT, |d| {
        (image_of(d) == one_again).then_some(())
    });
    let stored = kube.must_get(ns, "deployment", "web");
    assert_eq!(image_of(&stored), two, "the bump to tag 2 stuck");
    let entries = annotation_triggers(&stored);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        entries[0]["from"]["name"], "app:2",
        "the trigger follows the new tag"
    );
}

/// A DeploymentConfig whose short name matches no tag gets no trigger (a trigger on a missing
/// tag would hold every rollout), so the DC controller deploys it.
fn dc_with_unmatched_short_name_deploys(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    // A stream `hello` with only tag 1.0: `hello` means hello:latest, which it lacks.
    kube.apply(&imagestream(
        ns,
        "hello",
        &[("1.0", "quay.io/acme/hello:1.0")],
    ));
    let pushed = push(ns, "hello", "1.0", "quay.io/acme/hello");
    wait_catalog(ns, "quay.io/acme/hello:1.0", Some(&pushed));
    for (name, image) in [("hello", "hello"), ("nostream", "nostream:1")] {
        let out = kube.apply(&deploymentconfig(ns, name, image));
        let stored = kube.wait_for(ns, "dc", name, "its first rollout", REACT, |dc| {
            (latest_version(dc) >= 1).then(|| dc.clone())
        });
        assert!(
            image_change_trigger(&stored).is_none(),
            "no trigger for {image}: {stored}"
        );
        assert_eq!(image_of(&stored), image, "the image is left as written");
        if name == "hello" {
            assert!(
                out.warnings()
                    .iter()
                    .any(|w| w.contains("is not bound to ImageStream hello")),
                "the user is told why: {:?}",
                out.warnings()
            );
        }
    }
}

/// A fence for stories that assert a trigger did *not* act: a Deployment `fence` following
/// `source` (the stream's tag `stream:tag`), and a push to that tag it must follow. Once it
/// has, the trigger controller has handled the push for every object of the namespace.
fn fence_push(ns: &str, stream: &str, tag: &str, repository: &str) -> String {
    let kube = &env().kube;
    let pushed = push(ns, stream, tag, repository);
    kube.wait_for(
        ns,
        "deployment",
        "fence",
        "the fence to follow the push",
        REACT,
        |d| (image_of(d) == pushed).then_some(()),
    );
    pushed
}

/// The classic template: a DeploymentConfig with `image: hello:latest` under its own
/// ImageChange trigger for `hello:latest`, and a Deployment written the same way. Created,
/// each rolls out once to the pushed image, with no stale-trigger warning; re-applied, neither
/// rolls out again.
fn own_tag_image_rolls_out_once(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    kube.apply(&imagestream(
        ns,
        "hello",
        &[("latest", "quay.io/acme/hello:latest")],
    ));
    let pushed = push(ns, "hello", "latest", "quay.io/acme/hello");
    wait_catalog(ns, "quay.io/acme/hello:latest", Some(&pushed));
    let mut dc = deploymentconfig(ns, "api", "hello:latest");
    dc["spec"]["triggers"] = serde_json::json!([
        {"type": "ConfigChange"},
        {"type": "ImageChange", "imageChangeParams": {"automatic": true,
            "containerNames": ["web"], "from": {"kind": "ImageStreamTag", "name": "hello:latest"}}}
    ]);
    let mut web = deployment(ns, "web", "hello:latest");
    web["metadata"]["annotations"] = serde_json::json!({TRIGGERS: serde_json::json!([
        {"from": {"kind": "ImageStreamTag", "name": "hello:latest"},
         "fieldPath": "spec.template.spec.containers[?(@.name==\"web\")].image"}]).to_string()});
    for object in [&dc, &web] {
        let out = kube.apply(object);
        assert!(
            !out.warnings()
                .iter()
                .any(|w| w.contains("will write that tag's image back")),
            "a false stale-trigger warning: {:?}",
            out.warnings()
        );
    }
    let stored = kube.wait_for(ns, "dc", "api", "its first rollout", REACT, |dc| {
        (latest_version(dc) >= 1 && image_of(dc) == pushed).then(|| dc.clone())
    });
    assert_eq!(
        latest_version(&stored),
        1,
        "one rollout, straight to the image"
    );
    kube.wait_for(ns, "deployment", "web", "the pushed image", REACT, |d| {
        (image_of(d) == pushed).then_some(())
    });
    for _ in 0..2 {
        kube.apply(&dc);
        kube.apply(&web);
    }
    let seen = kube.must_get(ns, "dc", "api");
    assert_eq!(
        seen["spec"]["template"], stored["spec"]["template"],
        "the template changed"
    );
    controllers_caught_up(ns);
    let seen = kube.must_get(ns, "dc", "api");
    assert_eq!(replicationcontrollers(ns, "api").len(), 1);
    assert_eq!(
        latest_version(&seen),
        1,
        "re-applying the template rolled the DC out"
    );
    assert_eq!(image_of(&kube.must_get(ns, "deployment", "web")), pushed);
    assert_eq!(
        replicasets(ns, "web").len(),
        1,
        "re-applying rolled the Deployment out"
    );
}

/// A Deployment the webhook gave a trigger for `app:latest`; the user (or Argo CD self-heal)
/// changes the image to one no stream tracks. The new image sticks: the trigger the webhook
/// wrote no longer writes the old tag's image back after the next push.
fn untracked_bump_sticks(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    kube.apply(&imagestream(
        ns,
        "app",
        &[("latest", "quay.io/acme/app:latest")],
    ));
    let pushed = push(ns, "app", "latest", "quay.io/acme/app");
    wait_catalog(ns, "quay.io/acme/app:latest", Some(&pushed));
    kube.apply(&deployment(ns, "web", "quay.io/acme/app:latest"));
    kube.apply(&deployment(ns, "fence", "quay.io/acme/app:latest"));
    assert_eq!(
        annotation_triggers(&kube.must_get(ns, "deployment", "web")).len(),
        1
    );

    kube.apply(&deployment(ns, "web", "quay.io/acme/untracked:9"));
    fence_push(ns, "app", "latest", "quay.io/acme/app");
    let stored = kube.must_get(ns, "deployment", "web");
    assert_eq!(
        image_of(&stored),
        "quay.io/acme/untracked:9",
        "the bump was reverted"
    );
    // Re-applying Git's manifest again (a GitOps reconcile) changes nothing more.
    let template = stored["spec"]["template"].clone();
    kube.apply(&deployment(ns, "web", "quay.io/acme/untracked:9"));
    fence_push(ns, "app", "latest", "quay.io/acme/app");
    let stored = kube.must_get(ns, "deployment", "web");
    assert_eq!(stored["spec"]["template"], template);
    assert_eq!(
        replicasets(ns, "web").len(),
        2,
        "one rollout for the bump, none after"
    );
}

/// A Deployment with a controller ownerReference (an operator's) is left alone by the
/// webhook: no trigger, no digest, no pull-policy change, and the user is told why.
fn operator_owned_is_left_alone(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    kube.apply(&imagestream(
        ns,
        "app",
        &[("latest", "quay.io/acme/app:latest")],
    ));
    let pushed = push(ns, "app", "latest", "quay.io/acme/app");
    wait_catalog(ns, "quay.io/acme/app:latest", Some(&pushed));
    // The owner must exist, or the garbage collector deletes what it owns.
    let owner = kube
        .create(&serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "operator-cr", "namespace": ns}}))
        .stdout;
    assert!(!owner.is_empty());
    let uid = kube.must_get(ns, "configmap", "operator-cr")["metadata"]["uid"].clone();
    let mut web = deployment(ns, "web", "quay.io/acme/app:latest");
    web["metadata"]["ownerReferences"] = serde_json::json!([{"apiVersion": "v1",
        "kind": "ConfigMap", "name": "operator-cr", "uid": uid, "controller": true}]);
    let out = kube.create(&web);
    let stored = kube.must_get(ns, "deployment", "web");
    assert!(
        annotation_triggers(&stored).is_empty(),
        "an owned Deployment got a trigger"
    );
    assert_eq!(image_of(&stored), "quay.io/acme/app:latest");
    assert_eq!(
        stored["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "Always",
        "the pull policy the API server defaulted stays"
    );
    assert!(
        out.warnings().iter().any(|w| w.contains("operator-cr")),
        "the warning names the owner: {:?}",
        out.warnings()
    );
    // scan --fix leaves it alone too.
    let (code, out, err) = autoredeploy(&["scan", "-n", ns, "--fix"]);
    assert!(code == 0 || code == 1, "{out}{err}");
    assert!(annotation_triggers(&kube.must_get(ns, "deployment", "web")).is_empty());
}

/// A container pinned to another repository's digest under the trigger the webhook wrote
/// for `app:latest` keeps that digest after the next push: the trigger controller never swaps
/// in a different product.
fn foreign_digest_pin_sticks(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    kube.apply(&imagestream(
        ns,
        "app",
        &[("latest", "quay.io/acme/app:latest")],
    ));
    let pushed = push(ns, "app", "latest", "quay.io/acme/app");
    wait_catalog(ns, "quay.io/acme/app:latest", Some(&pushed));
    kube.apply(&deployment(ns, "web", "quay.io/acme/app:latest"));
    kube.apply(&deployment(ns, "fence", "quay.io/acme/app:latest"));
    let pin = format!("quay.io/other/product@sha256:{}", kube::random_hex64());
    kube.apply(&deployment(ns, "web", &pin));
    fence_push(ns, "app", "latest", "quay.io/acme/app");
    let stored = kube.must_get(ns, "deployment", "web");
    assert_eq!(
        image_of(&stored),
        pin,
        "the pin was replaced by another product"
    );
}

/// OpenShift's ImagePolicy admission rewrites `image: myapp` (a stream with
/// `lookupPolicy.local`) to the tag's digest before the webhook sees it; the webhook still
/// binds it, so the next push rolls it out.
fn image_policy_short_name_gets_its_trigger(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    let mut stream = imagestream(ns, "myapp", &[("latest", "quay.io/acme/myapp:latest")]);
    stream["spec"]["lookupPolicy"] = serde_json::json!({"local": true});
    kube.apply(&stream);
    let first = push(ns, "myapp", "latest", "quay.io/acme/myapp");
    wait_catalog(ns, "quay.io/acme/myapp:latest", Some(&first));
    kube.apply(&deployment(ns, "web", "myapp"));
    let stored = kube.must_get(ns, "deployment", "web");
    assert_eq!(
        image_of(&stored),
        first,
        "ImagePolicy admission resolved the short name"
    );
    let entries = annotation_triggers(&stored);
    assert_eq!(entries.len(), 1, "the short name got its trigger: {stored}");
    assert_eq!(entries[0]["from"]["name"], "myapp:latest");
    let second = push(ns, "myapp", "latest", "quay.io/acme/myapp");
    kube.wait_for(ns, "deployment", "web", "the pushed image", REACT, |d| {
        (image_of(d) == second).then_some(())
    });
    // Re-applying `image: myapp` rolls nothing out.
    let template = kube.must_get(ns, "deployment", "web")["spec"]["template"].clone();
    kube.apply(&deployment(ns, "web", "myapp"));
    assert_eq!(
        kube.must_get(ns, "deployment", "web")["spec"]["template"],
        template
    );
}

/// `oc set image-lookup deploy/web` (`resolve-names: "*"` on the pod template) makes
/// ImagePolicy resolve `image: tools` against a stream without `lookupPolicy.local`: the
/// webhook, which sees only the digest, binds it by the last-applied short name, and a push
/// rolls it out.
fn image_policy_resolve_names_gets_its_trigger(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    kube.apply(&imagestream(
        ns,
        "tools",
        &[("latest", "quay.io/acme/tools:latest")],
    ));
    let first = push(ns, "tools", "latest", "quay.io/acme/tools");
    wait_catalog(ns, "quay.io/acme/tools:latest", Some(&first));
    let mut web = deployment(ns, "web", "tools");
    web["spec"]["template"]["metadata"]["annotations"] =
        serde_json::json!({"alpha.image.policy.openshift.io/resolve-names": "*"});
    kube.apply(&web);
    let stored = kube.must_get(ns, "deployment", "web");
    assert_eq!(
        image_of(&stored),
        first,
        "ImagePolicy resolved the short name"
    );
    let entries = annotation_triggers(&stored);
    assert_eq!(entries.len(), 1, "the short name got its trigger: {stored}");
    assert_eq!(entries[0]["from"]["name"], "tools:latest");
    let second = push(ns, "tools", "latest", "quay.io/acme/tools");
    kube.wait_for(ns, "deployment", "web", "the pushed image", REACT, |d| {
        (image_of(d) == second).then_some(())
    });
}

/// kube-apiserver skips OpenShift's ImagePolicy admission in `default` (and the other run-level
/// namespaces it knows by name): a Deployment's `image: NAME:latest` stays Docker Hub's even
/// on a stream with `lookupPolicy.local`, so the webhook binds nothing and a push to the
/// stream changes nothing. openshift-apiserver still resolves a DeploymentConfig's short
/// name there, so the DC gets its trigger and follows the push. Runs in `default` itself,
/// with names of its own, removed at the end.
fn short_name_in_default_stays_docker_hubs(_: &Ns) {
    let kube = &env().kube;
    let ns = "default";
    let suffix = &kube::random_hex64()[..5];
    let stream_name = format!("sn-{suffix}");
    let (web, dc) = (format!("sn-web-{suffix}"), format!("sn-dc-{suffix}"));
    let repository = format!("quay.io/acme/sn-{suffix}");
    let source = format!("{repository}:latest");
    let short = format!("{stream_name}:latest");
    let mut stream = imagestream(ns, &stream_name, &[("latest", &source)]);
    stream["spec"]["lookupPolicy"] = serde_json::json!({"local": true});
    kube.apply(&stream);
    let first = push(ns, &stream_name, "latest", &repository);
    wait_catalog(ns, &source, Some(&first));
    let out = kube.apply(&deployment(ns, &web, &short));
    let stored = kube.must_get(ns, "deployment", &web);
    assert_eq!(image_of(&stored), short, "ImagePolicy left it: {stored}");
    assert!(
        annotation_triggers(&stored).is_empty(),
        "no trigger on a Docker Hub image: {stored}"
    );
    assert!(
        (out.warnings().iter())
            .any(|w| w.contains("does not resolve short names in namespace default")),
        "the user is told why: {:?}",
        out.warnings()
    );
    kube.apply(&deploymentconfig(ns, &dc, &short));
    let stored_dc = kube.must_get(ns, "dc", &dc);
    assert_eq!(
        image_change_trigger(&stored_dc).map(|t| t["imageChangeParams"]["from"]["name"].clone()),
        Some(serde_json::json!(short)),
        "openshift-apiserver resolved the DC's short name, which got its trigger: {stored_dc}"
    );
    let second = push(ns, &stream_name, "latest", &repository);
    kube.wait_for(ns, "dc", &dc, "the DC to follow the push", REACT, |d| {
        (image_of(d) == second).then_some(())
    });
    controllers_caught_up(ns);
    let after = kube.must_get(ns, "deployment", &web);
    assert_eq!(image_of(&after), short, "the push changed nothing: {after}");
    assert_eq!(
        after["metadata"]["generation"],
        stored["metadata"]["generation"]
    );
    let objects = [
        format!("imagestream/{stream_name}"),
        format!("deployment/{web}"),
        format!("dc/{dc}"),
        "deployment/caught-up".to_string(),
        "imagestream/caught-up".to_string(),
    ];
    let mut args = vec!["delete", "-n", ns, "--wait=false", "--ignore-not-found"];
    args.extend(objects.iter().map(String::as_str));
    kube.try_run(&args, None);
}
