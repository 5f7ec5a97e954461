//! What the user wrote, as opposed to what the API server made of it (docs/rules.md, "What
//! the manifest said"). The webhook sees the object after defaulting and after OpenShift's
//! ImagePolicy admission: `image: myapp` may arrive as the tag's digest, and an
//! `imagePullPolicy: Always` may be the user's or Kubernetes' default. Two records in the
//! object say what was written:
//!
//! - `kubectl apply` (client-side) keeps the manifest in the
//!   `kubectl.kubernetes.io/last-applied-configuration` annotation, written in the same
//!   request, values included;
//! - server-side apply records in `metadata.managedFields` which fields each applier sent
//!   (an `operation: Apply` entry), without their values.
//!
//! An `operation: Update` entry owns whatever that request stored, defaulted fields too, so
//! it says nothing about what was written; it is used only to tell whether the last-applied
//! manifest is still the word on a field (the manager that wrote the annotation also owns the
//! field, so nobody changed it since). Anything unreadable (malformed JSON, another
//! `fieldsType`, odd shapes) is ignored: the rules then behave as without the records. Reads
//! only; it must not change the object.

use serde_json::{Map, Value};

use std::cell::OnceCell;

use super::containers::Container;
use crate::pointer::Pointer as _;

/// `kubectl apply`'s copy of the manifest.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What OpenShift's ImagePolicy admission reads (`oc set image-lookup deploy/x` writes it on
/// the pod template): every short name resolves against the namespace's streams, whether or
/// not they have `lookupPolicy.local`.
pub const RESOLVE_NAMES: &str = "alpha.image.policy.openshift.io/resolve-names";

/// What the records say of a container's `imagePullPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The user wrote it: the last-applied manifest has it, or an applier owns it.
    Written,
    /// The last-applied manifest, still the word on the field, lacks it: Kubernetes defaulted it.
    Defaulted,
    /// Nothing is known.
    Unknown,
}

/// The records of one object, copied before any rule edits it (the admission decoder keeps
/// only what is read here, so the copy is small) and read when a rule first asks: most
/// reviews never need the last-applied manifest parsed.
#[derive(Debug, Default)]
pub struct Intent {
    pod_spec: String,
    last_applied: Option<String>,
    managed_fields: Vec<Value>,
    /// The last-applied manifest's pod spec, parsed on first use.
    applied: OnceCell<Option<Value>>,
}

impl Intent {
    /// The records of `object`, whose pod spec is at `pod_spec` (a JSON pointer).
    pub fn read(object: &Value, pod_spec: &str) -> Self {
        let metadata = object.get("metadata");
        Intent {
            pod_spec: pod_spec.to_string(),
            last_applied: metadata
                .and_then(|m| m.get("annotations"))
                .and_then(|a| a.get(LAST_APPLIED))
                .and_then(Value::as_str)
                .map(str::to_string),
            managed_fields: metadata
                .and_then(|m| m.get("managedFields"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            applied: OnceCell::new(),
        }
    }

    fn records(&self) -> Records<'_> {
        let applied = self.applied.get_or_init(|| {
            let manifest = serde_json::from_str::<Value>(self.last_applied.as_deref()?).ok()?;
            let mut manifest = manifest;
            manifest
                .pointer_mut(&self.pod_spec)
                .map(Value::take)
                .filter(Value::is_object)
        });
        let managers: Vec<Manager<'_>> = self
            .managed_fields
            .iter()
            .filter_map(|entry| Manager::read(entry, &self.pod_spec))
            .collect();
        Records {
            applied: applied.as_ref(),
            has_managed_fields: !managers.is_empty(),
            managers,
        }
    }

    /// The image the user wrote for the container, when the last-applied manifest is still
    /// the word on it and it is not the object's own (`None` when unknown or the same).
    pub fn image(&self, container: &Container) -> Option<String> {
        self.records().image(container).map(str::to_string)
    }

    /// Whether the user wrote the container's `imagePullPolicy`.
    pub fn pull_policy(&self, container: &Container) -> Policy {
        self.records().pull_policy(container)
    }
}

/// The records of one object, as they are.
struct Records<'a> {
    /// The last-applied manifest's pod spec.
    applied: Option<&'a Value>,
    /// Whether the object carries any readable `managedFields` entry.
    has_managed_fields: bool,
    managers: Vec<Manager<'a>>,
}

