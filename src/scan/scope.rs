//! Which objects the webhook is called for, so that `scan` reports, and `--fix` patches,
//! exactly what the webhook would. The API server calls a webhook for an object when one of
//! its `rules` routes the request (operation, group, version, resource, scope), the object's
//! namespace matches its `namespaceSelector`, the object matches its `objectSelector`, and
//! every `matchConditions` expression holds (kubernetes
//! `staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/` and
//! `.../webhook/generic/webhook.go`, `ShouldCallHook`). The webhooks are read from the
//! installed MutatingWebhookConfiguration (the chart's holds `mutate.autoredeploy.io`, served
//! at `/mutate`, and `audit.autoredeploy.io`, at `/audit`); when none can be read, from the
//! chart's defaults, which [`ChartDefaults`] renders the way the chart's template does.
//!
//! CEL is not evaluated in general: the one expression the chart writes,
//! `!request.namespace.startsWith('openshift-')` (and any `request.namespace.startsWith(...)`,
//! negated or not), is recognised; any other makes the objects it would decide on out of
//! scope, with a note. Loading talks to the API server through [`Cluster`]; deciding is pure.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};

use super::api::{ApiError, Cluster};
use super::resources::{MUTATING_WEBHOOK_CONFIGURATIONS, NAMESPACES, Resource};
use super::selector::{Labels, Selector, labels_of};
use crate::config::Mode;
use crate::server::router::{AUDIT_PATH, MUTATE_PATH};

/// The names the chart gives its two webhooks; a configuration holding either is autoredeploy's.
pub const WEBHOOK_NAMES: [&str; 2] = ["mutate.autoredeploy.io", "audit.autoredeploy.io"];

/// The label kube-apiserver puts on every namespace, with the namespace's name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The scope the chart installs, for when no configuration can be read: its values
/// `webhook.excludeNamespaces`, `webhook.namespaceOptOut`, `webhook.objectOptOutLabel` and
/// `webhook.excludeOpenShiftNamespaces`. The release namespace, which the chart also
/// excludes, belongs in `exclude_namespaces`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartDefaults {
    pub exclude_namespaces: Vec<String>,
    pub namespace_opt_out_label: String,
    pub namespace_opt_out_values: Vec<String>,
    pub object_opt_out_label: String,
    pub exclude_openshift_namespaces: bool,
}

impl Default for ChartDefaults {
    fn default() -> Self {
        ChartDefaults {
            exclude_namespaces: ["kube-system", "kube-node-lease", "openshift"]
                .map(String::from)
                .to_vec(),
            namespace_opt_out_label: "autoredeploy.io/mode".into(),
            namespace_opt_out_values: vec!["disabled".into()],
            object_opt_out_label: "autoredeploy.io/skip".into(),
            exclude_openshift_namespaces: true,
        }
    }
}

/// The chart's one matchCondition.
const OPENSHIFT_CONDITION: (&str, &str) = (
    "exclude-openshift-namespaces",
    "!request.namespace.startsWith('openshift-')",
);

