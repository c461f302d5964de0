#!/usr/bin/env bash
# The test runs of scripts/run_tests.sh, on a machine that has everything installed and
# RIVERGRID_TEST_PG_URL set (run_tests.sh installs, starts PostGIS, then runs this):
#   1. every test: those not marked `serial` in parallel pytest-xdist workers, then the `serial`
#      ones (browser tests, races of many processes) alone, so that nothing else competes with them;
#   2. the date-dependent tests (tests/date_smoke.txt, some twenty) again with the system clock set
#      by faketime to each of four dates, in one plain pytest run each (too few for workers to pay):
#      their results must not depend on the real date.
# Arguments go to every pytest run (e.g. -q). RIVERGRID_TEST_WORKERS: number of parallel workers
# (default: one per CPU). Stops after the first run with a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
py="${RIVERGRID_TEST_PYTHON:-.venv/bin/python}"
workers="${RIVERGRID_TEST_WORKERS:-auto}"

# both_parts [COMMAND PREFIX…]: the parallel part, then the serial part, of pytest "${args[@]}"
both_parts() {
  local failed=0 status start=$SECONDS
  "$@" "$py" -m pytest -p no:cacheprovider -n "$workers" --dist worksteal -m "not serial" "${args[@]}"
  status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 5 ] || failed=1  # 5: nothing to run in this part
  "$@" "$py" -m pytest -p no:cacheprovider -m serial "${args[@]}"
  status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 5 ] || failed=1
  echo "== $(( SECONDS - start )) s"
  return "$failed"
}

args=("$@")
echo "== all tests ($workers parallel workers, then the serial tests)"
both_parts || exit 1

mapfile -t smoke < <(grep -v '^#' tests/date_smoke.txt | grep .)
for day in 2026-11-28 2026-12-07 2027-01-04 2027-03-01; do
  echo "== the date-dependent tests with the system clock at $day (faketime)"
  # an offset from the real clock (not a start time): the test run and the CLI and app processes it
  # starts share one clock, as they would on that day
  offset=$(( $(date -d "$day 09:30:00" +%s) - $(date +%s) ))
  [ "$offset" -ge 0 ] && offset="+$offset"
  start=$SECONDS
  faketime -f "$offset" "$py" -m pytest -p no:cacheprovider "$@" "${smoke[@]}" || exit 1
  echo "== $(( SECONDS - start )) s"
done
