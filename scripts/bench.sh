#!/bin/sh
# Started by `make bench`: every bench/bench_*.py (or only the files given as arguments),
# each printing its own report, then a one-line summary of what ran and how long it took.
# Runs every bench even when one fails; exits non-zero at the end if any failed.
#
# BENCH_SCALE=N (e.g. `make bench BENCH_SCALE=100`) first migrates a database of its own
# (DATABASE_URL's name + `_scale<N>`) and tops it up to N times the demo with
# `manage.py seed_scale --factor N` (idempotent: a second run only checks the counts); then
# each bench's scratch database starts as a copy of it (bench/support.py, docs/bench.md).
# Unset or 0: the benches run on their own small fixtures, as before.
[ "$#" -gt 0 ] || set -- bench/bench_*.py
summary=""
failed=0
all_start=$(date +%s)
if [ -n "${BENCH_SCALE:-}" ] && [ "$BENCH_SCALE" != "0" ]; then
  # A database of its own per factor (bloom_bench_scale100 ...), kept between runs: the next
  # `make bench BENCH_SCALE=100` finds it seeded and starts at once. Drop it to reclaim the disk.
  BENCH_SCALE_TEMPLATE=$(python scripts/bench_scale_db.py "$BENCH_SCALE") || exit 1
  echo "== seed_scale --factor $BENCH_SCALE into $BENCH_SCALE_TEMPLATE"
  start=$(date +%s)
  scale_url=$(python scripts/bench_scale_db.py "$BENCH_SCALE" --url)
  DATABASE_URL=$scale_url python manage.py migrate --verbosity 0 || exit 1
  DATABASE_URL=$scale_url python manage.py seed_scale --factor "$BENCH_SCALE" || exit 1
  export BENCH_SCALE_TEMPLATE
  summary="seed_scale $(($(date +%s) - start))s ok"
fi
for bench in "$@"; do
  echo "== $bench${BENCH_SCALE_TEMPLATE:+ (at ${BENCH_SCALE}x, from $BENCH_SCALE_TEMPLATE)}"
  start=$(date +%s)
  if python "$bench"; then
    status="ok"
  else
    status="FAILED (exit $?)"
    failed=$((failed + 1))
  fi
  summary="${summary:+$summary, }$(basename "$bench" .py) $(($(date +%s) - start))s $status"
done
echo "== bench summary${BENCH_SCALE_TEMPLATE:+ at ${BENCH_SCALE}x}: $# ran, $failed failed in $(($(date +%s) - all_start))s: $summary"
[ "$failed" -eq 0 ]
