//! `scan` against the real API: what it reports is what the webhook does.

use crate::Story;
use crate::support::*;

pub const STORIES: &[Story] = &[
    Story {
        name: "scan::reports_what_the_webhook_did",
        exclusive: false,
        run: reports_what_the_webhook_did,
    },
    Story {
        name: "scan::fix_stays_inside_the_webhooks_scope",
        exclusive: true,
        run: fix_stays_inside_the_webhooks_scope,
    },
    Story {
        name: "scan::image_follows_a_tracking_tag_and_the_push_proves_it",
        exclusive: false,
        run: image_follows_a_tracking_tag_and_the_push_proves_it,
    },
];

/// The line of object `name` in `scan`'s table (columns NAMESPACE KIND NAME STATUS ...).
pub fn table_line(table: &str, kind: &str, name: &str) -> String {
    table
        .lines()
        .find(|l| {
            let mut words = l.split_whitespace().skip(1);
            words.next() == Some(kind) && words.next() == Some(name)
        })
        .unwrap_or_else(|| panic!("no line for {kind} {name}:\n{table}"))
        .to_string()
}

/// Objects the webhook mutated are reported as redeploying by themselves, in the table, in
/// JSON and explained one by one; an untracked image is reported as such.
fn reports_what_the_webhook_did(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    let Some(real) = RealTag::new(ns) else {
        println!("e2e: scan story skipped: no loopback registry on this cluster");
        return;
    };
    let pushed = real.push();
    kube.apply(&real.stream(ns, "app"));
    wait_catalog(ns, &real.source, Some(&pushed));
    kube.apply(&deployment(ns, "web", &real.source));
    kube.apply(&deployment(ns, "other", "quay.io/acme/untracked:1"));

    let (code, table, err) = autoredeploy(&["scan", "-n", ns]);
    assert_eq!(code, 0, "nothing would change:\n{table}{err}");
    assert!(
        table_line(&table, "ImageStream", "app").contains("auto-redeploys"),
        "{table}"
    );
    assert!(
        table_line(&table, "Deployment", "web").contains("auto-redeploys"),
        "{table}"
    );
    assert!(
        table_line(&table, "Deployment", "other").contains("not tracked"),
        "{table}"
    );

    let (code, json, err) = autoredeploy(&["scan", "-n", ns, "--output", "json"]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).expect("scan's JSON");
    assert!(report.to_string().contains("\"other\""), "{report:#}");
    let (code, explained, err) = autoredeploy(&["scan", "-n", ns, "deployment/web"]);
    assert_eq!(code, 0, "{explained}{err}");
    assert!(
        explained.contains(&format!("{ns}/app:latest")),
        "{explained}"
    );
    assert!(explained.contains(&pushed), "{explained}");
}

