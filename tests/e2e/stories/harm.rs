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
