#!/usr/bin/env bash
# What llama.cpp's Vulkan backend builds and runs with on Debian 12, and prints the folder of the
# Vulkan headers to build it against. Debian 12's headers (1.3.239) are too old for the vendored
# ggml-vulkan ("'LayerSettingEXT' is not a member of 'vk'"), so the headers of Debian 13's
# libvulkan-dev (pinned, checked by sha256) are unpacked into $WSD_HOME; the system's loader,
# glslc, glslang and SPIR-V headers are Debian 12's, and Mesa's drivers give a software Vulkan
# device (llvmpipe) where there is no GPU. Idempotent.
set -euo pipefail
. "$(dirname "$0")/wsd-home.sh"  # WSD_HOME, the default pair's names
version=1.4.309.0-1
sha256=8d329d465e16168afff58b1bd0dd6db46aac2cc3f56054a481b25a04e90b345a
dest="$WSD_HOME/vulkan-headers-$version"

bash "$(dirname "$0")/install-deps.sh" --vulkan

if [ ! -f "$dest/usr/include/vulkan/vulkan.hpp" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" > "$work/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Debug::NoLocking=1
            -o APT::Sandbox::User=root -qq)
  echo "wsd: fetching libvulkan-dev=$version (Debian 13) for its Vulkan headers" >&2
  if ! apt-get "${apt_opts[@]}" update >&2 || ! (cd "$work" && apt-get "${apt_opts[@]}" download "libvulkan-dev=$version" >&2 2>/dev/null); then
    echo "wsd: could not fetch libvulkan-dev=$version from Debian's trixie archive" >&2
    exit 1
  fi
  deb=$(ls "$work"/libvulkan-dev_*.deb)
  got=$(sha256sum "$deb" | cut -d' ' -f1)
  if [ "$got" != "$sha256" ]; then
    echo "wsd: $deb has sha256 $got, expected $sha256" >&2
    exit 1
  fi
  mkdir -p "$WSD_HOME"
  rm -rf "$dest.partial"
  dpkg-deb -x "$deb" "$dest.partial"
  mv "$dest.partial" "$dest"
fi
echo "$dest/usr/include"
