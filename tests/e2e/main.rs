//! The end-to-end suite: autoredeploy against OpenShift's real control plane.
//!
//! One run starts one control plane from the e2e kit beside the checkout
//! (`../shared/e2e/cluster.sh up`, with OpenShift's ImagePolicy admission and, when Debian's
//! `docker-registry` is installed, a real registry), or uses the cluster named by
//! `AUTOREDEPLOY_E2E_KUBECONFIG`. It runs `autoredeploy serve` with its ImageStream catalog
//! against it, installs the chart's MutatingWebhookConfiguration pointed at that server, and
//! runs the stories. Each story works in its own namespace and asserts on the cluster's state
//! after OpenShift's controllers acted (generations, `latestVersion`, images the trigger
//! controller wrote, ReplicaSets, import status), never on the patch alone. Waits are
//! conditions with deadlines. On a failure the story prints the controllers' log lines and
//! the webhook's reviews for its namespace.
//!
//! Not part of `cargo nextest run` (the suite needs its one control plane per run, which a
//! process per test cannot share); `.ci/run` runs it with `cargo test --test e2e`.

mod stories;
mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, Trial};

use support::{Ns, env, lock};

/// A story: a name, whether it needs the cluster to itself, and its body.
pub struct Story {
    pub name: &'static str,
    pub exclusive: bool,
    pub run: fn(&Ns),
}

fn run_story(story: &Story) -> Result<(), Failed> {
    let env = env();
    let _guard = if story.exclusive {
        (
            None,
            Some(env.exclusive.write().unwrap_or_else(|e| e.into_inner())),
        )
    } else {
        (
            Some(env.exclusive.read().unwrap_or_else(|e| e.into_inner())),
            None,
        )
    };
    let ns = Ns::new(story.name);
    let result = catch_unwind(AssertUnwindSafe(|| (story.run)(&ns)));
    let Err(panic) = result else {
        return Ok(());
    };
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "the story panicked".into());
    let mut report = format!("{message}\n");
    report.push_str(&lock(&env.cluster).log_lines(&ns.name, 40));
    let reviews = lock(&env.webhook).reviews(&ns.name);
    if !reviews.is_empty() {
        report.push_str(&format!(
            "--- autoredeploy serve, reviews in {}:\n",
            ns.name
        ));
        for review in reviews {
            report.push_str(&format!("{review}\n"));
        }
    }
    Err(report.into())
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let stories = stories::all();
    // Listing needs no cluster.
    if args.list {
        let trials = stories
            .into_iter()
            .map(|s| Trial::test(format!("e2e::{}", s.name), || Ok(())));
        return libtest_mimic::run(&args, trials.collect()).exit_code();
    }
    let skipped = match support::setup() {
        Ok(skipped) => skipped,
        Err(why) => {
            eprintln!("e2e: cannot set up: {why}");
            support::teardown();
            return ExitCode::FAILURE;
        }
    };
    if let Some(why) = &skipped {
        println!("e2e: SKIPPED, every story ignored: {why}");
    }
    let trials = stories
        .into_iter()
        .map(|story| {
            let ignored = skipped.is_some();
            Trial::test(format!("e2e::{}", story.name), move || run_story(&story))
                .with_ignored_flag(ignored)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    support::teardown();
    conclusion.exit_code()
}
