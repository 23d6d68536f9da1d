#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, the CUDA toolkit, CMake, a C++ compiler, python3
# with numpy, and no network, from this working tree and gpu-kit/ (made here by
# benchmarks/gpu-kit.sh), in about 10 minutes on 16 cores:
#   1. builds llama.cpp's CUDA backend for this GPU (CMAKE_CUDA_ARCHITECTURES=native) from the
#      kit's llama.cpp source, and wsd's GPU tests, wsd-batch-shapes and wsd-bench against it;
#   2. writes a random-weight pair with benchmarks/make_gguf.py (one vocabulary; about 0.1B and
#      1.2B parameters, F16: the paper's ratio of drafter to base model), since real models are too
#      large to carry: their probabilities mean nothing, so the fixed switch rule decides;
#   3. exactness: the GPU tests (every layer on the GPU; online == offline bit for bit, 3 in flight
#      == one at a time, GPU against CPU backend), then which physical batch sizes give
#      bit-identical logits on this backend (wsd-batch-shapes);
#   4. speed: wsd-bench's per-token costs (weak write, strong read, strong write) and throughput at
#      --parallel 1, 4, 16, 32, batch-invariant and fast kernels.
# Everything is printed and kept in $OUT (or $WSD_GPU_WORK/out): gpu-check.log, gpu-tests.txt,
# batch-shapes.md, bench.json. WSD_GPU_BACKEND=cpu runs the same on the CPU backend (a dry run
# on a machine without a GPU; WSD_GPU_MODELS=small makes the pair small enough for it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kit=${WSD_GPU_KIT:-$root/gpu-kit}
backend=${WSD_GPU_BACKEND:-cuda}
arch=${WSD_CUDA_ARCHITECTURES:-native}
work=${WSD_GPU_WORK:-/tmp/wsd-gpu}
out=${OUT:-$work/out}
models=${WSD_GPU_MODELS:-paper}
jobs=$(nproc)
python=${WSD_GPU_PYTHON:-python3}  # with numpy
mkdir -p "$work" "$out"
exec > >(tee -a "$out/gpu-check.log") 2>&1
start=$(date +%s)
step() { echo; echo "== [$(($(date +%s) - start)) s] $*"; }
fail() { echo "gpu-check: $*" >&2; exit 1; }

[ -f "$kit/llama.cpp.tar.gz" ] && [ -f "$kit/deps.tar.gz" ] || fail "$kit has no llama.cpp.tar.gz and deps.tar.gz: run benchmarks/gpu-kit.sh where there is network"
case "$backend" in
  cuda) gpu_flags="-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=$arch -DGGML_CUDA_FA_ALL_QUANTS=OFF -DGGML_CUDA_NCCL=OFF"
        gpu_layers=-1
        command -v nvcc >/dev/null || fail "WSD_GPU_BACKEND=cuda needs nvcc on PATH" ;;
  cpu)  gpu_flags=""
        gpu_layers=0 ;;
  *)    fail "WSD_GPU_BACKEND=$backend is not cuda or cpu" ;;
esac
case "$models" in
  paper) weak_shape="--layers 8 --dim 768 --ffn 2048 --heads 12"
         strong_shape="--layers 24 --dim 2048 --ffn 5632 --heads 16 --kv-heads 4" ;;
  small) weak_shape="--layers 2 --dim 128 --ffn 256 --heads 4"
         strong_shape="--layers 4 --dim 512 --ffn 1024 --heads 8" ;;
  *)     fail "WSD_GPU_MODELS=$models is not paper or small" ;;
esac

step "the machine"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
[ "$backend" = cuda ] && nvcc --version | tail -n 2
cmake --version | head -n 1
"${CXX:-c++}" --version | head -n 1
"$python" -c 'import numpy; print("numpy", numpy.__version__)' || fail "python3 with numpy is needed for the models"
echo "$jobs cores; backend $backend; models $models"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

step "llama.cpp ($backend) from the kit's source"
llama="$work/llama-$backend"
prefix="$llama/lib/python3/site-packages"  # the layout under which wsd's CMake reads wsd-llama-build.txt
if [ ! -f "$prefix/lib/cmake/llama/llama-config.cmake" ]; then
  rm -rf "$work/llama.cpp" && tar -xzf "$kit/llama.cpp.tar.gz" -C "$work"
  t=$(date +%s)
  # shellcheck disable=SC2086
  cmake -S "$work/llama.cpp" -B "$work/llama-build-$backend" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=ON -DGGML_NATIVE=ON \
    -DLLAMA_BUILD_COMMON=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF $gpu_flags >/dev/null
  cmake --build "$work/llama-build-$backend" -j"$jobs" >"$out/llama-build.log" 2>&1 ||
    { tail -n 30 "$out/llama-build.log"; fail "llama.cpp did not build (llama-build.log)"; }
  cmake --install "$work/llama-build-$backend" >/dev/null
  built=$(($(date +%s) - t))
  echo "llama.cpp of llama-cpp-python==$(bash "$root/cmake/fetch-llama-sdist.sh" --version) (patched: $(bash "$root/cmake/llama-source.sh" --id)) $backend native: $gpu_flags, built in $built s on $jobs cores" >"$llama/wsd-llama-build.txt"
