#!/usr/bin/env bash
# Packs what benchmarks/gpu-check.sh needs on a GPU machine that has a compiler, CMake and the CUDA
# toolkit but no network and none of wsd's header dependencies, into gpu-kit/ (git-ignored; about
# 6 MB, so that the working tree stays far under a 64 MiB transfer):
#   llama.cpp.tar.gz  llama.cpp's source as the pinned llama-cpp-python sdist vendors it, with wsd's
#                     patches applied (cmake/llama-source.sh): only what building libllama with the
#                     CPU and CUDA backends needs, with gguf-py and one vocabulary-only GGUF
#                     (ggml-vocab-llama-spm.gguf) for benchmarks/make_gguf.py
#   deps.tar.gz       this machine's headers and CMake packages of xtensor, xtl, nlohmann_json,
#                     CLI11, Catch2 (v2) and Eigen, under usr/ as Debian installs them
#   MANIFEST          what is in it, with sha256 sums
# Run it here (after `make deps`); then, on the GPU machine, `bash benchmarks/gpu-check.sh`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kit="$root/gpu-kit"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$kit.partial" && mkdir -p "$kit.partial"

src="$(bash "$root/cmake/llama-source.sh" "$work")/vendor/llama.cpp"  # the sdist with cmake/patches/ applied
(cd "$src" && tar -czf "$kit.partial/llama.cpp.tar.gz" --transform 's,^,llama.cpp/,' \
   CMakeLists.txt LICENSE cmake include src vendor gguf-py models/ggml-vocab-llama-spm.gguf \
   ggml/CMakeLists.txt ggml/cmake ggml/include \
   $(cd "$src" && find ggml/src -maxdepth 1 -type f) ggml/src/ggml-cpu ggml/src/ggml-cuda)

deps=(usr/include/xtensor usr/include/xtensor.hpp usr/include/xtl usr/lib/x86_64-linux-gnu/cmake/xtensor
      usr/share/cmake/xtl usr/include/nlohmann usr/share/cmake/nlohmann_json usr/include/CLI
      usr/share/cmake/CLI11 usr/include/catch2 usr/lib/cmake/Catch2 usr/lib/libCatch2WithMain.a usr/include/eigen3 usr/share/eigen3)
for d in "${deps[@]}"; do
  [ -e "/$d" ] || { echo "wsd: /$d is missing: run make deps first" >&2; exit 1; }
done
tar -czf "$kit.partial/deps.tar.gz" -C / "${deps[@]}"

{
  echo "wsd gpu-kit, made $(date -u +%Y-%m-%dT%H:%M:%SZ) from llama-cpp-python $(bash "$root/cmake/llama-source.sh" --id) and this machine's packages:"
  dpkg-query -W -f='  ${Package} ${Version}\n' libxtensor-dev xtl-dev nlohmann-json3-dev libcli11-dev catch2 libeigen3-dev
  (cd "$kit.partial" && sha256sum llama.cpp.tar.gz deps.tar.gz)
} > "$kit.partial/MANIFEST"
rm -rf "$kit" && mv "$kit.partial" "$kit"
du -sh "$kit" >&2
echo "$kit"
