#!/usr/bin/env bash
# Install everything the tests need and run them all (SQLite and PostGIS store tests, browser tests),
# then run the date-dependent tests (tests/date_smoke.txt) again with the system clock set by
# faketime to several dates: the results must not depend on the real date.
#
# The runs themselves are scripts/test_suite.sh: the tests in parallel pytest-xdist workers
# (RIVERGRID_TEST_WORKERS, default one per CPU), then the tests marked `serial` (browser tests, races
# of many processes) alone, then the date runs.
# Extra arguments go to one plain pytest run and skip the rest, e.g.  bash scripts/run_tests.sh -k store
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
RIVERGRID_TEST_PG_URL="$(bash scripts/start_postgis.sh | tail -n 1)"
export RIVERGRID_TEST_PG_URL
echo "== PostGIS test database: ${RIVERGRID_TEST_PG_URL%%@*}@…"
if [ "$#" -gt 0 ] && [ "$*" != "-q" ]; then
  exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
fi
exec bash scripts/test_suite.sh "$@"
