# tests/e2e/lib.sh — sourced by every end-to-end script (tests/e2e/*.sh).
#
# tests/run.sh runs each script from the repo root with $LLMUX_BIN set to the
# absolute path of the binary. A script prints one line per case:
#   ok NAME | not ok NAME: WHY | skip NAME: WHY
# and exits non-zero when any case failed. Scripts end with `finish`; a script
# that stops before reaching it (set -e, a crash) reports "not ok" for itself.
#
# Provided here:
#   ok NAME / fail NAME WHY / skip NAME WHY
#   assert_eq NAME EXPECTED ACTUAL      assert_contains NAME HAYSTACK NEEDLE
#   assert_not_contains NAME HAYSTACK NEEDLE   assert_match NAME HAYSTACK ERE
#   assert_rc NAME EXPECTED   (checks $RC from the last run_llmux)
#   start_mock [mock args]    mock provider on a free port; exports MOCK_PORT,
#                             MOCK_URL, MOCK_KEY; killed on exit
#   write_config FILE [EXTRA_YAML]  llmux config with providers mockopenai,
#                             mockanthropic, mockgemini, mockollama
#   mock_requests / mock_last / mock_stats / mock_reset   control API (JSON)
#   mock_wait PATH VALUE [S]  waits until the last request's field has VALUE
#   jget JSON PATH            field of a JSON text ("body.messages.0.role")
#   run_llmux ARGS...         runs $LLMUX_BIN under `timeout`; sets RC, OUT, ERR
#                             (OUT_FILE/ERR_FILE keep the exact bytes);
#                             RUN_TIMEOUT (s, default 20), RUN_STDIN (file)
#   stream_timing OUTFILE CMD...  runs CMD reading its stdout through a pipe;
#                             prints "FIRST_MS END_MS RC" (first non-blank byte)
#   py ARGS...                python3 (resolved once, -S) for helper snippets
#   start_serve CONFIG [ARGS] `llmux serve --config CONFIG --listen 127.0.0.1:0
#                             ARGS` in the background; waits for /healthz;
#                             exports SERVE_URL, SERVE_PORT, SERVE_PID and
#                             SERVE_LOG (its stderr: start line + access log);
#                             killed on exit; returns 1 when it did not come up
#   stop_serve [SIGNAL]       sends SIGNAL (default TERM) to SERVE_PID and
#                             waits (at most 15 s); sets SERVE_RC
#   assert_serve_clean NAME   SERVE_LOG has no sanitizer report
#   track_pid PID             kill this background process on exit
#   E2E_TMP                   a private temporary directory, removed on exit
#
# Only processes started here are ever killed, by their own pid.
# Executed directly (tests/run.sh runs every tests/e2e/*.sh, this one too), it
# tests its own helpers.

set -u

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
E2E_NAME=$(basename "$0" .sh)
: "${LLMUX_BIN:=$REPO_ROOT/${BUILD:-build}/llmux}"
export LLMUX_BIN
MOCK_PY="$REPO_ROOT/tests/mock/mock_provider.py"
# The interpreter itself, not a version-manager shim, started without site
# packages: helpers run hundreds of times per script.
PY=$(python3 -S -c 'import sys; print(sys.executable)' 2>/dev/null)
PY=${PY:-python3}
py() { "$PY" -S "$@"; }
FIXTURES="$REPO_ROOT/tests/fixtures/e2e"

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/llmux-e2e-$E2E_NAME.XXXXXX")
E2E_FAILED=0
E2E_PASSED=0
E2E_SKIPPED=0
E2E_FINISHED=0
E2E_PIDS=()

# A config loaded by accident from the environment or ~/.config would make
# results depend on the machine: point every lookup at nothing.
unset LLMUX_CONFIG OPENAI_API_KEY ANTHROPIC_API_KEY GEMINI_API_KEY GOOGLE_API_KEY OLLAMA_HOST \
      OPENAI_BASE_URL ANTHROPIC_BASE_URL XDG_CONFIG_HOME LLMUX_MODEL LLMUX_CACHE_DIR
export HOME="$E2E_TMP/home"
mkdir -p "$HOME"

_e2e_oneline() { printf '%s' "$*" | tr '\n\r' '  ' | cut -c1-400; }

