//! `autoredeploy scan` applies the webhook's scope: what it reports and what `--fix` patches is
//! exactly what the webhook would be called for. Against the fake API server: the samples in
//! `openshift`, streams in `openshift-*`, a namespace labelled `autoredeploy.io/mode=disabled`
//! and objects labelled `autoredeploy.io/skip=true` are out of scope; a namespace labelled
//! `autoredeploy.io/mode=audit` is reported `(audit)` and never patched; the scope is read from
//! the installed MutatingWebhookConfiguration, else from the chart's defaults (saying so).
//! A property test then holds `--fix` to never patching outside the scope, against an oracle
//! written from the chart's template.

use std::collections::BTreeSet;

use crate::scan_objects as objects;

use autoredeploy::testing::fake_api::{FakeApi, chart_webhook_configuration, namespace};
use objects::{DIGEST_NGINX, scan, stream, workload};
use proptest::prelude::*;
use serde_json::{Value, json};

const NGINX: &str = "docker.io/library/nginx:1.25";
const APPS: &str = "apps/v1";

/// An unscheduled nginx stream and a Deployment running it without a trigger: both would
/// change wherever the webhook is called for them.
fn pair(ns: &str) -> [Value; 2] {
    [
        stream(ns, "nginx", "1.25", NGINX, DIGEST_NGINX, false),
        workload(APPS, "Deployment", ns, "web", NGINX, json!({})),
    ]
}

fn labelled(mut object: Value, key: &str, value: &str) -> Value {
    object["metadata"]["labels"][key] = json!(value);
    object
}

fn owned(mut object: Value) -> Value {
    object["metadata"]["ownerReferences"] = json!([{"apiVersion": "serving.knative.dev/v1",
        "kind": "Revision", "name": "api-00001", "uid": "u-1", "controller": true}]);
    object
}

/// A cluster with every case of the issue, and the chart's webhook configuration installed.
fn scoped_objects() -> Vec<Value> {
    let mut objects = vec![
        namespace("shop", &[]),
        namespace("openshift", &[]),
        namespace("openshift-foo", &[]),
        namespace("quiet", &[("autoredeploy.io/mode", "disabled")]),
        namespace("watched", &[("autoredeploy.io/mode", "audit")]),
        // The samples operator's streams, unscheduled on purpose.
        stream(
            "openshift",
            "ruby",
            "3.3",
            "registry.access.redhat.com/ubi9/ruby-33:latest",
            DIGEST_NGINX,
            false,
        ),
        labelled(
            workload(APPS, "Deployment", "shop", "labelled", NGINX, json!({})),
            "autoredeploy.io/skip",
            "true",
        ),
        owned(workload(
            APPS,
            "Deployment",
            "shop",
            "api",
            NGINX,
            json!({}),
        )),
    ];
    for ns in ["shop", "openshift-foo", "quiet", "watched"] {
        objects.extend(pair(ns));
    }
    objects
}

async fn start(objects: Vec<Value>) -> (FakeApi, tempfile::TempDir, std::path::PathBuf) {
    let cluster = FakeApi::start(objects).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = cluster.kubeconfig(dir.path());
    (cluster, dir, kubeconfig)
}

/// `(namespace, name)` of every PATCH received.
fn patched(cluster: &FakeApi) -> BTreeSet<(String, String)> {
    cluster
        .patches()
        .into_iter()
        .map(|p| (p.namespace, p.name))
        .collect()
}

fn shop_only() -> BTreeSet<(String, String)> {
    [("shop", "nginx"), ("shop", "web")]
        .map(|(ns, name)| (ns.to_string(), name.to_string()))
        .into()
}

/// The table's line for `namespace kind name`.
fn line<'a>(out: &'a str, namespace: &str, kind: &str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().take(3).eq([namespace, kind, name]))
        .unwrap_or_else(|| panic!("no line for {namespace} {kind} {name} in\n{out}"))
}

#[tokio::test]
async fn scan_reports_what_the_installed_webhook_would_do() {
    let (_cluster, _dir, kubeconfig) = start(scoped_objects()).await;
    let run = scan(&kubeconfig, &["-A"]).await;
    assert_eq!(run.code, 1, "{}", run.err);
    assert_eq!(run.err, "", "the installed configuration is read silently");
    insta::assert_snapshot!("scope_table", run.out);
}

