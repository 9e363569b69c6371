#!/usr/bin/env bash
# Install everything codeckit needs on a fresh Debian machine (run as root for the apt step).
# Idempotent: packages already present are skipped, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libsndfile1 sox espeak-ng opus-tools codec2
  # the C++ compiler torch.compile builds CPU kernels with (conf/cpu.yaml: train.compile: codec)
  g++
  flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
  chromium fortunes
  # a single-node Slurm cluster for the slurm.pl array-job test (tests/shards)
  slurm-wlm
  # the natural corpus (codeckit corpus synth --voices all): festival voices recorded from real speakers in
  # other languages, their front ends (the Indic ones are only recommended), and text in their languages
  festvox-italp16k festvox-itapc16k festvox-czech-dita festvox-czech-krb festvox-czech-machac festvox-czech-ph
  festvox-ru festvox-suopuhe-lj festvox-suopuhe-mv festvox-ca-ona-hts
  festvox-hi-nsk festvox-mr-nsk festvox-te-nsk festival-hi festival-mr festival-te
  fortunes-it fortunes-cs fortunes-ru
  # and MBROLA's diphone voices of real speakers (Debian contrib and non-free, enabled below), spoken through
  # espeak-ng, with text for their languages
  mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 mbrola-de1 mbrola-de2 mbrola-de3 mbrola-de4 mbrola-de5
  mbrola-de6 mbrola-de7 mbrola-de8 mbrola-es1 mbrola-es2 mbrola-es3 mbrola-es4 mbrola-br1 mbrola-br2 mbrola-br3
  mbrola-br4 mbrola-pl1
  fortunes-de fortunes-es fortunes-br fortunes-pl
)
PY=${PYTHON:-python3}

# MBROLA and its voices are in Debian's contrib and non-free sections: add them beside the machine's own sources.
enable_contrib_non_free() {
  local list=/etc/apt/sources.list.d/codeckit-contrib-non-free.sources
  [ -f "$list" ] && return 0
  . /etc/os-release
  printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" "Suites: ${VERSION_CODENAME:-bookworm}" \
    "Components: contrib non-free" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" > "$list"
}

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
  enable_contrib_non_free
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
