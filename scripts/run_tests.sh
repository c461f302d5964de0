#!/usr/bin/env bash
# Install everything the tests need and run them all (SQLite and PostGIS store tests, browser tests).
# Extra arguments go to pytest, e.g.  bash scripts/run_tests.sh -k store
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
RIVERGRID_TEST_PG_URL="$(bash scripts/start_postgis.sh | tail -n 1)"
export RIVERGRID_TEST_PG_URL
echo "== PostGIS test database: ${RIVERGRID_TEST_PG_URL%%@*}@…"
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