#[tokio::test]
async fn fix_patches_only_what_the_webhook_serves_in_enforce_mode() {
    let (cluster, _dir, kubeconfig) = start(scoped_objects()).await;
    let run = scan(&kubeconfig, &["-A", "--fix"]).await;
    assert_eq!(run.code, 0, "{}{}", run.out, run.err);
    assert_eq!(patched(&cluster), shop_only(), "{}", run.out);
    let samples = cluster.object("ImageStream", "openshift", "ruby");
    assert!(samples["spec"]["tags"][0]["importPolicy"]["scheduled"].is_null());
    let again = scan(&kubeconfig, &["-A"]).await;
    assert_eq!(
        again.code, 0,
        "nothing left that --fix would write: {}",
        again.out
    );
    assert!(
        line(&again.out, "watched", "Deployment", "web").contains("(audit) annotation-trigger"),
        "{}",
        again.out
    );
}

#[tokio::test]
async fn the_json_report_names_the_scope_and_leaves_out_of_scope_objects_empty() {
    let (_cluster, _dir, kubeconfig) = start(scoped_objects()).await;
    let run = scan(&kubeconfig, &["-A", "--output", "json"]).await;
    let report: Value = serde_json::from_str(&run.out).expect("JSON");
    assert_eq!(report["scope"], "MutatingWebhookConfiguration autoredeploy");
    let objects = report["objects"].as_array().unwrap();
    let find = |ns: &str, name: &str, kind: &str| {
        objects
            .iter()
            .find(|o| o["namespace"] == ns && o["name"] == name && o["kind"] == kind)
            .unwrap_or_else(|| panic!("{ns}/{name}"))
    };
    let samples = find("openshift", "ruby", "ImageStream");
    assert_eq!(samples["status"], "out-of-scope");
    assert_eq!(
        (&samples["changes"], &samples["patch"]),
        (&json!([]), &json!([]))
    );
    let audited = find("watched", "web", "Deployment");
    assert_eq!(
        (&audited["status"], &audited["mode"]),
        (&json!("would-change"), &json!("audit"))
    );
    // Audit writes nothing: its patch is empty and the would-be patch is reported apart, as
    // `mutate` reports it; an enforced object's patch is what `--fix` writes.
    assert_eq!(audited["patch"], json!([]));
    let would = audited["would_patch"].as_array();
    assert!(would.is_some_and(|p| !p.is_empty()), "{audited}");
    let enforced = find("shop", "web", "Deployment");
    assert_eq!(
        (&enforced["status"], &enforced["mode"]),
        (&json!("would-change"), &json!("enforce"))
    );
    let patch = enforced["patch"].as_array();
    assert!(patch.is_some_and(|p| !p.is_empty()), "{enforced}");
    assert!(enforced.get("would_patch").is_none(), "{enforced}");
    assert_eq!(find("shop", "api", "Deployment")["status"], "owned");
    let reports = scan(&kubeconfig, &["-A", "--output", "policyreport"]).await;
    let list: Value = serde_json::from_str(&reports.out).expect("JSON");
    let namespaces: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["metadata"]["namespace"])
        .collect();
    assert_eq!(
        namespaces,
        [&json!("shop"), &json!("watched")],
        "no PolicyReport is written into a namespace the webhook never serves"
    );
}

#[tokio::test]
async fn without_an_installed_configuration_the_chart_defaults_apply_and_scan_says_so() {
    let (cluster, _dir, kubeconfig) = start(scoped_objects()).await;
    cluster.delete("MutatingWebhookConfiguration", "", "autoredeploy");
    let run = scan(&kubeconfig, &["-A"]).await;
    assert_eq!(run.code, 1, "{}", run.err);
    assert_eq!(
        run.err,
        "autoredeploy: no MutatingWebhookConfiguration holds the webhooks mutate.autoredeploy.io or audit.autoredeploy.io: the scope is the chart's defaults (--exclude-namespaces kube-system,kube-node-lease,openshift --namespace-opt-out-label autoredeploy.io/mode --namespace-opt-out-values disabled --object-opt-out-label autoredeploy.io/skip); pass the values the chart was installed with if they differ\n"
    );
    let (_installed, _dir2, installed_config) = start(scoped_objects()).await;
    let installed = scan(&installed_config, &["-A"]).await;
    assert_eq!(
        run.out,
        installed
            .out
            .replace("[autoredeploy, kube-node-lease", "[kube-node-lease"),
        "the defaults are the chart's: the same statuses, without the release namespace"
    );
    let fix = scan(&kubeconfig, &["-A", "--fix"]).await;
    assert_eq!(fix.code, 0, "{}{}", fix.out, fix.err);
    assert_eq!(patched(&cluster), shop_only());
}

