"""values.schema.json rejects unknown keys and bad enum values; values.yaml documents every key."""

from __future__ import annotations

import json
import re

import helm_python as helm
import pytest
import yaml

from conftest import CHART

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
VALUES_TEXT = (CHART / "values.yaml").read_text()


@pytest.mark.parametrize("values", [
    {"replicas": 3},
    {"image": {"name": "x"}},
    {"webhook": {"failurepolicy": "Ignore"}},
    {"tls": {"helm": {"validity": 10}}},
    {"tls": {"certManager": {"issuerRef": {"name": "x", "namespace": "y"}}}},
    {"webhook": {"namespaceOptOut": {"key": "a", "values": ["b"], "operator": "In"}}},
    {"metrics": {"serviceMonitor": {"enable": True}}},
    {"resources": {"request": {"cpu": "1"}}},
    {"server": {"listen": "0.0.0.0:1"}},
    {"rules": {"includeRepository": ["x"]}},
], ids=lambda v: json.dumps(v))
def test_unknown_keys_fail_the_render(render, values):
    with pytest.raises(helm.HelmValuesError, match="additional properties|additionalProperties"):
        render(values)


@pytest.mark.parametrize("values", [
    {"mode": "dry-run"},
    {"mode": "Enforce"},
    {"tls": {"source": "vault"}},
    {"webhook": {"failurePolicy": "ignore"}},
    {"webhook": {"reinvocationPolicy": "Always"}},
    {"rules": {"pullPolicy": "Always"}},
    {"server": {"logFormat": "yaml"}},
    {"image": {"pullPolicy": "Sometimes"}},
    {"service": {"type": "ExternalName"}},
    {"tls": {"certManager": {"issuerRef": {"name": "x", "kind": "Vault"}}}},
], ids=lambda v: json.dumps(v))
def test_bad_enum_values_fail_the_render(render, values):
    with pytest.raises(helm.HelmValuesError, match="value must be one of|enum"):
        render(values)


@pytest.mark.parametrize("values", [
    {"webhook": {"timeoutSeconds": 31}},
    {"webhook": {"timeoutSeconds": 0}},
    {"replicaCount": 0},
    {"server": {"port": "8443"}},
    {"image": {"digest": "latest"}},
    {"webhook": {"objectOptOutLabel": "not a label"}},
    {"webhook": {"namespaceOptOut": {"key": "autoredeploy.io/mode", "values": []}}},
    {"catalog": {"enabled": "yes"}},
    {"catalog": {"namespaces": ["Not_A_Namespace"]}},
    {"catalog": {"syncTimeoutSeconds": 0}},
], ids=lambda v: json.dumps(v))
def test_out_of_range_and_mistyped_values_fail_the_render(render, values):
    with pytest.raises(helm.HelmValuesError):
        render(values)


def test_defaults_pass_the_schema(chart):
    chart.validate_schema({})  # raises on failure
    assert chart.merge_values({})["mode"] == "audit"


def walk(schema, path="$"):
    yield path, schema
    for key, sub in schema.get("properties", {}).items():
        yield from walk(sub, f"{path}.{key}")


def test_schema_is_draft_07_and_closed_at_every_level():
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    objects = [(p, s) for p, s in walk(SCHEMA) if "properties" in s]
    assert len(objects) > 15
    for path, sub in objects:
        assert sub.get("additionalProperties") is False, path


def schema_paths(schema, prefix=()):
    for key, sub in schema.get("properties", {}).items():
        yield prefix + (key,)
        yield from schema_paths(sub, prefix + (key,))


def value_paths(values, prefix=()):
    for key, value in values.items():
        yield prefix + (key,)
        if isinstance(value, dict) and value:
            yield from value_paths(value, prefix + (key,))


def test_every_default_has_a_schema_entry_and_back():
    defaults = set(value_paths(yaml.safe_load(VALUES_TEXT)))
    declared = set(schema_paths(SCHEMA))
    assert defaults - declared == set()
    # Members of empty-by-default objects (resources limits, issuerRef) are optional.
    optional = {("resources",), ("tls", "certManager", "issuerRef")}
    assert {p for p in declared - defaults if not any(p[: len(o)] == o for o in optional)} == set()


def test_every_value_in_values_yaml_has_a_comment():
    lines = VALUES_TEXT.splitlines()
    key_line = re.compile(r"^(\s*)([A-Za-z][\w-]*):(.*)$")
    undocumented = []
    inside_value = None  # indent of a documented map value (resources) whose members are data
    for i, line in enumerate(lines):
        m = key_line.match(line)
        if not m:
            continue
        indent, key, rest = m.groups()
        if inside_value is not None and len(indent) > inside_value:
            continue
        inside_value = len(indent) if key == "resources" else None
        nxt = next((ln for ln in lines[i + 1:] if ln.strip()), "")
        is_parent = rest.strip() == "" and len(nxt) - len(nxt.lstrip()) > len(indent)
        if is_parent and not nxt.lstrip().startswith("-") and key != "resources":
            continue  # a group of documented keys
        above = lines[i - 1].strip() if i else ""
        if not above.startswith("#"):
            undocumented.append(key)
    assert undocumented == []
