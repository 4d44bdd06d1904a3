#!/usr/bin/env bash
# Re-runs reports/learned-vs-default-utkface: σ of UTKFace ages at 10 %, 25 % and 100 % of the
# training faces by a dense grid and by antithetic ES; the ES σ scored on the grid's own validation
# episodes; then the ES σ, the grid's best σ and the task's σ = 2 trained on the same paired
# test-pool episodes (20 at 10 % and 25 %, 8 at 100 %). One thread per run; about 100 minutes on one
# core for 10 % and 25 %, 80 for 100 % (faces under ../shared/data or $DATA; BUDGETS="100" runs one).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BIN:-target/release/dldl-meta}
data=${DATA:-../shared/data}
out=runs/lvd-utk
task=tasks/age-utkface.toml
mkdir -p "$out"
search() { # study run
  "$bin" --threads 1 search --task $task --data-dir "$data" --meta "$1" --out "$out/$2" 2>&1 |
    grep -vE '^\s*$| INFO '
}
learned() { awk '/^sigma/ {print $3}' "$out/$1/learned.toml"; }
# The grid study $1 with its points replaced by one σ ($2), its comparison on $3 episodes, and
# `compare_with` set to $4 (a TOML list), as a study file $5.
one_point() { # grid-study sigma episodes compare-with file
  sed "s/^grid = .*/grid = [$2]/; s/^validation_episodes = .*/validation_episodes = $3\ncompare_with = $4/" \
    "$1" > "$5"
}
for b in ${BUDGETS:-10 25 100}; do
  episodes=$([ "$b" = 100 ] && echo 8 || echo 20)
  grid=meta/utkface-budget$b-grid-dense.toml
  search $grid grid-$b
  search meta/utkface-budget$b-es.toml es-$b
  es=$(learned es-$b) best=$(learned grid-$b)
  echo "validation check of es-$b (σ = $es) on the episodes of $grid:"
  one_point $grid "$es" 1 '[]' "$out/es-$b-check.toml"
  search "$out/es-$b-check.toml" es-$b-check | grep "^step" ||
    echo "(finished in an earlier run: its score is in $out/es-$b-check/trials.jsonl)"
  # The paired test-pool comparison: the ES σ (as "learned"), the task's σ = 2 and the grid's best.
  one_point $grid "$es" "$episodes" "[\"gaussian:sigma=$best\"]" "$out/compare-$b.toml"
  sed -i 's/^episodes_per_step = .*/episodes_per_step = 1/' "$out/compare-$b.toml"
  search "$out/compare-$b.toml" compare-$b
done
"$bin" report "$out/es-10" "$out/grid-10" "$out/compare-10" "$out/es-25" "$out/grid-25" "$out/compare-25" \
  "$out/es-100" "$out/grid-100" "$out/compare-100" --out reports/learned-vs-default-utkface