#[tokio::test]
async fn a_configuration_scan_may_not_read_falls_back_to_the_defaults_with_the_reason() {
    let (cluster, _dir, kubeconfig) = start(scoped_objects()).await;
    cluster.forbid("mutatingwebhookconfigurations");
    let run = scan(
        &kubeconfig,
        &["-A", "--fix", "--exclude-namespaces", "openshift"],
    )
    .await;
    assert_eq!(run.code, 0, "{}{}", run.out, run.err);
    assert!(
        run.err.starts_with("autoredeploy: cannot read the webhook's scope: list mutatingwebhookconfigurations.admissionregistration.k8s.io: forbidden by RBAC: "),
        "{}",
        run.err
    );
    assert!(
        run.err
            .contains("the scope is the chart's defaults (--exclude-namespaces openshift "),
        "{}",
        run.err
    );
    assert_eq!(patched(&cluster), shop_only());
}

#[tokio::test]
async fn the_installed_configuration_wins_over_the_defaults() {
    let mut configuration = chart_webhook_configuration();
    for webhook in configuration["webhooks"].as_array_mut().unwrap() {
        webhook["namespaceSelector"]["matchExpressions"][0]["values"] = json!(["shop"]);
        webhook.as_object_mut().unwrap().remove("matchConditions");
    }
    let mut objects = scoped_objects();
    objects.push(configuration);
    let (cluster, _dir, kubeconfig) = start(objects).await;
    let run = scan(
        &kubeconfig,
        &["-A", "--fix", "--exclude-namespaces", "kube-system"],
    )
    .await;
    assert_eq!(run.code, 0, "{}{}", run.out, run.err);
    assert_eq!(
        run.err,
        "autoredeploy: ignored --exclude-namespaces: the scope is read from MutatingWebhookConfiguration autoredeploy\n"
    );
    let namespaces: BTreeSet<String> = patched(&cluster).into_iter().map(|(ns, _)| ns).collect();
    assert_eq!(
        namespaces,
        ["openshift", "openshift-foo"].map(String::from).into(),
        "this configuration serves openshift and openshift-*, and excludes shop"
    );
}

#[tokio::test]
async fn a_named_configuration_is_read_and_a_missing_one_is_an_error() {
    let mut other = chart_webhook_configuration();
    other["metadata"]["name"] = json!("team-webhooks");
    for webhook in other["webhooks"].as_array_mut().unwrap() {
        webhook["name"] = json!(format!("team.{}", webhook["name"].as_str().unwrap()));
        webhook["objectSelector"] = json!({"matchLabels": {"team": "a"}});
    }
    let mut objects = scoped_objects();
    objects.push(other);
    objects.push(labelled(
        workload(APPS, "Deployment", "shop", "team", NGINX, json!({})),
        "team",
        "a",
    ));
    let (cluster, _dir, kubeconfig) = start(objects).await;
    let run = scan(
        &kubeconfig,
        &["-n", "shop", "--webhook-configuration", "team-webhooks"],
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.err);
    assert!(
        line(&run.out, "shop", "Deployment", "team").contains("would change"),
        "{}",
        run.out
    );
    assert!(
        line(&run.out, "shop", "Deployment", "web")
            .contains("out of scope  object has no label team (wanted: team In [a])"),
        "{}",
        run.out
    );
    let gets: Vec<String> = cluster
        .seen()
        .into_iter()
        .filter(|s| s.path.contains("/namespaces/shop") && !s.path.contains("/apis/"))
        .map(|s| s.path)
        .collect();
    assert_eq!(
        gets,
        ["/api/v1/namespaces/shop"],
        "-n reads its one namespace"
    );
    let missing = scan(&kubeconfig, &["-A", "--webhook-configuration", "nope"]).await;
    assert_eq!(missing.code, 2);
    assert_eq!(
        missing.err,
        "autoredeploy: get mutatingwebhookconfigurations.admissionregistration.k8s.io nope: not found\n"
    );
}