struct Manager<'a> {
    /// `operation: Apply`: the fields it owns are the ones the applier sent.
    apply: bool,
    /// It owns the last-applied annotation (it is `kubectl apply`'s client-side manager).
    wrote_last_applied: bool,
    /// Its fields under the pod spec.
    pod_spec: Option<&'a Map<String, Value>>,
}

impl Records<'_> {
    fn image(&self, container: &Container) -> Option<&str> {
        let written = self.applied_container(container)?.get("image")?.as_str()?;
        (Some(written) != container.image.as_deref() && self.still_applied(container, "image"))
            .then_some(written)
    }

    fn pull_policy(&self, container: &Container) -> Policy {
        const FIELD: &str = "imagePullPolicy";
        let applied = self.applied_container(container);
        let applier_owns = self
            .managers
            .iter()
            .any(|m| m.apply && m.owns(container, FIELD));
        if applier_owns || applied.is_some_and(|c| c.get(FIELD).is_some_and(Value::is_string)) {
            Policy::Written
        } else if applied.is_some() && self.still_applied(container, FIELD) {
            Policy::Defaulted
        } else {
            Policy::Unknown
        }
    }

    fn applied_container(&self, container: &Container) -> Option<&Map<String, Value>> {
        self.applied?
            .get(container.list.key())?
            .as_array()?
            .iter()
            .filter_map(Value::as_object)
            .find(|c| c.get("name").and_then(Value::as_str) == Some(container.name.as_str()))
    }

    /// The last-applied manifest is still the word on the container's `field`: no
    /// managedFields to say otherwise (an older server, an offline manifest), or the manager
    /// that wrote the annotation owns the field.
    fn still_applied(&self, container: &Container, field: &str) -> bool {
        !self.has_managed_fields
            || self
                .managers
                .iter()
                .any(|m| m.wrote_last_applied && m.owns(container, field))
    }
}

impl<'a> Manager<'a> {
    fn read(entry: &'a Value, pod_spec: &str) -> Option<Self> {
        if entry.get("fieldsType").and_then(Value::as_str) != Some("FieldsV1") {
            return None;
        }
        let fields = entry.get("fieldsV1")?.as_object()?;
        let wrote_last_applied = fields
            .get("f:metadata")
            .and_then(|m| m.get("f:annotations"))
            .and_then(|a| a.get(format!("f:{LAST_APPLIED}").as_str()))
            .is_some();
        let pod_spec = pod_spec
            .split('/')
            .filter(|s| !s.is_empty())
            .try_fold(fields, |map, segment| {
                map.get(format!("f:{segment}").as_str())?.as_object()
            });
        Some(Manager {
            apply: entry.get("operation").and_then(Value::as_str) == Some("Apply"),
            wrote_last_applied,
            pod_spec,
        })
    }

    /// Whether it owns `field` of the container (`f:containers` › `k:{"name":…}` › `f:field`).
    fn owns(&self, container: &Container, field: &str) -> bool {
        let Some(list) = self
            .pod_spec
            .and_then(|spec| spec.get(format!("f:{}", container.list.key()).as_str()))
            .and_then(Value::as_object)
        else {
            return false;
        };
        list.iter()
            .filter(|(key, _)| names_container(key, &container.name))
            .any(|(_, fields)| fields.get(format!("f:{field}").as_str()).is_some())
    }
}

/// A managedFields list key `k:{"name":"web"}` for the container `name`.
fn names_container(key: &str, name: &str) -> bool {
    key.strip_prefix("k:")
        .and_then(|json| serde_json::from_str::<Map<String, Value>>(json).ok())
        .is_some_and(|k| k.get("name").and_then(Value::as_str) == Some(name))
}

