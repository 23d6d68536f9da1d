#!/usr/bin/env bash
# Prints a folder holding cpp-httplib (httplib.h, httplib.cpp, LICENSE), the HTTP server under
# wsd-server. Debian 12's libcpp-httplib-dev (0.11.4) cannot tell a handler that its client has gone
# (no Request::is_connection_closed), so an abandoned non-streaming request would keep its slot; the
# copy used instead is the one llama.cpp vendors (0.58.0), taken from the same pinned
# llama-cpp-python sdist that cmake/setup-llama.sh builds (checked by sha256) and kept in $WSD_HOME.
# Idempotent; pip download is its only network use.
set -euo pipefail
WSD_HOME=${WSD_HOME:-$HOME/.cache/wsd}
LLAMA_CPP_PYTHON_VERSION=0.3.36
sdist_sha256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
version=0.58.0
dest="$WSD_HOME/cpp-httplib-$version"

if [ ! -f "$dest/httplib.cpp" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "wsd: fetching llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION's sdist for the cpp-httplib it vendors" >&2
  pip=(python3 -m pip)
  if ! python3 -m pip --version >/dev/null 2>&1; then  # Debian's python3 has no pip: a venv's own
    python3 -m venv "$work/venv" >&2 && pip=("$work/venv/bin/pip")
  fi
  if ! "${pip[@]}" download --quiet --no-deps --no-binary :all: -d "$work" \
       "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >&2; then
    echo "wsd: pip could not download llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION's sdist" >&2
    exit 1
  fi
  sdist="$work/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz"
  got=$(sha256sum "$sdist" | cut -d' ' -f1)
  if [ "$got" != "$sdist_sha256" ]; then
    echo "wsd: $sdist has sha256 $got, expected $sdist_sha256" >&2
    exit 1
  fi
  inner="llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp/vendor/cpp-httplib"
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
