#!/usr/bin/env bash
# The test of scripts/sweep: a runs file of two short trainings (two seeds, one of
# two processes) run as one mpirun job; each run leaves its own log and checkpoint,
# the table has one row a run with the final accuracy its log ends with, and a
# runs file that names a run twice is refused in one line.
#   test_sweep.sh TRAINER DATA_DIR WORK_DIR
set -euo pipefail
project=$(cd "$(dirname "$0")/../.." && pwd)
trainer=$1 data=$2 work=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work"
options="--data $data --epochs 2 --batch 50 --train-limit 500 --threads 1"
cat > "$work/runs" <<RUNS
# two seeds of one trainer
first   $trainer $options --seed 1
second  $trainer $options --seed 2   # a comment after a run
RUNS
bash "$project/scripts/sweep" "$work/runs" "$work/out" --oversubscribe > "$work/stdout" 2> "$work/stderr" ||
  fail "the sweep failed: $(cat "$work/stderr")"
for run in first second; do
  [ -f "$work/out/$run/last.safetensors" ] || fail "run $run left no checkpoint"
  final=$(tail -n 1 "$work/out/$run/log.csv" | cut -d, -f5)
  grep -qF "| $run | 2 | $(printf '%.2f' "$final")% |" "$work/out/results.md" ||
    fail "no row for $run with its final accuracy $final: $(cat "$work/out/results.md")"
done
[ "$(grep -c '^| [fs]' "$work/out/results.md")" -eq 2 ] || fail "the table has not one row a run"
cmp -s "$work/out/first/log.csv" "$work/out/second/log.csv" && fail "two seeds gave the same log"

printf 'a %s\na %s\n' "$trainer" "$trainer" > "$work/twice"
if bash "$project/scripts/sweep" "$work/twice" "$work/twice-out" 2> "$work/err"; then fail "a run named twice was accepted"; fi
[ "$(cat "$work/err")" = "error: scripts/sweep: $work/twice: run 'a' is named twice" ] || fail "refusal: $(cat "$work/err")"
echo "scripts/sweep: two runs, their table, and a refused runs file"
