#!/usr/bin/env bash
# Install RiverGrid and start it on the demo data of 临江市森工街道 at http://localhost:8501
# (demo mode: the demo data and its published accounts are loaded into data/rivergrid.sqlite on the
# first start; never point this at a production database — a production database refuses it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export RIVERGRID_DEMO=1
exec .venv/bin/python -m ui.serve --server.port "${PORT:-8501}" "$@"
