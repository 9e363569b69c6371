#!/usr/bin/env bash
# LJSpeech-1.1 (one female speaker, 22.05 kHz, 13,100 clips): download, lists, then the shared codec stages.
#
#   bash run.sh --db /data/corpora
#
# Stages: 0 download (SHA-256 checked, resumable), 1 lists (split by chapter: LJ001 test, LJ002 dev,
# the rest train, so test sentences are unseen; the voice is the same, there is only one),
# 2 train, 3 export, 4 tokenize + detokenize, 5 bench beside Opus 6 and 10 kbps and Codec2 1300 and 3200.
# The loader resamples 22.05 kHz to the config's rate on the fly.

cd "$(dirname "$0")" || exit 1  # paths below (and in options) are relative to the recipe folder

stage=0
stop_stage=5
db=downloads          # download folder; the corpus is extracted to $db/LJSpeech-1.1
test_subset=0         # utterances of the test chapter to score (0: all)
conf=conf/gpu_freqcodec_16khz.yaml
tag=
device=auto
nj=4
baselines="opus:6000 opus:10000 codec2:1300 codec2:3200"  # two points each: curves on the quality-vs-bitrate plot
help_message="Usage: bash run.sh [--stage N] [--stop-stage N] [--db DIR] [--test-subset N] [--conf FILE]
  [--tag NAME] [--device auto|cpu|cuda] [--nj N] [--baselines 'SPEC ...']"

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
  log "stage 0: downloading LJSpeech-1.1 to $db; log: exp/log/download.log"
  $decode_cmd exp/log/download.log codeckit corpus download ljspeech --dest "$db" --no-progress
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "stage 1: data/{train,dev,test} from $db/LJSpeech-1.1; log: exp/log/prepare.log"
  $decode_cmd exp/log/prepare.log codeckit corpus prepare ljspeech --src "$db/LJSpeech-1.1" --out data
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
