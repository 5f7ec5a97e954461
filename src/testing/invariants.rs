//! What every engine outcome must hold, checked in one place: the patch applies to the input
//! and gives the output, it equals the full `json_patch::diff` of input and output, there is
//! a change iff there is a patch, it touches only fields autoredeploy owns, messages carry
//! no control characters, and a second pass over the output changes nothing.

use crate::catalog::Catalog;
use crate::config::RuleConfig;
use serde_json::Value;

use crate::engine::{Outcome, Request, mutate};

/// Run the engine and panic on any broken invariant.
pub fn checked(
    object: &Value,
    request: &Request<'_>,
    catalog: &dyn Catalog,
    config: &RuleConfig,
) -> Outcome {
    invariant_violation(object, request, catalog, config).unwrap_or_else(|why| panic!("{why}"))
}

/// Run the engine; `Err` names the first broken invariant (for property tests).
pub fn invariant_violation(
    object: &Value,
    request: &Request<'_>,
    catalog: &dyn Catalog,
    config: &RuleConfig,
) -> Result<Outcome, String> {
    let outcome = mutate(object, request, catalog, config);
    let mut patched = object.clone();
    json_patch::patch(&mut patched, &outcome.patch)
        .map_err(|e| format!("patch does not apply: {e}"))?;
    if patched != outcome.object {
        return Err("the patch does not give the mutated object".into());
    }
    if outcome.patch != json_patch::diff(object, &outcome.object) {
        return Err(format!("patch is not the full diff: {:?}", outcome.patch));
    }
    if outcome.patch.0.is_empty() != outcome.changes.is_empty() {
        return Err(format!(
            "changes without patch or back: {:?}",
            outcome.changes
        ));
    }
    let kind = object["kind"].as_str().unwrap_or("");
    if let Some(op) = outcome
        .patch
        .0
        .iter()
        .find(|op| !owned_path(kind, op.path().as_ref()))
    {
        return Err(format!("unowned path {} in {:?}", op.path(), outcome.patch));
    }
    let reported = outcome.changes.iter().chain(&outcome.findings);
    if let Some(c) = reported
        .clone()
        .find(|c| c.message.chars().any(char::is_control))
    {
        return Err(format!("control character in {:?}", c.message));
    }
    let again = mutate(&outcome.object, request, catalog, config);
    if !again.is_unchanged() || !again.changes.is_empty() {
        return Err(format!(
            "second pass changed {:?}: {:?}",
            again.patch, again.changes
        ));
    }
    Ok(outcome)
}

/// Whether a JSON Patch path is a field autoredeploy owns in an object of `kind`.
pub fn owned_path(kind: &str, path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let is_index = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    let container_field = segments.windows(3).any(|w| {
        matches!(w[0], "containers" | "initContainers")
            && is_index(w[1])
            && matches!(w[2], "image" | "imagePullPolicy")
    });
    match segments.as_slice() {
        ["metadata"]
        | ["metadata", "annotations"]
        | ["metadata", "annotations", "image.openshift.io~1triggers"]
        | [
            "metadata",
            "annotations",
            "autoredeploy.io~1managed-triggers",
        ] => true,
        ["spec", "triggers", ..]
        | ["tag", "importPolicy", ..]
        | ["spec", "repository", "importPolicy", ..] => true,
        ["spec", "tags" | "images", i, "importPolicy", ..] => is_index(i),
        // An ImageTag's spec is the TagReference itself.
        ["spec", "importPolicy", ..] => kind == "ImageTag",
        _ => container_field && segments.first() == Some(&"spec"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_paths_are_the_ones_rules_write() {
        assert!(owned_path(
            "Deployment",
            "/metadata/annotations/image.openshift.io~1triggers"
        ));
        assert!(owned_path(
            "Deployment",
            "/spec/template/spec/containers/0/image"
        ));
        assert!(owned_path(
            "DeploymentConfig",
            "/metadata/annotations/autoredeploy.io~1managed-triggers"
        ));
        assert!(!owned_path(
            "Deployment",
            "/metadata/annotations/autoredeploy.io~1skip"
        ));
        assert!(owned_path(
            "ImageStream",
            "/spec/tags/3/importPolicy/scheduled"
        ));
        assert!(owned_path("ImageTag", "/spec/importPolicy/scheduled"));
        assert!(!owned_path("ImageStream", "/spec/importPolicy/scheduled"));
        assert!(!owned_path("Deployment", "/spec/replicas"));
        assert!(!owned_path("Deployment", "/status"));
    }

    #[test]
    fn a_broken_invariant_is_named() {
        let object: serde_json::Value =
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment"});
        let outcome = invariant_violation(
            &object,
            &Request::default(),
            &crate::catalog::EmptyCatalog,
            &RuleConfig::default(),
        );
        assert!(outcome.is_ok_and(|o| o.is_unchanged()));
    }
}
