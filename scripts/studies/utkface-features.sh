#!/usr/bin/env bash
# Re-runs reports/utkface-features: a UTKFace CNN trained on the training pool, its backbone
# features of every face exported as a table, σ(l) learned by ES on heads over those features,
# few-shot on the head (600 meta-test episodes per K), and the time per episode on features
# against images. One thread per run; about 15 minutes on one core after `make data`.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BIN:-target/release/dldl-meta}
data=${DATA:-../shared/data}
run() { "$bin" --threads 1 "$@" --device cpu 2>&1 | grep -v ' INFO '; }
run train --task tasks/age-utkface.toml --data-dir "$data" --seeds 1 --out runs/utk-backbone-full
mkdir -p runs/features
[ -f runs/features/utk-features.csv ] ||
  run features --run runs/utk-backbone-full --out runs/features/utk-features.csv
feat=(--task tasks/age-utkface-features.toml --data-dir runs/features)
run data show tasks/age-utkface-features.toml --data-dir runs/features | head -1
run search "${feat[@]}" --meta meta/utkface-features-es.toml --out runs/feat-es
run fewshot "${feat[@]}" --shots 1,2 --episodes 600 --method onehot --method dldl:sigma=2 \
  --method learned:runs/feat-es --baseline dldl:sigma=2 --out runs/feat-fs600
# Time per episode: the same inner loop (the study's [inner]) on 8 and on 24 episodes, on the
# feature table and on the images; the difference over 16 episodes × 2 K × 2 methods is the
# cost of one member-episode without loading.
for n in 8 24; do
  for kind in features images; do
    if [ $kind = features ]; then args=("${feat[@]}"); else args=(--task tasks/age-utkface.toml --data-dir "$data"); fi
    rm -rf "runs/time-$kind-$n"
    start=$(date +%s.%N)
    run fewshot "${args[@]}" --meta meta/utkface-features-es.toml --shots 1,2 --episodes $n \
      --method onehot --method dldl:sigma=2 --out "runs/time-$kind-$n" > /dev/null
    echo "$kind, $n episodes: $(echo "$(date +%s.%N) - $start" | bc) s"
  done
done
"$bin" report runs/feat-es runs/feat-fs600 --out reports/utkface-features
