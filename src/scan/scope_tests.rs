use serde_json::{Value, json};

use super::*;
use crate::scan::resources::{IMAGE_STREAMS, WORKLOADS};

const DEPLOYMENTS: &Resource = &WORKLOADS[1];

/// The chart's configuration as Helm renders it (release `autoredeploy` in `autoredeploy`).
fn chart_configuration() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/webhook/chart-default.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

fn namespace(name: &str, labels: &[(&str, &str)]) -> Value {
    let mut all: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    all.insert(NAMESPACE_NAME_LABEL.into(), json!(name));
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": all}})
}

fn cluster_namespaces() -> Namespaces {
    Namespaces::from_objects(&[
        namespace("shop", &[]),
        namespace("openshift", &[]),
        namespace("openshift-foo", &[]),
        namespace("autoredeploy", &[]),
        namespace("quiet", &[("autoredeploy.io/mode", "disabled")]),
        namespace("watched", &[("autoredeploy.io/mode", "audit")]),
    ])
}

fn object(ns: &str, labels: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns, "labels": labels}})
}

fn installed() -> Scope {
    Scope::installed(&[chart_configuration()], cluster_namespaces())
}

fn out_of_scope(decision: Decision) -> String {
    match decision {
        Decision::OutOfScope(why) => why,
        served => panic!("expected out of scope, got {served:?}"),
    }
}

#[test]
fn the_chart_scope_serves_ordinary_namespaces_and_audits_audit_ones() {
    let scope = installed();
    assert!(scope.notes.is_empty(), "{:?}", scope.notes);
    assert_eq!(
        scope.decide(DEPLOYMENTS, &object("shop", json!({}))),
        Decision::Served(Mode::Enforce)
    );
    assert_eq!(
        scope.decide(&IMAGE_STREAMS, &object("shop", json!({"app": "x"}))),
        Decision::Served(Mode::Enforce)
    );
    assert_eq!(
        scope.decide(DEPLOYMENTS, &object("watched", json!({}))),
        Decision::Served(Mode::Audit)
    );
}

#[test]
fn the_chart_scope_leaves_out_what_the_webhook_never_sees() {
    let scope = installed();
    let excluded = "namespace label kubernetes.io/metadata.name=openshift (wanted: kubernetes.io/metadata.name NotIn [autoredeploy, kube-node-lease, kube-system, openshift])";
    assert_eq!(
        out_of_scope(scope.decide(DEPLOYMENTS, &object("openshift", json!({})))),
        excluded
    );
    assert!(
        out_of_scope(scope.decide(DEPLOYMENTS, &object("autoredeploy", json!({}))))
            .contains("kubernetes.io/metadata.name=autoredeploy")
    );
    assert_eq!(
        out_of_scope(scope.decide(&IMAGE_STREAMS, &object("openshift-foo", json!({})))),
        "matchCondition exclude-openshift-namespaces (!request.namespace.startsWith('openshift-')) is false for namespace openshift-foo"
    );
    assert_eq!(
        out_of_scope(scope.decide(DEPLOYMENTS, &object("quiet", json!({})))),
        "namespace label autoredeploy.io/mode=disabled (wanted: autoredeploy.io/mode NotIn [disabled])",
        "both webhooks stop at the namespaceSelector: the first one's reason is given"
    );
    assert_eq!(
        out_of_scope(scope.decide(
            DEPLOYMENTS,
            &object("shop", json!({"autoredeploy.io/skip": "true"}))
        )),
        "object label autoredeploy.io/skip=true (wanted: autoredeploy.io/skip NotIn [true])"
    );
    assert_eq!(
        out_of_scope(scope.decide(DEPLOYMENTS, &object("nowhere", json!({})))),
        "namespace nowhere was not found"
    );
}