#[tokio::test]
async fn unreadable_namespaces_put_every_object_out_of_scope_and_say_which_permission() {
    let (cluster, _dir, kubeconfig) = start(scoped_objects()).await;
    cluster.forbid("namespaces");
    let run = scan(&kubeconfig, &["-A", "--fix"]).await;
    assert_eq!(run.code, 0, "{}{}", run.out, run.err);
    assert!(
        run.err.contains("list namespaces: forbidden by RBAC")
            && run.err.contains("scan needs get and list on namespaces"),
        "{}",
        run.err
    );
    assert!(cluster.patches().is_empty(), "{:?}", cluster.patches());
    let table = scan(&kubeconfig, &["-A"]).await;
    assert!(
        line(&table.out, "shop", "Deployment", "web")
            .contains("out of scope  the labels of namespace shop could not be read"),
        "{}",
        table.out
    );
}

#[tokio::test]
async fn a_condition_scan_cannot_evaluate_is_out_of_scope_with_a_note() {
    let mut configuration = chart_webhook_configuration();
    configuration["webhooks"][0]["matchConditions"] = json!([{"name": "not-bots", "expression": "!request.userInfo.username.startsWith('system:')"}]);
    let mut objects = scoped_objects();
    objects.push(configuration);
    let (cluster, _dir, kubeconfig) = start(objects).await;
    let run = scan(&kubeconfig, &["-A", "--fix"]).await;
    assert_eq!(run.code, 0, "{}{}", run.out, run.err);
    assert!(
        run.err.contains("matchCondition not-bots of webhook mutate.autoredeploy.io in autoredeploy: scan cannot evaluate the CEL expression"),
        "{}",
        run.err
    );
    assert!(cluster.patches().is_empty(), "{:?}", cluster.patches());
}

#[tokio::test]
async fn explaining_an_out_of_scope_object_says_why_and_exits_0() {
    let (_cluster, _dir, kubeconfig) = start(scoped_objects()).await;
    let run = scan(&kubeconfig, &["deploy/web", "-n", "quiet"]).await;
    assert_eq!(run.code, 0, "{}", run.err);
    assert_eq!(
        run.out,
        "Deployment quiet/web: out of scope (namespace label autoredeploy.io/mode=disabled (wanted: autoredeploy.io/mode NotIn [disabled]))\n\nThe webhook is not called for it (MutatingWebhookConfiguration autoredeploy): scan --fix never patches it.\n"
    );
    let audited = scan(&kubeconfig, &["deploy/web", "-n", "watched"]).await;
    assert_eq!(audited.code, 0, "audit changes are only reported");
    assert!(
        audited
            .out
            .starts_with("Deployment watched/web: would change ((audit) "),
        "{}",
        audited.out
    );
    for said in [
        "missing (audit: the webhook only reports this; enforce would change it):",
        "patch: none in audit; the would-be patch (JSON Patch enforce would apply):",
    ] {
        assert!(audited.out.contains(said), "{said}: {}", audited.out);
    }
    assert!(!audited.out.contains("JSON Patch the webhook would apply"));
}

/// One generated namespace: its name and its `autoredeploy.io/mode` label.
#[derive(Debug, Clone)]
struct Space {
    name: &'static str,
    mode: Option<&'static str>,
}

/// One generated Deployment's marks.
#[derive(Debug, Clone)]
struct Marks {
    skip_label: Option<&'static str>,
    owned: bool,
    audit_annotation: bool,
}

fn spaces() -> impl Strategy<Value = Vec<Space>> {
    let name = prop_oneof![
        Just("shop"),
        Just("team-a"),
        Just("openshift"),
        Just("openshift-foo"),
        Just("kube-system"),
        Just("autoredeploy"),
    ];
    let mode = prop_oneof![
        Just(None),
        Just(Some("audit")),
        Just(Some("disabled")),
        Just(Some("enforce"))
    ];
    prop::collection::vec((name, mode), 1..5).prop_map(|spaces| {
        let mut seen = BTreeSet::new();
        spaces
            .into_iter()
            .filter(|(name, _)| seen.insert(*name))
            .map(|(name, mode)| Space { name, mode })
            .collect()
    })
}

