#!/bin/sh
# Started by `make bench`: every bench/bench_*.py (or only the files given as arguments),
# each printing its own report, then a one-line summary of what ran and how long it took.
# Runs every bench even when one fails; exits non-zero at the end if any failed.
[ "$#" -gt 0 ] || set -- bench/bench_*.py
summary=""
failed=0
all_start=$(date +%s)
for bench in "$@"; do
  echo "== $bench"
  start=$(date +%s)
  if python "$bench"; then
    status="ok"
  else
    status="FAILED (exit $?)"
    failed=$((failed + 1))
  fi
  summary="${summary:+$summary, }$(basename "$bench" .py) $(($(date +%s) - start))s $status"
done
echo "== bench summary: $# ran, $failed failed in $(($(date +%s) - all_start))s: $summary"
[ "$failed" -eq 0 ]
