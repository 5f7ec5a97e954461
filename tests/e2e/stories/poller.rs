//! `autoredeploy poll` against the real control plane and the real loopback registry. The
//! webhook runs with `--polled-registry localhost:PORT` (the loopback registry under its
//! second name, see `support::setup`), so a tag written `localhost:PORT/e2e/NS:latest` is
//! left unscheduled with the finding `polled`. The poller HEADs it every 2 s; a push to the
//! registry makes it create one ImageStreamImport, OpenShift imports the image, and the
//! trigger controller rewrites the Deployment. The registry's own access log counts what each
//! side spent: manifest HEADs (the poller) and manifest GETs (pulls: OpenShift's imports).
//!
//! Each story polls only its own namespace (`--catalog-namespaces`) and keeps its Lease and state
//! ConfigMap there, so the stories share the cluster with the others.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Story;
use crate::support::*;

pub const STORIES: &[Story] = &[
    Story {
        name: "poller::a_push_redeploys_through_the_poller_and_no_change_costs_no_pull",
        exclusive: false,
        run: a_push_redeploys_through_the_poller_and_no_change_costs_no_pull,
    },
    Story {
        name: "poller::a_killed_leader_is_replaced_and_nothing_is_imported_twice",
        exclusive: false,
        run: a_killed_leader_is_replaced_and_nothing_is_imported_twice,
    },
    Story {
        name: "poller::a_tag_listed_unpollable_is_scheduled_by_the_webhook",
        exclusive: false,
        run: a_tag_listed_unpollable_is_scheduled_by_the_webhook,
    },
    Story {
        name: "poller::audit_and_disabled_namespaces_are_never_imported",
        exclusive: false,
        run: audit_and_disabled_namespaces_are_never_imported,
    },
];

const LEASE: &str = "autoredeploy-poller";
const IMPORTING: &str = "change detected, importing";
const CYCLE: &str = "poll cycle done";

/// One `autoredeploy poll` process, its output in a file; killed by PID when dropped.
struct PollerProcess {
    child: Option<Child>,
    log: PathBuf,
    identity: String,
}

impl PollerProcess {
    fn start(ns: &str, identity: &str) -> PollerProcess {
        PollerProcess::start_over(ns, ns, identity)
    }

    /// A poller keeping its Lease and state in `ns`, polling the namespaces of `catalog`
    /// (comma-separated).
    fn start_over(ns: &str, catalog: &str, identity: &str) -> PollerProcess {
        let env = env();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-poller");
        std::fs::create_dir_all(&dir).expect("poller folder");
        let log = dir.join(format!("{ns}-{identity}.log"));
        let out = File::create(&log).expect("poller log");
        let polled = polled_registry().expect("a polled registry");
        let child = Command::new(autoredeploy::testing::server::binary())
            .arg("poll")
            .arg("--kubeconfig")
            .arg(env.kube.kubeconfig())
            .args(["--polled-registry", &polled])
            .args(["--poll-interval", "2s", "--lease-duration", "4s"])
            .args(["--catalog-namespaces", catalog, "--namespace", ns])
            .args(["--identity", identity, "--admin-listen", "127.0.0.1:0"])
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            // Loopback only: no proxy of the machine running the suite.
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("autoredeploy poll starts");
        PollerProcess {
            child: Some(child),
            log,
            identity: identity.into(),
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn count(&self, needle: &str) -> usize {
        self.output().lines().filter(|l| l.contains(needle)).count()
    }

    /// The digests this process started imports for.
    fn imports(&self) -> Vec<String> {
        (self.output().lines())
            .filter(|l| l.contains(IMPORTING))
            .filter_map(|l| l.split("digest=").nth(1))
            .map(|d| {
                let d = d.split_whitespace().next().unwrap_or_default();
                d.trim_matches('"').to_string()
            })
            .collect()
    }

    /// Send `signal` to the process by its PID and wait for it to end.
    fn stop(&mut self, signal: &str) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        child.wait().ok()
    }

    /// Wait until this process has finished `n` more cycles than now.
    fn wait_cycles(&mut self, n: usize) {
        let target = self.count(CYCLE) + n;
        eventually(
            &format!("{} to finish {n} more poll cycles", self.identity),
            REACT,
            || {
                if let Some(status) = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    panic!("autoredeploy poll exited ({status}):\n{}", self.output());
                }
                (self.count(CYCLE) >= target).then_some(())
            },
        );
    }
}

