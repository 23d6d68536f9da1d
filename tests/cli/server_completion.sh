#!/usr/bin/env bash
# Starts llama-cpp-python's OpenAI-compatible server (the build wsd links) on a free port of
# 127.0.0.1 with the strong model, asks for a completion with echo and logprobs, and stops it.
set -euo pipefail
venv=$1 model=$2 work=$3
mkdir -p "$work"
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/python" -m llama_cpp.server --model "$model" --host 127.0.0.1 --port "$port" --n_ctx 512 \
  > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if "$venv/bin/python" - "$port" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v1/models", timeout=1)
PY
  kill -0 $server 2>/dev/null || { echo "server died:"; cat "$work/server.log"; exit 1; }
  sleep 0.5
done
"$venv/bin/python" - "$port" <<'PY'
import json, math, sys, urllib.request
body = {"prompt": "\n\n[User]\nWhat is the capital of France?\n\n[Assistant]\nThe capital of France is",
        "max_tokens": 1, "echo": True, "logprobs": 1, "temperature": 0, "repeat_penalty": 1.0}
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v1/completions", json.dumps(body).encode(),
                             {"Content-Type": "application/json"})
out = json.load(urllib.request.urlopen(req, timeout=60))
lp = out["choices"][0]["logprobs"]["token_logprobs"]
assert lp[0] is None, lp
assert len(lp) > 10 and all(x is not None and math.isfinite(x) and x <= 0 for x in lp[1:]), lp
print(f"server scored {len(lp)} echoed tokens; next: {out['choices'][0]['text'].split('is')[-1]!r}")
PY