/// Whether the workload asks ImagePolicy to resolve every short name (`resolve-names: "*"`
/// on its pod template, or on the object itself), as `oc set image-lookup deploy/x` does.
pub fn resolves_all_names(object: &Value, pod_spec: &str) -> bool {
    let template = pod_spec
        .strip_suffix("/spec")
        .map(|t| format!("{t}/metadata/annotations"));
    template
        .iter()
        .map(String::as_str)
        .chain(["/metadata/annotations"])
        .filter_map(|pointer| object.at(pointer))
        .any(|annotations| annotations.get(RESOLVE_NAMES).and_then(Value::as_str) == Some("*"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engine::containers::{self, List};

    const POD_SPEC: &str = "/spec/template/spec";

    fn container(object: &Value) -> Container {
        containers::read(object.at(POD_SPEC)).remove(0)
    }

    fn intent_of(object: &Value) -> Intent {
        Intent::read(object, POD_SPEC)
    }

    fn deployment(image: &str, annotations: Value, managed: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "annotations": annotations, "managedFields": managed},
            "spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": image, "imagePullPolicy": "Always"}
            ]}}}
        })
    }

    fn last_applied(container: Value) -> Value {
        let manifest = json!({"spec": {"template": {"spec": {"containers": [container]}}}});
        json!({ LAST_APPLIED: manifest.to_string() })
    }

    /// The `kubectl-client-side-apply` entry: it owns the annotation and `fields` of "web".
    fn client_side(fields: &[&str]) -> Value {
        let owned: Map<String, Value> = fields
            .iter()
            .map(|f| (format!("f:{f}"), json!({})))
            .collect();
        json!({
            "manager": "kubectl-client-side-apply", "operation": "Update", "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:annotations": {format!("f:{LAST_APPLIED}"): {}}},
                "f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": owned}}}}
            }
        })
    }

    fn applier(fields: &[&str]) -> Value {
        let mut entry = client_side(fields);
        entry["operation"] = json!("Apply");
        entry["manager"] = json!("kubectl");
        entry["fieldsV1"]
            .as_object_mut()
            .unwrap()
            .remove("f:metadata");
        entry
    }

    #[test]
    fn the_last_applied_image_is_the_users_while_its_manager_owns_the_field() {
        let object = deployment(
            "quay.io/acme/myapp@sha256:aa",
            last_applied(json!({"name": "web", "image": "myapp"})),
            json!([client_side(&["image", "imagePullPolicy"])]),
        );
        let intent = intent_of(&object);
        assert_eq!(intent.image(&container(&object)), Some("myapp".to_string()));
        assert_eq!(intent.pull_policy(&container(&object)), Policy::Defaulted);

        // `oc set image` since: another manager owns the image; the annotation is stale.
        let mut other = client_side(&["image"]);
        other["manager"] = json!("oc");
        other["fieldsV1"]
            .as_object_mut()
            .unwrap()
            .remove("f:metadata");
        let object = deployment(
            "quay.io/acme/myapp@sha256:aa",
            last_applied(json!({"name": "web", "image": "myapp"})),
            json!([client_side(&["imagePullPolicy"]), other]),
        );
        let intent = intent_of(&object);
        assert_eq!(intent.image(&container(&object)), None);
        assert_eq!(intent.pull_policy(&container(&object)), Policy::Defaulted);
    }

    #[test]
    fn without_managed_fields_the_last_applied_manifest_is_trusted() {
        let object = deployment(
            "quay.io/acme/myapp@sha256:aa",
            last_applied(json!({"name": "web", "image": "myapp", "imagePullPolicy": "Always"})),
            json!(null),
        );
        let intent = intent_of(&object);
        assert_eq!(intent.image(&container(&object)), Some("myapp".to_string()));
        assert_eq!(intent.pull_policy(&container(&object)), Policy::Written);
    }

    #[test]
    fn the_same_image_in_the_manifest_says_nothing_new() {
        let object = deployment(
            "myapp",
            last_applied(json!({"name": "web", "image": "myapp"})),
            json!(null),
        );
        assert_eq!(intent_of(&object).image(&container(&object)), None);
    }

    #[test]
    fn a_server_side_applier_that_owns_the_pull_policy_wrote_it() {
        let object = deployment("nginx", json!({}), json!([applier(&["imagePullPolicy"])]));
        let intent = intent_of(&object);
        assert_eq!(intent.pull_policy(&container(&object)), Policy::Written);
        assert_eq!(intent.image(&container(&object)), None);
        // An applier that does not own it: unknown (someone else may have written it).
        let object = deployment("nginx", json!({}), json!([applier(&["image", "name"])]));
        let intent = intent_of(&object);
        assert_eq!(intent.pull_policy(&container(&object)), Policy::Unknown);
        // An Update entry owning it says nothing: creation owns every defaulted field.
        let mut update = applier(&["imagePullPolicy"]);
        update["operation"] = json!("Update");
        let object = deployment("nginx", json!({}), json!([update]));
        assert_eq!(
            intent_of(&object).pull_policy(&container(&object)),
            Policy::Unknown
        );
    }

    #[test]
    fn containers_are_matched_by_list_and_name() {
        let mut object = deployment(
            "x@sha256:aa",
            last_applied(json!({"name": "other", "image": "myapp", "imagePullPolicy": "Always"})),
            json!(null),
        );
        let intent = intent_of(&object);
        let web = container(&object);
        assert_eq!(intent.image(&web), None);
        assert_eq!(intent.pull_policy(&web), Policy::Unknown);
        // An init container of the same name is another entry.
        object["spec"]["template"]["spec"]["initContainers"] =
            json!([{"name": "other", "image": "x@sha256:aa"}]);
        let init = containers::read(object.at(POD_SPEC))
            .into_iter()
            .find(|c| c.list == List::InitContainers)
            .unwrap();
        assert_eq!(intent_of(&object).image(&init), None);
    }

    #[test]
    fn malformed_records_are_ignored() {
        for (annotations, managed) in [
            (json!({LAST_APPLIED: "{not json"}), json!("not a list")),
            (
                json!({LAST_APPLIED: "[1, 2]"}),
                json!([1, {"fieldsType": "FieldsV1"}]),
            ),
            (
                json!({LAST_APPLIED: 7}),
                json!([{"fieldsType": "FieldsV2", "fieldsV1": {}}]),
            ),
            (
                json!({LAST_APPLIED: "{\"spec\": {\"template\": {\"spec\": {\"containers\": {\"name\": \"web\"}}}}}"}),
                json!([{"fieldsType": "FieldsV1", "operation": "Apply", "fieldsV1":
                    {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{bad": {"f:imagePullPolicy": {}}, "k:[]": {}}}}}}}]),
            ),
            (
                json!({LAST_APPLIED: "{\"spec\": {\"template\": {\"spec\": {\"containers\": [7, {\"name\": 1}]}}}}"}),
                json!([{"fieldsType": "FieldsV1", "operation": "Apply", "fieldsV1": {"f:spec": 3}}]),
            ),
        ] {
            let object = deployment("quay.io/acme/myapp@sha256:aa", annotations, managed);
            let intent = intent_of(&object);
            assert_eq!(intent.image(&container(&object)), None, "{object}");
            assert_eq!(
                intent.pull_policy(&container(&object)),
                Policy::Unknown,
                "{object}"
            );
        }
    }

    #[test]
    fn resolve_names_is_read_on_the_template_or_the_object() {
        let mut object = deployment("tools", json!({}), json!(null));
        assert!(!resolves_all_names(&object, POD_SPEC));
        object["spec"]["template"]["metadata"] = json!({"annotations": {RESOLVE_NAMES: "*"}});
        assert!(resolves_all_names(&object, POD_SPEC));
        object["spec"]["template"]["metadata"] = json!({"annotations": {RESOLVE_NAMES: "x"}});
        assert!(!resolves_all_names(&object, POD_SPEC));
        object["metadata"]["annotations"] = json!({RESOLVE_NAMES: "*"});
        assert!(resolves_all_names(&object, POD_SPEC));
        let cronjob = json!({"spec": {"jobTemplate": {"spec": {"template": {
            "metadata": {"annotations": {RESOLVE_NAMES: "*"}}, "spec": {}}}}}});
        assert!(resolves_all_names(
            &cronjob,
            "/spec/jobTemplate/spec/template/spec"
        ));
    }
}
