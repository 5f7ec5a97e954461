//! A real push to a real registry (Debian's docker-registry, the CNCF distribution registry,
//! on loopback): the webhook schedules the tag, OpenShift's scheduled import records the new
//! digest, and the trigger controller rolls the Deployment out.

use std::time::Instant;

use crate::Story;
use crate::support::*;

pub const STORIES: &[Story] = &[Story {
    name: "registry::a_real_push_redeploys_through_scheduled_import",
    exclusive: false,
    run: a_real_push_redeploys_through_scheduled_import,
}];

fn a_real_push_redeploys_through_scheduled_import(ns: &Ns) {
    let ns = ns.name.as_str();
    let Some(real) = RealTag::new(ns) else {
        println!("e2e: registry story skipped: no loopback registry on this cluster");
        return;
    };
    let kube = &env().kube;
    let first = real.push();
    kube.apply(&real.stream(ns, "app"));
    let stored = kube.must_get(ns, "imagestream", "app");
    assert_eq!(
        stored["spec"]["tags"][0]["importPolicy"]["scheduled"], true,
        "{stored}"
    );
    eventually("the first import", REACT, || {
        (tag_image(ns, "app", "latest").as_deref() == Some(first.as_str())).then_some(())
    });
    wait_catalog(ns, &real.source, Some(&first));
    kube.apply(&deployment(ns, "web", &real.source));
    assert_eq!(image_of(&kube.must_get(ns, "deployment", "web")), first);

    let pushed_at = Instant::now();
    let second = real.push();
    kube.wait_for(
        ns,
        "deployment",
        "web",
        "the new image, through scheduled import",
        REACT,
        |d| (image_of(d) == second).then_some(()),
    );
    println!(
        "e2e: a registry push reached the Deployment in {:?} (scheduled import every 1 s)",
        pushed_at.elapsed()
    );
    assert_eq!(replicasets(ns, "web").len(), 2);
}