ok() {
    echo "ok $1"
    E2E_PASSED=$((E2E_PASSED + 1))
}
fail() {
    echo "not ok $1: $(_e2e_oneline "${2:-failed}")"
    E2E_FAILED=$((E2E_FAILED + 1))
}
skip() {
    echo "skip $1: $(_e2e_oneline "${2:-skipped}")"
    E2E_SKIPPED=$((E2E_SKIPPED + 1))
}

assert_eq() { # NAME EXPECTED ACTUAL
    if [ "$2" == "$3" ]; then ok "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}
assert_contains() { # NAME HAYSTACK NEEDLE
    case "$2" in
    *"$3"*) ok "$1" ;;
    *) fail "$1" "'$3' not found in: $2" ;;
    esac
}
assert_not_contains() { # NAME HAYSTACK NEEDLE
    case "$2" in
    *"$3"*) fail "$1" "'$3' must not appear in: $2" ;;
    *) ok "$1" ;;
    esac
}
assert_match() { # NAME HAYSTACK ERE
    if printf '%s' "$2" | grep -Eq -- "$3"; then ok "$1"; else fail "$1" "/$3/ does not match: $2"; fi
}
assert_rc() { # NAME EXPECTED (uses RC, OUT, ERR of the last run_llmux)
    if [ "$RC" -eq "$2" ]; then
        ok "$1"
    else
        fail "$1" "exit $RC (want $2)$( [ "$RC" -eq 124 ] && echo ' [timed out]'); stderr: $ERR; stdout: $OUT"
    fi
}

# Kills what this script started; runs on every exit.
_e2e_cleanup() {
    local rc=$?
    local p
    for p in "${E2E_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${E2E_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    if [ "$E2E_FINISHED" -eq 0 ]; then
        echo "not ok $E2E_NAME: script stopped before its end (exit $rc)"
        E2E_FAILED=$((E2E_FAILED + 1))
    fi
    rm -rf "$E2E_TMP"
    [ "$E2E_FAILED" -eq 0 ] || exit 1
    exit 0
}
trap _e2e_cleanup EXIT
trap 'exit 130' INT TERM

track_pid() { E2E_PIDS+=("$1"); }

# Ends the script: a summary on stderr, exit status 1 if anything failed.
finish() {
    E2E_FINISHED=1
    echo "# $E2E_NAME: $E2E_PASSED passed, $E2E_FAILED failed, $E2E_SKIPPED skipped" >&2
    [ "$E2E_FAILED" -eq 0 ] || exit 1
    exit 0
}

have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------------------
# Mock provider
# ---------------------------------------------------------------------------

