#!/usr/bin/env bash
# The judges' formats from the real models: AlpacaEval's model_outputs.json is written whole and
# only once every answer is in (a run killed part-way leaves none; --resume finishes and writes
# it), Arena-Hard's answers with two samples each, MT-Bench's second turn from our first-turn
# answers, and TruthfulQA's CSV in. Each output parses back with one entry per question, in order.
set -euo pipefail
gen=$1 data=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
small=(--max-tokens 12 --draft-max-tokens 6 --parallel 1)

out="$work/model_outputs.json"
"$gen" --input "$data/alpaca_eval.json" --output "$out" --output-format alpaca_eval --generator wsd-test "${small[@]}" \
  2>"$work/alpaca1.log" &
pid=$!
for _ in $(seq 1 1200); do
  [ -f "$out.trace.jsonl" ] && [ "$(grep -c '' "$out.trace.jsonl")" -ge 1 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -9 "$pid" 2>/dev/null || { echo "the run ended before it could be killed"; cat "$work/alpaca1.log"; exit 1; }
wait "$pid" 2>/dev/null || true
[ ! -e "$out" ] || { echo "$out exists after a killed run"; exit 1; }
"$gen" --input "$data/alpaca_eval.json" --output "$out" --output-format alpaca_eval --generator wsd-test "${small[@]}" \
  --resume 2>"$work/alpaca2.log" || { cat "$work/alpaca2.log"; exit 1; }
grep -q "read as alpaca_eval (detected" "$work/alpaca2.log" || { echo "the detected format is not named"; cat "$work/alpaca2.log"; exit 1; }

"$gen" --input "$data/arena_hard.jsonl" --output "$work/arena.jsonl" --output-format arena_hard --samples 2 \
  --temperature 0.9 --continuation-temperature 0.9 "${small[@]}" 2>"$work/arena.log" || { cat "$work/arena.log"; exit 1; }
"$gen" --input "$data/mt_bench.jsonl" --output "$work/mt1.jsonl" --output-format mt_bench "${small[@]}" 2>"$work/mt1.log" ||
  { cat "$work/mt1.log"; exit 1; }
"$gen" --input "$data/mt_bench.jsonl" --turn 2 --previous "$work/mt1.jsonl" --output "$work/mt2.jsonl" --output-format mt_bench \
  "${small[@]}" 2>"$work/mt2.log" || { cat "$work/mt2.log"; exit 1; }
"$gen" --input "$data/truthfulqa.csv" --output "$work/tqa.jsonl" "${small[@]}" 2>"$work/tqa.log" || { cat "$work/tqa.log"; exit 1; }

python3 - "$data" "$work" <<'PY'
import json, sys
data, work = sys.argv[1:]
alpaca = json.load(open(f"{work}/model_outputs.json"))
want = [x["instruction"] for x in json.load(open(f"{data}/alpaca_eval.json"))]
assert [x["instruction"] for x in alpaca] == want, alpaca
assert all(x["generator"] == "wsd-test" and x["output"] for x in alpaca), alpaca
assert [x["dataset"] for x in alpaca] == ["helpful_base", "helpful_base", "koala"], alpaca
arena = [json.loads(l) for l in open(f"{work}/arena.jsonl")]
assert [a["question_id"] for a in arena] == [json.loads(l)["question_id"] for l in open(f"{data}/arena_hard.jsonl")], arena
assert all([c["index"] for c in a["choices"]] == [0, 1] and all(c["turns"][0]["content"] for c in a["choices"]) for a in arena), arena
trace = [json.loads(l) for l in open(f"{work}/arena.jsonl.trace.jsonl")]
assert sorted((r["id"], r["sample"]) for r in trace) == [(f"arena_hard:{i}", s) for i in range(2) for s in range(2)], trace
mt1 = [json.loads(l) for l in open(f"{work}/mt1.jsonl")]
mt2 = [json.loads(l) for l in open(f"{work}/mt2.jsonl")]
assert [m["question_id"] for m in mt2] == [81, 82], mt2
for a, b in zip(mt1, mt2):
    assert len(a["choices"][0]["turns"]) == 1 and len(b["choices"][0]["turns"]) == 2, (a, b)
    assert b["choices"][0]["turns"][0] == a["choices"][0]["turns"][0], (a, b)
tqa = [json.loads(l) for l in open(f"{work}/tqa.jsonl")]
assert [r["id"] for r in tqa] == ["truthfulQA:0", "truthfulQA:1", "truthfulQA:2"], tqa
print("alpaca_eval (killed, resumed), arena_hard x2 samples, mt_bench turns 1 and 2, truthfulqa.csv: one entry each, in order")
PY
