//! Pull budgets with the live catalog: the default Docker Hub budget (50 pulls per 6 h at one
//! import per 15 minutes) schedules two tags; the third is left unscheduled and the user is
//! told why.

use crate::Story;
use crate::support::*;

pub const STORIES: &[Story] = &[Story {
    name: "budget::docker_hub_budget_holds_with_the_catalog",
    exclusive: true,
    run: docker_hub_budget_holds_with_the_catalog,
}];

fn docker_hub_budget_holds_with_the_catalog(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    let mut outcomes = Vec::new();
    for i in 0..3 {
        let name = format!("hub{i}");
        let source = format!("docker.io/e2e/app{i}:latest");
        let out = kube.apply(&imagestream(ns, &name, &[("latest", &source)]));
        let stored = kube.must_get(ns, "imagestream", &name);
        let scheduled = stored["spec"]["tags"][0]["importPolicy"]["scheduled"] == true;
        outcomes.push((scheduled, out.warnings().join("\n")));
        if scheduled {
            // The next stream's review must count this one: wait until the catalog has it.
            wait_catalog(ns, &source, None);
        }
    }
    assert!(
        outcomes[0].0 && outcomes[1].0,
        "two Docker Hub tags fit: {outcomes:?}"
    );
    assert!(!outcomes[2].0, "the third is over the budget: {outcomes:?}");
    assert!(
        outcomes[2].1.contains("over its budget of 50"),
        "{outcomes:?}"
    );
    // Nothing else in this run tracks Docker Hub; leave the budget as it was.
    kube.run(&["delete", "imagestream", "-n", ns, "--all"], None);
    eventually("the catalog to drop the streams", REACT, || {
        let probe = imagestream(ns, "probe", &[("latest", "docker.io/e2e/probe:latest")]);
        let out = kube.run(
            &["create", "--dry-run=server", "-o", "json", "-f", "-"],
            Some(&probe.to_string()),
        );
        (out.json()["spec"]["tags"][0]["importPolicy"]["scheduled"] == true).then_some(())
    });
}