# start_mock [--key K] [other mock_provider.py options]
# Starts the mock on a free port and waits until it answers. Exports
# MOCK_PORT, MOCK_URL and MOCK_KEY (the key llmux configs read via
# api_key_env: MOCK_KEY). Returns 1 when the mock did not come up.
start_mock() {
    local key="sk-mock-e2e-5f2c9a71d4" args=() n=$(( ${#E2E_PIDS[@]} + 1 ))
    while [ $# -gt 0 ]; do
        case "$1" in
        --key) key=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
        esac
    done
    local pf="$E2E_TMP/mock$n.port"
    rm -f "$pf"
    "$PY" "$MOCK_PY" --port 0 --port-file "$pf" --key "$key" "${args[@]}" \
        >"$E2E_TMP/mock$n.out" 2>"$E2E_TMP/mock$n.err" &
    local pid=$!
    track_pid "$pid"
    local i
    for i in $(seq 100); do
        if [ -s "$pf" ]; then
            MOCK_PORT=$(cat "$pf")
            MOCK_URL="http://127.0.0.1:$MOCK_PORT"
            if curl -sf --max-time 2 "$MOCK_URL/_mock/health" >/dev/null 2>&1; then
                MOCK_PID=$pid
                MOCK_KEY=$key
                export MOCK_PORT MOCK_URL MOCK_KEY MOCK_PID
                return 0
            fi
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "# start_mock failed: $(cat "$E2E_TMP/mock$n.err" 2>/dev/null | tail -5)" >&2
    return 1
}

mock_requests() { curl -s --max-time 5 "${1:-$MOCK_URL}/_mock/requests"; }
mock_last() { curl -s --max-time 5 "${1:-$MOCK_URL}/_mock/last"; }
mock_stats() { curl -s --max-time 5 "${1:-$MOCK_URL}/_mock/stats"; }
mock_reset() { curl -s --max-time 5 -X POST "${1:-$MOCK_URL}/_mock/reset" >/dev/null; }

# mock_wait PATH VALUE [SECONDS]: polls the last logged request until the
# field at PATH (jget syntax, e.g. stream.client_disconnected) equals VALUE;
# exit 1 after SECONDS (default 5). The mock updates a request's entry while
# it is being answered, so this waits for what it observes (disconnects...).
mock_wait() {
    local i n=$(( ${3:-5} * 10 ))
    for i in $(seq "$n"); do
        [ "$(jget "$(mock_last)" "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# jget JSON PATH: prints the value at a dotted path ("body.messages.0.role";
# "-1" indexes from the end). Strings print raw, other values as compact JSON.
# Exit 1 (nothing printed) when the path is missing or the text is not JSON.
jget() {
    py -c '
import json, sys
try:
    v = json.loads(sys.argv[1])
    for k in [p for p in sys.argv[2].split(".") if p != ""]:
        if isinstance(v, list):
            v = v[int(k)]
        elif isinstance(v, dict):
            v = v[k]
        else:
            raise KeyError(k)
except Exception:
    sys.exit(1)
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))
' "$1" "$2"
}

# write_config FILE [EXTRA_YAML]: the four mock providers with short timeouts
# (connect 2 s, first byte 3 s, idle 1.5 s, total 20 s). EXTRA_YAML is
# appended at top level.
write_config() {
    local f=$1 extra=${2:-}
    cat >"$f" <<EOF
default_model: mockopenai/echo
timeouts:
  connect_ms: 2000
  first_byte_ms: 3000
  idle_ms: 1500
  total_ms: 20000
providers:
  - name: mockopenai
    type: openai
    base_url: $MOCK_URL/v1
    api_key_env: MOCK_KEY
  - name: mockanthropic
    type: anthropic
    base_url: $MOCK_URL
    api_key_env: MOCK_KEY
  - name: mockgemini
    type: gemini
    base_url: $MOCK_URL/v1beta
    api_key_env: MOCK_KEY
  - name: mockollama
    type: ollama
    base_url: $MOCK_URL
    num_ctx: 4096
EOF
    [ -z "$extra" ] || printf '%s\n' "$extra" >>"$f"
}

# ---------------------------------------------------------------------------
# Running llmux
# ---------------------------------------------------------------------------

# run_llmux ARGS...: never hangs (timeout RUN_TIMEOUT, default 20 s; exit 124
# then). stdin comes from RUN_STDIN (default /dev/null).
run_llmux() {
    OUT_FILE="$E2E_TMP/run.out"
    ERR_FILE="$E2E_TMP/run.err"
    timeout -k 2 "${RUN_TIMEOUT:-20}" "$LLMUX_BIN" "$@" \
        <"${RUN_STDIN:-/dev/null}" >"$OUT_FILE" 2>"$ERR_FILE"
    RC=$?
    OUT=$(cat "$OUT_FILE")
    ERR=$(cat "$ERR_FILE")
    return 0
}

# stream_timing OUTFILE CMD...: runs CMD (stdin /dev/null) with its stdout on
# a pipe read as bytes arrive; saves them to OUTFILE and prints
# "FIRST_MS END_MS RC": ms from start to the first non-blank byte (-1 if
# none) and to the end of the process.
stream_timing() {
    py - "$@" <<'PY'
import os, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL)
first, data = None, b""
while True:
    b = os.read(p.stdout.fileno(), 65536)
    if not b:
        break
    if first is None and b.strip():
        first = time.monotonic()
    data += b
rc = p.wait()
end = time.monotonic()
with open(out, "wb") as f:
    f.write(data)
ms = lambda t: int((t - t0) * 1000)
print(ms(first) if first is not None else -1, ms(end), rc)
PY
}

# ---------------------------------------------------------------------------
# llmux serve
# ---------------------------------------------------------------------------

# start_serve CONFIG [llmux serve args]: listens on a free loopback port
# (--listen 127.0.0.1:0; the port comes from the start line) unless ARGS
# name another --listen.
start_serve() {
    local cfg=$1 n=$(( ${#E2E_PIDS[@]} + 1 ))
    shift
    SERVE_LOG="$E2E_TMP/serve$n.log"
    local listen=(--listen 127.0.0.1:0) a
    for a in "$@"; do
        case "$a" in --listen | --listen=* | -l) listen=() ;; esac
    done
    "$LLMUX_BIN" serve --config "$cfg" "${listen[@]}" "$@" >"$E2E_TMP/serve$n.out" 2>"$SERVE_LOG" &
    SERVE_PID=$!
    track_pid "$SERVE_PID"
    local i line
    for i in $(seq 200); do
        line=$(grep -m1 -o 'listening on http://[^ ]*' "$SERVE_LOG" 2>/dev/null)
        if [ -n "$line" ]; then
            SERVE_URL=${line#listening on }
            SERVE_PORT=${SERVE_URL##*:}
            if curl -sf --max-time 2 "$SERVE_URL/healthz" >/dev/null 2>&1; then
                export SERVE_URL SERVE_PORT SERVE_PID SERVE_LOG
                return 0
            fi
        fi
        kill -0 "$SERVE_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "# start_serve failed: $(tail -5 "$SERVE_LOG" 2>/dev/null)" >&2
    return 1
}

# stop_serve [SIGNAL]: signal (default TERM), wait; SERVE_RC = exit status
# (124 when it did not stop within 15 s; it is killed then).
stop_serve() {
    local sig=${1:-TERM} i
    kill -"$sig" "$SERVE_PID" 2>/dev/null
    for i in $(seq 150); do
        kill -0 "$SERVE_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVE_PID" 2>/dev/null; then
        kill -KILL "$SERVE_PID" 2>/dev/null
        wait "$SERVE_PID" 2>/dev/null
        SERVE_RC=124
        return 0
    fi
    wait "$SERVE_PID" 2>/dev/null
    SERVE_RC=$?
}

# assert_serve_clean NAME: no ASan/UBSan/LSan report in SERVE_LOG.
assert_serve_clean() {
    if grep -qE 'Sanitizer|runtime error:' "$SERVE_LOG" 2>/dev/null; then
        fail "$1" "$(grep -m3 -E 'Sanitizer|runtime error:|#[0-9] ' "$SERVE_LOG")"
    else
        ok "$1"
    fi
}

# Milliseconds since the epoch (for coarse elapsed-time checks).
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------------------
# Executed rather than sourced (tests/run.sh runs every tests/e2e/*.sh):
# test the helpers themselves.
# ---------------------------------------------------------------------------
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    assert_eq lib_fail_format "not ok x: two lines" "$(fail x $'two\nlines')"
    assert_eq lib_jget "b|2|[1,2]" \
        "$(jget '{"a":[{"k":"b"},2]}' a.0.k)|$(jget '{"a":[1,2]}' a.-1)|$(jget '{"a":[1,2]}' a)"
    if jget '{"a":1}' b >/dev/null; then fail lib_jget_missing "exit 0"; else ok lib_jget_missing; fi

    saved_bin=$LLMUX_BIN
    LLMUX_BIN=sleep RUN_TIMEOUT=1 run_llmux 5
    assert_eq lib_run_llmux_timeout 124 "$RC"
    LLMUX_BIN=$saved_bin

    T=$(stream_timing "$E2E_TMP/st.out" sh -c 'sleep 0.3; echo a; sleep 0.6; echo b')
    read -r first end rc <<<"$T"
    if [ "$rc" -eq 0 ] && [ "$first" -ge 200 ] && [ $((end - first)) -ge 400 ]; then
        ok lib_stream_timing
    else
        fail lib_stream_timing "got '$T'"
    fi

    if start_mock; then
        assert_match lib_start_mock "$(curl -s "$MOCK_URL/_mock/health")" '"ok": true'
        write_config "$E2E_TMP/lib.yaml"
        assert_eq lib_write_config_providers 4 "$(grep -c '^  - name: mock' "$E2E_TMP/lib.yaml")"
        if [ -x "$LLMUX_BIN" ]; then
            run_llmux config check -q --config "$E2E_TMP/lib.yaml"
            assert_rc lib_write_config_valid 0
            if start_serve "$E2E_TMP/lib.yaml" --workers 1; then
                assert_match lib_start_serve "$(curl -s "$SERVE_URL/healthz")" '"status":"ok"'
                stop_serve
                assert_eq lib_stop_serve 0 "$SERVE_RC"
            else
                fail lib_start_serve "$(tail -3 "$SERVE_LOG")"
            fi
        else
            skip lib_write_config_valid "no llmux binary at $LLMUX_BIN"
        fi
    else
        fail lib_start_mock "the mock did not start"
    fi
    finish
fi
