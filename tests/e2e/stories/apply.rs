//! Server-side and client-side apply, dry runs, and the trigger controller's own UPDATEs
//! passing through the webhook.

use crate::Story;
use crate::support::*;
use serde_json::Value;

pub const STORIES: &[Story] = &[
    Story {
        name: "apply::server_side_apply_rolls_out_once",
        exclusive: false,
        run: server_side_apply_rolls_out_once,
    },
    Story {
        name: "apply::dry_runs_store_nothing",
        exclusive: false,
        run: dry_runs_store_nothing,
    },
    Story {
        name: "apply::trigger_controller_updates_pass_untouched",
        exclusive: false,
        run: trigger_controller_updates_pass_untouched,
    },
    Story {
        name: "apply::written_pull_always_survives",
        exclusive: false,
        run: written_pull_always_survives,
    },
];

const SOURCE: &str = "quay.io/acme/ssa:latest";

/// Server-side apply (Argo CD with ServerSideApply, Flux, `kubectl apply --server-side`):
/// the created Deployment has its trigger and the pushed image; re-applying it (also after a
/// client-side apply by someone else) changes nothing; a push rolls it out.
fn server_side_apply_rolls_out_once(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    kube.apply_server_side(&imagestream(ns, "ssa", &[("latest", SOURCE)]), "e2e-gitops");
    let stored = kube.must_get(ns, "imagestream", "ssa");
    assert_eq!(stored["spec"]["tags"][0]["importPolicy"]["scheduled"], true);
    let first = push(ns, "ssa", "latest", "quay.io/acme/ssa");
    wait_catalog(ns, SOURCE, Some(&first));

    let web = deployment(ns, "web", SOURCE);
    kube.apply_server_side(&web, "e2e-gitops");
    let stored = kube.must_get(ns, "deployment", "web");
    assert_eq!(annotation_triggers(&stored).len(), 1);
    assert_eq!(image_of(&stored), first);
    // Deployments bump `generation` on annotation changes too (kubectl's last-applied comes
    // and goes between apply styles): a rollout is a new pod template, so compare that.
    let before = stored["spec"]["template"].clone();
    for _ in 0..2 {
        kube.apply_server_side(&web, "e2e-gitops");
    }
    kube.apply(&web);
    kube.apply_server_side(&web, "e2e-gitops");
    let stored = kube.must_get(ns, "deployment", "web");
    assert_eq!(
        stored["spec"]["template"], before,
        "re-applies changed the pod template"
    );
    assert_eq!(image_of(&stored), first);
    assert_eq!(replicasets(ns, "web").len(), 1);

    let second = push(ns, "ssa", "latest", "quay.io/acme/ssa");
    kube.wait_for(ns, "deployment", "web", "the pushed image", REACT, |d| {
        (image_of(d) == second).then_some(())
    });
    // Git still says the tag: the next sync keeps the running image.
    wait_catalog(ns, SOURCE, Some(&second));
    let before = kube.must_get(ns, "deployment", "web")["spec"]["template"].clone();
    kube.apply_server_side(&web, "e2e-gitops");
    let stored = kube.must_get(ns, "deployment", "web");
    assert_eq!(stored["spec"]["template"], before);
    assert_eq!(
        replicasets(ns, "web").len(),
        2,
        "one ReplicaSet per pushed image"
    );
    assert_eq!(image_of(&stored), second);
}

