//! The live catalog against a fake API server on loopback: the first list makes it synced and
//! answers lookups; watch events, watch errors, 410 Gone (relist) and failing lists are
//! reflected in the snapshot and the status, and the last good index survives every failure.

use std::time::Duration;

use autoredeploy::catalog::budget::Replaced;
use autoredeploy::catalog::watch::{LiveCatalog, WatchOptions};
use autoredeploy::catalog::{Catalog, TagRef};
use autoredeploy::testing::fake_api::FakeApi;
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(20);

/// A realistic ImageStream: DockerImage spec tags, imported status items, server metadata.
fn image_stream(namespace: &str, name: &str, tags: &[(&str, &str, &str)]) -> Value {
    let registry = "image-registry.openshift-image-registry.svc:5000";
    let spec_tags: Vec<Value> = tags
        .iter()
        .map(|(tag, from, _)| {
            json!({"name": tag, "annotations": null, "generation": 2,
                "from": {"kind": "DockerImage", "name": from},
                "importPolicy": {"scheduled": true, "importMode": "Legacy"},
                "referencePolicy": {"type": "Source"}})
        })
        .collect();
    let status_tags: Vec<Value> = tags
        .iter()
        .map(|(tag, from, digest)| {
            let repository = from.rsplit_once(':').map_or(*from, |(repo, _)| repo);
            json!({"tag": tag, "items": [{"created": "2025-05-01T10:00:00Z", "generation": 2,
                "dockerImageReference": format!("{repository}@{digest}"), "image": digest}]})
        })
        .collect();
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{namespace}-{name}"),
            "generation": 2, "creationTimestamp": "2025-05-01T09:59:00Z",
            "annotations": {"openshift.io/image.dockerRepositoryCheck": "2025-05-01T10:00:00Z"},
            "managedFields": [{"manager": "oc", "operation": "Update", "apiVersion": "image.openshift.io/v1"}]},
        "spec": {"lookupPolicy": {"local": false}, "tags": spec_tags},
        "status": {"dockerImageRepository": format!("{registry}/{namespace}/{name}"), "tags": status_tags}})
}

fn fixtures() -> Vec<Value> {
    vec![
        image_stream(
            "shop",
            "nginx",
            &[
                ("1.25", "docker.io/library/nginx:1.25", "sha256:aaa1"),
                ("latest", "nginx", "sha256:aaa2"),
            ],
        ),
        image_stream("shop", "app", &[("1", "quay.io/org/app:1", "sha256:bbb1")]),
        image_stream("tools", "cli", &[("4", "quay.io/org/cli:4", "sha256:ccc1")]),
        image_stream("other", "db", &[("16", "postgres:16", "sha256:ddd1")]),
    ]
}

fn start_catalog(api: &FakeApi, namespaces: &[&str]) -> LiveCatalog {
    let options = WatchOptions {
        namespaces: namespaces.iter().map(|ns| ns.to_string()).collect(),
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        ..WatchOptions::default()
    };
    LiveCatalog::spawn_with(api.client(), options)
}

/// Poll `condition` until it holds, failing after [`DEADLINE`].
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Synced, with a watch open so later events reach the catalog.
async fn synced_catalog(api: &FakeApi, namespaces: &[&str]) -> LiveCatalog {
    let catalog = start_catalog(api, namespaces);
    eventually("first sync", || catalog.status().is_synced()).await;
    let watches = namespaces.len().max(1);
    eventually("open watches", || api.open_watches() == watches).await;
    catalog
}

fn tag_ref(namespace: &str, stream: &str, tag: &str) -> TagRef {
    TagRef {
        namespace: namespace.into(),
        stream: stream.into(),
        tag: tag.into(),
    }
}

