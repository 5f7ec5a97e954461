//! `scan` against the real API: what it reports is what the webhook does.

use crate::Story;
use crate::support::*;

pub const STORIES: &[Story] = &[Story {
    name: "scan::reports_what_the_webhook_did",
    exclusive: false,
    run: reports_what_the_webhook_did,
}];

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
