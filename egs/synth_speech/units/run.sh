#!/usr/bin/env bash
# Semantic units as a codec: MFCC features (HuBERT's first-iteration targets) quantized by k-means into 100 units
# at 100 Hz, a unit vocoder trained to voice them, and the leaderboard that scores them beside the acoustic codec
# of ../codec and the classic baselines (bitrate from units and from de-duplicated units with predicted durations,
# PESQ-WB, STOI, ViSQOL, WER).
#
#   bash run.sh                      # all stages with the defaults (~30 min on 2 idle CPU cores)
#   bash run.sh --stage 3            # resume from stage 3 (a finished stage is skipped on a re-run)
#   bash run.sh --n-units 200 --conf conf/vocoder_mfcc200.yaml   # another unit count (its config reads
#                                  exp/units_mfcc200/kmeans.safetensors)
#
# Stages: 0 lists (the codec recipe's corpus), 1 features + k-means (codeckit units fit), 2 tokenize the test set
# (token files and SpeechGPT-style unit strings),
# 3 train the vocoder (codeckit train), 4 duration predictor, 5 ONNX export, 6 resynthesize the test set,
# 7 leaderboard (codeckit bench). Logs: exp/<tag>/log/<stage>.log.

cd "$(dirname "$0")" || exit 1  # paths below (and in options) are relative to the recipe folder

