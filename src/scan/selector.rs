//! Kubernetes label selectors as the API server evaluates a webhook's `namespaceSelector` and
//! `objectSelector`: `matchLabels` and `matchExpressions` with `In`, `NotIn`, `Exists` and
//! `DoesNotExist`, all of them ANDed; an absent or empty selector matches everything
//! (kubernetes `staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/helpers.go`,
//! `LabelSelectorAsSelector`, and `pkg/labels/selector.go`, `Requirement.Matches`). Pure.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

/// An object's labels.
pub type Labels = BTreeMap<String, String>;

/// The labels of `metadata.labels` (values that are not strings are left out: the API server
/// would not have stored them).
pub fn labels_of(object: &Value) -> Labels {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_string())))
        .collect()
}

/// A selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Operator {
    fn parse(text: &str) -> Option<Operator> {
        match text {
            "In" => Some(Operator::In),
            "NotIn" => Some(Operator::NotIn),
            "Exists" => Some(Operator::Exists),
            "DoesNotExist" => Some(Operator::DoesNotExist),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Operator::In => "In",
            Operator::NotIn => "NotIn",
            Operator::Exists => "Exists",
            Operator::DoesNotExist => "DoesNotExist",
        }
    }
}

/// One requirement: `key operator [values]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: BTreeSet<String>,
}

impl Requirement {
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }

    /// Why `labels` (of `whose`: "namespace", "object") fail this requirement, in one phrase:
    /// `namespace label autoredeploy.io/mode=disabled (wanted: autoredeploy.io/mode NotIn
    /// [disabled])`.
    pub fn failure(&self, whose: &str, labels: &Labels) -> String {
        let has = match labels.get(&self.key) {
            Some(value) => format!("{whose} label {}={value}", self.key),
            None => format!("{whose} has no label {}", self.key),
        };
        format!("{has} (wanted: {self})")
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.key, self.operator.as_str())?;
        if matches!(self.operator, Operator::In | Operator::NotIn) {
            let values: Vec<&str> = self.values.iter().map(String::as_str).collect();
            write!(f, " [{}]", values.join(", "))?;
        }
        Ok(())
    }
}

/// A parsed selector: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub requirements: Vec<Requirement>,
}

impl Selector {
    /// Parse a `LabelSelector`; `None`, `null` and `{}` select everything. A selector the API
    /// server's validation would refuse (an unknown operator, `In` without values, `Exists`
    /// with values, a non-string value) is an error naming what is wrong.
    pub fn parse(selector: Option<&Value>) -> Result<Selector, String> {
        let Some(selector) = selector.filter(|s| !s.is_null()) else {
            return Ok(Selector::default());
        };
        let Some(fields) = selector.as_object() else {
            return Err(format!("the selector {selector} is not an object"));
        };
        let mut requirements = Vec::new();
        if let Some(labels) = fields.get("matchLabels").filter(|l| !l.is_null()) {
            let Some(labels) = labels.as_object() else {
                return Err(format!("matchLabels {labels} is not a map"));
            };
            for (key, value) in labels {
                let Some(value) = value.as_str() else {
                    return Err(format!(
                        "matchLabels {key:?} has the value {value}, not a string"
                    ));
                };
                requirements.push(Requirement {
                    key: key.clone(),
                    operator: Operator::In,
                    values: BTreeSet::from([value.to_string()]),
                });
            }
        }
        if let Some(expressions) = fields.get("matchExpressions").filter(|e| !e.is_null()) {
            let Some(expressions) = expressions.as_array() else {
                return Err(format!("matchExpressions {expressions} is not a list"));
            };
            for expression in expressions {
                requirements.push(expression_requirement(expression)?);
            }
        }
        Ok(Selector { requirements })
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.first_failed(labels).is_none()
    }

    /// The first requirement `labels` fail, in the selector's order.
    pub fn first_failed(&self, labels: &Labels) -> Option<&Requirement> {
        self.requirements.iter().find(|r| !r.matches(labels))
    }
}