/// A server-side dry run (Argo CD's server-side diff, Flux's drift check) gets the webhook's
/// answer, and the cluster stores nothing.
fn dry_runs_store_nothing(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    let stream = imagestream(ns, "dry", &[("latest", "quay.io/acme/dry:latest")]);
    let out = kube.run(
        &[
            "apply",
            "--server-side",
            "--dry-run=server",
            "-o",
            "json",
            "-f",
            "-",
        ],
        Some(&stream.to_string()),
    );
    assert_eq!(
        out.json()["spec"]["tags"][0]["importPolicy"]["scheduled"],
        true
    );
    assert!(
        kube.get(ns, "imagestream", "dry").is_none(),
        "a dry run stored the stream"
    );

    kube.apply(&stream);
    let pushed = push(ns, "dry", "latest", "quay.io/acme/dry");
    wait_catalog(ns, "quay.io/acme/dry:latest", Some(&pushed));
    let web = deployment(ns, "web", "quay.io/acme/dry:latest");
    let out = kube.run(
        &["apply", "--dry-run=server", "-o", "json", "-f", "-"],
        Some(&web.to_string()),
    );
    let answer = out.json();
    assert_eq!(annotation_triggers(&answer).len(), 1);
    assert_eq!(image_of(&answer), pushed);
    assert!(
        kube.get(ns, "deployment", "web").is_none(),
        "a dry run stored the Deployment"
    );
    // The log line is written by the server's log thread, a moment after the answer.
    eventually("the dry run in the webhook's log", REACT, || {
        let reviews = lock(&env().webhook).reviews(ns);
        reviews
            .iter()
            .any(|r| r["kind"] == "Deployment" && r["dry_run"] == true)
            .then_some(())
    });
}

/// After a push, the trigger controller's UPDATE of the Deployment reaches the webhook,
/// which leaves it alone: the image it wrote is the one stored.
fn trigger_controller_updates_pass_untouched(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    kube.apply(&imagestream(
        ns,
        "app",
        &[("latest", "quay.io/acme/ctl:latest")],
    ));
    let first = push(ns, "app", "latest", "quay.io/acme/ctl");
    wait_catalog(ns, "quay.io/acme/ctl:latest", Some(&first));
    kube.apply(&deployment(ns, "web", "quay.io/acme/ctl:latest"));
    let second = push(ns, "app", "latest", "quay.io/acme/ctl");
    kube.wait_for(
        ns,
        "deployment",
        "web",
        "the controller's write",
        REACT,
        |d| (image_of(d) == second).then_some(()),
    );
    let review = eventually("the controller's review in the webhook log", REACT, || {
        lock(&env().webhook).reviews(ns).into_iter().find(|r| {
            r["kind"] == "Deployment"
                && r["operation"] == "UPDATE"
                && r["user"]
                    .as_str()
                    .is_some_and(|u| u.ends_with(":image-trigger-controller"))
        })
    });
    assert_eq!(review["changes"], "[]", "{review}");
    assert_ne!(review["outcome"], "patched", "{review}");
}

/// `imagePullPolicy: Always` written in the manifest stays, with client-side apply (the
/// last-applied configuration has it) and server-side apply (the applier owns the field),
/// on CREATE and on a re-apply; the same Deployment without it gets `IfNotPresent`, so the
/// rule did run on these containers.
fn written_pull_always_survives(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    let source = "docker.io/library/nginx:latest";
    kube.apply(&imagestream(ns, "nginx", &[("latest", source)]));
    let pushed = push(ns, "nginx", "latest", "docker.io/library/nginx");
    wait_catalog(ns, source, Some(&pushed));
    let with_always = |name: &str| {
        let mut object = deployment(ns, name, source);
        object["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Always".into();
        object
    };
    let policy = |stored: &Value| {
        stored["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let client = with_always("client");
    let server = with_always("server");
    kube.apply(&client);
    kube.apply_server_side(&server, "e2e-gitops");
    kube.apply(&deployment(ns, "defaulted", source));
    for name in ["client", "server", "defaulted"] {
        let stored = kube.must_get(ns, "deployment", name);
        let entries = annotation_triggers(&stored);
        assert_eq!(entries.len(), 1, "{name} got its trigger: {stored}");
        assert_eq!(image_of(&stored), pushed, "{name} runs the tag's image");
        let expected = if name == "defaulted" {
            "IfNotPresent"
        } else {
            "Always"
        };
        assert_eq!(policy(&stored), expected, "{name}: {stored}");
    }
    // Re-applying changes nothing: the written policy stays, nothing rolls out.
    let templates: Vec<Value> = ["client", "server"]
        .iter()
        .map(|name| kube.must_get(ns, "deployment", name)["spec"]["template"].clone())
        .collect();
    kube.apply(&client);
    kube.apply_server_side(&server, "e2e-gitops");
    for (name, template) in ["client", "server"].iter().zip(templates) {
        let stored = kube.must_get(ns, "deployment", name);
        assert_eq!(stored["spec"]["template"], template, "{name}");
    }
}
