#!/usr/bin/env bash
# Prints a folder holding cpp-httplib (httplib.h, httplib.cpp, LICENSE), the HTTP server under
# wsd-server. Debian 12's libcpp-httplib-dev (0.11.4) cannot tell a handler that its client has gone
# (no Request::is_connection_closed), so an abandoned non-streaming request would keep its slot; the
# copy used instead is the one llama.cpp vendors (0.58.0), taken from the same pinned
# llama-cpp-python sdist that cmake/setup-llama.sh builds (cmake/fetch-llama-sdist.sh) and kept in
# $WSD_HOME. Idempotent.
set -euo pipefail
. "$(dirname "$0")/wsd-home.sh"  # WSD_HOME, the default pair's names
version=0.58.0
dest="$WSD_HOME/cpp-httplib-$version"

if [ ! -f "$dest/httplib.cpp" ]; then
  sdist=$(bash "$(dirname "$0")/fetch-llama-sdist.sh")
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  inner="$(basename "$sdist" .tar.gz)/vendor/llama.cpp/vendor/cpp-httplib"
  tar -xzf "$sdist" -C "$work" "$inner/httplib.h" "$inner/httplib.cpp" "$inner/LICENSE"
  if ! grep -q "CPPHTTPLIB_VERSION \"$version\"" "$work/$inner/httplib.h"; then
    echo "wsd: the sdist's cpp-httplib is not version $version" >&2
    exit 1
  fi
  mkdir -p "$dest.partial"
  cp "$work/$inner/httplib.h" "$work/$inner/httplib.cpp" "$work/$inner/LICENSE" "$dest.partial/"
  rm -rf "$dest" && mv "$dest.partial" "$dest"
  echo "wsd: cpp-httplib $version in $dest" >&2
fi
echo "$dest"
