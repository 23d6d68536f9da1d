#!/usr/bin/env bash
# One conversation too long for the context fails alone: the others are answered, the failure is a
# record with an `error` field and a non-zero exit; --resume with room enough retries only it.
set -euo pipefail
gen=$1 long=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
{ echo '{"id": "short", "messages": [{"role": "user", "content": "Say hello."}]}'; cat "$long"; } > "$work/in.jsonl"
set +e
"$gen" --input "$work/in.jsonl" --output "$work/out.jsonl" --context 256 --max-tokens 16 --draft-max-tokens 8 2> "$work/err1"
rc=$?
set -e
[ $rc -eq 3 ] || { echo "first run exited $rc, expected 3"; cat "$work/err1"; exit 1; }
grep -q "conversation 'too-long'" "$work/err1" || { echo "stderr does not name the failed id"; cat "$work/err1"; exit 1; }
python3 - "$work/out.jsonl" <<'PY'
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
assert [r["id"] for r in records] == ["short", "too-long"], records
assert "error" not in records[0] and "do not fit" in records[1]["error"], records[1]
PY
"$gen" --input "$work/in.jsonl" --output "$work/out.jsonl" --resume --context 4096 --max-tokens 16 --draft-max-tokens 8 2> "$work/err2"
python3 - "$work/out.jsonl" <<'PY'
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
ids = [r["id"] for r in records]
assert sorted(ids) == ["short", "too-long"] and len(set(ids)) == 2, ids
assert all("error" not in r for r in records), records
print("failed conversation recorded, others answered; --resume retried only it:", ids)
PY