stage=0
stop_stage=7
size=small            # corpus size of ../codec (small: 400 utterances, made by its stage 0 when missing)
db=../db              # where the codec recipe makes its corpora: $db/synth_<size>
features=conf/features/mfcc.yaml  # feature encoder config (mfcc, logmel or ssl; see codeckit/features/)
n_units=100           # k-means clusters
units=                # units folder (default exp/units_mfcc<n_units>): feats/, kmeans.safetensors, model/
conf=conf/vocoder_mfcc100.yaml  # vocoder training config; its quantizer reads $units/kmeans.safetensors
tag=                  # vocoder experiment name (default: the config's file name)
device=auto           # cpu, cuda, cuda:N or auto
nj=2                  # parallel jobs (tokenize, bench)
acoustic=../codec/exp/fast/model   # the acoustic codec shown beside the units (skipped when missing)
baselines="opus:6000 codec2:1300 codec2:3200"
help_message="Usage: bash run.sh [options]
  --stage N / --stop-stage N   first / last stage (0 lists, 1 units fit, 2 tokenize, 3 train vocoder,
                               4 durations, 5 export, 6 resynthesize, 7 bench); default $stage..$stop_stage
  --size small|full            corpus of ../codec (default $size)
  --features FILE              feature encoder config (default $features)
  --n-units N                  k-means clusters (default $n_units)
  --conf FILE                  vocoder training config (default $conf)
  --tag NAME                   vocoder experiment name (default: the config's name)
  --device auto|cpu|cuda       training device (default $device)
  --nj N                       parallel jobs (default $nj)
  --acoustic DIR               acoustic codec model shown beside the units (default $acoustic)
  --baselines 'SPEC ...'       classic codecs to score (default '$baselines')"

. utils/parse_options.sh
set -euo pipefail
. ./path.sh
. ./cmd.sh

[ -f "$conf" ] || { echo "$0: vocoder config $conf not found" >&2; exit 1; }
[ -f "$features" ] || { echo "$0: feature config $features not found" >&2; exit 1; }
units=${units:-exp/units_mfcc$n_units}
tag=${tag:-$(basename "$conf" .yaml)}
exp=exp/$tag
model=$exp/model
mkdir -p "$units/log" "$exp/log"
log() { echo "$(date '+%F %T') $*"; }
log "recipe: units $units ($features, $n_units units), vocoder $exp ($conf)"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  corpus=$db/synth_$size/16k
  if [ ! -f "$corpus/test/wav.scp" ]; then
    log "stage 0: no corpus in $corpus; making it with ../codec/run.sh --stage 0 --stop-stage 0 --size $size"
    (cd ../codec && bash run.sh --stage 0 --stop-stage 0 --size "$size")
  fi
  log "stage 0: data/{train,dev,test} <- $corpus"
  for split in train dev test; do
    rm -rf "data/$split"
    mkdir -p "data/$split"
    cp "$corpus/$split"/{wav.scp,text,utt2spk,spk2utt,utt2dur} "data/$split/"
    log "  $split: $(wc -l < "data/$split/wav.scp") utterances"
  done
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  key="$(cat data/train/wav.scp "$features" | sha1sum | cut -c1-16) $n_units"
  if [ -f "$units/.done.fit" ] && [ "$(cat "$units/.done.fit")" = "$key" ]; then
    log "stage 1: units exist in $units, skipping"
  else
    log "stage 1: features (shards in $units/feats) and k-means ($n_units units); log: $units/log/fit.log"
    $decode_cmd "$units/log/fit.log" \
      codeckit units fit --scp data/train/wav.scp --out "$units" --features "$features" --n-units "$n_units"
    echo "$key" > "$units/.done.fit"
  fi
  tail -n 1 "$units/log/fit.log"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "stage 2: tokenizing data/test -> $units/tokens/test; log: $units/log/tokenize.log"
  rm -rf "$units/tokens/test"
  $decode_cmd "$units/log/tokenize.log" \
    codeckit tokenize data/test/wav.scp --model "$units/model" --out "$units/tokens/test" --jobs "$nj"
  codeckit units strings "$units/tokens/test" --preset speechgpt --out "$units/tokens/test.speechgpt.txt"
  log "stage 2: SpeechGPT-style strings: $units/tokens/test.speechgpt.txt"
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  centroids=$(python3 -m codeckit.commands.config show "$conf" --key model.quantizer.centroids)
  [ -f "$centroids" ] || { echo "$0: $conf reads $centroids, which stage 1 did not make (see --n-units)" >&2; exit 1; }
  if [ -f "$exp/.done.train" ] && [ -f "$model/model.safetensors" ]; then
    log "stage 3: trained vocoder exists in $model, skipping"
  else
    resume=
    if compgen -G "$exp/checkpoints/*" >/dev/null; then resume=--resume; fi
    log "stage 3: training the vocoder with $conf ${resume:+(resuming)}; log: $exp/log/train.log"
    $train_cmd "$exp/log/train.log" codeckit train --config "$conf" --exp-dir "$exp" --device "$device" $resume
    touch "$exp/.done.train"
  fi
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  if [ -f "$model/duration.safetensors" ]; then
    log "stage 4: duration predictor exists in $model, skipping"
  else
    log "stage 4: fitting the duration predictor of de-duplicated units; log: $exp/log/duration.log"
    $decode_cmd "$exp/log/duration.log" python3 -m codeckit.units.duration_fit "$model" data/train/wav.scp
  fi
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "stage 5: exporting $model to ONNX (MFCC, k-means assignment and vocoder); log: $exp/log/export.log"
  $decode_cmd "$exp/log/export.log" codeckit export "$model"
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  log "stage 6: resynthesizing data/test -> $exp/decoded/test; log: $exp/log/resynth.log"
  rm -rf "$exp/tokens/test" "$exp/decoded/test"
  $decode_cmd "$exp/log/resynth.log" \
    codeckit tokenize data/test/wav.scp --model "$model" --out "$exp/tokens/test" --jobs "$nj" \
    "&&" codeckit detokenize "$exp/tokens/test" --model "$model" --out "$exp/decoded/test"
fi

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  name=mfcc$n_units
  specs="$name=$model $name-dedup=dedup:$model"
  [ -f "$acoustic/model.safetensors" ] && specs="$specs acoustic-$(basename "$(dirname "$acoustic")")=$acoustic"
  log "stage 7: scoring $specs $baselines on data/test; log: $exp/log/bench.log"
  # shellcheck disable=SC2086
  $decode_cmd "$exp/log/bench.log" \
    codeckit bench --codecs $specs $baselines --data data/test/wav.scp --out "$exp/bench" --jobs "$nj" --no-progress
  for f in "$exp"/bench/*.md; do
    [ -f "$f" ] && { echo; cat "$f"; }
  done
  log "results: $exp/bench (leaderboard), $exp/decoded/test (resynthesized test audio), $model (model + ONNX)"
fi