#[test]
fn without_the_audit_webhook_an_audit_namespace_is_out_of_scope() {
    let mut configuration = chart_configuration();
    configuration["webhooks"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let scope = Scope::installed(&[configuration], cluster_namespaces());
    assert_eq!(
        out_of_scope(scope.decide(DEPLOYMENTS, &object("watched", json!({})))),
        "namespace label autoredeploy.io/mode=audit (wanted: autoredeploy.io/mode NotIn [audit])"
    );
}

#[test]
fn the_chart_defaults_are_what_the_chart_renders() {
    let defaults = ChartDefaults {
        exclude_namespaces: [
            "autoredeploy",
            "kube-system",
            "kube-node-lease",
            "openshift",
        ]
        .map(String::from)
        .to_vec(),
        ..ChartDefaults::default()
    };
    let scoped = |configuration: &Value| -> Vec<Value> {
        configuration["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                json!({"name": w["name"], "path": w["clientConfig"]["service"]["path"], "rules": w["rules"],
                    "namespaceSelector": w["namespaceSelector"], "objectSelector": w["objectSelector"],
                    "matchConditions": w["matchConditions"]})
            })
            .collect()
    };
    assert_eq!(
        scoped(&defaults.configuration()),
        scoped(&chart_configuration())
    );
    let without = ChartDefaults {
        exclude_openshift_namespaces: false,
        ..ChartDefaults::default()
    };
    let scope = Scope::chart_defaults(&without, cluster_namespaces());
    assert_eq!(scope.source, Source::ChartDefaults);
    assert_eq!(
        scope.decide(DEPLOYMENTS, &object("openshift-foo", json!({}))),
        Decision::Served(Mode::Enforce)
    );
    assert!(
        without
            .as_flags()
            .ends_with(" --include-openshift-namespaces")
    );
}

