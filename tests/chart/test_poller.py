"""The poller (autoredeploy poll): its Deployment, RBAC, the webhook's --polled-registry, the alert."""

from __future__ import annotations

from conftest import NAMESPACE, RELEASE

POLLER = f"{RELEASE}-autoredeploy-poller"


def test_the_poller_is_on_by_default_with_its_own_deployment_and_pods(render):
    out = render()
    deployment = out.one("Deployment", POLLER)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["/usr/local/bin/autoredeploy", "poll"]
    assert "--polled-registry=docker.io" in container["args"]
    assert "--poll-interval=5m" in container["args"]
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == POLLER
    # The webhook's Service, PDB and Deployment must never select the poller's pods.
    webhook_selector = out.deployment["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert not all(pod_labels.get(k) == v for k, v in webhook_selector.items())
    for service in out.all("Service"):
        selector = service["spec"]["selector"]
        assert not all(pod_labels.get(k) == v for k, v in selector.items())
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert all(pod_labels[k] == v for k, v in selector.items())


def test_the_poller_may_create_imports_and_events_and_keep_state_but_reads_no_secret(render):
    out = render()
    cluster_rules = out.one("ClusterRole", POLLER)["rules"]
    assert {"apiGroups": ["image.openshift.io"], "resources": ["imagestreamimports"],
            "verbs": ["create"]} in cluster_rules
    role = out.one("Role", POLLER)
    assert role["metadata"]["namespace"] == NAMESPACE
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert resources == {"configmaps", "leases"}
    everything = cluster_rules + role["rules"]
    assert not any("secrets" in rule["resources"] for rule in everything)


def test_the_off_switch_restores_scheduled_imports(render):
    out = render({"poller": {"enabled": False}})
    assert [d["metadata"]["name"] for d in out.all("Deployment")] == [f"{RELEASE}-autoredeploy"]
    assert not any(a.startswith("--polled-registry") for a in out.container["args"])


def test_an_alert_fires_when_imports_wait(render):
    out = render({"metrics": {"prometheusRule": {"enabled": True}}})
    groups = {g["name"]: g for g in out.one("PrometheusRule")["spec"]["groups"]}
    (alert,) = groups["autoredeploy-poller"]["rules"]
    assert alert["alert"] == "AutoredeployPollerImportsWaiting"
    assert "autoredeploy_poll_imports_waiting_total" in alert["expr"]
    off = render({"poller": {"enabled": False}, "metrics": {"prometheusRule": {"enabled": True}}})
    assert [g["name"] for g in off.one("PrometheusRule")["spec"]["groups"]] == [
        "autoredeploy-registry-budgets"
    ]
