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
# wsd-server's tests: the official OpenAI Python client and langchain-openai's ChatOpenAI (real
# clients against it), a WebSocket client that drives headless Chromium through its DevTools
# protocol (the chat page's test), and pytest, which runs them.
OPENAI_VERSION=3.51.0
LANGCHAIN_OPENAI_VERSION=1.8.1
WEBSOCKET_CLIENT_VERSION=1.9.2
PYTEST_VERSION=9.2.0
packages=("openai==$OPENAI_VERSION" "langchain-openai==$LANGCHAIN_OPENAI_VERSION" "websocket-client==$WEBSOCKET_CLIENT_VERSION"
          "pytest==$PYTEST_VERSION")
if ! "$venv/bin/python" -c "
import importlib.metadata as m, sys
sys.exit(m.version('openai') != '$OPENAI_VERSION' or m.version('langchain-openai') != '$LANGCHAIN_OPENAI_VERSION'
         or m.version('websocket-client') != '$WEBSOCKET_CLIENT_VERSION' or m.version('pytest') != '$PYTEST_VERSION')" 2>/dev/null; then
  echo "wsd: installing ${packages[*]} into $venv" >&2
  "$venv/bin/pip" install --quiet "${packages[@]}" >&2 ||
    { echo "wsd: pip could not install ${packages[*]}" >&2; exit 1; }
fi
echo "$venv"
