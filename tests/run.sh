#!/usr/bin/env bash
# Runs every unit test binary ($BUILD/tests/test_*) and every end-to-end
# script (tests/e2e/*.sh), then prints one summary line "N passed, N failed".
# e2e scripts print one line per case: "ok NAME", "not ok NAME: why" or
# "skip NAME: why" (see tests/e2e/lib.sh).
set -u
BUILD=${BUILD:-build}
export LLMUX_BIN="$PWD/$BUILD/llmux"
export BUILD
pass=0; fail=0; skip=0; failed=()
log=$(mktemp -d)
# Sanitizer reports (ASan, LSan, UBSan) go to files: Criterion counts a test
# that leaked as passed, so every report found at the end is a failure.
mkdir -p "$log/san"
export ASAN_OPTIONS="log_path=$log/san/asan:detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="log_path=$log/san/ubsan:print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  "$t" --jobs 2 >"$log/$name.out" 2>&1
  rc=$?
  line=$(grep -a 'Synthesis:' "$log/$name.out" | tail -1)
  if [ -n "$line" ]; then
    p=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$line")
    f=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$line")
    c=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<<"$line")
    pass=$((pass + p)); fail=$((fail + f + c))
    if [ $((f + c)) -gt 0 ] || [ $rc -ne 0 ]; then
      [ $((f + c)) -gt 0 ] || fail=$((fail + 1))
      failed+=("$name"); echo "FAIL $name"; grep -a -v '^\[----\].*Warning' "$log/$name.out" | tail -40
    else
      echo "ok   $name ($p)"
    fi
  else
    fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (exit $rc)"; tail -40 "$log/$name.out"
  fi
done
for s in tests/e2e/*.sh; do
  [ -f "$s" ] || continue
  name=$(basename "$s" .sh)
  timeout 600 bash "$s" >"$log/$name.out" 2>&1
  rc=$?
  p=$(grep -c '^ok ' "$log/$name.out"); f=$(grep -c '^not ok ' "$log/$name.out"); k=$(grep -c '^skip ' "$log/$name.out")
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + k))
  if [ "$f" -gt 0 ] || [ $rc -ne 0 ]; then
    [ "$f" -gt 0 ] || fail=$((fail + 1))
    failed+=("$name"); echo "FAIL $name (exit $rc)"; grep -v '^ok ' "$log/$name.out" | tail -40
  else
    echo "ok   $name ($p$( [ "$k" -gt 0 ] && echo ", $k skipped"))"
    grep '^skip ' "$log/$name.out" | sed 's/^/     /'
  fi
done
san_reports=$(ls "$log/san" 2>/dev/null | wc -l)
if [ "$san_reports" -gt 0 ]; then
  echo "FAIL sanitizers: $san_reports report(s)"
  for f in "$log"/san/*; do echo "--- $f"; head -60 "$f"; done
  fail=$((fail + san_reports)); failed+=("sanitizers")
fi
rm -rf "$log"
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
