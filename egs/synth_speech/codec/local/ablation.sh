#!/usr/bin/env bash
# The quality issue's ablations: train each config on the full corpus (each one alone on the machine, so
# its wall time is its own), score every model on one leaderboard beside the classic codecs, and write
# the ablation table (benches/ablation.py) to exp/ablation/.
#
#   bash local/ablation.sh conf/abl_dac.yaml conf/abl_vocos.yaml ...     # from the recipe folder
#
# Stages: 1 train every config (run.sh stage 2, skipped when its model exists; a config that trains on the
# natural corpus, abl_vocos_fsq_natural.yaml, gets that corpus made first when its list is missing), 2 one
# leaderboard over data/test (PESQ-WB, STOI, ViSQOL speech, token stability), 3 the table.
# Logs: exp/<tag>/log, exp/ablation/log.
cd "$(dirname "$0")/.." || exit 1

stage=1
stop_stage=3
nj=2
baselines="opus:6000 opus:10000 codec2:1300 codec2:3200"
metrics="pesq_wb stoi visqol_speech"
help_message="Usage: bash local/ablation.sh [--stage N] [--stop-stage N] [--nj N] CONF.yaml...
  trains each CONF on the full corpus (run.sh --size full), scores all of them on one leaderboard
  (exp/ablation/bench) and writes the ablation table (exp/ablation/table.md, table.json)"
. utils/parse_options.sh
set -euo pipefail
. ./path.sh
[ $# -ge 1 ] || { echo "$help_message" >&2; exit 1; }

log() { echo "$(date '+%F %T') $*"; }
mkdir -p exp/ablation/log
if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  for conf in "$@"; do
    train=$(python3 -m codeckit.commands.config show "$conf" --key data.train)  # includes composed
    if [ ! -f "$train" ] && [[ $train == */synth_full_natural/* ]]; then
      log "stage 1: making the natural corpus $train needs"
      bash run.sh --size full --corpus natural --nj "$nj" --stop-stage 0
    fi
    log "stage 1: training $conf"
    bash run.sh --conf "$conf" --size full --nj "$nj" --stop-stage 2
  done
fi

exps=()
codecs=()
for conf in "$@"; do
  tag=$(basename "$conf" .yaml)
  exps+=("exp/$tag")
  codecs+=("$tag=exp/$tag/model")
done

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "stage 2: one leaderboard for ${#codecs[@]} model(s) and $baselines; log: exp/ablation/log/bench.log"
  # shellcheck disable=SC2086
  codeckit bench --codecs "${codecs[@]}" $baselines --data data/test/wav.scp --out exp/ablation/bench \
    --metrics $metrics --jobs "$nj" --no-progress > exp/ablation/log/bench.log 2>&1
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "stage 3: the ablation table -> exp/ablation/table.md"
  python3 "$CODECKIT_ROOT/benches/ablation.py" --exps "${exps[@]}" --bench exp/ablation/bench \
    --out exp/ablation/table.json --markdown exp/ablation/table.md
fi