#[test]
fn kinds_the_rules_do_not_route_are_out_of_scope() {
    let mut configuration = chart_configuration();
    for webhook in configuration["webhooks"].as_array_mut().unwrap() {
        webhook["rules"] = json!([{"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1"],
            "resources": ["deployments"], "scope": "Namespaced"},
            {"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["statefulsets/*"]}]);
    }
    let scope = Scope::installed(&[configuration], cluster_namespaces());
    assert_eq!(
        out_of_scope(scope.decide(DEPLOYMENTS, &object("shop", json!({})))),
        "the webhook's rules do not route UPDATE of deployments.apps/v1"
    );
    assert_eq!(
        scope.decide(&WORKLOADS[2], &object("shop", json!({}))),
        Decision::Served(Mode::Enforce),
        "statefulsets/* matches the resource itself too, as in the API server"
    );
    let rule = |scope: &str| Rule {
        operations: vec!["UPDATE".into()],
        api_groups: vec!["apps".into()],
        api_versions: vec!["v1".into()],
        resources: vec!["*".into()],
        scope: Some(scope.into()),
    };
    assert!(rule("*").routes_update(DEPLOYMENTS));
    assert!(!rule("Cluster").routes_update(DEPLOYMENTS));
    let other_version = Rule {
        api_versions: vec!["v1beta1".into()],
        ..rule("*")
    };
    assert!(!other_version.routes_update(DEPLOYMENTS));
    let subresource_only = Rule {
        resources: vec!["deployments/scale".into()],
        ..rule("*")
    };
    assert!(!subresource_only.routes_update(DEPLOYMENTS));
}

#[test]
fn conditions_other_than_a_namespace_prefix_are_out_of_scope_with_a_note() {
    let mut configuration = chart_configuration();
    configuration["webhooks"][0]["matchConditions"] = json!([
        {"name": "not-team-b", "expression": "request.userInfo.username != 'bob'"}
    ]);
    let scope = Scope::installed(&[configuration], cluster_namespaces());
    assert_eq!(scope.notes.len(), 1, "{:?}", scope.notes);
    assert!(
        scope.notes[0].contains("not-team-b") && scope.notes[0].contains("cannot evaluate"),
        "{}",
        scope.notes[0]
    );
    assert_eq!(
        out_of_scope(scope.decide(DEPLOYMENTS, &object("shop", json!({})))),
        "matchCondition not-team-b (request.userInfo.username != 'bob') cannot be evaluated by scan: treated as out of scope"
    );
}

#[test]
fn namespace_prefix_conditions_are_recognised_in_their_spellings() {
    for (expression, expected) in [
        (
            "!request.namespace.startsWith('openshift-')",
            Some(("openshift-", true)),
        ),
        (
            " ! request . namespace . startsWith ( \"kube-\" ) ",
            Some(("kube-", true)),
        ),
        ("!(request.namespace.startsWith('a'))", Some(("a", true))),
        (
            "request.namespace.startsWith('team-')",
            Some(("team-", false)),
        ),
        ("request.namespace.startsWith('a') && true", None),
        ("request.namespace.startsWith('it\\'s')", None),
        ("request.namespace.startsWith(x)", None),
        ("request.name.startsWith('a')", None),
        ("", None),
    ] {
        let parsed = namespace_prefix(expression);
        let parsed = parsed.as_ref().map(|(p, n)| (p.as_str(), *n));
        assert_eq!(parsed, expected, "{expression:?}");
    }
    let team = Condition::parse(
        &json!({"name": "team", "expression": "request.namespace.startsWith('team-')"}),
    );
    assert!(team.holds("team-a").is_ok());
    assert!(team.holds("shop").is_err());
}

#[test]
fn only_webhooks_on_autoredeploys_paths_count_and_urls_are_read() {
    let mut configuration = chart_configuration();
    configuration["webhooks"][0]["clientConfig"] =
        json!({"url": "https://127.0.0.1:8443/mutate?x=1"});
    configuration["webhooks"][1]["clientConfig"] =
        json!({"service": {"name": "x", "path": "/validate"}});
    let scope = Scope::installed(&[configuration.clone()], cluster_namespaces());
    assert_eq!(
        scope.decide(DEPLOYMENTS, &object("shop", json!({}))),
        Decision::Served(Mode::Enforce)
    );
    assert!(
        matches!(
            scope.decide(DEPLOYMENTS, &object("watched", json!({}))),
            Decision::OutOfScope(_)
        ),
        "the audit webhook calls a path autoredeploy does not serve"
    );
    configuration["webhooks"][0]["clientConfig"] = json!({"url": "https://host"});
    let scope = Scope::installed(&[configuration], cluster_namespaces());
    assert_eq!(scope.notes.len(), 1, "{:?}", scope.notes);
    assert_eq!(
        out_of_scope(scope.decide(DEPLOYMENTS, &object("shop", json!({})))),
        "MutatingWebhookConfiguration autoredeploy holds no webhook of autoredeploy"
    );
}

#[test]
fn unreadable_namespaces_are_out_of_scope_unless_no_selector_needs_them() {
    let unreadable = || Namespaces::unreadable("forbidden".into());
    let scope = Scope::installed(&[chart_configuration()], unreadable());
    assert_eq!(
        out_of_scope(scope.decide(DEPLOYMENTS, &object("shop", json!({})))),
        "the labels of namespace shop could not be read (forbidden)"
    );
    let mut configuration = chart_configuration();
    for webhook in configuration["webhooks"].as_array_mut().unwrap() {
        webhook.as_object_mut().unwrap().remove("namespaceSelector");
    }
    let scope = Scope::installed(&[configuration], unreadable());
    assert_eq!(
        scope.decide(DEPLOYMENTS, &object("shop", json!({}))),
        Decision::Served(Mode::Enforce),
        "both webhooks are called then; the enforcing one patches"
    );
}

#[test]
fn a_selector_the_api_server_would_refuse_is_out_of_scope_with_a_note() {
    let mut configuration = chart_configuration();
    configuration["webhooks"][0]["objectSelector"] =
        json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]});
    let scope = Scope::installed(&[configuration], cluster_namespaces());
    assert_eq!(scope.notes.len(), 1, "{:?}", scope.notes);
    assert!(
        out_of_scope(scope.decide(DEPLOYMENTS, &object("shop", json!({}))))
            .starts_with("objectSelector unreadable: ")
    );
}

#[test]
fn sources_say_where_the_scope_came_from() {
    assert_eq!(
        Source::Installed(vec!["autoredeploy".into()]).to_string(),
        "MutatingWebhookConfiguration autoredeploy"
    );
    assert_eq!(
        Source::Installed(vec!["a".into(), "b".into()]).to_string(),
        "MutatingWebhookConfigurations a, b"
    );
    assert!(holds_autoredeploy(&chart_configuration()));
    assert!(!holds_autoredeploy(
        &json!({"webhooks": [{"name": "other.example.com"}]})
    ));
}
