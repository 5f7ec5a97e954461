#!/usr/bin/env bash
# Chart, Dockerfile and packaging tests: pytest in tests/chart/.venv (made by venv.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="$(bash "$here/venv.sh")"
cd "$here"
exec "$python" -m pytest -p no:cacheprovider "$@"
