#!/usr/bin/env bash
# codec_stages.sh: the stages every codec recipe shares once its data lists exist.
#
#   2 train       codeckit train --config CONF --exp-dir EXP        -> EXP/model
#   3 export      codeckit export EXP/model; compress fit (train set)  -> EXP/model/*.onnx, context_model.*
#   4 tokenize    codeckit tokenize --shards as JOB=1:nj, unpack, detokenize  -> EXP/shards/test, EXP/tokens/test,
#                                                                       EXP/decoded/test
#   5 bench       codeckit bench: the model beside the baselines    -> EXP/bench
#
# Run from a recipe folder (with path.sh and cmd.sh) by the recipe's run.sh. A stage that finished
# leaves EXP/.done.<stage>; a re-run skips it. The stamps of stages 4 and 5 hold a hash of the test list
# and the model (and the baselines), so a changed test set or a retrained model redoes them. Training
# that stopped part-way resumes from its last checkpoint. Every stage logs to EXP/log/<stage>.log and
# fails loudly, naming the log.

stage=2
stop_stage=5
conf=           # training config (the whole truth about the run)
exp=            # experiment folder
test_set=data/test
device=auto     # cpu, cuda, cuda:N or auto
nj=2            # parallel jobs for tokenize and bench
baselines="opus:6000 opus:10000 codec2:1300 codec2:3200"  # two points each: curves on the quality-vs-bitrate plot
help_message="Usage: utils/codec_stages.sh --conf conf/X.yaml --exp exp/X [--stage 2] [--stop-stage 5]
  [--test-set data/test] [--device auto] [--nj 2] [--baselines 'opus:6000 opus:10000 codec2:1300 codec2:3200']"

. utils/parse_options.sh
set -euo pipefail
. ./path.sh
. ./cmd.sh

[ -n "$conf" ] && [ -n "$exp" ] || { echo "$0: --conf and --exp are required" >&2; exit 1; }
[ -f "$conf" ] || { echo "$0: training config $conf not found" >&2; exit 1; }
name=$(basename "$exp")
mkdir -p "$exp/log"

log() { echo "$(date '+%F %T') [$name] $*"; }

# Fail with a clear message when this checkout lacks a codeckit command a stage needs.
need() {
  local cmd=$1 st=$2
  if ! codeckit "$cmd" --help >/dev/null 2>&1; then
    echo "$0: stage $st needs 'codeckit $cmd', which this checkout does not have (see 'codeckit --help')" >&2
    exit 1
  fi
}

# The config as training reads it, its includes composed (`codeckit config show`, without loading torch).
conf_show() { python3 -m codeckit.commands.config show "$conf" "$@"; }

# The experiment is tied to its config's content, includes composed (comments and layout aside): refuse to mix
# two in one folder. EXP/train.yaml is that composed config, so the experiment never depends on include files.
conf_sum=$(conf_show --json | sha1sum | cut -c1-16)
if [ -f "$exp/.conf.sha1" ] && [ "$(cat "$exp/.conf.sha1")" != "$conf_sum" ]; then
  echo "$0: $exp was made with another version of $conf; remove $exp or pass another --tag" >&2
  exit 1
fi
echo "$conf_sum" > "$exp/.conf.sha1"
conf_show > "$exp/train.yaml"

model=$exp/model

