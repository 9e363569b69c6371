#!/usr/bin/env bash
# The default codeckit recipe: make a synthetic multi-speaker speech corpus, train a codec on it,
# export it to ONNX, tokenize and decode the test set (unseen voices, unseen sentences), and score
# it beside Opus 6 and 10 kbps and Codec2 1300 and 3200 bps.
#
#   bash run.sh                            # all stages with the defaults (~9 min on 2 CPU cores)
#   bash run.sh --stage 4                  # resume from stage 4
#   bash run.sh --conf conf/cpu.yaml --size full    # the quality run (97-107 min of training)
#   bash run.sh --size full --corpus natural --stop-stage 0   # the natural corpus alone ($db/synth_full_natural)
#
# Stages: 0 corpus, 1 lists, 2 train, 3 export, 4 tokenize + detokenize, 5 bench (leaderboard).
# A finished stage is skipped on a re-run. Logs: exp/log/ (corpus) and exp/<tag>/log/ (the rest).

cd "$(dirname "$0")" || exit 1  # paths below (and in options) are relative to the recipe folder

stage=0
stop_stage=5
size=small            # corpus size: small (400 utterances, ~1 min to make) or full (2,500 sentences)
corpus=english        # english: English TTS voices, clean; natural: + recorded festival voices of 8 more
                      # languages, 21 MBROLA voices, and reverb / mic EQ / noise / level on 80% of utterances
                      # ($db/synth_<size>_natural)
text=fortunes         # sentence source: fortunes (Debian package 'fortunes') or grammar (built in)
db=../db              # where corpora are made: $db/synth_<size>
conf=conf/fast.yaml   # training config; its model.sample_rate picks the 16 kHz or 24 kHz lists
tag=                  # experiment name (default: the config's file name)
device=auto           # cpu, cuda, cuda:N or auto
nj=2                  # parallel jobs (corpus synthesis, tokenize, bench)
baselines="opus:6000 opus:10000 codec2:1300 codec2:3200"  # two points each: curves on the quality-vs-bitrate plot
help_message="Usage: bash run.sh [options]
  --stage N / --stop-stage N   first / last stage to run (0 corpus, 1 lists, 2 train, 3 export,
                               4 tokenize+detokenize, 5 bench); default $stage..$stop_stage
  --size small|full            corpus size (default $size)
  --corpus english|natural     corpus kind (default $corpus); natural: all recorded festival and MBROLA voices and
                               a random recording chain (codeckit corpus synth --voices all --augment 0.8)
  --text fortunes|grammar      sentence source (default $text)
  --db DIR                     corpus folder parent (default $db)
  --conf FILE                  training config (default $conf; see conf/)
  --tag NAME                   experiment name under exp/ (default: the config's name)
  --device auto|cpu|cuda       training device (default $device)
  --nj N                       parallel jobs (default $nj)
  --baselines 'SPEC ...'       classic codecs to score beside the model (default '$baselines')"

. utils/parse_options.sh
set -euo pipefail
. ./path.sh
. ./cmd.sh

[ -f "$conf" ] || { echo "$0: training config $conf not found" >&2; exit 1; }
case $size in small | full) ;; *) echo "$0: --size must be small or full, got '$size'" >&2; exit 1 ;; esac
case $corpus in
  english) corpus_dir=$db/synth_$size corpus_args="" ;;
  natural) corpus_dir=$db/synth_${size}_natural corpus_args=" --voices all --augment 0.8" ;;
  *) echo "$0: --corpus must be english or natural, got '$corpus'" >&2; exit 1 ;;
esac
tag=${tag:-$(basename "$conf" .yaml)}
exp=exp/$tag
fs=$(python3 -m codeckit.commands.config show "$conf" --key model.sample_rate)
case $fs in 16000) rate=16k ;; 24000) rate=24k ;; *) rate=$fs ;; esac
mkdir -p exp/log

log() { echo "$(date '+%F %T') $*"; }
log "recipe: corpus $corpus_dir ($size, $corpus, $text), config $conf ($fs Hz), experiment $exp"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  rates="16000 24000"
  [ "$rate" = "$fs" ] && rates="$rates $fs"  # the config's rate is neither: make it too
  args="--out $corpus_dir --size $size --text $text --rates $rates --jobs $nj$corpus_args"
  name=$(basename "$corpus_dir")
  if [ -f "$corpus_dir/.done" ] && [ "$(cat "$corpus_dir/.done")" = "$args" ]; then
    log "stage 0: corpus $corpus_dir exists, skipping"
  else
    log "stage 0: making the corpus in $corpus_dir; log: exp/log/corpus_${name#synth_}.log"
    # shellcheck disable=SC2086
    $decode_cmd "exp/log/corpus_${name#synth_}.log" codeckit corpus synth $args --no-progress
    echo "$args" > "$corpus_dir/.done"
  fi
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  [ -f "$corpus_dir/$rate/test/wav.scp" ] || { echo "$0: no $rate lists in $corpus_dir: run stage 0" >&2; exit 1; }
  log "stage 1: data/{train,dev,test} <- $corpus_dir/$rate"
  for split in train dev test; do
    rm -rf "data/$split"
    mkdir -p "data/$split"
    cp "$corpus_dir/$rate/$split"/{wav.scp,text,utt2spk,spk2utt,utt2dur} "data/$split/"
    log "  $split: $(wc -l < "data/$split/wav.scp") utterances, $(wc -l < "data/$split/spk2utt") speakers"
  done
fi

if [ "$stop_stage" -ge 2 ]; then
  utils/codec_stages.sh --stage "$stage" --stop-stage "$stop_stage" --conf "$conf" --exp "$exp" \
    --test-set data/test --device "$device" --nj "$nj" --baselines "$baselines"
fi
