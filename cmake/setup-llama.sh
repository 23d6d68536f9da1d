#!/usr/bin/env bash
# Builds llama.cpp through the pinned PyPI package llama-cpp-python into a virtual environment
# under $WSD_HOME and prints the prefix that holds llama.cpp's include/, lib/ and CMake package files.
#
# WSD_LLAMA_BACKEND picks the backend, each in its own venv so that the builds coexist:
#   cpu    (default) $WSD_HOME/venv         the CPU backend only
#   vulkan           $WSD_HOME/venv-vulkan  + ggml-vulkan (any Vulkan device; Mesa's llvmpipe without a GPU)
#   cuda             $WSD_HOME/venv-cuda    + ggml-cuda for WSD_CUDA_ARCHITECTURES (default 80;86;89;90:
#                    A100, RTX 30xx/A10, RTX 40xx/L4, H100; "native" for the GPU of this machine),
#                    flash-attention kernels for the common KV types only (GGML_CUDA_FA_ALL_QUANTS off)
# Every build also has the CPU backend. Its CPU part is portable by default: GGML_NATIVE=OFF with an
# explicit x86-64 floor (SSE4.2, AVX, AVX2, FMA, F16C, BMI2), so a build made on one machine runs
# on any x86-64 CPU that has AVX2, and AMX tile kernels are never compiled in (a CPU may advertise
# AMX and still fault on it). WSD_LLAMA_NATIVE=1 opts into -march=native (tied to the build host's
# CPU; the llama.cpp provider then probes AMX in a child process before it lets llama.cpp use it).
# The version, backend and flags are printed on stderr and written to $venv/wsd-llama-build.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
LLAMA_CPP_PYTHON_VERSION=$(bash "$here/fetch-llama-sdist.sh" --version)
source_id=$(bash "$here/llama-source.sh" --id)  # the version and the patches of cmake/patches/
. "$(dirname "$0")/wsd-home.sh"  # WSD_HOME, the default pair's names
backend=${WSD_LLAMA_BACKEND:-cpu}

common="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF"
if [ "${WSD_LLAMA_NATIVE:-0}" = 1 ]; then
  flavour=native
  isa="-DGGML_NATIVE=ON"
else
  flavour=portable
  isa="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
fi
case "$backend" in
  cpu)
    venv="$WSD_HOME/venv"
    gpu="" ;;
  vulkan)
    venv="$WSD_HOME/venv-vulkan"
    headers=$(bash "$here/setup-vulkan.sh")  # Vulkan headers new enough for ggml-vulkan, glslc, the loader
    gpu="-DGGML_VULKAN=ON -DVulkan_INCLUDE_DIR=$headers" ;;
  cuda)
    venv="$WSD_HOME/venv-cuda"
    if ! command -v nvcc >/dev/null; then
      echo "wsd: WSD_LLAMA_BACKEND=cuda needs the CUDA toolkit (nvcc on PATH)" >&2
      exit 1
    fi
    arch=${WSD_CUDA_ARCHITECTURES:-80;86;89;90}
    gpu="-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=$arch -DGGML_CUDA_FA_ALL_QUANTS=OFF" ;;
  *)
    echo "wsd: WSD_LLAMA_BACKEND=$backend is not cpu, vulkan or cuda" >&2
    exit 2 ;;
esac
cmake_args="$isa${gpu:+ $gpu} $common"
stamp="$venv/.llama-cpp-python-$source_id-$flavour"  # a GPU build's flags are in its name
[ -n "$gpu" ] && stamp="$stamp-$(printf '%s' "$cmake_args" | sha256sum | cut -c1-12)"
info="$venv/wsd-llama-build.txt"
line="llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION (patched: $source_id) $backend $flavour: ${cmake_args//;/,}"  # one CMake list item

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
  echo "wsd: building llama.cpp via llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION, $backend, $flavour (several minutes on 2 cores)" >&2
  export CMAKE_ARGS="$cmake_args"
  export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
  start=$(date +%s)
  # From the sdist checked by sha256 with cmake/patches/ applied (cmake/llama-source.sh, as
  # benchmarks/gpu-kit.sh takes it); --force-reinstall: another flavour may be installed.
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  src=$(bash "$here/llama-source.sh" "$work")
  if ! "$venv/bin/pip" install --quiet --no-cache-dir --force-reinstall --no-deps "$src" >&2 \
     || ! "$venv/bin/pip" install --quiet --no-cache-dir "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >&2; then
    echo "wsd: pip could not build llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION with $backend (see the pip output above)" >&2
    exit 1
  fi
  printf '%s\nbuilt in %s s on %s cores\n' "$line" "$(($(date +%s) - start))" "$(nproc)" > "$info"
  touch "$stamp"
fi
if [ "$(head -n 1 "$info" 2>/dev/null)" != "$line" ]; then  # a build recorded before the backend was
  printf '%s\n' "$line" > "$info"
fi
prefix=$(find_prefix)
if [ -z "$prefix" ]; then
  echo "wsd: llama-cpp-python installed, but no llama.cpp CMake package under $venv" >&2
  exit 1
fi
echo "wsd: llama.cpp $(head -n 1 "$info" 2>/dev/null || echo "build of unknown flags")" >&2
echo "$prefix"
