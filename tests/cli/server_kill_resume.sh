#!/usr/bin/env bash
# The strong model's server killed mid-batch: wsd-generate names the URL and exits with the
# provider's code (5), records the conversations it could not finish as failed; once the server is
# back on the same port, --resume answers those and every id appears exactly once.
set -euo pipefail
generate=$1 venv=$2 model=$3 prompts=$4 work=$5
rm -rf "$work" && mkdir -p "$work"
out="$work/results.jsonl"
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port/v1"
server=
start_server() {
  "$venv/bin/python" -m llama_cpp.server --model "$model" --host 127.0.0.1 --port "$port" --n_ctx 1024 \
    --interrupt_requests false >>"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 240); do
    curl -sf "$url/models" >/dev/null && return 0
    kill -0 "$server" 2>/dev/null || { echo "the server died:"; tail -20 "$work/server.log"; exit 1; }
    sleep 0.5
  done
  echo "the server did not start"; exit 1
}
trap '[ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null || true' EXIT
args=(--strong-url "$url" --input "$prompts" --output "$out" --parallel 2 --max-tokens 16 --draft-max-tokens 8)
total=$(grep -c '[^[:space:]]' "$prompts")

start_server
"$generate" "${args[@]}" 2>"$work/first.log" &
pid=$!
for _ in $(seq 1 3000); do  # the first record, then the server goes
  [ -f "$out" ] && [ "$(grep -c '' "$out")" -ge 1 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -9 "$server"
wait "$server" 2>/dev/null || true
set +e
wait "$pid"
rc=$?
set -e
[ $rc -eq 5 ] || { echo "wsd-generate exited $rc with the server gone, expected 5"; cat "$work/first.log"; exit 1; }
grep -Eq "http://127.0.0.1:$port/[a-z/]+: (could not connect|the connection broke|the server closed)" "$work/first.log" ||
  { echo "stderr does not name the server's URL and what went wrong:"; cat "$work/first.log"; exit 1; }
python3 - "$out" "$total" <<'PY'
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
failed = [r for r in records if "error" in r]
assert 0 < len(failed) < int(sys.argv[2]) and len(records) == int(sys.argv[2]), records
assert all(r["exit_code"] == 5 for r in failed), failed
print(f"server killed: {len(records) - len(failed)} answered, {len(failed)} failed: {failed[0]['error'][:160]}")
PY

start_server
"$generate" "${args[@]}" --resume 2>"$work/resume.log" || { echo "--resume failed:"; cat "$work/resume.log"; exit 1; }
python3 - "$prompts" "$out" <<'PY'
import json, sys
want = [json.loads(l)["id"] for l in open(sys.argv[1]) if l.strip()]
records = [json.loads(l) for l in open(sys.argv[2])]
ids = [r["id"] for r in records]
assert sorted(ids) == sorted(want) and len(set(ids)) == len(ids), ids
assert all("error" not in r for r in records), records
print("after the restart and --resume every id is answered exactly once:", ids)
PY
