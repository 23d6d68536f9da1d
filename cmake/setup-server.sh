#!/usr/bin/env bash
# Adds llama-cpp-python's OpenAI-compatible server to the venv that cmake/setup-llama.sh built
# (the same llama.cpp build: its [server] extra only adds the web packages), and the openai client,
# and prints the venv.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(bash "$here/setup-llama.sh")
venv=$(cd "$prefix/../../.." && pwd)
version=$("$venv/bin/python" -c 'import llama_cpp; print(llama_cpp.__version__)')
if ! "$venv/bin/python" -c 'import llama_cpp.server.app, uvicorn' 2>/dev/null; then
  echo "wsd: installing llama-cpp-python[server]==$version's web packages into $venv" >&2
  "$venv/bin/pip" install --quiet "llama-cpp-python[server]==$version" >&2 ||
    { echo "wsd: pip could not install llama-cpp-python[server]==$version" >&2; exit 1; }
fi
# The official OpenAI Python client, for wsd-server's tests (a real client against it).
OPENAI_VERSION=3.51.0
if ! "$venv/bin/python" -c "import openai, sys; sys.exit(openai.__version__ != '$OPENAI_VERSION')" 2>/dev/null; then
  echo "wsd: installing openai==$OPENAI_VERSION into $venv" >&2
  "$venv/bin/pip" install --quiet "openai==$OPENAI_VERSION" >&2 ||
    { echo "wsd: pip could not install openai==$OPENAI_VERSION" >&2; exit 1; }
fi
echo "$venv"
