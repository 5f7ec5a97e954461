"""Every tls.source x mode renders, lints clean and yields objects valid for Kubernetes."""

from __future__ import annotations

import helm_python as helm
import kubernetes_validate
import pytest

from conftest import ALL_COMBINATIONS, CHART, NAMESPACE, SOURCES, deep_merge, source_values

# Kinds defined by CRDs: kubernetes-validate ships no schema for them, so their key fields are
# asserted in test_tls.py / test_deployment.py instead.
CRD_KINDS = {"Certificate", "Issuer", "ServiceMonitor", "PrometheusRule"}
# Kubernetes 1.30 (OpenShift 4.17) is the oldest the defaults target (matchConditions GA and the
# native preStop sleep); the newest schema shipped catches removed or renamed fields.
KUBE_VERSIONS = ["1.30.0", kubernetes_validate.utils.latest_version()]

BASE_KINDS = [
    "ClusterRole",
    "ClusterRoleBinding",
    # the poller's (test_poller.py)
    "ClusterRole",
    "ClusterRoleBinding",
    "Deployment",
    "Role",
    "RoleBinding",
    "ServiceAccount",
    "Deployment",
    "MutatingWebhookConfiguration",
    "PodDisruptionBudget",
    "Service",
    "ServiceAccount",
]
EXTRA_KINDS = {
    "openshift": [],
    "secret": [],
    "helm": ["Secret"],
    "cert-manager": ["Certificate", "Certificate", "Issuer", "Issuer"],
}


@pytest.mark.parametrize(("source", "mode"), ALL_COMBINATIONS)
def test_each_source_and_mode_renders_the_expected_objects(render, source, mode):
    out = render(deep_merge(source_values(source), {"mode": mode}))
    assert out.kinds() == sorted(BASE_KINDS + EXTRA_KINDS[source])
    assert f"--mode={mode}" in out.container["args"]
    assert mode.upper() in out.notes


@pytest.mark.parametrize(("source", "mode"), ALL_COMBINATIONS)
@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_every_object_is_valid_against_the_kubernetes_schema(render, source, mode, kube_version):
    monitoring = {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}}
    values = deep_merge(source_values(source), {"mode": mode, "metrics": monitoring})
    out = render(values)
    validated, skipped = 0, set()
    for obj in out.objects:
        if obj["kind"] in CRD_KINDS:
            skipped.add(obj["kind"])
            continue
        kubernetes_validate.validate(obj, kube_version, strict=True)
        validated += 1
    assert validated == len(out.objects) - sum(o["kind"] in CRD_KINDS for o in out.objects)
    assert {"ServiceMonitor", "PrometheusRule"} <= skipped
    assert every_namespaced_object_is_in_the_release_namespace(out)


def every_namespaced_object_is_in_the_release_namespace(out) -> bool:
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration"}
    for obj in out.objects:
        ns = obj["metadata"].get("namespace")
        if obj["kind"] in cluster_scoped:
            assert ns is None, obj["kind"]
        else:
            assert ns == NAMESPACE, obj["kind"]
    return True


def test_a_broken_object_is_caught_by_the_validator(render):
    """Guards the guard: the strict validator really rejects an unknown field."""
    svc = render().one("Service")
    svc["spec"]["portz"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(svc, KUBE_VERSIONS[0], strict=True)


@pytest.mark.parametrize("source", SOURCES)
def test_helm_lint_strict_is_clean(source):
    report = helm.lint(
        str(CHART), source_values(source), strict=True, namespace=NAMESPACE, kube_version="v1.30.0"
    )
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    # Only informational findings (severity 1) are tolerated, e.g. "icon is recommended".
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_lint_reports_a_values_error():
    """Guards the guard: lint does fail on values the schema rejects."""
    report = helm.lint(str(CHART), {"mode": "sometimes"}, strict=True, namespace=NAMESPACE)
    assert report["errors"] or [m for m in report["messages"] if m["severity"] >= 3]
