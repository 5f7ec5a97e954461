#!/usr/bin/env bash
# Creates tests/chart/.venv (git-ignored) with the pinned requirements from PyPI, once per
# requirements file, and prints its python. Any failure to install is fatal. Used by the chart
# tests (run.sh) and by the e2e suite, which renders the chart's webhook configuration.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

command -v "$python" >/dev/null 2>&1 || { echo "tests/chart: $python not found" >&2; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" >&2 || { echo "tests/chart: cannot create a virtualenv (install python3-venv)" >&2; exit 1; }
fi
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2 \
    || { echo "tests/chart: FAILED to install $here/requirements.txt" >&2; exit 1; }
  echo "$want" >"$stamp"
fi
"$venv/bin/python" -c 'import helm_python, kubernetes_validate, yaml' \
  || { echo "tests/chart: installed packages do not import" >&2; exit 1; }
echo "$venv/bin/python"
