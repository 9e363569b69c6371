#!/usr/bin/env bash
# VCTK 0.92 (110 English speakers with various accents, 48 kHz FLAC): download, lists, then the
# shared codec stages.
#
#   bash run.sh --db /data/corpora
#
# Stages: 0 download (SHA-256 checked, resumable), 1 lists (the last 8 speakers are test, the 4
# before them dev; train drops every sentence that a test speaker reads, so test voices and
# sentences are unseen), 2 train, 3 export, 4 tokenize + detokenize, 5 bench beside Opus 6 kbps
# and Codec2 3200. The loader resamples 48 kHz to the config's rate on the fly.

cd "$(dirname "$0")" || exit 1  # paths below (and in options) are relative to the recipe folder

stage=0
stop_stage=5
db=downloads          # download folder; the corpus is extracted to $db/VCTK-Corpus-0.92
mic=mic1              # mic1 (omni) or mic2 (small diaphragm condenser)
test_speakers=8
dev_speakers=4
test_subset=200       # utterances of the test speakers to score (0: all)
conf=conf/gpu_snac_24khz.yaml
tag=
device=auto
nj=4
baselines="opus:6000 opus:10000 codec2:1300 codec2:3200"  # two points each: curves on the quality-vs-bitrate plot
help_message="Usage: bash run.sh [--stage N] [--stop-stage N] [--db DIR] [--mic mic1|mic2]
  [--test-speakers N] [--dev-speakers N] [--test-subset N] [--conf FILE] [--tag NAME]
  [--device auto|cpu|cuda] [--nj N] [--baselines 'SPEC ...']"

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
  log "stage 0: downloading VCTK 0.92 to $db; log: exp/log/download.log"
  $decode_cmd exp/log/download.log codeckit corpus download vctk --dest "$db" --no-progress
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "stage 1: data/{train,dev,test} from $db/VCTK-Corpus-0.92; log: exp/log/prepare.log"
  $decode_cmd exp/log/prepare.log codeckit corpus prepare vctk --src "$db/VCTK-Corpus-0.92" --out data \
    --mic "$mic" --test-speakers "$test_speakers" --dev-speakers "$dev_speakers"
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
