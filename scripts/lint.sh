#!/usr/bin/env bash
# The house rules, checked from pyproject.toml: import contracts (lint-imports), ruff, mypy (strict on gis/).
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
