#!/usr/bin/env bash
# Installs the Debian packages wsd builds against; idempotent (does nothing when all are present).
# --fuzz adds clang and its runtimes (libFuzzer, sanitizers) for `make fuzz`; --vulkan what
# llama.cpp's Vulkan backend builds and runs with (cmake/setup-vulkan.sh).
set -euo pipefail
packages=(cmake g++ make pkg-config libeigen3-dev libxtensor-dev xtl-dev catch2
          nlohmann-json3-dev libcli11-dev libbenchmark-dev gnuplot-nox python3-venv
          libcurl4-openssl-dev libcsv-dev chromium ccache)
[ "${1:-}" = "--fuzz" ] && packages+=(clang libclang-rt-14-dev)
[ "${1:-}" = "--vulkan" ] && packages+=(glslc glslang-tools spirv-headers libvulkan1 libvulkan-dev mesa-vulkan-drivers vulkan-tools)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "wsd: installing Debian packages: ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
