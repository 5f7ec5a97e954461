"""Shared helpers: render the chart offline with Helm's Go SDK and index the objects."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "autoredeploy"
RELEASE = "ar"
NAMESPACE = "autoredeploy-system"
SOURCES = ["openshift", "cert-manager", "helm", "secret"]
MODES = ["enforce", "audit"]
# A syntactically valid CA for tls.source=secret (content is not checked by the chart).
SECRET_CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n"


def source_values(source: str) -> dict[str, Any]:
    """The smallest values that make each tls.source render."""
    tls: dict[str, Any] = {"source": source}
    if source == "secret":
        tls.update(secretName="my-serving-cert", caBundle=SECRET_CA_PEM)
    return {"tls": tls}


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class Rendered:
    """The objects and NOTES of one render, with lookups by kind and name."""

    def __init__(self, manifests: dict[str, str]):
        self.files = manifests
        self.notes = next((v for k, v in manifests.items() if k.endswith("NOTES.txt")), "")
        self.objects: list[dict[str, Any]] = []
        for name, text in manifests.items():
            if name.endswith(".txt"):
                continue
            self.objects.extend(d for d in yaml.safe_load_all(text) if d)

    def kinds(self) -> list[str]:
        return sorted(o["kind"] for o in self.objects)

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [o for o in self.all(kind) if name is None or o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
        return found[0]

    @property
    def deployment(self) -> dict[str, Any]:
        """The webhook's Deployment (the poller has its own, see test_poller.py)."""
        (found,) = [
            o for o in self.all("Deployment") if not o["metadata"]["name"].endswith("-poller")
        ]
        return found

    @property
    def pod(self) -> dict[str, Any]:
        return self.deployment["spec"]["template"]["spec"]

    @property
    def container(self) -> dict[str, Any]:
        (container,) = self.pod["containers"]
        return container

    @property
    def webhooks(self) -> dict[str, dict[str, Any]]:
        return {w["name"]: w for w in self.one("MutatingWebhookConfiguration")["webhooks"]}


@pytest.fixture(scope="session")
def chart():
    with helm.Chart.load(str(CHART)) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def render(chart):
    """render(values) -> Rendered, as `helm template ar CHART -n autoredeploy-system` would."""

    def _render(values: dict[str, Any] | None = None, **opts: Any) -> Rendered:
        opts.setdefault("name", RELEASE)
        opts.setdefault("namespace", NAMESPACE)
        opts.setdefault("is_install", True)
        return Rendered(chart.render(values or {}, **opts))

    return _render


ALL_COMBINATIONS = list(itertools.product(SOURCES, MODES))
