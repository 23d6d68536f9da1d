#!/usr/bin/env bash
# The llama.cpp source wsd builds: the pinned llama-cpp-python sdist (cmake/fetch-llama-sdist.sh,
# checked by sha256) with the patch files of cmake/patches/ applied, each one switch llama.cpp lacks
# (their headers say what they change and which upstream issue they answer).
#   llama-source.sh DIR   unpacks and patches the sdist under DIR; prints the sdist's root there
#   llama-source.sh --id  prints the version and a hash of the patches (a build's stamp)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
patches=("$here"/patches/*.patch)
if [ "${1:-}" = --id ]; then
  echo "$(bash "$here/fetch-llama-sdist.sh" --version)-p$(cat "${patches[@]}" | sha256sum | cut -c1-12)"
  exit 0
fi
dir=${1:?usage: llama-source.sh DIR | --id}
sdist=$(bash "$here/fetch-llama-sdist.sh")
mkdir -p "$dir"
tar -xzf "$sdist" -C "$dir"
root="$dir/$(basename "$sdist" .tar.gz)"
for p in "${patches[@]}"; do
  if ! patch --quiet --forward -p1 -d "$root" < "$p" >&2; then
    echo "wsd: $(basename "$p") does not apply to $(basename "$sdist")" >&2
    exit 1
  fi
done
echo "$root"
