"""The MutatingWebhookConfiguration: names, paths, rules, selectors, conditions, policies."""

from __future__ import annotations

import pytest

from conftest import NAMESPACE, RELEASE

ENFORCE, AUDIT = "mutate.autoredeploy.io", "audit.autoredeploy.io"
EXPECTED_RESOURCES = {
    ("image.openshift.io", "v1", "imagestreams"),
    ("image.openshift.io", "v1", "imagestreamtags"),
    ("image.openshift.io", "v1", "imagestreamimports"),
    ("image.openshift.io", "v1", "imagetags"),
    ("apps.openshift.io", "v1", "deploymentconfigs"),
    ("apps", "v1", "deployments"),
    ("apps", "v1", "statefulsets"),
    ("apps", "v1", "daemonsets"),
    ("batch", "v1", "cronjobs"),
}


def selector_matches(selector: dict, labels: dict[str, str]) -> bool:
    """Label-selector semantics as the API server applies them (matchLabels + matchExpressions)."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def called_webhooks(out, namespace: str, ns_labels: dict[str, str] | None = None, obj_labels=None):
    """Names of the webhooks the API server would call for an object in `namespace`."""
    labels = {"kubernetes.io/metadata.name": namespace, **(ns_labels or {})}
    called = []
    for name, hook in out.webhooks.items():
        if not selector_matches(hook["namespaceSelector"], labels):
            continue
        if not selector_matches(hook["objectSelector"], obj_labels or {}):
            continue
        for cond in hook.get("matchConditions", []):
            # The one CEL rule the chart ships, evaluated here for the namespace.
            assert cond["expression"] == "!request.namespace.startsWith('openshift-')"
            if namespace.startswith("openshift-"):
                break
        else:
            called.append(name)
    return sorted(called)


def test_two_webhooks_with_three_segment_names_and_their_paths(render):
    out = render()
    hooks = out.webhooks
    assert list(hooks) == [ENFORCE, AUDIT]
    for name in hooks:
        assert len(name.split(".")) >= 3
    svc = out.one("Service")["metadata"]["name"]
    assert hooks[ENFORCE]["clientConfig"]["service"] == {
        "name": svc, "namespace": NAMESPACE, "path": "/mutate", "port": 443,
    }
    assert hooks[AUDIT]["clientConfig"]["service"] == {
        "name": svc, "namespace": NAMESPACE, "path": "/audit", "port": 443,
    }


def test_configuration_name_carries_the_release(render):
    mwc = render().one("MutatingWebhookConfiguration")
    assert mwc["metadata"]["name"] == f"{RELEASE}-autoredeploy"


@pytest.mark.parametrize("name", [ENFORCE, AUDIT])
def test_rules_cover_every_kind_on_create_and_update_only(render, name):
    hook = render().webhooks[name]
    seen = set()
    for rule in hook["rules"]:
        assert rule["operations"] == ["CREATE", "UPDATE"]
        assert rule["scope"] == "Namespaced"
        for group in rule["apiGroups"]:
            for version in rule["apiVersions"]:
                for resource in rule["resources"]:
                    assert "/" not in resource and "*" not in resource
                    seen.add((group, version, resource))
    assert seen == EXPECTED_RESOURCES


@pytest.mark.parametrize("name", [ENFORCE, AUDIT])
def test_policies_default_to_fail_open_short_and_reinvoked(render, name):
    hook = render().webhooks[name]
    assert hook["sideEffects"] == "None"
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["matchPolicy"] == "Equivalent"
    assert hook["failurePolicy"] == "Ignore"
    assert hook["timeoutSeconds"] == 5
    assert hook["reinvocationPolicy"] == "IfNeeded"


def test_policies_are_values(render):
    hooks = render({"webhook": {"failurePolicy": "Fail", "timeoutSeconds": 2, "reinvocationPolicy": "Never"}}).webhooks
    for hook in hooks.values():
        assert (hook["failurePolicy"], hook["timeoutSeconds"], hook["reinvocationPolicy"]) == ("Fail", 2, "Never")


def test_namespace_routing_between_enforce_and_audit(render):
    out = render()
    assert called_webhooks(out, "team-a") == [ENFORCE]
    assert called_webhooks(out, "team-b", {"autoredeploy.io/mode": "audit"}) == [AUDIT]
    assert called_webhooks(out, "team-c", {"autoredeploy.io/mode": "disabled"}) == []


@pytest.mark.parametrize("namespace", [NAMESPACE, "kube-system", "kube-node-lease", "openshift", "openshift-monitoring", "openshift-apiserver"])
def test_system_and_own_namespaces_are_never_sent(render, namespace):
    assert called_webhooks(render(), namespace) == []
    assert called_webhooks(render(), namespace, {"autoredeploy.io/mode": "audit"}) == []


def test_release_namespace_is_excluded_by_name(render):
    out = render(namespace="webhooks")
    for hook in out.webhooks.values():
        names = hook["namespaceSelector"]["matchExpressions"][0]
        assert names["key"] == "kubernetes.io/metadata.name" and names["operator"] == "NotIn"
        assert set(names["values"]) == {"webhooks", "kube-system", "kube-node-lease", "openshift"}


def test_objects_labelled_skip_are_never_sent(render):
    out = render()
    for hook in out.webhooks.values():
        assert hook["objectSelector"] == {
            "matchExpressions": [{"key": "autoredeploy.io/skip", "operator": "NotIn", "values": ["true"]}]
        }
    assert called_webhooks(out, "team-a", obj_labels={"autoredeploy.io/skip": "true"}) == []
    assert called_webhooks(out, "team-a", obj_labels={"autoredeploy.io/skip": "false"}) == [ENFORCE]


def test_opt_out_label_and_extra_expressions_are_values(render):
    out = render({
        "webhook": {
            "namespaceOptOut": {"key": "example.com/webhooks", "values": ["off", "none"]},
            "excludeNamespaces": ["kube-system", "legacy"],
            "extraNamespaceSelectorExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["team-a"]}
            ],
        }
    })
    assert called_webhooks(out, "team-a") == [ENFORCE]
    assert called_webhooks(out, "team-b") == []  # not in the roll-out list
    assert called_webhooks(out, "team-a", {"example.com/webhooks": "off"}) == []
    assert called_webhooks(out, "legacy") == []
    # kube-node-lease is only excluded while listed
    assert "kube-node-lease" not in out.webhooks[ENFORCE]["namespaceSelector"]["matchExpressions"][0]["values"]


def test_openshift_namespaces_are_excluded_by_a_match_condition(render):
    for hook in render().webhooks.values():
        assert hook["matchConditions"] == [
            {"name": "exclude-openshift-namespaces", "expression": "!request.namespace.startsWith('openshift-')"}
        ]


def test_match_condition_can_be_turned_off_for_old_clusters(render):
    out = render({"webhook": {"excludeOpenShiftNamespaces": False}})
    for hook in out.webhooks.values():
        assert "matchConditions" not in hook
    assert called_webhooks(out, "openshift-monitoring") == [ENFORCE]
    assert "openshift-* namespaces are not excluded" in out.notes


def test_extra_annotations_on_the_configuration(render):
    mwc = render({"webhook": {"annotations": {"example.com/owner": "platform"}}}).one("MutatingWebhookConfiguration")
    assert mwc["metadata"]["annotations"]["example.com/owner"] == "platform"
    assert mwc["metadata"]["annotations"]["service.beta.openshift.io/inject-cabundle"] == "true"
