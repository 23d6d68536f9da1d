#!/usr/bin/env bash
# Builds llama.cpp through the pinned PyPI package llama-cpp-python into $WSD_HOME/venv and
# prints the prefix that holds llama.cpp's include/, lib/ and CMake package files.
#
# The build is portable by default: GGML_NATIVE=OFF with an explicit x86-64 floor (SSE4.2, AVX,
# AVX2, FMA, F16C, BMI2), so a build made on one machine runs on any x86-64 CPU that has AVX2,
# and AMX tile kernels are never compiled in (a CPU may advertise AMX and still fault on it).
# WSD_LLAMA_NATIVE=1 opts into -march=native (tied to the build host's CPU; the llama.cpp
# provider then probes AMX in a child process before it lets llama.cpp use it).
# The version and flags are printed on stderr and written to $venv/wsd-llama-build.txt.
set -euo pipefail
LLAMA_CPP_PYTHON_VERSION=0.3.36
WSD_HOME=${WSD_HOME:-$HOME/.cache/wsd}
venv="$WSD_HOME/venv"

common="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF"
if [ "${WSD_LLAMA_NATIVE:-0}" = 1 ]; then
  flavour=native
  isa="-DGGML_NATIVE=ON"
else
  flavour=portable
  isa="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
fi
cmake_args="$isa $common"
stamp="$venv/.llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION-$flavour"
info="$venv/wsd-llama-build.txt"

find_prefix() {
  local dir
  dir=$(find "$venv/lib" -path '*/site-packages/lib/cmake/llama/llama-config.cmake' 2>/dev/null | head -n 1)
  [ -n "$dir" ] && dirname "$(dirname "$(dirname "$(dirname "$dir")")")"
}

if [ ! -f "$stamp" ] || [ -z "$(find_prefix)" ]; then
  if [ "$flavour" = portable ] && ! grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    echo "wsd: this CPU has no AVX2; the portable llama.cpp build needs AVX2 (build on such a machine with WSD_LLAMA_NATIVE=1)" >&2
    exit 1
  fi
  mkdir -p "$WSD_HOME"
  python3 -m venv "$venv" >&2 || { echo "wsd: cannot create a Python virtual environment at $venv (is python3-venv installed?)" >&2; exit 1; }
  rm -f "$venv"/.llama-cpp-python-* "$info"
  echo "wsd: building llama.cpp via llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION, $flavour (several minutes on 2 cores)" >&2
  export CMAKE_ARGS="$cmake_args"
  export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
  # --force-reinstall: a build of another flavour may be installed already.
  if ! "$venv/bin/pip" install --quiet --no-cache-dir --force-reinstall --no-deps "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >&2 \
     || ! "$venv/bin/pip" install --quiet --no-cache-dir "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >&2; then
    echo "wsd: pip could not build llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION (see the pip output above)" >&2
    exit 1
  fi
  printf 'llama-cpp-python==%s %s: %s\n' "$LLAMA_CPP_PYTHON_VERSION" "$flavour" "$cmake_args" > "$info"
  touch "$stamp"
fi
prefix=$(find_prefix)
if [ -z "$prefix" ]; then
  echo "wsd: llama-cpp-python installed, but no llama.cpp CMake package under $venv" >&2
  exit 1
fi
echo "wsd: llama.cpp $(cat "$info" 2>/dev/null || echo "build of unknown flags")" >&2
echo "$prefix"
