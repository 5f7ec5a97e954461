"""The workload: HA, security context, probes, ports, args, mounts, RBAC, monitoring, NOTES."""

from __future__ import annotations

import helm_python as helm
import pytest

from conftest import NAMESPACE, RELEASE

FULL = f"{RELEASE}-autoredeploy"
TLS_DIR = "/etc/autoredeploy/tls"
DEFAULT_ARGS = [
    "--listen=0.0.0.0:8443",
    "--admin-listen=0.0.0.0:8080",
    f"--tls-cert={TLS_DIR}/tls.crt",
    f"--tls-key={TLS_DIR}/tls.key",
    "--mode=audit",
    "--log-format=json",
    "--catalog=auto",
    "--catalog-sync-timeout=30",
    "--shutdown-timeout=25",
    "--max-connections=1024",
    "--registry-budget=docker.io=50/6h",
    "--import-interval=15m",
    "--pull-policy=if-not-present",
    "--polled-registry=docker.io",
]


def port_number(container, name: str) -> int:
    (port,) = [p["containerPort"] for p in container["ports"] if p["name"] == name]
    return port


def test_default_args_match_the_server_flags_exactly(render):
    assert render().container["args"] == DEFAULT_ARGS
    assert "command" not in render().container  # the image's ENTRYPOINT is `autoredeploy serve`


def test_every_rule_value_becomes_its_flag(render):
    args = render({
        "mode": "enforce",
        "catalog": {"enabled": False},
        "server": {"port": 9443, "adminPort": 9090, "logFormat": "plain", "shutdownTimeoutSeconds": 10,
                   "maxConnections": 64, "extraArgs": ["--something=else"]},
        "registryBudgets": ["docker.io=150/6h", "quay.io=unlimited"],
        "rules": {
            "internalRegistries": ["registry.local:5000", "default-route.apps.example.com"],
            "importInterval": "20m",
            "pullPolicy": "keep",
            "preserveOriginal": True,
            "includeRepositories": ["docker.io/library/*", "quay.io/org/*"],
            "excludeRepositories": ["docker.io/library/busybox"],
            "digestPinning": False,
        },
    }).container["args"]
    assert args == [
        "--listen=0.0.0.0:9443",
        "--admin-listen=0.0.0.0:9090",
        f"--tls-cert={TLS_DIR}/tls.crt",
        f"--tls-key={TLS_DIR}/tls.key",
        "--mode=enforce",
        "--log-format=plain",
        "--catalog=off",
        "--shutdown-timeout=10",
        "--max-connections=64",
        "--internal-registry=registry.local:5000,default-route.apps.example.com",
        "--registry-budget=docker.io=150/6h,quay.io=unlimited",
        "--import-interval=20m",
        "--pull-policy=keep",
        "--preserve-original",
        "--include-repository=docker.io/library/*,quay.io/org/*",
        "--exclude-repository=docker.io/library/busybox",
        "--polled-registry=docker.io",
        "--no-digest-pinning",
        "--something=else",
    ]


def test_no_internal_registry_flag_when_the_list_is_empty(render):
    args = render({"rules": {"internalRegistries": []}}).container["args"]
    assert not [a for a in args if a.startswith("--internal-registry")]


def test_no_budget_flag_when_the_list_is_empty(render):
    args = render({"registryBudgets": []}).container["args"]
    assert not [a for a in args if a.startswith("--registry-budget")]


@pytest.mark.parametrize("budget", ["docker.io=50", "docker.io=50/6d", "docker.io", "quay.io=lots/1h"])
def test_malformed_budgets_are_refused_by_the_schema(render, budget):
    with pytest.raises(Exception, match="registryBudgets"):
        render({"registryBudgets": [budget]})


def test_prometheus_rule_alerts_at_80_percent_of_a_budget(render):
    assert not render().all("PrometheusRule")
    out = render({"metrics": {"prometheusRule": {"enabled": True, "labels": {"prometheus": "main"}}}})
    rule = out.one("PrometheusRule")
    assert rule["metadata"]["namespace"] == NAMESPACE
    assert rule["metadata"]["labels"]["prometheus"] == "main"
    group = rule["spec"]["groups"][0]
    (alert,) = group["rules"]
    assert alert["alert"] == "AutoredeployRegistryBudgetNearlyUsed"
    selector = f'{{namespace="{NAMESPACE}"}}'
    assert alert["expr"] == (
        f"max by (registry, window) (autoredeploy_registry_projected_pulls{selector})"
        f" / max by (registry, window) (autoredeploy_registry_budget_pulls{selector}) > 0.8"
    )
    assert (alert["for"], alert["labels"]["severity"]) == ("15m", "warning")
    assert "80%" in alert["annotations"]["summary"]
    assert "{{ $labels.registry }}" in alert["annotations"]["description"]


