#!/usr/bin/env bash
# LibriTTS (24 kHz read English, 2,456 speakers): download, lists, then the shared codec stages.
#
#   bash run.sh --db /data/corpora                     # everything, GPU config by default
#   bash run.sh --stage 1 --db /data/corpora           # lists from an existing download
#
# Stages: 0 download (SHA-256 checked, resumable), 1 lists (train/dev/test parts have disjoint
# speakers and books; the test set is an evenly spaced subset of test-clean for scoring),
# 2 train, 3 export, 4 tokenize + detokenize, 5 bench beside Opus 6 and 10 kbps and Codec2 1300 and 3200.

cd "$(dirname "$0")" || exit 1  # paths below (and in options) are relative to the recipe folder

stage=0
stop_stage=5
db=downloads          # download folder; the corpus is extracted to $db/LibriTTS
train_parts="train-clean-100"
dev_parts="dev-clean"
test_parts="test-clean"
test_subset=200       # utterances of the test parts to score (0: all)
conf=conf/gpu_snac_24khz.yaml
tag=
device=auto
nj=4
baselines="opus:6000 opus:10000 codec2:1300 codec2:3200"  # two points each: curves on the quality-vs-bitrate plot
help_message="Usage: bash run.sh [--stage N] [--stop-stage N] [--db DIR] [--train-parts 'P ...']
  [--dev-parts 'P ...'] [--test-parts 'P ...'] [--test-subset N] [--conf FILE] [--tag NAME]
  [--device auto|cpu|cuda] [--nj N] [--baselines 'SPEC ...']
  parts: train-clean-100 train-clean-360 train-other-500 dev-clean dev-other test-clean test-other"

. utils/parse_options.sh
set -euo pipefail
. ./path.sh
. ./cmd.sh

[ -f "$conf" ] || { echo "$0: training config $conf not found" >&2; exit 1; }
tag=${tag:-$(basename "$conf" .yaml)}
exp=exp/$tag
mkdir -p exp/log
log() { echo "$(date '+%F %T') $*"; }

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  log "stage 0: downloading LibriTTS $train_parts $dev_parts $test_parts to $db; log: exp/log/download.log"
  # shellcheck disable=SC2086
  $decode_cmd exp/log/download.log \
    codeckit corpus download libritts --dest "$db" --parts $train_parts $dev_parts $test_parts --no-progress
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "stage 1: data/{train,dev,test} from $db/LibriTTS; log: exp/log/prepare.log"
  # shellcheck disable=SC2086
  $decode_cmd exp/log/prepare.log \
    codeckit corpus prepare libritts --src "$db/LibriTTS" --out data \
      --train-parts $train_parts --dev-parts $dev_parts --test-parts $test_parts
  if [ "$test_subset" -gt 0 ]; then
    codeckit corpus subset data/test data/test_sub --n "$test_subset"
  else
    rm -rf data/test_sub && cp -r data/test data/test_sub
  fi
fi

if [ "$stop_stage" -ge 2 ]; then
  utils/codec_stages.sh --stage "$stage" --stop-stage "$stop_stage" --conf "$conf" --exp "$exp" \
    --test-set data/test_sub --device "$device" --nj "$nj" --baselines "$baselines"
fi
