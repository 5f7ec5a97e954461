"""Serving certificates per tls.source: who writes the Secret, who fills the caBundle."""

from __future__ import annotations

import base64
import shutil
import subprocess

import helm_python as helm
import pytest

from conftest import NAMESPACE, RELEASE, SECRET_CA_PEM, source_values

FULL = f"{RELEASE}-autoredeploy"
SVC_DNS = f"{FULL}.{NAMESPACE}.svc"
INJECT_OPENSHIFT = "service.beta.openshift.io/inject-cabundle"
INJECT_CERT_MANAGER = "cert-manager.io/inject-ca-from"
SERVING_SECRET = "service.beta.openshift.io/serving-cert-secret-name"


def mounted_secret(out) -> str:
    (volume,) = [v for v in out.pod["volumes"] if v["name"] == "tls"]
    return volume["secret"]["secretName"]


def annotations(obj) -> dict:
    return obj["metadata"].get("annotations") or {}


def test_openshift_service_ca_writes_the_secret_and_injects_the_bundle(render):
    out = render(source_values("openshift"))
    svc = out.one("Service")
    assert annotations(svc)[SERVING_SECRET] == f"{FULL}-tls" == mounted_secret(out)
    mwc = out.one("MutatingWebhookConfiguration")
    assert annotations(mwc)[INJECT_OPENSHIFT] == "true"
    assert INJECT_CERT_MANAGER not in annotations(mwc)
    for hook in out.webhooks.values():
        assert "caBundle" not in hook["clientConfig"]  # an empty one would wipe the injected value
    assert not out.all("Secret") and not out.all("Certificate")


def test_cert_manager_chain_issues_the_mounted_secret(render):
    out = render(source_values("cert-manager"))
    mwc = out.one("MutatingWebhookConfiguration")
    assert annotations(mwc)[INJECT_CERT_MANAGER] == f"{NAMESPACE}/{FULL}-tls"
    assert INJECT_OPENSHIFT not in annotations(mwc)
    assert SERVING_SECRET not in annotations(out.one("Service"))
    for hook in out.webhooks.values():
        assert "caBundle" not in hook["clientConfig"]

    assert out.one("Issuer", f"{FULL}-selfsigned")["spec"] == {"selfSigned": {}}
    ca = out.one("Certificate", f"{FULL}-ca")["spec"]
    assert ca["isCA"] is True
    assert ca["issuerRef"]["name"] == f"{FULL}-selfsigned"
    ca_issuer = out.one("Issuer", f"{FULL}-ca")["spec"]
    assert ca_issuer == {"ca": {"secretName": ca["secretName"]}}

    serving = out.one("Certificate", f"{FULL}-tls")["spec"]
    assert serving["secretName"] == mounted_secret(out)
    assert serving["issuerRef"] == {"group": "cert-manager.io", "kind": "Issuer", "name": f"{FULL}-ca"}
    assert SVC_DNS in serving["dnsNames"]
    assert "server auth" in serving["usages"]
    assert serving["duration"] == "2160h" and serving["renewBefore"] == "720h"
    for obj in out.all("Certificate") + out.all("Issuer"):
        assert obj["apiVersion"] == "cert-manager.io/v1"
        assert obj["metadata"]["namespace"] == NAMESPACE


def test_cert_manager_with_an_existing_issuer_skips_the_chain(render):
    values = source_values("cert-manager")
    values["tls"]["certManager"] = {"issuerRef": {"kind": "ClusterIssuer", "name": "corp-ca"}}
    out = render(values)
    assert out.all("Issuer") == []
    (cert,) = out.all("Certificate")
    assert cert["spec"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "corp-ca"}


def test_secret_source_uses_the_given_secret_and_bundle(render):
    out = render(source_values("secret"))
    assert mounted_secret(out) == "my-serving-cert"
    assert not out.all("Secret")
    mwc = out.one("MutatingWebhookConfiguration")
    assert INJECT_OPENSHIFT not in annotations(mwc) and INJECT_CERT_MANAGER not in annotations(mwc)
    expected = base64.b64encode(SECRET_CA_PEM.strip().encode()).decode()
    for hook in out.webhooks.values():
        assert hook["clientConfig"]["caBundle"] == expected


