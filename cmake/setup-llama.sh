#!/usr/bin/env bash
# Builds llama.cpp through the pinned PyPI package llama-cpp-python into $WSD_HOME/venv and
# prints the prefix that holds llama.cpp's include/, lib/ and CMake package files.
set -euo pipefail
LLAMA_CPP_PYTHON_VERSION=0.3.36
WSD_HOME=${WSD_HOME:-$HOME/.cache/wsd}
venv="$WSD_HOME/venv"
stamp="$venv/.llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION"

find_prefix() {
  local dir
  dir=$(find "$venv/lib" -path '*/site-packages/lib/cmake/llama/llama-config.cmake' 2>/dev/null | head -n 1)
  [ -n "$dir" ] && dirname "$(dirname "$(dirname "$(dirname "$dir")")")"
}

if [ ! -f "$stamp" ] || [ -z "$(find_prefix)" ]; then
  mkdir -p "$WSD_HOME"
  python3 -m venv "$venv" >&2 || { echo "wsd: cannot create a Python virtual environment at $venv (is python3-venv installed?)" >&2; exit 1; }
  echo "wsd: building llama.cpp via llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION (several minutes on 2 cores)" >&2
  # Only the shared libraries, headers and CMake files are needed: skip tools, tests and multimodal.
  export CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF"
  export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
  if ! "$venv/bin/pip" install --quiet --no-cache-dir "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >&2; then
    echo "wsd: pip could not build llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION (see the pip output above)" >&2
    exit 1
  fi
  touch "$stamp"
fi
prefix=$(find_prefix)
if [ -z "$prefix" ]; then
  echo "wsd: llama-cpp-python installed, but no llama.cpp CMake package under $venv" >&2
  exit 1
fi
echo "$prefix"