#[tokio::test]
async fn first_list_syncs_and_answers_lookups() {
    let api = FakeApi::start(fixtures()).await;
    let catalog = synced_catalog(&api, &[]).await;
    let status = catalog.status();
    assert_eq!(status.streams(), 4);
    assert_eq!(status.relists(), 1);
    assert!(status.last_sync_unix().is_some());
    assert_eq!(status.errors(), 0);

    let snapshot = catalog.snapshot();
    assert_eq!(snapshot.len(), 4);
    assert!(snapshot.has_stream("shop", "app"));
    assert!(!snapshot.has_stream("tools", "app"));
    let found = snapshot.find_external("shop", "docker.io/library/nginx:latest");
    assert_eq!(found, Some(tag_ref("shop", "nginx", "latest")));
    let state = snapshot
        .tag_state("shop", "nginx", "1.25")
        .expect("tag known");
    assert_eq!(
        state.source.as_deref(),
        Some("docker.io/library/nginx:1.25")
    );
    assert_eq!(
        state.resolved.as_deref(),
        Some("docker.io/library/nginx@sha256:aaa1")
    );
    catalog.stop();
}

#[tokio::test]
async fn added_modified_and_deleted_events_are_reflected() {
    let api = FakeApi::start(fixtures()).await;
    let catalog = synced_catalog(&api, &[]).await;

    api.apply(image_stream(
        "shop",
        "redis",
        &[("7", "redis:7", "sha256:eee1")],
    ));
    eventually("added stream", || {
        catalog.snapshot().has_stream("shop", "redis")
    })
    .await;

    api.apply(image_stream(
        "shop",
        "app",
        &[("1", "quay.io/org/app:1", "sha256:bbb2")],
    ));
    eventually("modified digest", || {
        let state = catalog.snapshot().tag_state("shop", "app", "1");
        state.and_then(|s| s.resolved).as_deref() == Some("quay.io/org/app@sha256:bbb2")
    })
    .await;

    api.delete("ImageStream", "shop", "nginx");
    eventually("deleted stream", || {
        !catalog.snapshot().has_stream("shop", "nginx")
    })
    .await;
    let snapshot = catalog.snapshot();
    assert_eq!(
        snapshot.find_external("shop", "docker.io/library/nginx:latest"),
        None
    );
    assert_eq!(snapshot.len(), 4);
    assert_eq!(catalog.status().streams(), 4);
    assert_eq!(catalog.status().events(), 3);
    catalog.stop();
}

#[tokio::test]
async fn projected_registry_totals_follow_watch_events() {
    let api = FakeApi::start(fixtures()).await;
    let catalog = synced_catalog(&api, &[]).await;
    let pulls = |registry: &str| {
        catalog
            .snapshot()
            .scheduled_pulls(registry, &Replaced::Nothing)
    };
    // nginx:1.25, nginx:latest and postgres:16 are Docker Hub; app and cli are quay.io.
    assert_eq!((pulls("docker.io"), pulls("quay.io")), (3, 2));
    let snapshot = catalog.snapshot();
    let nginx = Replaced::Stream {
        namespace: "shop",
        stream: "nginx",
    };
    assert_eq!(snapshot.scheduled_pulls("docker.io", &nginx), 1);
    assert_eq!(snapshot.usage().get("docker.io").scheduled_tags, 3);

    api.apply(image_stream(
        "tools",
        "redis",
        &[
            ("7", "redis:7", "sha256:eee1"),
            ("8", "redis:8", "sha256:eee2"),
        ],
    ));
    eventually("added stream counted", || pulls("docker.io") == 5).await;

    api.apply(image_stream(
        "shop",
        "app",
        &[("1", "registry-1.docker.io/org/app:1", "sha256:bbb2")],
    ));
    eventually("moved tag counted on its new registry", || {
        pulls("docker.io") == 6 && pulls("quay.io") == 1
    })
    .await;

    api.delete("ImageStream", "shop", "nginx");
    eventually("deleted stream uncounted", || pulls("docker.io") == 4).await;
    catalog.stop();
}

#[tokio::test]
async fn watch_error_event_is_counted_and_the_watch_goes_on() {
    let api = FakeApi::start(fixtures()).await;
    let catalog = synced_catalog(&api, &[]).await;

    api.watch_error(500, "InternalError");
    eventually("counted error", || catalog.status().errors() == 1).await;
    assert!(
        catalog
            .status()
            .last_error()
            .is_some_and(|e| e.contains("fake InternalError"))
    );

    api.apply(image_stream(
        "shop",
        "redis",
        &[("7", "redis:7", "sha256:eee1")],
    ));
    eventually("event after the error", || {
        catalog.snapshot().has_stream("shop", "redis")
    })
    .await;
    assert_eq!(catalog.snapshot().len(), 5);
    assert!(catalog.status().is_synced());
    catalog.stop();
}

