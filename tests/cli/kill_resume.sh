#!/usr/bin/env bash
# A batch run killed with SIGKILL part-way, then resumed: every id of the prompts file appears
# exactly once in the results and every line parses. The kill's timing is arbitrary, so a record
# cut mid-line is also simulated by appending half a record before resuming.
set -euo pipefail
generate=$1 prompts=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
out="$work/results.jsonl"
args=(--input "$prompts" --output "$out" --max-tokens 24 --draft-max-tokens 16 --parallel 4)
total=$(grep -c '[^[:space:]]' "$prompts")

"$generate" "${args[@]}" 2>"$work/first.log" &
pid=$!
for _ in $(seq 1 1200); do  # up to 120 s for the first 3 records
  [ -f "$out" ] && [ "$(grep -c '' "$out")" -ge 3 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -9 "$pid" 2>/dev/null || { echo "the run ended before it could be killed:"; cat "$work/first.log"; exit 1; }
wait "$pid" 2>/dev/null || true
before=$(grep -c '' "$out")
echo "killed after $before of $total records"
[ "$before" -lt "$total" ] || { echo "nothing was left to resume"; exit 1; }
printf '{"id": "torn-by-the-kill", "text": "half a rec' >>"$out"

"$generate" "${args[@]}" --resume 2>"$work/resume.log" || { cat "$work/resume.log"; exit 1; }

python3 - "$prompts" "$out" <<'PY'
import json, sys
prompts, results = sys.argv[1], sys.argv[2]
want = [json.loads(l)["id"] for l in open(prompts, encoding="utf-8") if l.strip()]
got = []
for n, line in enumerate(open(results, encoding="utf-8"), 1):
    try:
        record = json.loads(line)
    except ValueError as e:
        sys.exit(f"{results}:{n}: does not parse: {e}")
    if not line.endswith("\n"):
        sys.exit(f"{results}:{n}: not a whole line")
    got.append(record["id"])
if sorted(got) != sorted(want):
    sys.exit(f"ids differ: missing {sorted(set(want) - set(got))}, twice or extra {sorted(i for i in set(got) if got.count(i) != 1 or i not in want)}")
print(f"{len(got)} records, each id once, every line parses")
PY
