#!/usr/bin/env bash
# The house rules, checked from pyproject.toml: import contracts (lint-imports), ruff, mypy (strict on gis/);
# and no module of the app over 800 lines (the demo's data excepted): split it along its seams.
# Run after `bash scripts/install.sh --test` (which installs the three tools into .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== lint-imports (import contracts)"
.venv/bin/lint-imports --no-cache
echo "== ruff check, ruff format --check"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== module sizes (at most 800 lines; gis/demo/data.py excepted)"
too_long=$(find gis layers ui pages api -name '*.py' ! -path 'gis/demo/data.py' -exec wc -l {} + \
  | awk '$2 != "total" && $1 > 800 {print "  " $2 ": " $1 " lines"}')
if [ -n "$too_long" ]; then
  echo "over 800 lines, split along the module's seams:"
  echo "$too_long"
  exit 1
fi
echo "all within 800 lines"
