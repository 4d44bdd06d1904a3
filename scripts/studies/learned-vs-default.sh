#!/usr/bin/env bash
# Re-runs every study of reports/learned-vs-default (wine and abalone, clean and with planted
# label noise) on one thread into runs/lvd/, checks each learned σ on its grid's validation
# episodes, and redraws the report. About 8 minutes on one core after `make data`. Start from an
# empty runs/lvd/ to see every step: a finished run is not trained again, and prints only its summary.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BIN:-target/release/dldl-meta}
out=runs/lvd
mkdir -p "$out"
search() { # task study run
  "$bin" --threads 1 search --task "$1" --meta "$2" --out "$out/$3" | grep -vE '^\s*$'
}
# Runs the one-point study $out/$2-check.toml on task $1 and prints its step line.
run_check() { # task run
  "$bin" --threads 1 search --task "$1" --meta "$out/$2-check.toml" --out "$out/$2-check" 2>&1 | grep "^step" ||
    echo "(finished in an earlier run: its score is in $out/$2-check/trials.jsonl)"
}
# The learned σ of run $3 scored on the validation episodes of grid study $2 (one grid point).
check() { # task grid-study run
  local sigma
  sigma=$(awk '/^sigma/ {print $3}' "$out/$3/learned.toml")
  sed "s/^grid = .*/grid = [$sigma]/" "$2" > "$out/$3-check.toml"
  echo "validation check of $3 (σ = $sigma) on the episodes of $2:"
  run_check "$1" "$3"
}
# The learned σ(l) at the knots of run $3 (study $4) scored on the validation episodes of grid study $2.
check_knots() { # task grid-study run study
  local sigmas
  sigmas=$(python3 -c "import json, math; print(', '.join(str(math.exp(t)) for t in json.load(open('$out/$3/state.json'))['theta']))")
  sed -e "s/^grid = .*/grid = [[$sigmas]]/" -e "s/^learn = .*/learn = \"sigma-per-label\"\n$(grep '^knots' "$4")/" "$2" > "$out/$3-check.toml"
  echo "validation check of $3 (σ at the knots = $sigmas) on the episodes of $2:"
  run_check "$1" "$3"
}
wine=tasks/quality-wine.toml
abalone=tasks/age-abalone.toml
search $wine meta/wine-es.toml wine-es
search $wine meta/wine-grid.toml wine-grid
check $wine meta/wine-grid.toml wine-es
search $wine meta/wine-es-from-grid.toml wine-es-from-grid
check $wine meta/wine-grid.toml wine-es-from-grid
search $abalone meta/abalone-es.toml abalone-es
search $abalone meta/abalone-grid.toml abalone-grid
check $abalone meta/abalone-grid.toml abalone-es
search $abalone meta/abalone-es-from-grid.toml abalone-es-from-grid
check $abalone meta/abalone-grid.toml abalone-es-from-grid
for noise in sd07 sd14; do
  task=tasks/noisy/quality-wine-$noise.toml
  search $task meta/wine-es.toml wine-es-$noise
  search $task meta/wine-grid-wide.toml wine-grid-wide-$noise
  check $task meta/wine-grid-wide.toml wine-es-$noise
  search $task meta/wine-es-from-grid.toml wine-es-from-grid-$noise
  check $task meta/wine-grid-wide.toml wine-es-from-grid-$noise
done
# Noise rising with the score: the best fixed σ, the learned σ and the learned σ(l) on three knots.
task=tasks/noisy/quality-wine-rising.toml
search $task meta/wine-grid-wide.toml wine-grid-wide-rising
search $task meta/wine-es-from-grid.toml wine-es-from-grid-rising
check $task meta/wine-grid-wide.toml wine-es-from-grid-rising
search $task meta/wine-es-from-grid-per-label.toml wine-es-from-grid-per-label-rising
check_knots $task meta/wine-grid-wide.toml wine-es-from-grid-per-label-rising meta/wine-es-from-grid-per-label.toml
# ES with twice the outer steps on the heavier noise (48,000 member-steps).
sed 's/^outer_steps = .*/outer_steps = 8/' meta/wine-es.toml > "$out/wine-es-8.toml"
search tasks/noisy/quality-wine-sd14.toml "$out/wine-es-8.toml" wine-es-8-sd14
check tasks/noisy/quality-wine-sd14.toml meta/wine-grid-wide.toml wine-es-8-sd14
"$bin" report "$out/wine-es" "$out/wine-grid" "$out/abalone-es" "$out/abalone-grid" \
  "$out/wine-es-8-sd14" "$out/wine-es-from-grid-sd14" "$out/wine-grid-wide-sd14" \
  "$out/wine-es-from-grid-per-label-rising" --out reports/learned-vs-default
