"""Print the chart's MutatingWebhookConfiguration, as `helm template` renders it, pointed at a
webhook the e2e suite runs on this machine: each webhook's clientConfig.service becomes
clientConfig.url (BASE + the service path) with the given CA as caBundle.

usage: webhook_config.py --ca CA.crt --url https://127.0.0.1:PORT [--set-json VALUES]
Needs the chart tests' packages (helm-python-sdk, PyYAML): tests/chart/venv.sh makes them.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

import helm_python as helm
import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "autoredeploy"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ca", required=True, type=Path)
    parser.add_argument("--url", required=True)
    parser.add_argument("--release", default="autoredeploy")
    parser.add_argument("--namespace", default="autoredeploy")
    parser.add_argument("--set-json", default="{}", help="extra chart values, as JSON")
    args = parser.parse_args()
    pem = args.ca.read_text()
    values = {"tls": {"source": "secret", "secretName": "e2e-serving", "caBundle": pem}}
    for key, value in json.loads(args.set_json).items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            values[key] = {**values[key], **value}
        else:
            values[key] = value
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(values, name=args.release, namespace=args.namespace, is_install=True)
    configs = [
        doc
        for name, text in files.items()
        if not name.endswith(".txt")
        for doc in yaml.safe_load_all(text)
        if doc and doc.get("kind") == "MutatingWebhookConfiguration"
    ]
    if len(configs) != 1:
        print(f"expected one MutatingWebhookConfiguration, rendered {len(configs)}", file=sys.stderr)
        return 1
    config = configs[0]
    bundle = base64.b64encode(pem.encode()).decode()
    for webhook in config["webhooks"]:
        path = webhook["clientConfig"]["service"]["path"]
        webhook["clientConfig"] = {"url": args.url.rstrip("/") + path, "caBundle": bundle}
    json.dump(config, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