# What stages 4 and 5 were made from: the test list and the model weights.
inputs_key() { cat "$test_set/wav.scp" "$model/model.safetensors" 2>/dev/null | sha1sum | cut -c1-16; }
# stamp_matches FILE KEY: the stage finished with these inputs; says so when it finished with others.
stamp_matches() {
  [ -f "$1" ] || return 1
  [ "$(cat "$1")" = "$2" ] && return 0
  log "$(basename "$1" | sed 's/^.done.//'): the test set or the model changed since it ran, redoing it"
  return 1
}

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  if [ -f "$exp/.done.train" ] && [ -f "$model/model.safetensors" ]; then
    log "stage 2: trained model exists in $model, skipping"
  else
    need train 2
    resume=
    if compgen -G "$exp/checkpoints/*" >/dev/null; then resume=--resume; fi
    log "stage 2: training with $conf ${resume:+(resuming)}; log: $exp/log/train.log (also $exp/train.log, TensorBoard $exp/tb)"
    $train_cmd "$exp/log/train.log" codeckit train --config "$conf" --exp-dir "$exp" --device "$device" $resume
    [ -f "$model/model.safetensors" ] || { echo "$0: training ended without $model/model.safetensors" >&2; exit 1; }
    touch "$exp/.done.train"
  fi
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  if [ -f "$exp/.done.export" ]; then
    log "stage 3: ONNX graphs exist in $model, skipping"
  else
    need export 3
    log "stage 3: exporting $model to ONNX; log: $exp/log/export.log"
    $decode_cmd "$exp/log/export.log" codeckit export "$model"
    train_list=$(conf_show --key data.train)
    log "stage 3: fitting the entropy coder's context model on $train_list tokens; log: $exp/log/compress_fit.log"
    $decode_cmd "$exp/log/compress_fit.log" codeckit compress fit "$train_list" --model "$model" --jobs "$nj"
    touch "$exp/.done.export"
  fi
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  key=$(inputs_key)
  if stamp_matches "$exp/.done.tokenize" "$key"; then
    log "stage 4: tokens and decoded test audio exist, skipping"
  else
    # Shards made from another test set or model go; those of an interrupted run stay, and tokenize resumes them.
    if [ -f "$exp/.done.tokenize" ]; then rm -rf "$exp/shards/test"; fi
    rm -rf "$exp/tokens/test" "$exp/decoded/test"  # no files left from another test set
    need tokenize 4
    need shards 4
    need detokenize 4
    n_utt=$(wc -l < "$test_set/wav.scp")
    shard_size=$(( (n_utt + 4 * nj - 1) / (4 * nj) ))  # about 4 shards a job, at most 1000 utterances each
    [ "$shard_size" -le 1000 ] || shard_size=1000
    log "stage 4: tokenizing $test_set in $nj jobs -> $exp/shards/test (Shar + Parquet); logs: $exp/log/tokenize.*.log"
    $decode_cmd JOB=1:"$nj" "$exp/log/tokenize.JOB.log" \
      codeckit tokenize "$test_set/wav.scp" --model "$model" --out "$exp/shards/test" --shards shar,parquet \
        --shard-size "$shard_size" --job JOB --num-jobs "$nj" --device "$device"
    log "stage 4: checking the shards and unpacking token files -> $exp/tokens/test; log: $exp/log/unpack.log"
    $decode_cmd "$exp/log/unpack.log" \
      codeckit shards verify "$exp/shards/test" '&&' codeckit shards unpack "$exp/shards/test" --out "$exp/tokens/test"
    log "stage 4: detokenizing -> $exp/decoded/test; log: $exp/log/detokenize.log"
    $decode_cmd "$exp/log/detokenize.log" \
      codeckit detokenize "$exp/tokens/test" --model "$model" --out "$exp/decoded/test"
    echo "$key" > "$exp/.done.tokenize"
  fi
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  key="$(inputs_key) $baselines"
  if stamp_matches "$exp/.done.bench" "$key"; then
    log "stage 5: leaderboard exists in $exp/bench, skipping"
  else
    need bench 5
    log "stage 5: scoring $name beside $baselines on $test_set; log: $exp/log/bench.log"
    # shellcheck disable=SC2086
    $decode_cmd "$exp/log/bench.log" \
      codeckit bench --codecs "$name=$model" $baselines --data "$test_set/wav.scp" --out "$exp/bench" --jobs "$nj"
    echo "$key" > "$exp/.done.bench"
  fi
  for f in "$exp"/bench/*.md; do
    [ -f "$f" ] && { echo; cat "$f"; }
  done
  log "results: $exp/bench (leaderboard), $exp/decoded/test (decoded test audio), $model (model + ONNX)"
fi
