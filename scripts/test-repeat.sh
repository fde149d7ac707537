#!/usr/bin/env bash
# Runs the whole test command again and again, to find tests that fail only now and then. Each
# run's output goes to test-runs/run-N.log; a failed run's log is kept, a passed run's removed.
# Prints one line per run (exit status, seconds) and, at the end, the failed tests by name.
# Usage: scripts/test-repeat.sh [RUNS (20)] [--until HH:MM]   (stops starting runs after that time)
# Exits 1 when any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
until=""
if [ "${2:-}" = "--until" ]; then until="$(date -d "${3:?give a time, e.g. 06:00}" +%s)" || exit 2; fi
case "$runs" in ''|*[!0-9]*) echo "test-repeat: RUNS is a number, not '$runs'" >&2; exit 2 ;; esac
mkdir -p test-runs
failed=0
for i in $(seq 1 "$runs"); do
  if [ -n "$until" ] && [ "$(date +%s)" -ge "$until" ]; then echo "test-repeat: stopped before run $i (past the time given)"; break; fi
  start=$(date +%s)
  bash scripts/test.sh >"test-runs/run-$i.log" 2>&1
  status=$?
  echo "run $i: exit $status after $(( $(date +%s) - start )) s"
  if [ "$status" -eq 0 ]; then rm -f "test-runs/run-$i.log"; else failed=$((failed + 1)); fi
done
if [ "$failed" -gt 0 ]; then
  echo "test-repeat: $failed run(s) failed; their logs are in test-runs/. Failed tests:"
  grep -h "✘ Test .* failed" test-runs/run-*.log | sed 's/ after .*//' | sort | uniq -c | sort -rn
  exit 1
fi
echo "test-repeat: every run passed"