def test_prometheus_rule_threshold_is_a_value(render):
    values = {"metrics": {"prometheusRule": {"enabled": True, "threshold": 0.5, "for": "1h", "severity": "info"}}}
    (alert,) = render(values).one("PrometheusRule")["spec"]["groups"][0]["rules"]
    assert alert["expr"].endswith("> 0.5")
    assert (alert["for"], alert["labels"]["severity"]) == ("1h", "info")


def test_two_replicas_spread_over_hosts_with_a_pdb(render):
    out = render()
    spec = out.deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    pod_labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    (term,) = out.pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]
    pdb = out.one("PodDisruptionBudget")["spec"]
    assert pdb["minAvailable"] == 1
    assert pdb["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
    assert not render({"podDisruptionBudget": {"enabled": False}}).all("PodDisruptionBudget")


def test_security_context_passes_restricted_v2_and_pod_security_restricted(render):
    out = render()
    pod_sc, sc = out.pod["securityContext"], out.container["securityContext"]
    assert pod_sc == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert sc["runAsNonRoot"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    # restricted-v2 assigns the UID from the namespace range: a fixed one would be rejected.
    for context in (pod_sc, sc):
        assert "runAsUser" not in context and "runAsGroup" not in context and "fsGroup" not in context
    assert "privileged" not in sc
    assert not out.pod.get("hostNetwork") and not out.pod.get("hostPID")


def test_probes_hit_the_admin_port(render):
    c = render().container
    admin = port_number(c, "admin")
    assert admin == 8080
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    assert c["startupProbe"]["httpGet"]["port"] == "admin"
    assert c["startupProbe"]["httpGet"]["path"] in ("/healthz", "/readyz")
    assert c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"] >= 10


def test_service_maps_443_to_the_https_port_and_exposes_metrics(render):
    out = render()
    c = out.container
    assert port_number(c, "https") == 8443
    svc = out.one("Service")
    assert svc["metadata"]["name"] == FULL
    assert svc["spec"]["selector"] == out.deployment["spec"]["selector"]["matchLabels"]
    ports = {p["name"]: p for p in svc["spec"]["ports"]}
    assert ports["https"]["port"] == 443 and ports["https"]["targetPort"] == "https"
    assert ports["metrics"]["port"] == 8080 and ports["metrics"]["targetPort"] == "admin"


def test_certificate_secret_is_mounted_as_a_directory_without_subpath(render):
    out = render()
    (mount,) = out.container["volumeMounts"]
    assert mount == {"name": "tls", "mountPath": TLS_DIR, "readOnly": True}
    assert "subPath" not in mount and "subPathExpr" not in mount
    args = out.container["args"]
    assert f"--tls-cert={mount['mountPath']}/tls.crt" in args
    assert f"--tls-key={mount['mountPath']}/tls.key" in args


def test_grace_period_covers_prestop_sleep_and_drain(render):
    out = render()
    sleep = out.container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert sleep == 5
    assert "exec" not in out.container["lifecycle"]["preStop"]  # no shell or sleep binary in the image
    assert out.pod["terminationGracePeriodSeconds"] > sleep + 25


def test_prestop_sleep_can_be_omitted_for_old_clusters(render):
    assert "lifecycle" not in render({"server": {"preStopSleepSeconds": 0}}).container


def test_a_grace_period_shorter_than_the_drain_is_refused(render):
    with pytest.raises(helm.HelmRenderError, match="terminationGracePeriodSeconds"):
        render({"server": {"terminationGracePeriodSeconds": 30}})


def test_small_resource_requests(render):
    res = render().container["resources"]
    assert res["requests"] == {"cpu": "10m", "memory": "32Mi"}
    assert "cpu" not in res.get("limits", {})  # no CPU throttling on the admission path


def test_rbac_is_exactly_read_only_on_imagestreams(render):
    out = render({"poller": {"enabled": False}})  # the poller's own RBAC: test_poller.py
    role = out.one("ClusterRole")
    assert role["rules"] == [
        {"apiGroups": ["image.openshift.io"], "resources": ["imagestreams"], "verbs": ["get", "list", "watch"]}
    ]
    binding = out.one("ClusterRoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": role["metadata"]["name"]}
    sa = out.one("ServiceAccount")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": NAMESPACE}]
    assert out.pod["serviceAccountName"] == sa["metadata"]["name"]
    assert out.pod["automountServiceAccountToken"] is True


def test_no_rbac_and_no_token_without_the_catalog(render):
    out = render({"catalog": {"enabled": False}, "poller": {"enabled": False}})
    assert not out.all("ClusterRole") and not out.all("ClusterRoleBinding")
    assert out.pod["automountServiceAccountToken"] is False
    assert "--catalog=off" in out.container["args"]


def test_catalog_namespaces_get_namespaced_roles_and_the_flag(render):
    out = render({"catalog": {"namespaces": ["team-a", "team-b"], "syncTimeoutSeconds": 5}, "poller": {"enabled": False}})
    args = out.container["args"]
    assert "--catalog-namespaces=team-a,team-b" in args
    assert "--catalog-sync-timeout=5" in args
    assert not out.all("ClusterRole") and not out.all("ClusterRoleBinding")
    roles = out.all("Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    for role in roles:
        assert role["rules"] == [{"apiGroups": ["image.openshift.io"], "resources": ["imagestreams"],
                                  "verbs": ["get", "list", "watch"]}]
    bindings = out.all("RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    for binding in bindings:
        assert binding["roleRef"]["kind"] == "Role"
        assert binding["subjects"][0]["namespace"] == NAMESPACE


def test_existing_service_account(render):
    out = render({"serviceAccount": {"create": False, "name": "prebuilt"}, "poller": {"enabled": False}})
    assert not out.all("ServiceAccount")
    assert out.pod["serviceAccountName"] == "prebuilt"
    assert out.one("ClusterRoleBinding")["subjects"][0]["name"] == "prebuilt"


def test_service_monitor_scrapes_the_metrics_port(render):
    assert not render().all("ServiceMonitor")
    out = render({"metrics": {"serviceMonitor": {"enabled": True, "interval": "15s", "labels": {"release": "prom"}}}})
    sm = out.one("ServiceMonitor")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["labels"]["release"] == "prom"
    svc = out.one("Service")
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert sm["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = sm["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in svc["spec"]["ports"]}
    assert (endpoint["port"], endpoint["path"], endpoint["interval"]) == ("metrics", "/metrics", "15s")


def test_image_values(render):
    out = render({"image": {"repository": "registry.example.com/ar", "tag": "9.9.9", "pullPolicy": "Always"},
                  "imagePullSecrets": [{"name": "pull"}]})
    assert out.container["image"] == "registry.example.com/ar:9.9.9"
    assert out.container["imagePullPolicy"] == "Always"
    assert out.pod["imagePullSecrets"] == [{"name": "pull"}]
    assert render().container["image"].endswith(":0.1.0")  # appVersion by default
    digest = "sha256:" + "a" * 64
    assert render({"image": {"digest": digest}}).container["image"].endswith("@" + digest)


def test_scheduling_overrides(render):
    out = render({
        "priorityClassName": "system-cluster-critical",
        "nodeSelector": {"node-role.kubernetes.io/infra": ""},
        "tolerations": [{"key": "node-role.kubernetes.io/infra", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}}},
    })
    pod = out.pod
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["nodeSelector"] == {"node-role.kubernetes.io/infra": ""}
    assert pod["tolerations"][0]["key"] == "node-role.kubernetes.io/infra"
    assert set(pod["affinity"]) == {"nodeAffinity"}  # the override replaces the default anti-affinity


def test_common_labels_and_annotations_reach_every_object(render):
    out = render({"commonLabels": {"team": "platform"}, "commonAnnotations": {"owner": "ops"},
                  "podLabels": {"pod": "yes"}, "podAnnotations": {"a": "b"}})
    for obj in out.objects:
        assert obj["metadata"]["labels"]["team"] == "platform", obj["kind"]
        assert obj["metadata"]["annotations"]["owner"] == "ops", obj["kind"]
    tmpl = out.deployment["spec"]["template"]["metadata"]
    assert tmpl["labels"]["pod"] == "yes" and tmpl["annotations"]["a"] == "b"
    assert "pod" not in out.deployment["spec"]["selector"]["matchLabels"]


def test_notes_state_the_mode_and_how_to_switch(render):
    audit = render().notes
    assert "Mode: AUDIT" in audit
    assert "--set mode=enforce" in audit
    assert "mutate.autoredeploy.io/would-patch" in audit
    assert "/metrics" in audit
    enforce = render({"mode": "enforce"}).notes
    assert "Mode: ENFORCE" in enforce and "--set mode=audit" in enforce