fi
cat "$llama/wsd-llama-build.txt"

step "wsd's GPU tests, wsd-batch-shapes and wsd-bench"
deps="$work/deps/usr"
[ -d "$deps" ] || { mkdir -p "$work/deps" && tar -xzf "$kit/deps.tar.gz" -C "$work/deps"; }
build="$work/build-$backend"
t=$(date +%s)
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix;$deps" \
  -Dxtensor_DIR="$deps/lib/x86_64-linux-gnu/cmake/xtensor" -Dxtl_DIR="$deps/share/cmake/xtl" \
  -Dnlohmann_json_DIR="$deps/share/cmake/nlohmann_json" -DCLI11_DIR="$deps/share/cmake/CLI11" \
  -DCatch2_DIR="$deps/lib/cmake/Catch2" -DEigen3_DIR="$deps/share/eigen3/cmake" -DWSD_BUILD_EXAMPLES=OFF >"$out/wsd-configure.log" 2>&1 ||
  { tail -n 30 "$out/wsd-configure.log"; fail "wsd did not configure (wsd-configure.log)"; }
cmake --build "$build" -j"$jobs" --target wsd_gpu_tests wsd-batch-shapes wsd-bench >"$out/wsd-build.log" 2>&1 ||
  { tail -n 30 "$out/wsd-build.log"; fail "wsd did not build (wsd-build.log)"; }
echo "built in $(($(date +%s) - t)) s"
"$build/bin/wsd-bench" --version

step "a random-weight pair (benchmarks/make_gguf.py)"
mkdir -p "$work/models"
vocab="$work/llama.cpp/models/ggml-vocab-llama-spm.gguf"
[ -f "$vocab" ] || tar -xzf "$kit/llama.cpp.tar.gz" -C "$work" llama.cpp/models/ggml-vocab-llama-spm.gguf llama.cpp/gguf-py
weak="$work/models/weak-$models.gguf"
strong="$work/models/strong-$models.gguf"
export PYTHONPATH="$work/llama.cpp/gguf-py${PYTHONPATH:+:$PYTHONPATH}"
# shellcheck disable=SC2086
[ -f "$weak" ] || "$python" "$root/benchmarks/make_gguf.py" --vocab "$vocab" --out "$weak" $weak_shape --seed 1
# shellcheck disable=SC2086
[ -f "$strong" ] || "$python" "$root/benchmarks/make_gguf.py" --vocab "$vocab" --out "$strong" $strong_shape --seed 2

step "exactness: the GPU tests on the pair"
export GGML_VK_VISIBLE_DEVICES=0
if [ "$backend" = cuda ]; then
  WSD_GPU_WEAK="$weak" WSD_GPU_STRONG="$strong" "$build/bin/wsd_gpu_tests" 2>&1 | tee "$out/gpu-tests.txt" || true
else  # no GPU: the tests that put every layer on one would refuse; the CPU against itself instead
  echo "(no GPU: skipped)" | tee "$out/gpu-tests.txt"
fi

step "exactness: which physical batch sizes give bit-identical logits (wsd-batch-shapes)"
# Widths 1-16, 127-130 and 511-512 over 530 tokens (past 512 cached: attention's split paths), then
# 32 sequences mixed, with exact mode's kernels and the fast ones.
"$build/bin/wsd-batch-shapes" --model "$weak" --model "$strong" --gpu-layers "$gpu_layers" --widths 1-16 127-130 511-512 \
  --tokens 530 --mix 32 --kernels both --decode 0 2>&1 | tee "$out/batch-shapes.md" || true

step "speed: per-token costs and throughput at --parallel 1,4,16,32 (wsd-bench)"
"$python" - "$root/examples/prompts.jsonl" "$work/prompts-32.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
with open(sys.argv[2], "w") as f:
    for i in range(32):
        r = dict(rows[i % len(rows)], id=f"gpu-{i:02d}")
        f.write(json.dumps(r) + "\n")
EOF
"$build/bin/wsd-bench" --weak "$weak" --strong "$strong" --input "$work/prompts-32.jsonl" --out "$out/bench" \
  --throughput-only --repeats 1 --parallel 1,4,16,32 --switch fixed --fixed-length 8 --draft-max-tokens 16 \
  --max-tokens 32 --gpu-layers "$gpu_layers" 2>&1 | tee "$out/bench.txt" || true
[ -f "$out/bench/bench.json" ] && cp "$out/bench/bench.json" "$out/bench.json"

step "done in $(($(date +%s) - start)) s; results in $out"
status=0
if [ "$backend" = cuda ] && ! grep -q "^All tests passed" "$out/gpu-tests.txt"; then
  echo "gpu-check: the GPU tests failed (gpu-tests.txt)"; status=1
fi
grep -q "^| " "$out/batch-shapes.md" || { echo "gpu-check: wsd-batch-shapes printed no table"; status=1; }
[ -f "$out/bench.json" ] || { echo "gpu-check: wsd-bench wrote no bench.json"; status=1; }
exit $status
