#!/bin/sh
# Started by `make bench`: every bench/bench_*.py, each printing its own report.
set -e
for bench in bench/bench_*.py; do
  echo "== $bench"
  python "$bench"
done
