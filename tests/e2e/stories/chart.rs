//! The chart's webhook configuration, installed for real: routing by namespace and object
//! labels, the `openshift-*` exclusion, and fail-open when the webhook is down.

use std::time::Instant;

use crate::Story;
use crate::support::*;

pub const STORIES: &[Story] = &[
    Story {
        name: "chart::routing_by_labels",
        exclusive: false,
        run: routing_by_labels,
    },
    Story {
        name: "chart::openshift_namespaces_are_never_sent",
        exclusive: false,
        run: openshift_namespaces_are_never_sent,
    },
    Story {
        name: "chart::fail_open_when_the_webhook_is_down",
        exclusive: true,
        run: fail_open_when_the_webhook_is_down,
    },
];

fn scheduled(ns: &str, stream: &str) -> bool {
    env().kube.must_get(ns, "imagestream", stream)["spec"]["tags"][0]["importPolicy"]["scheduled"]
        == true
}

/// Apply a stream in `fence_ns` (served by /mutate) and wait for its review: every request
/// this thread sent before it has been logged by then, if the webhook got it.
fn fence(fence_ns: &str) {
    let name = format!("fence-{}", &random_suffix());
    env().kube.apply(&imagestream(
        fence_ns,
        &name,
        &[("latest", "quay.io/e2e/fence:latest")],
    ));
    eventually("the fence's review", REACT, || {
        lock(&env().webhook)
            .reviews(fence_ns)
            .iter()
            .any(|r| r["name"] == name.as_str())
            .then_some(())
    });
}

fn random_suffix() -> String {
    kube::random_hex64()[..6].to_string()
}

fn routing_by_labels(ns: &Ns) {
    let kube = &env().kube;
    let suffix = random_suffix();
    // Labelled audit: sent to /audit, reported, never changed.
    let audit = Ns::create(
        &format!("e2e-audit-{suffix}"),
        &[("autoredeploy.io/mode", "audit")],
    );
    let out = kube.apply(&imagestream(
        &audit.name,
        "app",
        &[("latest", "quay.io/acme/a:latest")],
    ));
    assert!(
        !scheduled(&audit.name, "app"),
        "an audit namespace's stream was changed"
    );
    assert!(
        out.warnings()
            .iter()
            .any(|w| w.starts_with("(audit) autoredeploy:") && w.contains("scheduled")),
        "the audit warning reaches the user: {:?}",
        out.warnings()
    );
    // The log line is written by the server's log thread, a moment after the answer.
    eventually("the audit review in the webhook's log", REACT, || {
        let reviews = lock(&env().webhook).reviews(&audit.name);
        reviews.iter().any(|r| r["mode"] == "audit").then_some(())
    });

    // Labelled disabled, and an object labelled skip: never sent.
    let disabled = Ns::create(
        &format!("e2e-disabled-{suffix}"),
        &[("autoredeploy.io/mode", "disabled")],
    );
    kube.apply(&imagestream(
        &disabled.name,
        "app",
        &[("latest", "quay.io/acme/d:latest")],
    ));
    let mut skipped = imagestream(&ns.name, "skipped", &[("latest", "quay.io/acme/s:latest")]);
    skipped["metadata"]["labels"] = serde_json::json!({"autoredeploy.io/skip": "true"});
    kube.apply(&skipped);
    fence(&ns.name);
    assert!(!scheduled(&disabled.name, "app"));
    assert!(!scheduled(&ns.name, "skipped"));
    let webhook = lock(&env().webhook);
    assert!(
        webhook.reviews(&disabled.name).is_empty(),
        "a disabled namespace was sent"
    );
    assert!(
        !webhook
            .reviews(&ns.name)
            .iter()
            .any(|r| r["kind"] == "ImageStream" && r["name"] == "skipped"),
        "an object labelled skip was sent"
    );
}

fn openshift_namespaces_are_never_sent(ns: &Ns) {
    let kube = &env().kube;
    let suffix = random_suffix();
    let openshift_foo = Ns::create(&format!("openshift-e2e-{suffix}"), &[]);
    kube.apply(&imagestream(
        &openshift_foo.name,
        "app",
        &[("latest", "quay.io/acme/o:latest")],
    ));
    // `openshift` (the samples) is excluded by name.
    let sample = format!("e2e-sample-{suffix}");
    kube.apply(&imagestream(
        "openshift",
        &sample,
        &[("latest", "quay.io/acme/sample:latest")],
    ));
    fence(&ns.name);
    let sample_scheduled = scheduled("openshift", &sample);
    kube.run(&["delete", "imagestream", "-n", "openshift", &sample], None);
    assert!(
        !scheduled(&openshift_foo.name, "app"),
        "an openshift-* stream was scheduled"
    );
    assert!(!sample_scheduled, "a stream in openshift was scheduled");
    let webhook = lock(&env().webhook);
    assert!(webhook.reviews(&openshift_foo.name).is_empty());
    assert!(webhook.reviews("openshift").is_empty());
}

/// The webhook stops: requests pass unchanged at once (failurePolicy Ignore), nothing is
/// lost; back up, it serves again, and `scan --fix` brings what was created meanwhile in line.
fn fail_open_when_the_webhook_is_down(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    let real = RealTag::new(ns);
    let (stream, source) = match &real {
        Some(real) => {
            real.push();
            (real.stream(ns, "app"), real.source.clone())
        }
        None => {
            let source = "quay.io/acme/down:latest";
            (
                imagestream(ns, "app", &[("latest", source)]),
                source.to_string(),
            )
        }
    };
    lock(&env().webhook).stop();
    let started = Instant::now();
    kube.apply(&stream);
    kube.apply(&deployment(ns, "web", &source));
    let took = started.elapsed();
    lock(&env().webhook).restart();
    assert!(
        !scheduled(ns, "app"),
        "created unchanged while the webhook was down"
    );
    let web = kube.must_get(ns, "deployment", "web");
    assert!(annotation_triggers(&web).is_empty());
    assert!(
        took.as_secs() < 5 * 2,
        "the API servers waited {took:?} for a webhook that was down"
    );

    // Back up: scan sees both, --fix applies the webhook's patches, and a push rolls out.
    let (code, table, err) = autoredeploy(&["scan", "-n", ns]);
    assert_eq!(
        code, 1,
        "scan exits 1 when something would change:\n{table}{err}"
    );
    assert!(table.contains("would change"), "{table}");
    let (code, fixed, err) = autoredeploy(&["scan", "-n", ns, "--fix"]);
    assert_eq!(code, 0, "scan --fix:\n{fixed}{err}");
    assert!(scheduled(ns, "app"), "scan --fix scheduled the stream");
    let web = kube.must_get(ns, "deployment", "web");
    assert_eq!(
        annotation_triggers(&web).len(),
        1,
        "scan --fix added the trigger"
    );
    let Some(real) = real else {
        return;
    };
    let pushed = real.push();
    kube.wait_for(ns, "deployment", "web", "the pushed image", REACT, |d| {
        (image_of(d) == pushed).then_some(())
    });
    let (code, table, err) = autoredeploy(&["scan", "-n", ns]);
    assert_eq!(code, 0, "nothing left to change:\n{table}{err}");
    for (kind, name) in [("ImageStream", "app"), ("Deployment", "web")] {
        let line = crate::stories::scan::table_line(&table, kind, name);
        assert!(line.contains("auto-redeploys"), "{table}");
    }
}
