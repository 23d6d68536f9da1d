#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time from its seed corpus and reports the number of
# executions. A finding leaves its input in <build>/fuzz-artifacts/ and fails the run; keep it
# as a regression input in tests/fuzz/regressions/<target>/ once fixed.
set -euo pipefail
build=${1:?usage: run.sh <build dir> [seconds per target]}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/fuzz-artifacts"
status=0
for t in config prompts switch bridge chat_request; do
  work="$build/fuzz-corpus/$t"
  mkdir -p "$work"
  cp -n "$here/corpus/$t/"* "$work/" 2>/dev/null || true
  [ -d "$here/regressions/$t" ] && cp -n "$here/regressions/$t/"* "$work/" 2>/dev/null || true
  log="$build/fuzz-$t.log"
  if "$build/bin/fuzz_$t" "$work" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
       -artifact_prefix="$build/fuzz-artifacts/$t-" >"$log" 2>&1; then
    result="no finding"
  else
    result="FINDING (see $log and $build/fuzz-artifacts/)"
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz_$t: $runs executions in ${seconds}s, $result"
done
exit $status
