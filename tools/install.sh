#!/usr/bin/env bash
# Install everything codeckit needs on a fresh Debian machine (run as root for the apt step).
# Idempotent: packages already present are skipped, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libsndfile1 sox espeak-ng opus-tools codec2
  flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
  chromium fortunes
  # the natural corpus (codeckit corpus synth --voices all): festival voices recorded from real speakers in
  # other languages, their front ends (the Indic ones are only recommended), and text in their languages
  festvox-italp16k festvox-itapc16k festvox-czech-dita festvox-czech-krb festvox-czech-machac festvox-czech-ph
  festvox-ru festvox-suopuhe-lj festvox-suopuhe-mv festvox-ca-ona-hts
  festvox-hi-nsk festvox-mr-nsk festvox-te-nsk festival-hi festival-mr festival-te
  fortunes-it fortunes-cs fortunes-ru
)
PY=${PYTHON:-python3}

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: these Debian packages are missing and need root: ${missing[*]}" >&2
    exit 1
  fi
  echo "install.sh: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# torch is pinned: 2.13.0 is the local CPU wheel; anything else pulls GBs of CUDA packages.
# encodec is installed without its deps: it names torchaudio, which cannot load with this torch.
stamp=.install-stamp
want=$(cat tools/install.sh setup.py | sha1sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$PY" -c "import codeckit, torch" 2>/dev/null; then
  echo "install.sh: python packages up to date"
  exit 0
fi
"$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore torch==2.13.0
"$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore -e ".[all,dev]"
"$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps encodec==0.1.1
# The DAC parity tests' reference (descript-audio-codec) and what it imports, without deps for the same reason
# (descript-audiotools names torchaudio); its model code needs none of them at run time.
"$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps \
  descript-audio-codec==1.0.0 descript-audiotools==0.7.2 flatten-dict==0.5.0 julius==0.2.8 ffmpy==1.0.0 \
  importlib_resources==7.1.0 rich==15.0.0 markdown-it-py==4.3.0 mdurl==0.1.2 randomname==0.2.1 argbind==0.3.9 \
  docstring_parser==0.18.0
# The Mimi parity tests' reference (moshi): it declares torch<2.10, so no deps; it runs with this torch.
"$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps moshi==0.2.13 \
  "sentencepiece>=0.2.0,<0.3"
echo "$want" > "$stamp"
echo "install.sh: done"
