#!/usr/bin/env bash
# Builds every libFuzzer target (make fuzz) and runs each for a few seconds
# (FUZZ_SECONDS, default 10) from a seed corpus of the project's fixtures.
# CI runs it so that the targets keep building and do not crash on first
# contact; long runs are done by hand: build-fuzz/fuzz/NAME -max_total_time=300
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-10}
make --no-print-directory fuzz >/dev/null
fail=0; pass=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for bin in build-fuzz/fuzz/fuzz_*; do
  name=$(basename "$bin")
  corpus="$work/$name"
  mkdir -p "$corpus"
  # seeds: fixtures whose name matches the target's subject, when there are any
  subject=${name#fuzz_}
  for d in tests/fixtures/"$subject" tests/fixtures/config tests/data/scan; do
    [ -d "$d" ] || continue
    case "$d" in
      */config) [ "$subject" = config ] || continue ;;
      */scan) [ "$subject" = scan ] || continue ;;
    esac
    find "$d" -type f -size -64k -exec cp {} "$corpus"/ \; 2>/dev/null || true
  done
  if "$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$work/" "$corpus" >"$work/$name.log" 2>&1; then
    pass=$((pass + 1)); echo "ok $name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$name.log" | awk '{print $2}' || echo '?') runs)"
  else
    fail=$((fail + 1)); echo "not ok $name"; tail -40 "$work/$name.log"
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
