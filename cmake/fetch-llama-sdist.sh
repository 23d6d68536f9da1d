#!/usr/bin/env bash
# Prints the path of llama-cpp-python's pinned sdist (the llama.cpp source that cmake/setup-llama.sh
# builds), downloaded once into $WSD_HOME/sdist and checked by sha256. cmake/setup-httplib.sh takes
# cpp-httplib from it, benchmarks/gpu-kit.sh llama.cpp's source for a GPU machine without network.
# With --version it prints only the pinned version.
set -euo pipefail
. "$(dirname "$0")/wsd-home.sh"  # WSD_HOME, the default pair's names
LLAMA_CPP_PYTHON_VERSION=0.3.36
sha256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
dest="$WSD_HOME/sdist/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz"
if [ "${1:-}" = --version ]; then  # the pinned version, the one place it is written
  echo "$LLAMA_CPP_PYTHON_VERSION"
  exit 0
fi

if [ ! -f "$dest" ] || [ "$(sha256sum "$dest" | cut -d' ' -f1)" != "$sha256" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "wsd: fetching llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION's sdist (the llama.cpp source)" >&2
  pip=(python3 -m pip)
  if ! python3 -m pip --version >/dev/null 2>&1; then  # Debian's python3 has no pip: a venv's own
    python3 -m venv "$work/venv" >&2 && pip=("$work/venv/bin/pip")
  fi
  if ! "${pip[@]}" download --quiet --no-deps --no-binary :all: -d "$work" \
       "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >&2; then
    echo "wsd: pip could not download llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION's sdist" >&2
    exit 1
  fi
  got=$(sha256sum "$work/$(basename "$dest")" | cut -d' ' -f1)
  if [ "$got" != "$sha256" ]; then
    echo "wsd: $(basename "$dest") has sha256 $got, expected $sha256" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$dest")"
  mv "$work/$(basename "$dest")" "$dest"
fi
echo "$dest"