impl ChartDefaults {
    /// The MutatingWebhookConfiguration the chart's template renders with these values
    /// (`charts/autoredeploy/templates/webhook.yaml`), as far as the scope goes.
    pub fn configuration(&self) -> Value {
        let rules = json!([
            {"operations": ["CREATE", "UPDATE"], "apiGroups": ["image.openshift.io"], "apiVersions": ["v1"],
             "resources": ["imagestreams", "imagestreamtags", "imagestreamimports", "imagetags"], "scope": "Namespaced"},
            {"operations": ["CREATE", "UPDATE"], "apiGroups": ["apps.openshift.io"], "apiVersions": ["v1"],
             "resources": ["deploymentconfigs"], "scope": "Namespaced"},
            {"operations": ["CREATE", "UPDATE"], "apiGroups": ["apps"], "apiVersions": ["v1"],
             "resources": ["deployments", "statefulsets", "daemonsets"], "scope": "Namespaced"},
            {"operations": ["CREATE", "UPDATE"], "apiGroups": ["batch"], "apiVersions": ["v1"],
             "resources": ["cronjobs"], "scope": "Namespaced"},
        ]);
        let webhook = |name: &str, path: &str, mode_operator: &str| {
            let mut webhook = json!({
                "name": name,
                "clientConfig": {"service": {"name": "autoredeploy", "path": path, "port": 443}},
                "rules": rules,
                "namespaceSelector": {"matchExpressions": [
                    {"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": self.exclude_namespaces},
                    {"key": "autoredeploy.io/mode", "operator": mode_operator, "values": ["audit"]},
                    {"key": self.namespace_opt_out_label, "operator": "NotIn", "values": self.namespace_opt_out_values},
                ]},
                "objectSelector": {"matchExpressions": [
                    {"key": self.object_opt_out_label, "operator": "NotIn", "values": ["true"]},
                ]},
            });
            if self.exclude_openshift_namespaces {
                let (name, expression) = OPENSHIFT_CONDITION;
                webhook["matchConditions"] = json!([{"name": name, "expression": expression}]);
            }
            webhook
        };
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "autoredeploy"},
            "webhooks": [
                webhook(WEBHOOK_NAMES[0], MUTATE_PATH, "NotIn"),
                webhook(WEBHOOK_NAMES[1], AUDIT_PATH, "In"),
            ],
        })
    }

    /// These values as the flags that set them.
    pub fn as_flags(&self) -> String {
        let mut flags = format!(
            "--exclude-namespaces {} --namespace-opt-out-label {} --namespace-opt-out-values {} --object-opt-out-label {}",
            self.exclude_namespaces.join(","),
            self.namespace_opt_out_label,
            self.namespace_opt_out_values.join(","),
            self.object_opt_out_label
        );
        if !self.exclude_openshift_namespaces {
            flags.push_str(" --include-openshift-namespaces");
        }
        flags
    }
}

/// How to find the scope.
#[derive(Debug, Clone, Default)]
pub struct ScopeOptions {
    /// The MutatingWebhookConfiguration to read; `None` finds the ones holding
    /// [`WEBHOOK_NAMES`].
    pub configuration: Option<String>,
    /// Used when no configuration can be read.
    pub defaults: ChartDefaults,
    /// The default flags given on the command line (ignored when a configuration is read).
    pub defaults_given: Vec<&'static str>,
}

/// Where the webhooks came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// These installed MutatingWebhookConfigurations.
    Installed(Vec<String>),
    /// The chart's defaults (no configuration could be read).
    ChartDefaults,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Installed(names) if names.len() == 1 => {
                write!(f, "MutatingWebhookConfiguration {}", names[0])
            }
            Source::Installed(names) => {
                write!(f, "MutatingWebhookConfigurations {}", names.join(", "))
            }
            Source::ChartDefaults => f.write_str("the chart's defaults"),
        }
    }
}

/// What the webhook would do with one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A webhook is called for it, in this mode (`/audit` only reports).
    Served(Mode),
    /// No webhook is called for it; why, in one phrase.
    OutOfScope(String),
}

/// How far a request got through one webhook's checks, in the API server's order: the
/// furthest is the most telling reason an object is out of scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Rules,
    NamespaceSelector,
    ObjectSelector,
    MatchConditions,
}

/// One `rules[]` entry.
#[derive(Debug, Clone, Default)]
struct Rule {
    operations: Vec<String>,
    api_groups: Vec<String>,
    api_versions: Vec<String>,
    resources: Vec<String>,
    scope: Option<String>,
}