impl Drop for PollerProcess {
    fn drop(&mut self) {
        self.stop("-KILL");
    }
}

/// Requests the registry logged for the story's repositories (`e2e/NS` and `e2e/NS-*`):
/// (manifest HEADs, manifest GETs).
fn manifest_requests(real: &RealTag) -> (usize, usize) {
    let log = lock(&env().cluster)
        .registry_log()
        .expect("the kit's registry log");
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let count = |method: &str| {
        let needle = format!("\"{method} /v2/{}", real.path());
        (text.lines())
            .filter(|l| l.contains(&needle) && l.contains("/manifests/"))
            .count()
    };
    (count("HEAD"), count("GET"))
}

fn lease_holder(ns: &str) -> Option<String> {
    let lease = env().kube.get(ns, "lease", LEASE)?;
    lease["spec"]["holderIdentity"]
        .as_str()
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

/// The polled stream and a Deployment following it, both at the first pushed image.
fn polled_stream_and_deployment(ns: &str, real: &RealTag) -> String {
    let kube = &env().kube;
    let first = real.push();
    let out = kube.apply(&real.stream(ns, "app"));
    let stored = kube.must_get(ns, "imagestream", "app");
    assert_eq!(
        stored["spec"]["tags"][0]["importPolicy"].get("scheduled"),
        None,
        "a polled tag stays unscheduled: {stored}"
    );
    assert!(
        out.warnings().iter().any(|w| w.contains("polled")),
        "the webhook says why: {:?}",
        out.warnings()
    );
    // A new tag is imported once on creation, scheduled or not.
    eventually("the first import", REACT, || {
        (tag_image(ns, "app", "latest").as_deref() == Some(first.as_str())).then_some(())
    });
    wait_catalog(ns, &real.source, Some(&first));
    kube.apply(&deployment(ns, "web", &real.source));
    kube.wait_for(ns, "deployment", "web", "the first image", REACT, |d| {
        (image_of(d) == first).then_some(())
    });
    first
}

/// Push, and wait until the trigger controller has written the new image into the Deployment;
/// the new image and how long it took from the push.
fn push_and_wait_rollout(ns: &str, real: &RealTag, how: &str) -> (String, Duration) {
    let pushed_at = Instant::now();
    let pushed = real.push();
    env()
        .kube
        .wait_for(ns, "deployment", "web", how, REACT, |d: &Value| {
            (image_of(d) == pushed).then_some(())
        });
    (pushed, pushed_at.elapsed())
}

fn a_push_redeploys_through_the_poller_and_no_change_costs_no_pull(ns: &Ns) {
    let ns = ns.name.as_str();
    let Some(real) = RealTag::polled(ns) else {
        println!("e2e: poller story skipped: no loopback registry on this cluster");
        return;
    };
    polled_stream_and_deployment(ns, &real);
    // Nine more polled tags, each its own repository and stream, imported once on creation.
    let kube = &env().kube;
    for i in 0..9 {
        let other = RealTag::polled_another(ns, &i.to_string()).expect("a polled registry");
        let image = other.push();
        let name = format!("other{i}");
        kube.apply(&other.stream(ns, &name));
        eventually("another tag's first import", REACT, || {
            (tag_image(ns, &name, "latest").as_deref() == Some(image.as_str())).then_some(())
        });
    }
    let mut poller = PollerProcess::start(ns, "solo");
    poller.wait_cycles(1);
    assert!(
        poller.output().contains("polled=10"),
        "ten tags polled: {}",
        poller.output()
    );

    // Nothing changes: HEADs only, no GET of a manifest, no import.
    let (heads_before, gets_before) = manifest_requests(&real);
    poller.wait_cycles(5);
    let (heads_after, gets_after) = manifest_requests(&real);
    assert_eq!(
        gets_after, gets_before,
        "no manifest GET while nothing changes"
    );
    assert!(
        heads_after >= heads_before + 50,
        "one HEAD per tag per cycle: {heads_before} -> {heads_after}"
    );
    assert!(poller.imports().is_empty(), "{}", poller.output());

    // A push: one import, and the trigger controller rolls the Deployment out.
    let (second, took) = push_and_wait_rollout(ns, &real, "the new image, through the poller");
    let digest = second.rsplit('@').next().unwrap_or_default().to_string();
    assert_eq!(
        poller.imports(),
        [digest],
        "one import, for the pushed tag only: {}",
        poller.output()
    );
    assert_eq!(replicasets(ns, "web").len(), 2);
    let (_, gets_import) = manifest_requests(&real);
    poller.wait_cycles(3);
    let (_, gets_settled) = manifest_requests(&real);
    assert_eq!(gets_settled, gets_import, "no GET after the import settled");
    assert_eq!(poller.imports().len(), 1, "{}", poller.output());
    println!(
        "e2e: poller: push to Deployment rewrite in {took:?} (poll interval 2 s); \
         manifest GETs: {} for the change, 0 over 5 unchanged cycles of 10 tags ({} HEADs)",
        gets_import - gets_after,
        heads_after - heads_before
    );
    // SIGTERM releases the Lease at once.
    assert_eq!(lease_holder(ns).as_deref(), Some("solo"));
    let status = poller.stop("-TERM").expect("the poller ran");
    assert!(status.success(), "{status}: {}", poller.output());
    assert_eq!(lease_holder(ns), None, "the Lease is released on SIGTERM");
}

fn a_killed_leader_is_replaced_and_nothing_is_imported_twice(ns: &Ns) {
    let ns = ns.name.as_str();
    let Some(real) = RealTag::polled(ns) else {
        println!("e2e: poller story skipped: no loopback registry on this cluster");
        return;
    };
    polled_stream_and_deployment(ns, &real);
    let mut pollers = [
        PollerProcess::start(ns, "one"),
        PollerProcess::start(ns, "two"),
    ];
    let leader = eventually("a poller to take the Lease", REACT, || lease_holder(ns));
    let (lead, stand_by) = if leader == "one" { (0, 1) } else { (1, 0) };
    pollers[lead].wait_cycles(1);
    assert_eq!(
        pollers[stand_by].count(CYCLE),
        0,
        "the replica without the Lease does not poll: {}",
        pollers[stand_by].output()
    );

    let (second, _) = push_and_wait_rollout(ns, &real, "the second image, through the leader");
    let digest = |image: &str| image.rsplit('@').next().unwrap_or_default().to_string();
    assert_eq!(pollers[lead].imports(), [digest(&second)]);
    assert!(pollers[stand_by].imports().is_empty());

    // The leader dies without releasing the Lease; the other takes over once it lapses (4 s)
    // and imports the next push, and only that one.
    pollers[lead].stop("-KILL");
    let killed_at = Instant::now();
    let (third, _) = push_and_wait_rollout(ns, &real, "the third image, through the successor");
    let took_over = killed_at.elapsed();
    assert_eq!(
        lease_holder(ns).as_deref(),
        Some(pollers[stand_by].identity.as_str())
    );
    pollers[stand_by].wait_cycles(3);
    assert_eq!(
        pollers[stand_by].imports(),
        [digest(&third)],
        "the successor imports the new push once, and not the leader's again: {}",
        pollers[stand_by].output()
    );
    assert_eq!(pollers[lead].imports(), [digest(&second)]);
    assert_eq!(replicasets(ns, "web").len(), 3);
    println!("e2e: poller: leader killed, next push rolled out {took_over:?} later (Lease 4 s)");
}

/// The poller stays inside the webhook's scope: beside a served namespace, a namespace
/// labelled `autoredeploy.io/mode=audit` (the webhook only reports there) and one labelled
/// `autoredeploy.io/mode=disabled` (never sent to it) each hold a polled-registry tag; a push
/// to all three is imported by the poller only in the served one.
fn audit_and_disabled_namespaces_are_never_imported(ns: &Ns) {
    let served = ns.name.as_str();
    if RealTag::polled(served).is_none() {
        println!("e2e: poller story skipped: no loopback registry on this cluster");
        return;
    }
    let kube = &env().kube;
    let suffix = &kube::random_hex64()[..6];
    let audit = Ns::create(
        &format!("e2e-poll-audit-{suffix}"),
        &[("autoredeploy.io/mode", "audit")],
    );
    let disabled = Ns::create(
        &format!("e2e-poll-disabled-{suffix}"),
        &[("autoredeploy.io/mode", "disabled")],
    );
    let mut firsts = Vec::new();
    let mut tags = Vec::new();
    for namespace in [served, audit.name.as_str(), disabled.name.as_str()] {
        let tag = RealTag::polled(namespace).expect("a polled registry");
        let first = tag.push();
        kube.apply(&tag.stream(namespace, "app"));
        // A new tag is imported once on creation, wherever it is.
        eventually("the first import", REACT, || {
            (tag_image(namespace, "app", "latest").as_deref() == Some(first.as_str())).then_some(())
        });
        firsts.push(first);
        tags.push(tag);
    }
    let catalog = format!("{served},{},{}", audit.name, disabled.name);
    let mut poller = PollerProcess::start_over(served, &catalog, "scoped");
    poller.wait_cycles(1);
    let out = poller.output();
    assert!(
        out.contains("polled=1") && out.contains("out_of_scope=2"),
        "one stream polled, two outside the webhook's scope: {out}"
    );
    let pushed: Vec<String> = tags.iter().map(RealTag::push).collect();
    eventually(
        "the served tag's new image, through the poller",
        REACT,
        || {
            (tag_image(served, "app", "latest").as_deref() == Some(pushed[0].as_str()))
                .then_some(())
        },
    );
    poller.wait_cycles(3);
    for (i, namespace) in [&audit.name, &disabled.name].into_iter().enumerate() {
        assert_eq!(
            tag_image(namespace, "app", "latest").as_deref(),
            Some(firsts[i + 1].as_str()),
            "never imported by the poller in {namespace}: {}",
            poller.output()
        );
    }
    let digest = pushed[0].rsplit('@').next().unwrap_or_default().to_string();
    assert_eq!(poller.imports(), [digest], "{}", poller.output());
    // Over two more cycles without a push: HEADs for the served tag only.
    let heads = || {
        tags.iter()
            .map(|t| manifest_requests(t).0)
            .collect::<Vec<_>>()
    };
    let before = heads();
    poller.wait_cycles(2);
    let after = heads();
    assert!(after[0] >= before[0] + 2, "{before:?} -> {after:?}");
    assert_eq!(
        after[1..],
        before[1..],
        "no HEAD for tags outside the webhook's scope"
    );
}

/// The poller's answer to a refused HEAD (a private repository, which the loopback registry
/// cannot play) is a merge patch of `autoredeploy.io/unpollable-tags`; `oc annotate` sends the
/// same kind of patch. The webhook, seeing that UPDATE, schedules the listed tag of the polled
/// registry, and leaves the other unscheduled.
fn a_tag_listed_unpollable_is_scheduled_by_the_webhook(ns: &Ns) {
    let ns = ns.name.as_str();
    let Some(real) = RealTag::polled(ns) else {
        println!("e2e: poller story skipped: no loopback registry on this cluster");
        return;
    };
    let kube = &env().kube;
    real.push();
    let mut stream = real.stream(ns, "app");
    let mut other = stream["spec"]["tags"][0].clone();
    other["name"] = "other".into();
    stream["spec"]["tags"]
        .as_array_mut()
        .expect("tags")
        .push(other);
    kube.apply(&stream);
    let scheduled = |s: &Value, i: usize| {
        s["spec"]["tags"][i]["importPolicy"]
            .get("scheduled")
            .cloned()
    };
    let stored = kube.must_get(ns, "imagestream", "app");
    assert_eq!(
        (scheduled(&stored, 0), scheduled(&stored, 1)),
        (None, None),
        "{stored}"
    );
    let out = kube.run(
        &[
            "annotate",
            "-n",
            ns,
            "imagestream",
            "app",
            "autoredeploy.io/unpollable-tags=latest",
        ],
        None,
    );
    assert!(
        out.warnings().iter().any(|w| w.contains("unpollable")),
        "the webhook says why: {:?}",
        out.warnings()
    );
    let stored = kube.must_get(ns, "imagestream", "app");
    assert_eq!(
        (scheduled(&stored, 0), scheduled(&stored, 1)),
        (Some(Value::Bool(true)), None),
        "{stored}"
    );
}
