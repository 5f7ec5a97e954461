"""The operators' docs only name values the chart accepts."""

from __future__ import annotations

import re

import pytest

from conftest import REPO, deep_merge

DOCS = [REPO / "docs" / "operating.md", REPO / "certs" / "README.md",
        REPO / "charts" / "autoredeploy" / "templates" / "NOTES.txt"]


def set_lines():
    """The --set flags of each documented line, which belong to one command."""
    for doc in DOCS:
        for line in doc.read_text().splitlines():
            flags = re.findall(r"--set ([\w.]+)=([^\s`'\"]+)", line)
            if flags:
                yield pytest.param(flags, id=f"{doc.name}:{' '.join(p for p, _ in flags)}")


def nested(path: str, value):
    out = value
    for part in reversed(path.split(".")):
        out = {part: out}
    return out


@pytest.mark.parametrize("flags", list(set_lines()))
def test_every_documented_set_flag_renders(render, flags):
    values = {"tls": {"source": "cert-manager"}} if any(p.startswith("tls.certManager") for p, _ in flags) else {}
    for path, value in flags:
        parsed = {"true": True, "false": False}.get(value, int(value) if value.isdigit() else value)
        values = deep_merge(values, nested(path, parsed))
    assert render(values).deployment["kind"] == "Deployment"  # raises on unknown keys or bad values


def test_docs_name_the_webhooks_the_chart_registers(render):
    names = set(render().webhooks)
    text = DOCS[0].read_text()
    for name in names:
        assert f"{name}/would-patch" in text or name in text
    assert set(re.findall(r"\b(\w+\.autoredeploy\.io)\b", text)) <= names