impl Rule {
    fn parse(rule: &Value) -> Rule {
        let list = |key: &str| -> Vec<String> {
            rule.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        };
        Rule {
            operations: list("operations"),
            api_groups: list("apiGroups"),
            api_versions: list("apiVersions"),
            resources: list("resources"),
            scope: rule
                .get("scope")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    /// Whether an UPDATE of a namespaced `resource` (no subresource) is routed: kubernetes
    /// `.../webhook/predicates/rules/rules.go`, `Matcher.Matches`.
    fn routes_update(&self, resource: &Resource) -> bool {
        let has = |list: &[String], value: &str| list.iter().any(|v| v == "*" || v == value);
        let resource_matches = self.resources.iter().any(|entry| {
            let (name, sub) = entry.split_once('/').unwrap_or((entry, ""));
            (name == "*" || name == resource.plural) && (sub == "*" || sub.is_empty())
        });
        let scope = match self.scope.as_deref() {
            None | Some("*") | Some("Namespaced") => true,
            Some(_) => false,
        };
        has(&self.operations, "UPDATE")
            && has(&self.api_groups, resource.group)
            && has(&self.api_versions, resource.version)
            && resource_matches
            && scope
    }
}

/// One `matchConditions[]` entry.
#[derive(Debug, Clone)]
enum Condition {
    /// `request.namespace.startsWith('prefix')`, negated when it starts with `!`.
    NamespacePrefix {
        name: String,
        expression: String,
        prefix: String,
        negated: bool,
    },
    /// An expression scan cannot evaluate.
    Unknown { name: String, expression: String },
}

impl Condition {
    fn parse(condition: &Value) -> Condition {
        let text = |key: &str| {
            condition
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (name, expression) = (text("name"), text("expression"));
        match namespace_prefix(&expression) {
            Some((prefix, negated)) => Condition::NamespacePrefix {
                name,
                expression,
                prefix,
                negated,
            },
            None => Condition::Unknown { name, expression },
        }
    }

    /// `Err` with why the condition does not hold for `namespace`.
    fn holds(&self, namespace: &str) -> Result<(), String> {
        match self {
            Condition::NamespacePrefix {
                name,
                expression,
                prefix,
                negated,
            } => match namespace.starts_with(prefix.as_str()) != *negated {
                true => Ok(()),
                false => Err(format!(
                    "matchCondition {name} ({expression}) is false for namespace {namespace}"
                )),
            },
            Condition::Unknown { name, expression } => Err(format!(
                "matchCondition {name} ({expression}) cannot be evaluated by scan: treated as out of scope"
            )),
        }
    }
}

/// `request.namespace.startsWith('p')` or `"p"`, with any spaces, an optional `!` before
/// it and optional parentheses around the call: the prefix and whether it is negated.
fn namespace_prefix(expression: &str) -> Option<(String, bool)> {
    let mut text = expression.trim();
    let negated = match text.strip_prefix('!') {
        Some(rest) => {
            text = rest.trim_start();
            true
        }
        None => false,
    };
    while let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        text = inner.trim();
    }
    let call = ["request", ".", "namespace", ".", "startsWith", "("];
    for token in call {
        text = text.strip_prefix(token)?.trim_start();
    }
    let text = text.strip_suffix(')')?.trim_end();
    let quote = text.chars().next().filter(|q| *q == '\'' || *q == '"')?;
    let literal = text.strip_prefix(quote)?.strip_suffix(quote)?;
    // Escapes and embedded quotes would need a real CEL string parser.
    if literal.contains(['\\', '\'', '"']) {
        return None;
    }
    Some((literal.to_string(), negated))
}

/// One webhook of a configuration, as far as its scope goes.
#[derive(Debug, Clone)]
struct Webhook {
    mode: Mode,
    rules: Vec<Rule>,
    namespace_selector: Result<Selector, String>,
    object_selector: Result<Selector, String>,
    conditions: Vec<Condition>,
}

impl Webhook {
    /// The webhook, if its path is one autoredeploy serves, and notes on what cannot be
    /// evaluated.
    fn parse(configuration: &str, webhook: &Value, notes: &mut Vec<String>) -> Option<Webhook> {
        let name = webhook.get("name").and_then(Value::as_str).unwrap_or("?");
        let path = webhook_path(webhook);
        let mode = match path.as_deref() {
            Some(MUTATE_PATH) => Mode::Enforce,
            Some(AUDIT_PATH) => Mode::Audit,
            _ => return None,
        };
        let mut selector = |key: &str| {
            Selector::parse(webhook.get(key)).inspect_err(|error| {
                notes.push(format!(
                    "the {key} of webhook {name} in {configuration} cannot be read ({error}): objects it would select are reported out of scope"
                ));
            })
        };
        let namespace_selector = selector("namespaceSelector");
        let object_selector = selector("objectSelector");
        let conditions: Vec<Condition> = webhook
            .get("matchConditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(Condition::parse)
            .collect();
        for condition in &conditions {
            if let Condition::Unknown {
                name: cond,
                expression,
            } = condition
            {
                notes.push(format!(
                    "matchCondition {cond} of webhook {name} in {configuration}: scan cannot evaluate the CEL expression {expression:?}, so the objects it decides on are reported out of scope and never patched"
                ));
            }
        }
        Some(Webhook {
            mode,
            rules: webhook
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(Rule::parse)
                .collect(),
            namespace_selector,
            object_selector,
            conditions,
        })
    }

    /// Whether the API server would call this webhook for an UPDATE of `object`, else how
    /// far it got and why not.
    fn calls(
        &self,
        resource: &Resource,
        namespace: &str,
        namespace_labels: Result<&Labels, &str>,
        object: &Value,
    ) -> Result<Mode, (Stage, String)> {
        if !self.rules.iter().any(|rule| rule.routes_update(resource)) {
            return Err((
                Stage::Rules,
                format!(
                    "the webhook's rules do not route UPDATE of {}/{}",
                    resource.qualified(),
                    resource.version
                ),
            ));
        }
        let failed = |stage: Stage, why: String| Err((stage, why));
        match &self.namespace_selector {
            Err(error) => {
                return failed(
                    Stage::NamespaceSelector,
                    format!("namespaceSelector unreadable: {error}"),
                );
            }
            Ok(selector) if selector.requirements.is_empty() => {}
            Ok(selector) => match namespace_labels {
                Err(why) => return failed(Stage::NamespaceSelector, why.to_string()),
                Ok(labels) => {
                    if let Some(requirement) = selector.first_failed(labels) {
                        return failed(
                            Stage::NamespaceSelector,
                            requirement.failure("namespace", labels),
                        );
                    }
                }
            },
        }
        match &self.object_selector {
            Err(error) => {
                return failed(
                    Stage::ObjectSelector,
                    format!("objectSelector unreadable: {error}"),
                );
            }
            Ok(selector) => {
                let labels = labels_of(object);
                if let Some(requirement) = selector.first_failed(&labels) {
                    return failed(
                        Stage::ObjectSelector,
                        requirement.failure("object", &labels),
                    );
                }
            }
        }
        for condition in &self.conditions {
            condition
                .holds(namespace)
                .map_err(|why| (Stage::MatchConditions, why))?;
        }
        Ok(self.mode)
    }
}

/// The path the API server posts to: `clientConfig.service.path`, or the path of
/// `clientConfig.url`.
fn webhook_path(webhook: &Value) -> Option<String> {
    let client = webhook.get("clientConfig")?;
    if let Some(path) = client.pointer("/service/path").and_then(Value::as_str) {
        return Some(path.to_string());
    }
    let url = client.get("url")?.as_str()?;
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    Some(path.split(['?', '#']).next().unwrap_or(path).to_string())
}

/// The namespaces' labels, as far as they could be read.
#[derive(Debug, Clone, Default)]
pub struct Namespaces {
    labels: BTreeMap<String, Labels>,
    /// Why namespaces could not be read, if they could not.
    unreadable: Option<String>,
}

impl Namespaces {
    /// From listed (or fetched) Namespace objects.
    pub fn from_objects<'a>(namespaces: impl IntoIterator<Item = &'a Value>) -> Self {
        let labels = namespaces
            .into_iter()
            .filter_map(|ns| {
                let name = ns.pointer("/metadata/name")?.as_str()?;
                Some((name.to_string(), labels_of(ns)))
            })
            .collect();
        Namespaces {
            labels,
            unreadable: None,
        }
    }

    /// Namespaces could not be read, for this reason.
    pub fn unreadable(why: String) -> Self {
        Namespaces {
            labels: BTreeMap::new(),
            unreadable: Some(why),
        }
    }

    fn of(&self, namespace: &str) -> Result<&Labels, String> {
        if let Some(why) = &self.unreadable {
            return Err(format!(
                "the labels of namespace {namespace} could not be read ({why})"
            ));
        }
        self.labels
            .get(namespace)
            .ok_or_else(|| format!("namespace {namespace} was not found"))
    }
}

/// The webhooks whose scope the scan applies, and the namespaces' labels.
#[derive(Debug, Clone)]
pub struct Scope {
    pub source: Source,
    webhooks: Vec<Webhook>,
    namespaces: Namespaces,
    /// Said once: where the scope came from when it is not installed, what cannot be evaluated.
    pub notes: Vec<String>,
}

impl Scope {
    /// The scope of installed configurations (each a MutatingWebhookConfiguration object):
    /// the webhooks on `/mutate` and `/audit`.
    pub fn installed(configurations: &[Value], namespaces: Namespaces) -> Scope {
        let mut notes = Vec::new();
        let mut names = Vec::new();
        let mut webhooks = Vec::new();
        for configuration in configurations {
            let name = configuration
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("?");
            names.push(name.to_string());
            let found = configuration
                .get("webhooks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|webhook| Webhook::parse(name, webhook, &mut notes))
                .collect::<Vec<_>>();
            if found.is_empty() {
                notes.push(format!(
                    "MutatingWebhookConfiguration {name} has no webhook calling {MUTATE_PATH} or {AUDIT_PATH}: the webhook is called for nothing, so every object is out of scope"
                ));
            }
            webhooks.extend(found);
        }
        Scope {
            source: Source::Installed(names),
            webhooks,
            namespaces,
            notes,
        }
    }

    /// The chart's default scope with these values.
    pub fn chart_defaults(defaults: &ChartDefaults, namespaces: Namespaces) -> Scope {
        let mut scope = Scope::installed(&[defaults.configuration()], namespaces);
        scope.source = Source::ChartDefaults;
        scope
    }

    /// What the webhook would do with a re-apply (an UPDATE) of `object`, a `resource`.
    pub fn decide(&self, resource: &Resource, object: &Value) -> Decision {
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let labels = self.namespaces.of(namespace);
        let labels = labels.as_deref().map_err(String::as_str);
        let mut served: Option<Mode> = None;
        let mut furthest: Option<(Stage, String)> = None;
        for webhook in &self.webhooks {
            match webhook.calls(resource, namespace, labels, object) {
                // The enforcing webhook patches even when the auditing one is called too.
                Ok(mode) => {
                    served = Some(match served {
                        Some(Mode::Enforce) => Mode::Enforce,
                        _ => mode,
                    });
                }
                Err((stage, why)) => {
                    if furthest.as_ref().is_none_or(|(best, _)| stage > *best) {
                        furthest = Some((stage, why));
                    }
                }
            }
        }
        match (served, furthest) {
            (Some(mode), _) => Decision::Served(mode),
            (None, Some((_, why))) => Decision::OutOfScope(why),
            (None, None) => {
                Decision::OutOfScope(format!("{} holds no webhook of autoredeploy", self.source))
            }
        }
    }
}

/// Read the scope: the configuration(s), and the labels of `namespace` (or of every
/// namespace). What cannot be read is noted, and the chart's defaults (or, for namespaces,
/// "out of scope") stand in for it. Only an unreachable API server, and a named
/// configuration that does not exist, are errors. Also returns the list requests made.
pub async fn load(
    cluster: &Cluster,
    namespace: Option<&str>,
    options: &ScopeOptions,
) -> Result<(Scope, usize), ApiError> {
    let (namespaces, mut requests, namespace_note) = load_namespaces(cluster, namespace).await?;
    let (configurations, listed, why_not) = load_configurations(cluster, options).await?;
    requests += listed;
    let mut scope = match why_not {
        None => {
            let mut scope = Scope::installed(&configurations, namespaces);
            if !options.defaults_given.is_empty() {
                scope.notes.insert(
                    0,
                    format!(
                        "ignored {}: the scope is read from {}",
                        options.defaults_given.join(", "),
                        scope.source
                    ),
                );
            }
            scope
        }
        Some(why) => {
            let mut scope = Scope::chart_defaults(&options.defaults, namespaces);
            scope.notes.insert(
                0,
                format!(
                    "{why}: the scope is the chart's defaults ({}); pass the values the chart was installed with if they differ",
                    options.defaults.as_flags()
                ),
            );
            scope
        }
    };
    if let Some(note) = namespace_note {
        scope.notes.push(note);
    }
    Ok((scope, requests))
}

/// The namespaces' labels, the list requests made, and a note when they cannot be read.
async fn load_namespaces(
    cluster: &Cluster,
    namespace: Option<&str>,
) -> Result<(Namespaces, usize, Option<String>), ApiError> {
    let read = match namespace {
        Some(ns) => match cluster.get(&NAMESPACES, "", ns).await {
            Ok(object) => Ok((vec![object], 0)),
            Err(ApiError::NotFound { .. }) => Ok((Vec::new(), 0)),
            Err(error) => Err(error),
        },
        None => {
            let mut found = Vec::new();
            let listed = cluster.list(&NAMESPACES, None, |ns| found.push(ns)).await;
            listed.map(|requests| (found, requests))
        }
    };
    match read {
        Ok((objects, requests)) => Ok((Namespaces::from_objects(&objects), requests, None)),
        Err(error @ ApiError::Unreachable { .. }) => Err(error),
        Err(error) => {
            let why = error.to_string();
            let note = format!(
                "{why}: without the namespaces' labels the webhook's namespaceSelector cannot be evaluated, so their objects are reported out of scope and never patched (scan needs get and list on namespaces)"
            );
            Ok((Namespaces::unreadable(why), 0, Some(note)))
        }
    }
}

/// The configurations to read the scope from, the list requests made, and why none could be
/// read (then the chart's defaults apply).
async fn load_configurations(
    cluster: &Cluster,
    options: &ScopeOptions,
) -> Result<(Vec<Value>, usize, Option<String>), ApiError> {
    let resource = &MUTATING_WEBHOOK_CONFIGURATIONS;
    if let Some(name) = &options.configuration {
        return match cluster.get(resource, "", name).await {
            Ok(configuration) => Ok((vec![configuration], 0, None)),
            Err(error @ (ApiError::Unreachable { .. } | ApiError::NotFound { .. })) => Err(error),
            Err(error) => Ok((
                Vec::new(),
                0,
                Some(format!("cannot read the webhook's scope: {error}")),
            )),
        };
    }
    let mut found = Vec::new();
    let listed = cluster
        .list(resource, None, |configuration| {
            if holds_autoredeploy(&configuration) {
                found.push(configuration);
            }
        })
        .await;
    match listed {
        Ok(requests) if found.is_empty() => Ok((
            found,
            requests,
            Some(format!(
                "no MutatingWebhookConfiguration holds the webhooks {} or {}",
                WEBHOOK_NAMES[0], WEBHOOK_NAMES[1]
            )),
        )),
        Ok(requests) => Ok((found, requests, None)),
        Err(error @ ApiError::Unreachable { .. }) => Err(error),
        Err(error) => Ok((
            Vec::new(),
            0,
            Some(format!("cannot read the webhook's scope: {error}")),
        )),
    }
}

/// Whether a configuration holds one of the chart's webhooks.
pub fn holds_autoredeploy(configuration: &Value) -> bool {
    configuration
        .get("webhooks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|w| w.get("name").and_then(Value::as_str))
        .any(|name| WEBHOOK_NAMES.contains(&name))
}

#[cfg(test)]
#[path = "scope_tests.rs"]
mod tests;