#[tokio::test]
async fn gone_watch_relists_and_drops_streams_deleted_meanwhile() {
    let api = FakeApi::start(fixtures()).await;
    let catalog = synced_catalog(&api, &[]).await;

    api.delete_unseen("ImageStream", "other", "db");
    api.watch_error(410, "Expired");
    eventually("relist", || catalog.status().relists() == 2).await;
    let snapshot = catalog.snapshot();
    assert!(!snapshot.has_stream("other", "db"));
    assert_eq!(snapshot.len(), 3);
    assert_eq!(catalog.status().streams(), 3);
    assert_eq!(api.lists_served(), 2);
    catalog.stop();
}

#[tokio::test]
async fn failing_lists_are_retried_and_the_old_index_is_kept() {
    let api = FakeApi::start(fixtures()).await;
    let catalog = synced_catalog(&api, &[]).await;

    api.fail_lists(true);
    api.delete_unseen("ImageStream", "shop", "app");
    api.watch_error(410, "Expired");
    eventually("three failed lists", || api.lists_failed() >= 3).await;
    let status = catalog.status();
    assert!(status.errors() >= 3, "410 and failed lists are counted");
    assert!(status.is_synced(), "the last good index keeps being served");
    assert!(catalog.snapshot().has_stream("shop", "app"));
    assert_eq!(status.streams(), 4);

    api.fail_lists(false);
    eventually("recovered relist", || catalog.status().relists() == 2).await;
    assert!(!catalog.snapshot().has_stream("shop", "app"));
    assert_eq!(catalog.status().streams(), 3);
    catalog.stop();
}

#[tokio::test]
async fn first_list_failure_is_not_synced_until_a_list_succeeds() {
    let api = FakeApi::start(fixtures()).await;
    api.fail_lists(true);
    let catalog = start_catalog(&api, &[]);
    eventually("failed lists", || api.lists_failed() >= 2).await;
    assert!(!catalog.status().is_synced());
    assert!(catalog.status().last_sync_unix().is_none());
    assert!(catalog.snapshot().is_empty());

    api.fail_lists(false);
    eventually("sync after recovery", || catalog.status().is_synced()).await;
    assert_eq!(catalog.snapshot().len(), 4);
    assert!(catalog.status().errors() >= 2);
    catalog.stop();
}

#[tokio::test]
async fn listed_namespaces_each_get_a_watcher_and_nothing_else_is_cached() {
    let api = FakeApi::start(fixtures()).await;
    let catalog = synced_catalog(&api, &["shop", "tools"]).await;
    let snapshot = catalog.snapshot();
    assert_eq!(snapshot.len(), 3);
    assert_eq!(snapshot.namespace_count(), 2);
    assert!(!snapshot.has_stream("other", "db"));
    assert_eq!(catalog.status().relists(), 2);

    api.apply(image_stream(
        "other",
        "cache",
        &[("1", "memcached:1", "sha256:fff1")],
    ));
    api.apply(image_stream(
        "tools",
        "jq",
        &[("1", "quay.io/org/jq:1", "sha256:fff2")],
    ));
    eventually("event in a watched namespace", || {
        catalog.snapshot().has_stream("tools", "jq")
    })
    .await;
    assert!(!catalog.snapshot().has_stream("other", "cache"));

    api.delete_unseen("ImageStream", "tools", "cli");
    api.watch_error(410, "Expired");
    eventually("both namespaces relisted", || {
        catalog.status().relists() == 4
    })
    .await;
    let snapshot = catalog.snapshot();
    assert!(!snapshot.has_stream("tools", "cli"));
    assert!(snapshot.has_stream("shop", "nginx"));
    assert_eq!(snapshot.len(), 3);
    catalog.stop();
}