fn resource_version(ns: &str, resource: &str, name: &str) -> String {
    env().kube.must_get(ns, resource, name)["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// `scan -A --fix` with the chart's configuration installed: it patches what the webhook
/// would have patched (a stream created while the webhook was down) and nothing the webhook
/// never serves: the samples namespace `openshift`, `openshift-*`, a namespace labelled
/// `autoredeploy.io/mode=disabled`, an object labelled skip; a namespace labelled audit is
/// reported `(audit)` and left as it is.
fn fix_stays_inside_the_webhooks_scope(ns: &Ns) {
    let kube = &env().kube;
    let suffix = &kube::random_hex64()[..6];
    let disabled = Ns::create(
        &format!("e2e-scope-disabled-{suffix}"),
        &[("autoredeploy.io/mode", "disabled")],
    );
    let audit = Ns::create(
        &format!("e2e-scope-audit-{suffix}"),
        &[("autoredeploy.io/mode", "audit")],
    );
    let openshift_foo = Ns::create(&format!("openshift-e2e-scope-{suffix}"), &[]);
    let sample = format!("e2e-scope-sample-{suffix}");
    let mut skipped = imagestream(&ns.name, "skipped", &[("latest", "quay.io/acme/s:latest")]);
    skipped["metadata"]["labels"] = serde_json::json!({"autoredeploy.io/skip": "true"});
    let out_of_scope = [
        (disabled.name.clone(), "app".to_string()),
        (audit.name.clone(), "app".to_string()),
        (openshift_foo.name.clone(), "app".to_string()),
        ("openshift".to_string(), sample.clone()),
        (ns.name.clone(), "skipped".to_string()),
    ];
    for (namespace, name) in &out_of_scope {
        if name == "skipped" {
            kube.apply(&skipped);
        } else {
            kube.apply(&imagestream(
                namespace,
                name,
                &[("latest", "quay.io/acme/scope:latest")],
            ));
        }
    }
    // An in-scope stream the webhook did not see (it was down).
    lock(&env().webhook).stop();
    kube.apply(&imagestream(
        &ns.name,
        "missed",
        &[("latest", "quay.io/acme/missed:latest")],
    ));
    lock(&env().webhook).restart();

    let versions: Vec<String> = out_of_scope
        .iter()
        .map(|(namespace, name)| resource_version(namespace, "imagestream", name))
        .collect();
    let (_, table, err) = autoredeploy(&["scan", "-A"]);
    let status = |namespace: &str, name: &str| {
        table
            .lines()
            .find(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                words.len() > 3
                    && words[0] == namespace
                    && words[1] == "ImageStream"
                    && words[2] == name
            })
            .unwrap_or_else(|| panic!("no line for {namespace}/{name}:\n{table}{err}"))
            .to_string()
    };
    for (namespace, name) in &out_of_scope {
        let line = status(namespace, name);
        if *namespace == audit.name {
            assert!(line.contains("(audit)"), "{line}");
        } else {
            assert!(line.contains("out of scope"), "{line}");
        }
    }
    assert!(
        status(&ns.name, "missed").contains("would change"),
        "{table}"
    );

    let (_, fixed, err) = autoredeploy(&["scan", "-A", "--fix"]);
    let stream = kube.must_get(&ns.name, "imagestream", "missed");
    assert_eq!(
        stream["spec"]["tags"][0]["importPolicy"]["scheduled"], true,
        "--fix patched the in-scope stream:\n{fixed}{err}"
    );
    for ((namespace, name), before) in out_of_scope.iter().zip(&versions) {
        let stored = kube.must_get(namespace, "imagestream", name);
        assert_eq!(
            stored["metadata"]["resourceVersion"].as_str(),
            Some(before.as_str()),
            "--fix wrote {namespace}/{name}, which the webhook never serves:\n{fixed}"
        );
        assert_ne!(stored["spec"]["tags"][0]["importPolicy"]["scheduled"], true);
    }
    kube.run(&["delete", "imagestream", "-n", "openshift", &sample], None);
}

/// A Deployment `name` whose container `web` runs `image` and follows `stream_tag` through
/// the triggers annotation.
fn following(ns: &str, name: &str, image: &str, stream_tag: &str) -> serde_json::Value {
    let mut object = deployment(ns, name, image);
    let trigger = serde_json::json!([{"from": {"kind": "ImageStreamTag", "name": stream_tag},
        "fieldPath": "spec.template.spec.containers[?(@.name==\"web\")].image"}]);
    object["metadata"]["annotations"] = serde_json::json!({TRIGGERS: trigger.to_string()});
    object
}

/// `scan --image` on a tag tracking another: `hello:latest` imports the loopback registry's
/// image (the webhook schedules it), `hello:stable` tracks it, `mirror:copy` in another
/// stream tracks it too. Scan says the Deployment following `hello:stable` redeploys every
/// 15 minutes and the one following `mirror:copy` never does; a push to the registry proves
/// both on the cluster: the first rolls out the new digest, the second stays on its image.
fn image_follows_a_tracking_tag_and_the_push_proves_it(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    let Some(real) = RealTag::new(ns) else {
        println!("e2e: scan --image story skipped: no loopback registry on this cluster");
        return;
    };
    let first = real.push();
    let mut hello = real.stream(ns, "hello");
    (hello["spec"]["tags"].as_array_mut().expect("tags")).push(
        serde_json::json!({"name": "stable", "from": {"kind": "ImageStreamTag", "name": "latest"}}),
    );
    kube.apply(&hello);
    eventually("hello:stable to track the first import", REACT, || {
        (tag_image(ns, "hello", "stable").as_deref() == Some(first.as_str())).then_some(())
    });
    // Written once the source has its image: OpenShift copies it in, and only then.
    kube.apply(
        &serde_json::json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "mirror", "namespace": ns},
        "spec": {"tags": [{"name": "copy",
            "from": {"kind": "ImageStreamTag", "name": "hello:latest"}}]}}),
    );
    eventually("mirror:copy to hold the first image", REACT, || {
        (tag_image(ns, "mirror", "copy").as_deref() == Some(first.as_str())).then_some(())
    });
    kube.apply(&following(ns, "follower", &first, "hello:stable"));
    kube.apply(&following(ns, "copier", &first, "mirror:copy"));

    let (code, json, err) =
        autoredeploy(&["scan", "-n", ns, "--image", &real.source, "-o", "json"]);
    assert_eq!(code, 0, "{json}{err}");
    let answer: serde_json::Value = serde_json::from_str(&json).expect("scan --image's JSON");
    let tag = |stream: &str, tag: &str| {
        (answer["tags"].as_array().expect("tags").iter())
            .find(|t| t["stream"] == stream && t["tag"] == tag)
            .unwrap_or_else(|| panic!("no {stream}:{tag} in {answer:#}"))
            .clone()
    };
    assert_eq!(
        tag("hello", "latest")["imported"]["by"],
        "scheduled",
        "{answer:#}"
    );
    let stable = tag("hello", "stable");
    assert_eq!(
        stable["tracks"],
        serde_json::json!([format!("{ns}/hello:latest")]),
        "{answer:#}"
    );
    assert_eq!(stable["imported"]["by"], "scheduled", "{answer:#}");
    let copy = tag("mirror", "copy");
    assert_eq!(copy["imported"]["by"], "not-at-all", "{answer:#}");
    let workload = |name: &str| {
        (answer["workloads"].as_array().expect("workloads").iter())
            .find(|w| w["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {answer:#}"))
            .clone()
    };
    let follower = workload("follower");
    assert_eq!(
        (
            follower["tag"].as_str(),
            follower["redeploys"].as_str(),
            follower["when"].as_str()
        ),
        (
            Some(format!("{ns}/hello:stable").as_str()),
            Some("yes"),
            Some("every 15 minutes")
        ),
        "{answer:#}"
    );
    let copier = workload("copier");
    assert_eq!(copier["redeploys"], "no", "{answer:#}");
    assert!(
        (copier["reason"].as_str().unwrap_or_default()).contains("in another ImageStream"),
        "{answer:#}"
    );

    // The claim, on the cluster.
    let second = real.push();
    kube.wait_for(
        ns,
        "deployment",
        "follower",
        "the pushed image, through hello:latest's scheduled import and hello:stable",
        REACT,
        |d| (image_of(d) == second).then_some(()),
    );
    assert_eq!(
        tag_image(ns, "hello", "stable").as_deref(),
        Some(second.as_str())
    );
    controllers_caught_up(ns);
    assert_eq!(
        tag_image(ns, "mirror", "copy").as_deref(),
        Some(first.as_str()),
        "mirror:copy moved, though it tracks a tag of another stream"
    );
    assert_eq!(image_of(&kube.must_get(ns, "deployment", "copier")), first);
    // One rollout each: the first image, and for the follower the pushed one.
    assert_eq!(replicasets(ns, "follower").len(), 2);
    assert_eq!(replicasets(ns, "copier").len(), 1);
}