fn expression_requirement(expression: &Value) -> Result<Requirement, String> {
    let text = |key: &str| expression.get(key).and_then(Value::as_str);
    let key = text("key").ok_or_else(|| format!("the expression {expression} has no key"))?;
    let operator = text("operator").unwrap_or_default();
    let operator = Operator::parse(operator).ok_or_else(|| {
        format!("the expression on {key:?} has the operator {operator:?}, not In, NotIn, Exists or DoesNotExist")
    })?;
    let values = match expression.get("values").filter(|v| !v.is_null()) {
        None => BTreeSet::new(),
        Some(values) => values
            .as_array()
            .and_then(|values| {
                values
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<BTreeSet<String>>>()
            })
            .ok_or_else(|| format!("the values of the expression on {key:?} are not strings"))?,
    };
    let wants_values = matches!(operator, Operator::In | Operator::NotIn);
    if wants_values == values.is_empty() {
        let needs = match wants_values {
            true => "needs values",
            false => "takes no values",
        };
        return Err(format!(
            "the expression on {key:?}: {} {needs}",
            operator.as_str()
        ));
    }
    Ok(Requirement {
        key: key.to_string(),
        operator,
        values,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn selector(value: Value) -> Selector {
        Selector::parse(Some(&value)).expect("a valid selector")
    }

    #[test]
    fn absent_null_and_empty_selectors_select_everything() {
        let any = labels(&[("a", "b")]);
        assert!(Selector::parse(None).unwrap().matches(&any));
        assert!(selector(Value::Null).matches(&any));
        assert!(selector(json!({})).matches(&Labels::new()));
        assert!(selector(json!({"matchLabels": {}, "matchExpressions": []})).matches(&any));
    }

    #[test]
    fn each_operator_matches_as_the_api_server_does() {
        let none = Labels::new();
        let audit = labels(&[("mode", "audit")]);
        let disabled = labels(&[("mode", "disabled")]);
        let cases = [
            (
                json!({"key": "mode", "operator": "In", "values": ["audit"]}),
                [false, true, false],
            ),
            (
                json!({"key": "mode", "operator": "NotIn", "values": ["audit"]}),
                [true, false, true],
            ),
            (
                json!({"key": "mode", "operator": "Exists"}),
                [false, true, true],
            ),
            (
                json!({"key": "mode", "operator": "DoesNotExist"}),
                [true, false, false],
            ),
        ];
        for (expression, expected) in cases {
            let s = selector(json!({"matchExpressions": [expression]}));
            let got = [s.matches(&none), s.matches(&audit), s.matches(&disabled)];
            assert_eq!(got, expected, "{expression}");
        }
    }

    #[test]
    fn match_labels_and_expressions_are_anded() {
        let s = selector(json!({"matchLabels": {"team": "a"},
            "matchExpressions": [{"key": "mode", "operator": "NotIn", "values": ["disabled"]}]}));
        assert!(s.matches(&labels(&[("team", "a")])));
        assert!(!s.matches(&labels(&[("team", "b")])));
        assert!(!s.matches(&labels(&[("team", "a"), ("mode", "disabled")])));
        let failed = s.first_failed(&labels(&[("team", "a"), ("mode", "disabled")]));
        assert_eq!(
            failed
                .unwrap()
                .failure("namespace", &labels(&[("mode", "disabled")])),
            "namespace label mode=disabled (wanted: mode NotIn [disabled])"
        );
        let failed = s.first_failed(&Labels::new()).unwrap();
        assert_eq!(
            failed.failure("object", &Labels::new()),
            "object has no label team (wanted: team In [a])"
        );
    }

    #[test]
    fn selectors_the_api_server_would_refuse_are_errors() {
        for (bad, says) in [
            (
                json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
                "\"Gt\"",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
                "In needs values",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
                "In needs values",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
                "Exists takes no values",
            ),
            (
                json!({"matchExpressions": [{"operator": "Exists"}]}),
                "no key",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "In", "values": [1]}]}),
                "not strings",
            ),
            (json!({"matchLabels": {"a": 1}}), "not a string"),
            (json!({"matchLabels": []}), "not a map"),
            (json!("x"), "not an object"),
        ] {
            let error = Selector::parse(Some(&bad)).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn labels_are_read_from_metadata() {
        let object = json!({"metadata": {"labels": {"a": "b", "n": 1}}});
        assert_eq!(labels_of(&object), labels(&[("a", "b")]));
        assert!(labels_of(&json!({})).is_empty());
    }
}
