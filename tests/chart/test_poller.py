"""The poller (autoredeploy poll): its Deployment, RBAC, the webhook's --polled-registry, the alert."""

from __future__ import annotations

import json
import os
import pathlib

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
    # kube-lease-manager takes and renews the Lease with patches (server-side apply).
    assert {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
            "verbs": ["get", "create", "patch"]} in role["rules"]
    everything = cluster_rules + role["rules"]
    assert not any("secrets" in rule["resources"] for rule in everything)


def test_the_poller_may_read_the_webhooks_scope(render):
    # Namespaces' labels and the MutatingWebhookConfigurations: the poller imports only what
    # the webhook would mutate in enforce mode (src/poll/scope.rs).
    cluster_rules = render().one("ClusterRole", POLLER)["rules"]
    assert {"apiGroups": [""], "resources": ["namespaces"],
            "verbs": ["get", "list", "watch"]} in cluster_rules
    assert {"apiGroups": ["admissionregistration.k8s.io"],
            "resources": ["mutatingwebhookconfigurations"], "verbs": ["get", "list"]} in cluster_rules


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


# Every value that adds an argument to the poller: the fixture holds the rendering, and the
# Rust test `cli::poll::tests::the_charts_arguments_parse` parses it with the binary's own
# argument parser, so the chart never passes the poller a flag it does not take.
EVERY_POLLER_OPTION = {
    "poller": {"registries": ["docker.io", "quay.io"]},
    "catalog": {"namespaces": ["shop", "web"]},
    "registryBudgets": ["quay.io=100/6h"],
    "rules": {
        "internalRegistries": ["registry.example.com"],
        "preserveOriginal": True,
        "includeRepositories": ["docker.io/library/*"],
        "excludeRepositories": ["docker.io/library/busybox"],
    },
}
FIXTURE = pathlib.Path(__file__).parents[1] / "fixtures" / "poller" / "chart-args.json"


def test_the_pollers_arguments_with_every_option_are_the_fixture_the_binary_parses(render):
    out = render(EVERY_POLLER_OPTION)
    (container,) = out.one("Deployment", POLLER)["spec"]["template"]["spec"]["containers"]
    rendered = {"command": container["command"], "args": container["args"]}
    if os.environ.get("UPDATE_FIXTURES") == "1":
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps(rendered, indent=2) + "\n")
    assert json.loads(FIXTURE.read_text()) == rendered, "render again: UPDATE_FIXTURES=1"
    assert "--catalog-namespaces=shop,web" in container["args"]


def test_the_proxy_reaches_the_pollers_environment_only_when_set(render):
    def env_of(out):
        (container,) = out.one("Deployment", POLLER)["spec"]["template"]["spec"]["containers"]
        return {e["name"]: e.get("value") for e in container["env"]}

    plain = env_of(render())
    assert not {"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"} & plain.keys()
    proxied = env_of(render({"poller": {"proxy": {
        "httpsProxy": "http://proxy.example:3128",
        "noProxy": ".cluster.local,.svc,10.0.0.0/16",
    }}}))
    assert proxied["HTTPS_PROXY"] == "http://proxy.example:3128"
    assert proxied["NO_PROXY"] == ".cluster.local,.svc,10.0.0.0/16"
    assert "HTTP_PROXY" not in proxied
