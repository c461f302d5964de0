#!/usr/bin/env bash
# The test runs of scripts/run_tests.sh, on a machine that has everything installed and
# RIVERGRID_TEST_PG_URL set (run_tests.sh installs, starts PostGIS, then runs this):
#   1. every test: those not marked `serial` in parallel pytest-xdist workers; then the browser
#      tests (`e2e`, also `serial`), a test module per worker (RIVERGRID_TEST_BROWSER_WORKERS, default
#      one per CPU): each mostly waits for its app server and browser, and a module's tests share its
#      fixtures; then the other `serial` tests (races of many processes) alone, so that nothing else
#      competes with them;
#   2. the date-dependent tests (tests/date_smoke.txt, some twenty) again with the system clock set
#      by faketime to each of four dates, in one plain pytest run each (too few for workers to pay),
#      RIVERGRID_TEST_DATE_JOBS runs at a time (default: one per CPU): their results must not depend
#      on the real date.
# Arguments go to every pytest run (e.g. -q). RIVERGRID_TEST_WORKERS: number of parallel workers
# (default: one per CPU). Stops after the first run with a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
py="${RIVERGRID_TEST_PYTHON:-.venv/bin/python}"
workers="${RIVERGRID_TEST_WORKERS:-auto}"
browser_workers="${RIVERGRID_TEST_BROWSER_WORKERS:-$(nproc)}"

# both_parts [COMMAND PREFIX…]: the parallel part, the browser part, then the serial part, of
# pytest "${args[@]}"; each part lists its slowest tests (where the next minute of CI is)
both_parts() {
  local failed=0 status start=$SECONDS
  "$@" "$py" -m pytest -p no:cacheprovider --durations=15 -n "$workers" --dist worksteal -m "not serial" "${args[@]}"
  status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 5 ] || failed=1  # 5: nothing to run in this part
  "$@" "$py" -m pytest -p no:cacheprovider --durations=15 -n "$browser_workers" --dist loadfile -m "serial and e2e" "${args[@]}"
  status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 5 ] || failed=1
  "$@" "$py" -m pytest -p no:cacheprovider --durations=15 -m "serial and not e2e" "${args[@]}"
  status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 5 ] || failed=1
  echo "== $(( SECONDS - start )) s"
  return "$failed"
}

args=("$@")
echo "== all tests ($workers parallel workers, then the serial tests)"
both_parts || exit 1

mapfile -t smoke < <(grep -v '^#' tests/date_smoke.txt | grep .)
jobs="${RIVERGRID_TEST_DATE_JOBS:-$(nproc)}"
logs=$(mktemp -d)
# date_run DAY: the smoke tests with the system clock at DAY, output to $logs/DAY.log, status to $logs/DAY.rc
date_run() {
  local day=$1 offset start=$SECONDS
  # an offset from the real clock (not a start time): the test run and the CLI and app processes it
  # starts share one clock, as they would on that day
  offset=$(( $(date -d "$day 09:30:00" +%s) - $(date +%s) ))
  [ "$offset" -ge 0 ] && offset="+$offset"
  {
    echo "== the date-dependent tests with the system clock at $day (faketime)"
    faketime -f "$offset" "$py" -m pytest -p no:cacheprovider "${args[@]}" "${smoke[@]}"
    echo $? > "$logs/$day.rc"
    echo "== $(( SECONDS - start )) s"
  } > "$logs/$day.log" 2>&1
}
# the four dates, $jobs at a time (each run is mostly waiting for the processes and browsers it starts)
days=(2026-11-28 2026-12-07 2027-01-04 2027-03-01)
start=$SECONDS
for day in "${days[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  date_run "$day" &
done
wait
failed=0
for day in "${days[@]}"; do
  cat "$logs/$day.log"
  [ "$(cat "$logs/$day.rc" 2>/dev/null || echo 1)" = 0 ] || failed=1
done
echo "== date runs: $(( SECONDS - start )) s ($jobs at a time)"
rm -rf "$logs"
exit "$failed"
