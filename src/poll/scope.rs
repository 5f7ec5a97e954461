//! The webhook's scope, for the poller: it imports only tags of ImageStreams the webhook would
//! mutate in enforce mode, so it never acts where the webhook does not (the `openshift`
//! namespace's sample streams, `openshift-*`, namespaces labelled
//! `autoredeploy.io/mode=disabled`, objects labelled `autoredeploy.io/skip=true`) nor where the
//! webhook only reports (`audit` namespaces). The scope is `scan`'s ([`crate::scan::scope`]):
//! the installed MutatingWebhookConfiguration(s) holding autoredeploy's webhooks, or, when none
//! can be read, the chart's defaults; and the namespaces' labels, without which nothing is
//! polled. Read again every cycle. Pure, but for what [`super::Cluster`] reads.

use serde_json::Value;

use crate::config::Mode;
use crate::scan::resources::IMAGE_STREAMS;
use crate::scan::scope::{ChartDefaults, Decision, Namespaces, Scope};

/// What the cluster gave for the scope: the configurations holding autoredeploy's webhooks,
/// and every namespace; each, or why it could not be read.
#[derive(Debug, Clone)]
pub struct ScopeInputs {
    pub configurations: Result<Vec<Value>, String>,
    pub namespaces: Result<Vec<Value>, String>,
}

/// The scope these inputs describe, and a note when it is not the installed one (the chart's
/// defaults stand in, or the namespaces could not be read).
pub fn scope(inputs: &ScopeInputs, defaults: &ChartDefaults) -> (Scope, Vec<String>) {
    let mut notes = Vec::new();
    let namespaces = match &inputs.namespaces {
        Ok(objects) => Namespaces::from_objects(objects),
        Err(why) => {
            notes.push(format!(
                "namespaces not readable ({why}): no ImageStream is polled (the poller needs get and list on namespaces)"
            ));
            Namespaces::unreadable(why.clone())
        }
    };
    let scope = match &inputs.configurations {
        Ok(configurations) if !configurations.is_empty() => {
            Scope::installed(configurations, namespaces)
        }
        Ok(_) => {
            notes.push(
                "no MutatingWebhookConfiguration holds autoredeploy's webhooks: the scope is the chart's defaults".into(),
            );
            Scope::chart_defaults(defaults, namespaces)
        }
        Err(why) => {
            notes.push(format!(
                "MutatingWebhookConfigurations not readable ({why}): the scope is the chart's defaults"
            ));
            Scope::chart_defaults(defaults, namespaces)
        }
    };
    notes.extend(scope.notes.iter().cloned());
    (scope, notes)
}

/// Whether the poller polls `stream`: only when the webhook would mutate it in enforce mode;
/// else why not.
pub fn polls(scope: &Scope, stream: &Value) -> Result<(), String> {
    match scope.decide(&IMAGE_STREAMS, stream) {
        Decision::Served(Mode::Enforce) => Ok(()),
        Decision::Served(Mode::Audit) => {
            Err("the webhook only audits it (audit mode): the poller changes nothing either".into())
        }
        Decision::OutOfScope(why) => Err(why),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn namespace(name: &str, labels: Value) -> Value {
        let mut labels = labels;
        labels["kubernetes.io/metadata.name"] = json!(name);
        json!({"metadata": {"name": name, "labels": labels}})
    }

    fn stream(namespace: &str) -> Value {
        json!({"metadata": {"namespace": namespace, "name": "app"}})
    }

    fn namespaces() -> Vec<Value> {
        vec![
            namespace("shop", json!({})),
            namespace("openshift", json!({})),
            namespace("openshift-config", json!({})),
            namespace("quiet", json!({"autoredeploy.io/mode": "disabled"})),
            namespace("watched", json!({"autoredeploy.io/mode": "audit"})),
        ]
    }

    fn polled(scope: &Scope) -> Vec<&'static str> {
        [
            "shop",
            "openshift",
            "openshift-config",
            "quiet",
            "watched",
            "gone",
        ]
        .into_iter()
        .filter(|ns| polls(scope, &stream(ns)).is_ok())
        .collect()
    }

    #[test]
    fn only_streams_the_webhook_enforces_on_are_polled() {
        let defaults = ChartDefaults::default();
        // Installed: the chart's own configuration, as the API server returns it.
        let installed = ScopeInputs {
            configurations: Ok(vec![defaults.configuration()]),
            namespaces: Ok(namespaces()),
        };
        let (scope, notes) = scope(&installed, &defaults);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(polled(&scope), ["shop"]);
        let why = polls(&scope, &stream("watched")).unwrap_err();
        assert!(why.contains("audit"), "{why}");
        let why = polls(&scope, &stream("quiet")).unwrap_err();
        assert!(why.contains("autoredeploy.io/mode"), "{why}");
        // An object opted out by label.
        let mut skipped = stream("shop");
        skipped["metadata"]["labels"] = json!({"autoredeploy.io/skip": "true"});
        assert!(polls(&scope, &skipped).is_err());
    }

    #[test]
    fn an_installed_configuration_that_differs_from_the_defaults_is_followed() {
        // Installed with `webhook.excludeOpenShiftNamespaces=false` and `quiet` not opted out
        // by its label: the installed one decides, not the defaults.
        let installed = ChartDefaults {
            exclude_openshift_namespaces: false,
            namespace_opt_out_values: vec!["off".into()],
            ..ChartDefaults::default()
        };
        let inputs = ScopeInputs {
            configurations: Ok(vec![installed.configuration()]),
            namespaces: Ok(namespaces()),
        };
        let (scope, _) = scope(&inputs, &ChartDefaults::default());
        assert_eq!(polled(&scope), ["shop", "openshift-config", "quiet"]);
    }

    #[test]
    fn without_a_configuration_the_charts_defaults_apply_and_without_namespaces_nothing() {
        let defaults = ChartDefaults::default();
        for configurations in [Ok(Vec::new()), Err("403 forbidden".to_string())] {
            let inputs = ScopeInputs {
                configurations,
                namespaces: Ok(namespaces()),
            };
            let (scope, notes) = scope(&inputs, &defaults);
            assert!(notes[0].contains("chart's defaults"), "{notes:?}");
            assert_eq!(polled(&scope), ["shop"]);
        }
        let inputs = ScopeInputs {
            configurations: Ok(vec![defaults.configuration()]),
            namespaces: Err("403 forbidden".into()),
        };
        let (scope, notes) = scope(&inputs, &defaults);
        assert!(notes[0].contains("namespaces not readable"), "{notes:?}");
        assert!(polled(&scope).is_empty());
    }
}
