#!/usr/bin/env bash
# Install everything the tests need and run them all (SQLite and PostGIS store tests, browser tests),
# then run the date-dependent tests (tests/date_smoke.txt) again with the system clock set by
# faketime to several dates: the results must not depend on the real date.
# Extra arguments go to pytest and skip the date runs, e.g.  bash scripts/run_tests.sh -k store
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
RIVERGRID_TEST_PG_URL="$(bash scripts/start_postgis.sh | tail -n 1)"
export RIVERGRID_TEST_PG_URL
echo "== PostGIS test database: ${RIVERGRID_TEST_PG_URL%%@*}@…"
if [ "$#" -gt 0 ] && [ "$*" != "-q" ]; then
  exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
fi
.venv/bin/python -m pytest -p no:cacheprovider "$@"
mapfile -t smoke < <(grep -v '^#' tests/date_smoke.txt | grep .)
for day in 2026-11-28 2026-12-07 2027-01-04 2027-03-01; do
  echo "== the date-dependent tests with the system clock at $day (faketime)"
  # an offset from the real clock (not a start time): the test run and the CLI and app processes it
  # starts share one clock, as they would on that day
  offset=$(( $(date -d "$day 09:30:00" +%s) - $(date +%s) ))
  [ "$offset" -ge 0 ] && offset="+$offset"
  faketime -f "$offset" .venv/bin/python -m pytest -p no:cacheprovider "$@" "${smoke[@]}"
done