fn marks() -> impl Strategy<Value = Marks> {
    (
        prop_oneof![Just(None), Just(Some("true")), Just(Some("false"))],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(skip_label, owned, audit_annotation)| Marks {
            skip_label,
            owned,
            audit_annotation,
        })
}

/// Whether the chart's webhook would patch an object there, written from the chart's
/// template (`charts/autoredeploy/templates/webhook.yaml`) and docs/rules.md, not from
/// `scan::scope`: the namespace not excluded (the release namespace too when the configuration
/// is installed), not `openshift-*`, not labelled disabled or audit; the object not labelled
/// skip, not owned, not annotated audit.
fn may_patch(space: &Space, marks: Option<&Marks>, installed: bool) -> bool {
    let mut excluded = vec!["kube-system", "kube-node-lease", "openshift"];
    if installed {
        excluded.push("autoredeploy");
    }
    let namespace_ok = !excluded.contains(&space.name)
        && !space.name.starts_with("openshift-")
        && !matches!(space.mode, Some("audit" | "disabled"));
    let object_ok =
        marks.is_none_or(|m| m.skip_label != Some("true") && !m.owned && !m.audit_annotation);
    namespace_ok && object_ok
}

fn cluster_of(spaces: &[Space], marks: &[Marks], installed: bool) -> Vec<Value> {
    let mut objects = Vec::new();
    if installed {
        objects.push(chart_webhook_configuration());
    }
    for (i, space) in spaces.iter().enumerate() {
        let labels: Vec<(&str, &str)> = space
            .mode
            .map(|mode| ("autoredeploy.io/mode", mode))
            .into_iter()
            .collect();
        objects.push(namespace(space.name, &labels));
        objects.extend(pair(space.name));
        let m = &marks[i % marks.len()];
        let mut marked = workload(APPS, "Deployment", space.name, "marked", NGINX, json!({}));
        if let Some(value) = m.skip_label {
            marked = labelled(marked, "autoredeploy.io/skip", value);
        }
        if m.owned {
            marked = owned(marked);
        }
        if m.audit_annotation {
            marked["metadata"]["annotations"]["autoredeploy.io/mode"] = json!("audit");
        }
        objects.push(marked);
    }
    // An object every scope serves and that would change: the fix really runs.
    objects.push(namespace("anchor", &[]));
    objects.extend(pair("anchor"));
    objects
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// `scan -A --fix` never patches an object the webhook would not patch (out of scope, in an
    /// audit namespace, labelled skip, owned, annotated audit), with the chart's configuration
    /// installed or with the defaults standing in; and it patches everything the webhook would.
    #[test]
    fn fix_never_patches_outside_the_webhooks_scope(
        spaces in spaces(),
        marks in prop::collection::vec(marks(), 1..4),
        installed in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let patched = runtime.block_on(async {
            let cluster = FakeApi::start_exactly(cluster_of(&spaces, &marks, installed)).await;
            let dir = tempfile::tempdir().expect("temp dir");
            // Unlimited, so that every stream in scope is scheduled whatever the count.
            let args = ["-A", "--fix", "--registry-budget", "docker.io=unlimited"];
            let run = scan(&cluster.kubeconfig(dir.path()), &args).await;
            assert_eq!(run.code, 0, "{}{}", run.out, run.err);
            patched(&cluster)
        });
        let mut expected = BTreeSet::new();
        for (i, space) in spaces.iter().enumerate() {
            let name = space.name.to_string();
            if may_patch(space, None, installed) {
                expected.insert((name.clone(), "nginx".to_string()));
                expected.insert((name.clone(), "web".to_string()));
            }
            if may_patch(space, Some(&marks[i % marks.len()]), installed) {
                expected.insert((name, "marked".to_string()));
            }
        }
        expected.insert(("anchor".to_string(), "nginx".to_string()));
        expected.insert(("anchor".to_string(), "web".to_string()));
        prop_assert_eq!(patched, expected);
    }
}
