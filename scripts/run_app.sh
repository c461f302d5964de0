#!/usr/bin/env bash
# Install RiverGrid and start it on the demo data of 临江市森工街道 at http://localhost:8501
# (the demo data is loaded into data/rivergrid.sqlite on the first start).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python -m ui.serve --server.port "${PORT:-8501}" "$@"