def test_secret_source_accepts_an_already_encoded_bundle(render):
    encoded = base64.b64encode(SECRET_CA_PEM.encode()).decode()
    out = render({"tls": {"source": "secret", "secretName": "s", "caBundle": encoded}})
    for hook in out.webhooks.values():
        assert hook["clientConfig"]["caBundle"] == encoded


@pytest.mark.parametrize("missing", ["secretName", "caBundle"])
def test_secret_source_without_name_or_bundle_fails(render, missing):
    values = source_values("secret")
    del values["tls"][missing]
    with pytest.raises(helm.HelmValuesError, match=missing):
        render(values)


def test_helm_source_generates_secret_and_bundle_in_one_render(render):
    out = render(source_values("helm"))
    secret = out.one("Secret", f"{FULL}-tls")
    assert secret["type"] == "kubernetes.io/tls"
    assert set(secret["data"]) == {"ca.crt", "tls.crt", "tls.key"}
    assert mounted_secret(out) == secret["metadata"]["name"]
    for hook in out.webhooks.values():
        assert hook["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]
    mwc = out.one("MutatingWebhookConfiguration")
    assert INJECT_OPENSHIFT not in annotations(mwc) and INJECT_CERT_MANAGER not in annotations(mwc)
    assert int(annotations(secret)["autoredeploy.io/not-after-epoch"]) > 0


def test_helm_source_restarts_pods_when_the_certificate_changes(render):
    first, second = render(source_values("helm")), render(source_values("helm"))
    key = "checksum/tls"
    a = first.deployment["spec"]["template"]["metadata"]["annotations"][key]
    b = second.deployment["spec"]["template"]["metadata"]["annotations"][key]
    assert len(a) == 64 and a != b  # offline there is no Secret to reuse: new certs, new checksum
    for source in ("openshift", "cert-manager", "secret"):
        assert key not in render(source_values(source)).deployment["spec"]["template"]["metadata"]["annotations"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_helm_generated_certificate_verifies_for_the_service_name(render, tmp_path):
    secret = render(source_values("helm")).one("Secret")
    for name in ("ca.crt", "tls.crt", "tls.key"):
        (tmp_path / name).write_bytes(base64.b64decode(secret["data"][name]))
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", tmp_path / "ca.crt", tmp_path / "tls.crt"],
        capture_output=True, text=True, check=False,
    )
    assert verify.returncode == 0, verify.stderr
    sans = subprocess.run(
        ["openssl", "x509", "-in", tmp_path / "tls.crt", "-noout", "-ext", "subjectAltName"],
        capture_output=True, text=True, check=True,
    ).stdout
    listed = {part.strip() for part in sans.splitlines()[-1].split(",")}
    assert listed == {f"DNS:{n}" for n in (FULL, f"{FULL}.{NAMESPACE}", SVC_DNS, f"{SVC_DNS}.cluster.local")}
    pub_cert = subprocess.run(["openssl", "x509", "-in", tmp_path / "tls.crt", "-noout", "-pubkey"],
                              capture_output=True, text=True, check=True).stdout
    pub_key = subprocess.run(["openssl", "pkey", "-in", tmp_path / "tls.key", "-pubout"],
                             capture_output=True, text=True, check=True).stdout
    assert pub_cert == pub_key


@pytest.mark.parametrize("source", ["openshift", "cert-manager", "helm"])
def test_secret_name_can_be_overridden(render, source):
    values = source_values(source)
    values["tls"]["secretName"] = "custom-tls"
    out = render(values)
    assert mounted_secret(out) == "custom-tls"
    if source == "openshift":
        assert annotations(out.one("Service"))[SERVING_SECRET] == "custom-tls"
    if source == "cert-manager":
        assert out.one("Certificate", f"{FULL}-tls")["spec"]["secretName"] == "custom-tls"
    if source == "helm":
        assert out.one("Secret")["metadata"]["name"] == "custom-tls"
