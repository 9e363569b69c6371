#!/usr/bin/env bash
# GPU check of the LibriTTS recipe's frame-rate configs: each trains a few hundred steps on CUDA (steps/s, audio
# seconds per second), then the trained model codes and decodes test files on the GPU and the CPU (check.py).
#
#   bash benches/gpu_check/run.sh DATA OUT    # DATA: train/wav.scp and test/wav.scp of 24 kHz audio
#
# Run from the repository root. Measured on one H200 with DATA = 240 + 24 files of the small synthetic corpus at
# 24 kHz (the 24k/ half of what egs/synth_speech/codec/run.sh makes in ../db/synth_small): egs/libritts/RESULTS.md.
set -u
data=${1:?usage: run.sh DATA OUT}
out=${2:?usage: run.sh DATA OUT}
here=$(dirname "$0")
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
t0=$(date +%s)
train() {  # name config steps limit_s [train.key=value ...]
  local name=$1 conf=$2 steps=$3 lim=$4 t rc
  shift 4
  python3 "$here/cfg.py" "egs/libritts/codec/conf/$conf.yaml" "$out/$name.yaml" "$data/train/wav.scp" "$@"
  t=$(date +%s)
  timeout "$lim" python3 -m codeckit.cli train --config "$out/$name.yaml" --exp-dir "$out/exp/$name" \
    --max-steps "$steps" --device cuda > "$out/$name.log" 2>&1
  rc=$?
  echo "$name rc=$rc wall=$(($(date +%s) - t))s"
  tail -3 "$out/$name.log"
  cp "$out/exp/$name/metrics.jsonl" "$out/$name.metrics.jsonl" 2>/dev/null
}
train pitch gpu_vocos_pitch_24khz 600 170
[ -f "$out/exp/pitch/model/config.yaml" ] && python3 "$here/check.py" "$out/exp/pitch/model" "$data/test/wav.scp" "$out/check.json"
train fsq gpu_vocos_fsq_24khz 400 110
[ $(($(date +%s) - t0)) -lt 300 ] && train pitch_compile gpu_vocos_pitch_24khz 400 150 compile=all
echo "elapsed $(($(date +%s) - t0))s"
