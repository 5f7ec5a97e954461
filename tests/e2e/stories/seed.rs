//! The seed's promise: plain manifests get a schedule and triggers; a push rolls out the
//! DeploymentConfig and the Deployment; re-applying the same manifests rolls out nothing; the
//! next push rolls out again.

use serde_json::Value;

use crate::Story;
use crate::support::*;

pub const STORIES: &[Story] = &[Story {
    name: "seed::plain_manifests_redeploy_on_push",
    exclusive: false,
    run: plain_manifests_redeploy_on_push,
}];

const SOURCE: &str = "quay.io/acme/app:latest";
const REPOSITORY: &str = "quay.io/acme/app";

fn plain_manifests_redeploy_on_push(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    let stream = imagestream(ns, "app", &[("latest", SOURCE)]);
    kube.apply(&stream);
    let stored = kube.must_get(ns, "imagestream", "app");
    assert_eq!(
        stored["spec"]["tags"][0]["importPolicy"]["scheduled"], true,
        "the stored stream is scheduled: {stored}"
    );

    let first = push(ns, "app", "latest", REPOSITORY);
    wait_catalog(ns, SOURCE, Some(&first));
    let dc = deploymentconfig(ns, "api", SOURCE);
    let web = deployment(ns, "web", SOURCE);
    kube.apply(&dc);
    kube.apply(&web);

    // The DeploymentConfig: an automatic trigger for app:latest, deployed once, running the
    // pushed image.
    let stored = kube.wait_for(ns, "dc", "api", "its first rollout", REACT, |dc| {
        (latest_version(dc) >= 1).then(|| dc.clone())
    });
    let trigger = image_change_trigger(&stored).expect("an ImageChange trigger");
    assert_eq!(trigger["imageChangeParams"]["from"]["name"], "app:latest");
    assert_eq!(trigger["imageChangeParams"]["automatic"], true);
    assert_eq!(image_of(&stored), first, "the DC runs the pushed image");
    assert_eq!(
        latest_version(&stored),
        1,
        "one rollout, straight to the image"
    );
    // The Deployment: a trigger entry, the pushed image, one ReplicaSet.
    let stored = kube.must_get(ns, "deployment", "web");
    let entries = annotation_triggers(&stored);
    assert_eq!(entries.len(), 1, "one trigger entry: {entries:?}");
    assert_eq!(entries[0]["from"]["name"], "app:latest");
    assert_eq!(image_of(&stored), first);
    eventually("the Deployment's one ReplicaSet", REACT, || {
        (replicasets(ns, "web").len() == 1).then_some(())
    });

    // Re-applying the same manifests rolls out nothing.
    reapply_rolls_out_nothing(ns, &dc, &web, &first);

    // The next push rolls out both again, and a re-apply still changes nothing.
    let second = push(ns, "app", "latest", REPOSITORY);
    let stored = kube.wait_for(ns, "dc", "api", "the second rollout", REACT, |dc| {
        (latest_version(dc) >= 2 && image_of(dc) == second).then(|| dc.clone())
    });
    assert_eq!(latest_version(&stored), 2);
    kube.wait_for(ns, "deployment", "web", "the pushed image", REACT, |d| {
        (image_of(d) == second).then_some(())
    });
    eventually("the Deployment's second ReplicaSet", REACT, || {
        (replicasets(ns, "web").len() == 2).then_some(())
    });
    wait_catalog(ns, SOURCE, Some(&second));
    reapply_rolls_out_nothing(ns, &dc, &web, &second);
}

/// Apply `dc` and `web` again (twice, client-side) and check that neither rolled out: the
/// same generation, the same image, no new ReplicaSet or DeploymentConfig version.
fn reapply_rolls_out_nothing(ns: &str, dc: &Value, web: &Value, running: &str) {
    let kube = &env().kube;
    let dc_before = kube.must_get(ns, "dc", "api");
    let web_before = kube.must_get(ns, "deployment", "web");
    let sets = replicasets(ns, "web").len();
    for _ in 0..2 {
        kube.apply(dc);
        kube.apply(web);
    }
    let dc_after = kube.must_get(ns, "dc", "api");
    let web_after = kube.must_get(ns, "deployment", "web");
    assert_eq!(
        image_of(&dc_after),
        running,
        "the re-applied DC keeps its image"
    );
    assert_eq!(
        image_of(&web_after),
        running,
        "the re-applied Deployment keeps its image"
    );
    assert_eq!(
        web_after["spec"]["template"], web_before["spec"]["template"],
        "re-applying the Deployment changed its pod template"
    );
    assert_eq!(
        dc_after["spec"]["template"], dc_before["spec"]["template"],
        "re-applying the DC changed its pod template"
    );
    // Nothing happens next: once the controllers have caught up, no new version.
    controllers_caught_up(ns);
    let dc_seen = kube.must_get(ns, "dc", "api");
    assert_eq!(latest_version(&dc_seen), latest_version(&dc_before));
    assert_eq!(
        replicationcontrollers(ns, "api").len() as i64,
        latest_version(&dc_before),
        "one ReplicationController per DC version"
    );
    assert_eq!(replicasets(ns, "web").len(), sets, "no new ReplicaSet");
}

/// The first ImageChange trigger of a stored DeploymentConfig.
pub fn image_change_trigger(dc: &Value) -> Option<Value> {
    dc["spec"]["triggers"]
        .as_array()?
        .iter()
        .find(|t| t["type"] == "ImageChange")
        .cloned()
}
