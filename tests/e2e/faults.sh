#!/usr/bin/env bash
# faults.sh — the reliability acceptance scenarios of issue 6, end to end:
# the real `llmux ask` (and `llmux serve` where state must live in one
# process, or the caller is a program) against the fault-injecting mock
# provider (tests/mock/mock_provider.py, scenarios picked by model name).
#
# Every case asserts the attempts the mock saw (count, HTTP statuses,
# spacing, disconnects, the prefill a continuation carried), timing bounds,
# and what the caller got (stdout, exit status, stderr, and with --json the
# answering provider/model, the attempts and the usage).
#
# Scenario (issue 6 acceptance)        group            test names
#  1 429 + Retry-After (s, HTTP date)  retry_after      faults_retry_after_*
#  2 persistent 429, no Retry-After    ratelimit        faults_429_*, faults_deadline_*
#  3 500 once                          5xx              faults_500_once_*
#  4 persistent 503 -> fallback        5xx              faults_503_*
#  5 TCP reset before headers          reset            faults_reset_*, faults_refused_*
#  6 no response at all                silent           faults_no_response_*
#  7 slow first token (20 s)           silent           faults_slow_first_*
#  8 stream cut after 40 of 60         midstream_a, prefill, serve_midstream
#                                                       faults_cut_*, faults_serve_*
#  9 stream stall (idle timeout)       midstream_a      faults_stall_*
# 10 malformed chunk                   midstream_b      faults_malformed_*
# 11 missing [DONE]                    midstream_b, ledger  faults_noterm_*
# 12 context length exceeded           4xx              faults_context_length_*
# 13 content policy                    4xx              faults_content_policy_*
# 14 fallback rejects the prefill      prefill          faults_prefill_reject_*
# 15 primary down, then recovers       breaker (serve)  faults_breaker_*
# 16 fail-over accounting              5xx, midstream_*, ledger
#                                                       faults_failover_accounting_*,
#                                                       faults_*_no_stream_accounting,
#                                                       faults_ledger_*
# also: connect and total timeouts (timeouts), fallbacks and the privacy
# boundary (privacy).
#
# Timeouts and backoffs are scaled down in the config (first byte and idle
# 400 ms, backoff base 20 ms; the breaker opens for 500 ms; the outage lasts
# 3 s) so the file runs in well under a minute: the groups run in parallel,
# each with its own mock (FAULTS_GROUPS, FAULTS_JOBS select and limit them).
#
# Conventions of the cases: the primary is `mockopenai/<scenario>` and the
# fallback an Anthropic-dialect model on the same mock, so stdout shows which
# one answered ("Hello from mock-anthropic. ..."), and `count-<n>` answers
# "t1 t2 ... tn" (after an assistant prefill of w words: what follows them).
. "$(dirname "$0")/lib.sh"

if ! have python3 || ! have curl; then
    skip faults "python3 and curl are needed"
    finish
fi
if [ ! -x "$LLMUX_BIN" ]; then
    fail faults_binary "no llmux binary at $LLMUX_BIN"
    finish
fi

P=mockopenai
F=mockanthropic
HELLO_P="Hello from mock-openai. You said: hello world"
HELLO_F="Hello from mock-anthropic. You said: hello world"
seq_text() { # N [FROM]: "tFROM ... tN"
    local i out="" from=${2:-1}
    for ((i = from; i <= $1; i++)); do out+="${out:+ }t$i"; done
    printf '%s' "$out"
}
T40=$(seq_text 40)
T60=$(seq_text 60)

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

# fcfg FILE: a config with the four mock providers and scaled-down
# reliability settings. Overrides through variables:
#   FB    flow-map body of reliability.fallbacks ("a/b: [c/d], e/f: [g/h]")
#   MID   midstream mode (error)        RETRY  retry flow map
#   TMO   timeouts flow map             BRK    breaker flow map
#   EXTRA YAML appended at top level (catalogue: ...)
#   XPROV more entries of the providers list
fcfg() {
    local tmo=${TMO:-"{connect_ms: 1000, first_byte_ms: 400, idle_ms: 400, total_ms: 15000}"}
    local retry=${RETRY:-"{max_attempts: 3, base_ms: 20, max_ms: 200, deadline_ms: 10000, max_retry_after_ms: 3000}"}
    local brk=${BRK:-"{failures: 50, window_ms: 30000, open_ms: 15000, half_open_probes: 1}"}
    cat >"$1" <<EOF
default_model: $P/echo
timeouts: $tmo
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
${XPROV:-}
reliability:
  retry: $retry
  breaker: $brk
  midstream: ${MID:-error}
EOF
    [ -z "${FB:-}" ] || printf '  fallbacks: {%s}\n' "$FB" >>"$1"
    [ -z "${EXTRA:-}" ] || printf '%s\n' "$EXTRA" >>"$1"
}

# fask CFG ARGS...: clean mock log, one timed `llmux ask` (like run_llmux:
# timeout RUN_TIMEOUT, stdin /dev/null); sets RC OUT ERR, ELAPSED (ms, the
# whole process), END_MS (epoch ms when the answer ended: the first byte on
# stderr when there is one, else the exit) and saves the mock's request log
# for rq. Timing bounds are taken from the mock's view (when attempts
# arrived) up to END_MS where they can, so that process start-up and
# teardown (slow under ASan, on a loaded machine) do not count.
fask() {
    local cfg=$1 t0 r
    shift
    mock_reset
    OUT_FILE="$E2E_TMP/run.out"
    ERR_FILE="$E2E_TMP/run.err"
    t0=$(now_ms)
    r=$(py "$E2E_TMP/runner.py" "$OUT_FILE" "$ERR_FILE" timeout -k 2 "${RUN_TIMEOUT:-20}" \
        "$LLMUX_BIN" ask --config "$cfg" "$@")
    ELAPSED=$(($(now_ms) - t0))
    read -r RC END_MS <<<"$r"
    OUT=$(cat "$OUT_FILE")
    ERR=$(cat "$ERR_FILE")
    mock_requests >"$E2E_TMP/reqs.json"
    rq_load
    jf_load
}
cat >"$E2E_TMP/runner.py" <<'PY'
# runner.py OUT ERR CMD...: runs CMD (stdin /dev/null), stdout to OUT,
# stderr to ERR; prints "EXIT END_MS" (END_MS: epoch ms of the first stderr
# byte, else of the exit)
import os, subprocess, sys, time
out, err, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(out, "wb") as fo:
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=fo, stderr=subprocess.PIPE)
    first, data = None, b""
    while True:
        b = os.read(p.stderr.fileno(), 65536)
        if not b:
            break
        if first is None:
            first = time.time()
        data += b
    rc = p.wait()
end = first if first is not None else time.time()
with open(err, "wb") as fe:
    fe.write(data)
print(rc, int(end * 1000))
PY

cat >"$E2E_TMP/rq.py" <<'PY'
# rq.py REQS_FILE: what the mock saw, per model, as "MODEL:WHAT<TAB>VALUE"
# lines (one python start per run instead of one per question):
#   n        requests            status  their HTTP statuses (comma list)
#   gaps     ms between them     span    ms first to last
#   first    epoch ms of the first one
#   prefill  JSON list of the trailing assistant texts (null: none)
#   disc     1/0 per request: the client went away before the end
import json, sys
reqs = json.load(open(sys.argv[1]))
models = []
for r in reqs:
    if r.get("model") is not None and r["model"] not in models:
        models.append(r["model"])
for m in models:
    sel = [r for r in reqs if r.get("model") == m]
    t = [r["time"] for r in sel]
    v = {"n": len(sel),
         "status": ",".join(str(r.get("status")) for r in sel),
         "gaps": ",".join(str(int((b - a) * 1000)) for a, b in zip(t, t[1:])),
         "first": int(t[0] * 1000),
         "span": int((t[-1] - t[0]) * 1000),
         "prefill": json.dumps([r.get("prefill") for r in sel]),
         "disc": ",".join("1" if r["stream"]["client_disconnected"] else "0" for r in sel)}
    for k, x in v.items():
        print("%s:%s\t%s" % (m, k, x))
PY
declare -A RQ JF
# rq_load: reads $E2E_TMP/reqs.json into RQ; rq MODEL WHAT answers from it
# (a model the mock never saw: n 0, first -1, span 0, prefill [], else "")
rq_load() {
    local k v
    RQ=()
    while IFS=$'\t' read -r k v; do RQ[$k]=$v; done < <(py "$E2E_TMP/rq.py" "$E2E_TMP/reqs.json")
}
rq() {
    if [ -n "${RQ[$1:$2]+set}" ]; then
        printf '%s\n' "${RQ[$1:$2]}"
    else
        case $2 in n | span) echo 0 ;; first) echo -1 ;; prefill) echo "[]" ;; *) echo "" ;; esac
    fi
}
# gap A B: ms from the first attempt on model A to the first on model B
gap() {
    local a b
    a=$(rq "$1" first)
    b=$(rq "$2" first)
    if [ "$a" -lt 0 ] || [ "$b" -lt 0 ]; then echo "no-attempt"; else echo $((b - a)); fi
}
# to_end A: ms from the first attempt on model A to the end of the answer
# (END_MS: the error on stderr, or the exit)
to_end() {
    local a
    a=$(rq "$1" first)
    if [ "$a" -lt 0 ]; then echo "no-attempt"; else echo $((END_MS - a)); fi
}

# rq_disc_wait MODEL: waits (2 s at most) until the mock has seen the client
# leave every request of MODEL; prints the disc list.
rq_disc_wait() {
    local i d
    for i in $(seq 20); do
        mock_requests >"$E2E_TMP/reqs.json"
        rq_load
        d=$(rq "$1" disc)
        case ",$d," in *,0,*) sleep 0.1 ;; *) break ;; esac
    done
    rq "$1" disc
}

# jf_load: flattens the `ask --json` object on stdout into JF (one python
# start per run): "usage.output" -> 9, and from the route object, wherever
# it sits: @count (attempts), @targets (provider/model of each, comma list),
# @cost (cost_usd with 9 decimals). Absent: "none"; stdout not JSON: every
# @ key "not-json" and no paths.
jf_load() {
    local k v
    JF=()
    while IFS=$'\t' read -r k v; do JF[$k]=$v; done < <(py -c '
import json, sys
try:
    o = json.loads(sys.stdin.read())
except ValueError:
    for k in ("@count", "@targets", "@cost"):
        print(k + "\tnot-json")
    sys.exit()
num = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)
def leaf(x):
    if isinstance(x, str) and "\n" not in x and "\t" not in x:
        return x
    return json.dumps(x, separators=(",", ":"))
def flat(v, path):
    if isinstance(v, dict):
        for k, x in v.items():
            flat(x, path + [k])
    elif isinstance(v, list) and v:
        for i, x in enumerate(v):
            flat(x, path + [str(i)])
    else:
        print(".".join(path) + "\t" + leaf(v))
flat(o, [])
got = {}
todo = [o]
while todo:
    v = todo.pop(0)
    if isinstance(v, dict):
        a = v.get("attempts")
        if "@count" not in got and (isinstance(a, list) or num(a)):
            got["@count"] = len(a) if isinstance(a, list) else a
        if "@targets" not in got and isinstance(a, list):
            got["@targets"] = ",".join("%s/%s" % (x.get("provider"), x.get("model"))
                                       for x in a if isinstance(x, dict))
        for k in ("cost_usd", "cost"):
            if "@cost" not in got and num(v.get(k)):
                got["@cost"] = "%.9f" % v[k]
        todo += list(v.values())
    elif isinstance(v, list):
        todo += v
for k in ("@count", "@targets", "@cost"):
    print("%s\t%s" % (k, got.get(k, "none")))' <<<"$OUT")
}
jattempts() { echo "${JF[@count]:-none}"; }
jtargets() { echo "${JF[@targets]:-none}"; }
jcost() { echo "${JF[@cost]:-none}"; }
jf() { [ -n "${JF[$1]+set}" ] && printf '%s\n' "${JF[$1]}"; }


# check NAME COND_DESCRIPTION: ok when every "want|got" pair in the
# remaining arguments matches; the failure lists all mismatches plus the
# run's context (exit, stderr, stdout, attempts seen).
check() {
    local name=$1 why="" w g
    shift
    while [ $# -ge 2 ]; do
        w=$1 g=$2
        shift 2
        [ "$w" == "$g" ] || why+="want '$w' got '$g'; "
    done
    if [ -z "$why" ]; then
        ok "$name"
    else
        fail "$name" "${why}exit $RC, ${ELAPSED:-?} ms, stderr: $(printf '%s' "$ERR" | head -c 300) | stdout: $(printf '%s' "$OUT" | head -c 200)"
    fi
}
# within NAME VALUE LO HI: LO <= VALUE <= HI (ms)
within() {
    if [[ "$2" =~ ^-?[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then
        ok "$1"
    else
        fail "$1" "$2 not in [$3, $4] (exit $RC; stderr: $(printf '%s' "$ERR" | head -c 200))"
    fi
}
# is_err: exit 1 and a one-line "llmux: ..." message on stderr
is_err() {
    if [ "$RC" -eq 1 ] && [ "$(grep -c '' <<<"$ERR")" -ge 1 ] && [[ "$ERR" == llmux:* ]]; then
        echo yes
    else
        echo "no (exit $RC)"
    fi
}
lower() { tr 'A-Z' 'a-z' <<<"$1"; }

# start_serve CFG: `llmux serve` on a free loopback port; sets SERVE_URL.
# Returns 1 (after a `fail` line) when it does not come up. The servers a
# group starts are stopped when its subshell exits.
SERVE_PIDS=()
GROUP_PIDS=() # other helpers a group started (stopped with its subshell)
group_trap() { trap 'kill "${SERVE_PIDS[@]}" "${GROUP_PIDS[@]}" 2>/dev/null' EXIT; }
start_serve() {
    local cfg=$1 port i pid log="$E2E_TMP/serve$((${#SERVE_PIDS[@]} + 1)).err"
    port=$(py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$LLMUX_BIN" serve --config "$cfg" --listen "127.0.0.1:$port" >/dev/null 2>"$log" &
    pid=$!
    SERVE_PIDS+=("$pid")
    group_trap # groups run in their own subshell
    SERVE_URL="http://127.0.0.1:$port"
    for i in $(seq 50); do
        curl -sf --max-time 1 "$SERVE_URL/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    fail "faults_serve_${2:-start}" "llmux serve did not come up: $(tail -3 "$log" | tr '\n' ' ')"
    return 1
}
stop_serve() {
    local p
    for p in "${SERVE_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${SERVE_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    SERVE_PIDS=()
}

# sparse FRONT FILE: a streamed body as the caller got it, in the caller's
# dialect (openai SSE, anthropic SSE, ollama NDJSON) -> one JSON line
# {"text", "done": terminator seen, "finish", "error": message or null}
sparse() {
    py - "$1" "$2" <<'PY'
import json, sys
front, raw = sys.argv[1], open(sys.argv[2], "rb").read().decode("utf-8", "replace")
r = {"text": "", "done": False, "finish": None, "error": None, "bad": 0}
def objs():
    if front == "ollama":
        for line in raw.split("\n"):
            if line.strip():
                yield line
        return
    for block in raw.split("\n\n"):
        data = [l[5:].lstrip() for l in block.split("\n") if l.startswith("data:")]
        if data:
            yield "\n".join(data)
for d in objs():
    if d == "[DONE]":
        r["done"] = True
        continue
    try:
        o = json.loads(d)
    except ValueError:
        r["bad"] += 1
        continue
    if front == "openai":
        if "error" in o:
            r["error"] = (o["error"] or {}).get("message") if isinstance(o["error"], dict) else str(o["error"])
        for c in o.get("choices") or []:
            r["text"] += (c.get("delta") or {}).get("content") or ""
            if c.get("finish_reason"):
                r["finish"] = c["finish_reason"]
    elif front == "anthropic":
        t = o.get("type")
        if t == "content_block_delta" and o["delta"].get("type") == "text_delta":
            r["text"] += o["delta"]["text"]
        elif t == "message_delta":
            r["finish"] = (o.get("delta") or {}).get("stop_reason")
        elif t == "message_stop":
            r["done"] = True
        elif t == "error":
            r["error"] = o["error"].get("message")
    else:
        if "error" in o:
            r["error"] = o["error"]
        r["text"] += (o.get("message") or {}).get("content") or o.get("response") or ""
        if o.get("done"):
            r["done"] = True
            r["finish"] = o.get("done_reason")
print(json.dumps(r))
PY
}

# spost FRONT MODEL STREAM(true|false) NAME: one request to the server in a
# dialect; the body lands in $E2E_TMP/NAME.body, the status in SCODE.
spost() {
    local front=$1 model=$2 stream=$3 name=$4 url body hdr=()
    case $front in
    openai) url=$SERVE_URL/v1/chat/completions
        body="{\"model\":\"$model\",\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"hello world\"}]}" ;;
    anthropic) url=$SERVE_URL/v1/messages hdr=(-H "anthropic-version: 2023-06-01")
        body="{\"model\":\"$model\",\"max_tokens\":200,\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"hello world\"}]}" ;;
    ollama) url=$SERVE_URL/api/chat
        body="{\"model\":\"$model\",\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"hello world\"}]}" ;;
    esac
    SCODE=$(curl -sN --max-time 10 -o "$E2E_TMP/$name.body" -w '%{http_code}' "${hdr[@]}" \
        -H 'Content-Type: application/json' --data-binary "$body" "$url")
}

# ---------------------------------------------------------------------------
# groups (each runs in its own process with its own mock)
# ---------------------------------------------------------------------------

# 1. 429 with Retry-After (seconds, HTTP date) -> retried after that delay.
group_retry_after() {
    local C=$E2E_TMP/ra.yaml
    FB="$P/retry-after-1: [$F/echo], $P/retry-after-date-1: [$F/echo], $P/retry-after-30: [$F/echo]" fcfg "$C"

    fask "$C" -m "$P/retry-after-1" --json "hello world"
    check faults_retry_after_seconds_answer "0|$P|retry-after-1|$HELLO_P" \
        "$RC|$(jf provider)|$(jf model)|$(jf text)"
    check faults_retry_after_seconds_attempts "2|429,200|0|2" \
        "$(rq retry-after-1 n)|$(rq retry-after-1 status)|$(rq echo n)|$(jattempts)"
    within faults_retry_after_seconds_delay "$(rq retry-after-1 gaps)" 950 2200

    fask "$C" -m "$P/retry-after-date-1" "hello world"
    check faults_retry_after_date_answer "0|$HELLO_P" "$RC|$OUT"
    check faults_retry_after_date_attempts "2|429,200|0" \
        "$(rq retry-after-date-1 n)|$(rq retry-after-date-1 status)|$(rq echo n)"
    # an HTTP date has whole seconds: now+1 s rounded up is 1 to 2 s away
    within faults_retry_after_date_delay "$(rq retry-after-date-1 gaps)" 900 2900

    # longer than max_retry_after_ms (3 s): no waiting, fail over at once
    fask "$C" -m "$P/retry-after-30" --json "hello world"
    check faults_retry_after_too_long_fails_over "0|$F|$HELLO_F|1|1" \
        "$RC|$(jf provider)|$(jf text)|$(rq retry-after-30 n)|$(rq echo n)"
    within faults_retry_after_too_long_fast "$(gap retry-after-30 echo)" 0 1000
}

# 2. persistent 429 without Retry-After -> bounded retries with backoff,
#    then the fallback, or a clear error.
group_ratelimit() {
    local C=$E2E_TMP/rl.yaml C2=$E2E_TMP/rl_nofb.yaml
    # full jitter: each wait is uniform in [0, min(max, base*2^n)]; with
    # base 150 the three waits sum to >= 40 ms with probability > 0.999
    local R="{max_attempts: 4, base_ms: 150, max_ms: 1000, deadline_ms: 10000, max_retry_after_ms: 3000}"
    RETRY=$R FB="$P/err-429: [$F/echo]" fcfg "$C"
    RETRY=$R fcfg "$C2"

    fask "$C" -m "$P/err-429" --json "hello world"
    check faults_429_persistent_fallback_answer "0|$F|echo|$HELLO_F" \
        "$RC|$(jf provider)|$(jf model)|$(jf text)"
    check faults_429_persistent_bounded "4|429,429,429,429|1|5" \
        "$(rq err-429 n)|$(rq err-429 status)|$(rq echo n)|$(jattempts)"
    # not a tight loop; and the backoff caps (150+300+600) bound it
    within faults_429_persistent_backoff_span "$(rq err-429 span)" 40 1800

    fask "$C2" -m "$P/err-429" "hello world"
    check faults_429_persistent_no_fallback_error "yes|4|" \
        "$(is_err)|$(rq err-429 n)|$OUT"
    assert_match faults_429_persistent_no_fallback_says_429 "${ERR//$E2E_TMP/}" "429|[Rr]ate limit"
    within faults_429_persistent_no_fallback_span "$(rq err-429 span)" 40 1800

    # the total deadline bounds the retries, whatever max_attempts says
    local C3=$E2E_TMP/rl_deadline.yaml
    RETRY="{max_attempts: 30, base_ms: 100, max_ms: 300, deadline_ms: 700, max_retry_after_ms: 3000}" fcfg "$C3"
    fask "$C3" -m "$P/err-503" "hello world"
    check faults_deadline_error "yes" "$(is_err)"
    within faults_deadline_time "$(to_end err-503)" 0 1600
    within faults_deadline_attempts "$(rq err-503 n)" 2 29
}

# 3. 500 once -> one retry succeeds.  4./16. persistent 503 -> the fallback
#    answers, and the answer is accounted to the fallback.
group_5xx() {
    local C=$E2E_TMP/5xx.yaml
    FB="$P/times-1-err-500: [$F/echo], $P/err-503: [$F/count-9]" EXTRA="catalogue:
  - {id: err-503, context: 128000, price: {input: 100, output: 100}}
  - {id: count-9, context: 128000, price: {input: 3, output: 15}}" fcfg "$C"

    fask "$C" -m "$P/times-1-err-500" --json "hello world"
    check faults_500_once_answer "0|$P|times-1-err-500|$HELLO_P|2|7" \
        "$RC|$(jf provider)|$(jf model)|$(jf text)|$(jf usage.input)|$(jf usage.output)"
    check faults_500_once_attempts "2|500,200|0|$P/times-1-err-500,$P/times-1-err-500" \
        "$(rq times-1-err-500 n)|$(rq times-1-err-500 status)|$(rq echo n)|$(jtargets)"
    within faults_500_once_backoff "$(rq times-1-err-500 gaps)" 0 700

    fask "$C" -m "$P/err-503" --json "hello world"
    check faults_503_persistent_fallback_answer "0|$F|count-9|$(seq_text 9)|stop" \
        "$RC|$(jf provider)|$(jf model)|$(jf text)|$(jf finish)"
    check faults_503_persistent_attempts "3|503,503,503|1|4" \
        "$(rq err-503 n)|$(rq err-503 status)|$(rq count-9 n)|$(jattempts)"
    check faults_failover_accounting_attempts "$P/err-503,$P/err-503,$P/err-503,$F/count-9" "$(jtargets)"
    # fail-over accounting: the fallback's usage (input 2, output 9), priced
    # at the fallback's rates: (2*3 + 9*15) / 1e6
    check faults_failover_accounting_usage "2|9" "$(jf usage.input)|$(jf usage.output)"
    local cost
    cost=$(jcost)
    if [ "$cost" = none ]; then
        skip faults_failover_accounting_cost "ask --json has no cost field"
    else
        check faults_failover_accounting_cost "0.000141000" "$cost"
    fi
    within faults_503_persistent_time "$(gap err-503 count-9)" 0 1500
}

# 5. TCP reset before headers -> retry, then failover.
group_reset() {
    local C=$E2E_TMP/rst.yaml
    FB="$P/fault-reset-headers: [$F/echo], $P/times-1-fault-reset-headers: [$F/echo]" fcfg "$C"

    fask "$C" -m "$P/times-1-fault-reset-headers" --json "hello world"
    check faults_reset_once_retried "0|$P|$HELLO_P|2|None,200|0" \
        "$RC|$(jf provider)|$(jf text)|$(rq times-1-fault-reset-headers n)|$(rq times-1-fault-reset-headers status)|$(rq echo n)"

    fask "$C" -m "$P/fault-reset-headers" --json "hello world"
    check faults_reset_persistent_fails_over "0|$F|$HELLO_F|3|1|4" \
        "$RC|$(jf provider)|$(jf text)|$(rq fault-reset-headers n)|$(rq echo n)|$(jattempts)"
    within faults_reset_persistent_time "$(gap fault-reset-headers echo)" 0 1500

    # connection refused (nothing listens): connection errors, then the
    # fallback (here the local one), quickly
    local dead C2=$E2E_TMP/refused.yaml
    dead=$(py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    XPROV="  - {name: deadremote, type: openai, base_url: 'http://127.0.0.1:$dead/v1', api_key: sk-dead-0000}" \
        FB="deadremote/echo: [mockollama/echo]" fcfg "$C2"
    fask "$C2" -m deadremote/echo --json "hello world"
    check faults_refused_fails_over "0|mockollama|Hello from mock-ollama. You said: hello world|1" \
        "$RC|$(jf provider)|$(jf text)|$(rq echo n)"
    local nt
    nt=$(jtargets | tr ',' '\n' | grep -c '^deadremote/')
    within faults_refused_attempts_bounded "$nt" 1 3
    within faults_refused_fast "$(jf latency_ms)" 0 1500
}

# 6. no response at all / 7. slow first token -> abandoned after the first
#    timeout (400 ms), never retried on the same route, fails over. (Lower
#    time bounds are 250 ms: the mock stamps a request when it has read it,
#    which on a loaded machine can be well after llmux started its clock.)
group_silent() {
    local C=$E2E_TMP/silent.yaml C2=$E2E_TMP/silent_nofb.yaml
    FB="$P/no-response: [$F/echo], $P/slow-first-20000: [$F/echo]" fcfg "$C"
    fcfg "$C2"

    fask "$C" -m "$P/no-response" --json "hello world"
    check faults_no_response_fails_over "0|$F|$HELLO_F|1|1|$P/no-response,$F/echo" \
        "$RC|$(jf provider)|$(jf text)|$(rq no-response n)|$(rq echo n)|$(jtargets)"
    within faults_no_response_time "$(gap no-response echo)" 250 1500
    check faults_no_response_abandoned "1" "$(rq_disc_wait no-response)"

    for mode in stream no-stream; do
        local extra=()
        [ "$mode" = no-stream ] && extra=(--no-stream)
        local n=faults_slow_first_${mode//-/_}
        fask "$C" -m "$P/slow-first-20000" "${extra[@]}" "hello world"
        check "${n}_fails_over" "0|$HELLO_F|1|1" \
            "$RC|$OUT|$(rq slow-first-20000 n)|$(rq echo n)"
        within "${n}_time" "$(gap slow-first-20000 echo)" 250 1500
        check "${n}_abandoned" "1" "$(rq_disc_wait slow-first-20000)"
    done

    # nowhere to go: a clear timeout error, still no retry of the silent route
    fask "$C2" -m "$P/no-response" "hello world"
    check faults_no_response_no_fallback_error "yes|1" "$(is_err)|$(rq no-response n)"
    assert_match faults_no_response_no_fallback_says_timeout "$(lower "$ERR")" 'time(d)? ?out'
    within faults_no_response_no_fallback_time "$(to_end no-response)" 250 2000
}

# 8.-11. mid-stream failures: cut, stall (idle timeout), malformed chunk,
# missing terminator, each 40 tokens into a 60-token answer, under the three
# rules: midstream error (streamed caller: explicit error, never complete),
# a whole-answer caller (clean restart on the fallback), midstream continue
# (continuation from a fallback that accepts the prefill).
midstream_cases() { # FAULT
    local f=$1 m="$1-40-of-60" CE=$E2E_TMP/mid_$1_err.yaml CC=$E2E_TMP/mid_$1_cont.yaml
    local lo=0 hi=1000
    [ "$f" = stall ] && lo=250 hi=2000
    FB="$P/$m: [$F/count-60]" fcfg "$CE"
    FB="$P/$m: [$F/count-60]" MID=continue fcfg "$CC"

    # streamed caller, midstream error: the 40 tokens, then an explicit error
    fask "$CE" -m "$P/$m" "hello world"
    check "faults_${f}_midstream_error" "yes|$T40|1|0" \
        "$(is_err)|$OUT|$(rq "$m" n)|$(rq count-60 n)"
    local says
    case $f in
    cut) says='cut|closed|reset|connection' ;;
    stall) says='idle|time(d)? ?out' ;;
    malformed) says='malformed|invalid|parse' ;;
    noterm) says='ended before|incomplete|terminat|\[done\]' ;;
    esac
    assert_match "faults_${f}_midstream_error_says_why" "$(lower "$ERR")" "$says"
    within "faults_${f}_midstream_error_time" "$(to_end "$m")" "$lo" "$hi"

    # whole-answer caller: nothing was sent yet, so a clean restart on the
    # fallback (no prefill), accounted to the fallback alone
    fask "$CE" -m "$P/$m" --no-stream --json "hello world"
    check "faults_${f}_no_stream_restart" "0|$F|count-60|$T60|[null]" \
        "$RC|$(jf provider)|$(jf model)|$(jf text)|$(rq count-60 prefill)"
    check "faults_${f}_no_stream_accounting" "2|60" "$(jf usage.input)|$(jf usage.output)"
    within "faults_${f}_no_stream_restart_time" "$(gap "$m" count-60)" "$lo" $((hi + 1000))
    local np
    np=$(rq "$m" n)
    if [ "$np" -ge 1 ] && [ "$np" -le 3 ]; then ok "faults_${f}_no_stream_primary_tries"; else
        fail "faults_${f}_no_stream_primary_tries" "$np attempts on the primary"; fi

    # midstream continue: the fallback gets the 40 tokens as a prefill and
    # the caller sees one seamless answer
    fask "$CC" -m "$P/$m" "hello world"
    check "faults_${f}_continue" "0|$T60|1|1|[\"$T40\"]" \
        "$RC|$OUT|$(rq "$m" n)|$(rq count-60 n)|$(rq count-60 prefill)"
    within "faults_${f}_continue_time" "$(gap "$m" count-60)" "$lo" "$hi"
}
group_midstream_a() { midstream_cases cut; midstream_cases stall; }
group_midstream_b() {
    midstream_cases malformed
    midstream_cases noterm

    # nothing sent yet (the stream fails before its first token): transparent
    local C=$E2E_TMP/mid0.yaml f
    FB="$P/cut-0-of-60: [$F/count-60], $P/stall-0-of-60: [$F/count-60]" fcfg "$C"
    for f in cut stall; do
        fask "$C" -m "$P/$f-0-of-60" "hello world"
        check "faults_${f}_before_content_transparent" "0|$T60|[null]" \
            "$RC|$OUT|$(rq count-60 prefill)"
    done

    # 11. a stream that ends at the HTTP level without its terminator is
    # finalised at once: with a 3 s idle timeout, still well under 1.5 s
    C=$E2E_TMP/noterm_idle.yaml
    TMO="{connect_ms: 1000, first_byte_ms: 3000, idle_ms: 3000, total_ms: 15000}" fcfg "$C"
    fask "$C" -m "$P/noterm-40-of-60" "hello world"
    check faults_noterm_incomplete "yes|$T40" "$(is_err)|$OUT"
    within faults_noterm_finalised_at_once "$(to_end noterm-40-of-60)" 0 1500
}

# 14. midstream continue to a fallback that rejects an assistant prefill:
# an explicit error, the partial answer never presented as complete.
group_prefill() {
    local C=$E2E_TMP/prefill.yaml
    FB="$P/cut-40-of-60: [$F/prefill-reject-60]" MID=continue fcfg "$C"
    fask "$C" -m "$P/cut-40-of-60" "hello world"
    check faults_prefill_reject_error "yes|$T40|1" "$(is_err)|$OUT|$(rq cut-40-of-60 n)"
    assert_match faults_prefill_reject_says_why "$(lower "$ERR")" "prefill|continu"
    local n st
    n=$(rq prefill-reject-60 n)
    st=$(rq prefill-reject-60 status)
    if [ "$n" = 0 ] || { [ "$n" = 1 ] && [ "$st" = 400 ]; }; then
        ok faults_prefill_reject_not_retried
    else
        fail faults_prefill_reject_not_retried "$n attempts ($st)"
    fi
    within faults_prefill_reject_time "$(to_end cut-40-of-60)" 0 1500

    # a cut stream in every other dialect: an explicit error for a streamed
    # caller, a clean restart for a whole-answer caller
    local d C2=$E2E_TMP/cut_dialects.yaml
    FB="mockanthropic/cut-40-of-60: [$P/count-60], mockgemini/cut-40-of-60: [$P/count-60], mockollama/cut-40-of-60: [$P/count-60]" fcfg "$C2"
    for d in anthropic gemini ollama; do
        fask "$C2" -m "mock$d/cut-40-of-60" "hello world"
        check "faults_cut_${d}_midstream_error" "yes|$T40|1|0" \
            "$(is_err)|$OUT|$(rq cut-40-of-60 n)|$(rq count-60 n)"
        fask "$C2" -m "mock$d/cut-40-of-60" --no-stream --json "hello world"
        check "faults_cut_${d}_no_stream_restart" "0|$P|count-60|$T60|60" \
            "$RC|$(jf provider)|$(jf model)|$(jf text)|$(jf usage.output)"
    done
}

# 12. context length exceeded: no retry; a larger-context fallback if there
# is one (smaller ones skipped), else a clear error.  13. content policy:
# no retry, the provider's reason passed through (every dialect).
group_4xx() {
    local C=$E2E_TMP/ctx.yaml C2=$E2E_TMP/ctx_small.yaml
    local CAT="catalogue:
  - {id: context-length, context: 4096}
  - {id: tiny-echo, context: 2048}
  - {id: big-echo, context: 200000}"
    FB="$P/context-length: [mockgemini/tiny-echo, $F/big-echo]" EXTRA=$CAT fcfg "$C"
    FB="$P/context-length: [mockgemini/tiny-echo]" EXTRA=$CAT fcfg "$C2"

    fask "$C" -m "$P/context-length" --json "hello world"
    check faults_context_length_larger_model "0|$F|big-echo|$HELLO_F" \
        "$RC|$(jf provider)|$(jf model)|$(jf text)"
    check faults_context_length_attempts "1|400|0|1" \
        "$(rq context-length n)|$(rq context-length status)|$(rq tiny-echo n)|$(rq big-echo n)"
    within faults_context_length_moves_at_once "$(gap context-length big-echo)" 0 1000

    fask "$C2" -m "$P/context-length" "hello world"
    check faults_context_length_no_larger_error "yes|1|0" \
        "$(is_err)|$(rq context-length n)|$(rq tiny-echo n)"
    assert_contains faults_context_length_message "$ERR" "maximum context length"
    within faults_context_length_error_at_once "$(to_end context-length)" 0 1000

    local d want
    for d in openai anthropic gemini ollama; do
        case $d in
        openai) want="Your request was rejected as a result of our safety system." ;;
        anthropic) want="Output blocked by content filtering policy" ;;
        gemini) want="The prompt was blocked for safety reasons" ;;
        ollama) want="content policy violation" ;;
        esac
        FB="mock$d/content-policy: [$F/echo]" fcfg "$C"
        [ "$d" = anthropic ] && FB="mock$d/content-policy: [$P/echo]" fcfg "$C"
        fask "$C" -m "mock$d/content-policy" "hello world"
        check "faults_content_policy_${d}" "yes|1|0" \
            "$(is_err)|$(rq content-policy n)|$(rq echo n)"
        assert_contains "faults_content_policy_${d}_reason" "$ERR" "$want"
        within "faults_content_policy_${d}_at_once" "$(to_end content-policy)" 0 1000
    done
}

# Timeouts: connect (a listener whose accept queue is full: the kernel drops
# the SYN, so connect hangs) -> not retried, fails over to the local
# fallback; total -> a stream still trickling at total_ms is abandoned.
group_timeouts() {
    local C=$E2E_TMP/connect.yaml C2=$E2E_TMP/connect_nofb.yaml C3=$E2E_TMP/total.yaml bh pf=$E2E_TMP/bh.port i
    "$PY" -S - "$pf" <<'PY' & # not `py`: $! must be the interpreter itself
import socket, sys, time
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(0)
filler = socket.socket()
filler.connect(srv.getsockname())  # fills the accept queue; never accepted
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
import os
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)
PY
    GROUP_PIDS+=($!)
    group_trap
    for i in $(seq 50); do [ -s "$pf" ] && break; sleep 0.1; done
    bh=$(cat "$pf")
    local TMO_C="{connect_ms: 300, first_byte_ms: 2000, idle_ms: 2000, total_ms: 15000}"
    local XP="  - {name: blackhole, type: openai, base_url: 'http://127.0.0.1:$bh/v1', api_key: sk-bh-0000}"
    TMO=$TMO_C XPROV=$XP FB="blackhole/echo: [mockollama/echo]" fcfg "$C"
    TMO=$TMO_C XPROV=$XP fcfg "$C2"

    fask "$C" -m blackhole/echo --json "hello world"
    check faults_connect_timeout_fails_over "0|mockollama|Hello from mock-ollama. You said: hello world|1" \
        "$RC|$(jf provider)|$(jf text)|$(rq echo n)"
    check faults_connect_timeout_not_retried "blackhole/echo,mockollama/echo" "$(jtargets)"
    within faults_connect_timeout_time "$(jf latency_ms)" 250 1500

    fask "$C2" -m blackhole/echo "hello world"
    check faults_connect_timeout_no_fallback_error "yes" "$(is_err)"
    assert_match faults_connect_timeout_no_fallback_says "$(lower "$ERR")" 'connect'
    assert_match faults_connect_timeout_no_fallback_says_timeout "$(lower "$ERR")" 'time(d)? ?out'

    # total 1 s: the answer trickles (300 ms a word, ~3 s in all) and is
    # abandoned at 1 s with an explicit error after what was shown
    TMO="{connect_ms: 1000, first_byte_ms: 800, idle_ms: 800, total_ms: 1000}" fcfg "$C3"
    fask "$C3" -m "$P/slow-300" "hello world"
    check faults_total_timeout_error "yes|1" "$(is_err)|$(rq slow-300 n)"
    assert_match faults_total_timeout_says "$(lower "$ERR")" 'time(d)? ?out|total|deadline'
    assert_match faults_total_timeout_partial "$OUT" '^Hello( from)?'
    within faults_total_timeout_time "$(to_end slow-300)" 800 2200
    check faults_total_timeout_abandoned "1" "$(rq_disc_wait slow-300)"
}

# 16. fail-over accounting in the ledger (`llmux usage --json`): one row,
# for the model that answered, priced at its rates; the failed attempts on
# the primary are not billed. 11. a stream without its terminator is
# finalised with the usage it carried (Gemini chunks carry cumulative
# usage: 40 output tokens) and counted as an error.
group_ledger() {
    local C=$E2E_TMP/ledger.yaml C2=$E2E_TMP/ledger_noterm.yaml names
    FB="$P/err-503: [$F/count-9]" EXTRA="ledger: {path: $E2E_TMP/l1/ledger.db, flush_ms: 10}
catalogue:
  - {id: err-503, context: 128000, price: {input: 100, output: 100}}
  - {id: count-9, context: 128000, price: {input: 3, output: 15}}" fcfg "$C"
    EXTRA="ledger: {path: $E2E_TMP/l2/ledger.db, flush_ms: 10}" fcfg "$C2"

    fask "$C" -m "$P/err-503" "hello world"
    check faults_ledger_failover_answer "0|$(seq_text 9)|3|1" "$RC|$OUT|$(rq err-503 n)|$(rq count-9 n)"
    run_llmux usage --config "$C" --json --by model
    names=$(py -c 'import json,sys; print(",".join(g["name"] for g in json.loads(sys.stdin.read())["groups"]))' <<<"$OUT" 2>/dev/null)
    check faults_ledger_failover_row "1|$F/count-9|2|9" \
        "$(jget "$OUT" total.requests)|$names|$(jget "$OUT" total.input)|$(jget "$OUT" total.output)"
    check faults_ledger_failover_cost "0.000141" \
        "$(py -c 'import sys; print("%.6f" % float(sys.argv[1]))' "$(jget "$OUT" total.cost_usd)" 2>/dev/null)"

    fask "$C2" -m "mockgemini/noterm-40-of-60" "hello world"
    check faults_ledger_noterm_answer "yes|$T40" "$(is_err)|$OUT"
    run_llmux usage --config "$C2" --json --by model
    check faults_ledger_noterm_usage "1|1|40" \
        "$(jget "$OUT" total.requests)|$(jget "$OUT" total.errors)|$(jget "$OUT" total.output)"
}

# 8. through `llmux serve`: a stream cut after 40 of 60 tokens ends with an
# explicit error event in the caller's dialect (never its terminator); cut
# before any content: transparent failover; a whole-answer caller: clean
# restart; midstream continue: one seamless stream.
group_serve_midstream() {
    local CE=$E2E_TMP/smid_err.yaml CC=$E2E_TMP/smid_cont.yaml front S
    RC=0 ELAPSED=0 OUT="" ERR=""
    FB="$P/cut-40-of-60: [$F/count-60], $P/cut-0-of-60: [$F/count-60]" fcfg "$CE"
    FB="$P/cut-40-of-60: [$F/count-60]" MID=continue fcfg "$CC"
    start_serve "$CE" midstream || return
    for front in openai anthropic ollama; do
        mock_reset
        spost "$front" "$P/cut-40-of-60" true "cut_$front"
        S=$(sparse "$front" "$E2E_TMP/cut_$front.body")
        check "faults_serve_${front}_cut_error_event" "200|$T40|false|null" \
            "$SCODE|$(jget "$S" text)|$(jget "$S" done)|$(jget "$S" finish)"
        if [ -n "$(jget "$S" error)" ]; then ok "faults_serve_${front}_cut_error_named"; else
            fail "faults_serve_${front}_cut_error_named" "no error event: $(head -c 300 "$E2E_TMP/cut_$front.body")"; fi
        mock_requests >"$E2E_TMP/reqs.json"; rq_load
        check "faults_serve_${front}_cut_no_restart" "1|0" "$(rq cut-40-of-60 n)|$(rq count-60 n)"

        mock_reset
        spost "$front" "$P/cut-0-of-60" true "cut0_$front"
        S=$(sparse "$front" "$E2E_TMP/cut0_$front.body")
        check "faults_serve_${front}_cut_before_content_transparent" "200|$T60|true|null" \
            "$SCODE|$(jget "$S" text)|$(jget "$S" done)|$(jget "$S" error)"

        mock_reset
        spost "$front" "$P/cut-40-of-60" false "whole_$front"
        local text
        case $front in
        openai) text=$(jget "$(cat "$E2E_TMP/whole_$front.body")" choices.0.message.content) ;;
        anthropic) text=$(jget "$(cat "$E2E_TMP/whole_$front.body")" content.0.text) ;;
        ollama) text=$(jget "$(cat "$E2E_TMP/whole_$front.body")" message.content) ;;
        esac
        mock_requests >"$E2E_TMP/reqs.json"; rq_load
        check "faults_serve_${front}_whole_answer_restart" "200|$T60|[null]" \
            "$SCODE|$text|$(rq count-60 prefill)"
    done
    stop_serve
    start_serve "$CC" midstream_continue || return
    mock_reset
    spost openai "$P/cut-40-of-60" true cont
    S=$(sparse openai "$E2E_TMP/cont.body")
    mock_requests >"$E2E_TMP/reqs.json"; rq_load
    check faults_serve_openai_continue "200|$T60|true|null|[\"$T40\"]" \
        "$SCODE|$(jget "$S" text)|$(jget "$S" done)|$(jget "$S" error)|$(rq count-60 prefill)"
    stop_serve
}

# A fallback never crosses the privacy boundary: mockollama is local (the
# default locality of ollama), mockanthropic remote. Under route_local a
# sensitive request whose local target fails gets an error, never the cloud
# fallback; under redact the cloud fallback sees placeholders only, and the
# caller gets the values back.
group_privacy() {
    local C=$E2E_TMP/priv.yaml CR=$E2E_TMP/priv_redact.yaml
    local CARD="4111 1111 1111 1111"
    FB="mockollama/err-503: [$F/echo]" EXTRA="routing: {privacy: route_local}" fcfg "$C"
    FB="mockollama/err-503: [$F/echo]" EXTRA="routing: {privacy: redact}" fcfg "$CR"

    fask "$C" -m "mockollama/err-503" "hello world"
    check faults_privacy_plain_request_fails_over "0|$HELLO_F|3|1" \
        "$RC|$OUT|$(rq err-503 n)|$(rq echo n)"

    fask "$C" -m "mockollama/err-503" "my card $CARD"
    check faults_privacy_route_local_no_cloud_fallback "yes|3|0" \
        "$(is_err)|$(rq err-503 n)|$(rq echo n)"
    assert_match faults_privacy_route_local_error_named "$(lower "$ERR")" "503|overloaded"

    fask "$CR" -m "mockollama/err-503" "my card $CARD"
    check faults_privacy_redact_fallback_answers "0|1" "$RC|$(rq echo n)"
    local sent
    sent=$(py -c '
import json, sys
print("\n".join(json.dumps(r.get("body")) for r in json.load(open(sys.argv[1]))
                if r.get("dialect") == "anthropic"))' "$E2E_TMP/reqs.json")
    if [ -n "$sent" ] && [[ "$sent" != *"$CARD"* ]] && [[ "$sent" != *"4111"* ]]; then
        ok faults_privacy_redact_fallback_gets_placeholders
    else
        fail faults_privacy_redact_fallback_gets_placeholders "sent to the cloud fallback: $sent"
    fi
    assert_eq faults_privacy_redact_answer_restored "Hello from mock-anthropic. You said: my card $CARD" "$OUT"
}

# 15. a primary down for 3 s then recovering; requests every 100 ms through
# `llmux serve` (breaker state lives in one process): during the outage the
# primary sees only the attempts that open the breaker and the half-open
# probes; after recovery traffic is back on the primary within ~open_ms.
group_breaker() {
    local C=$E2E_TMP/brk.yaml
    RC=0 ELAPSED=0
    local OPEN=500 DOWN=3 EVERY=100 N=55 ATT=2 FAILS=2
    RETRY="{max_attempts: $ATT, base_ms: 20, max_ms: 100, deadline_ms: 5000, max_retry_after_ms: 3000}" \
        BRK="{failures: $FAILS, window_ms: 5000, open_ms: $OPEN, half_open_probes: 1}" \
        FB="$P/echo: [$F/echo]" fcfg "$C"
    start_serve "$C" breaker || return
    mock_reset
    local down
    down=$(curl -s --max-time 2 -X POST "$MOCK_URL/_mock/down" \
        -d "{\"seconds\": $DOWN, \"models\": [\"echo\"], \"dialects\": [\"openai\"]}")
    py - "$SERVE_URL" "$N" "$EVERY" >"$E2E_TMP/brk_client.json" <<'PY'
import json, sys, time, urllib.request, urllib.error
url, n, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) / 1000.0
body = json.dumps({"model": "mockopenai/echo",
                   "messages": [{"role": "user", "content": "hello world"}]}).encode()
out, t0 = [], time.time()
for i in range(n):
    d = t0 + i * every - time.time()
    if d > 0:
        time.sleep(d)
    r = {"t": time.time()}
    try:
        req = urllib.request.Request(url + "/v1/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            r["status"] = resp.status
            r["text"] = json.load(resp)["choices"][0]["message"]["content"]
    except urllib.error.HTTPError as e:
        r["status"], r["text"] = e.code, e.read().decode("utf-8", "replace")[:200]
    except Exception as e:
        r["status"], r["text"] = 0, str(e)[:200]
    out.append(r)
print(json.dumps(out))
PY
    stop_serve
    mock_requests >"$E2E_TMP/reqs.json"; rq_load
    local res
    res=$(py - "$E2E_TMP/brk_client.json" "$E2E_TMP/reqs.json" "$down" "$((OPEN + EVERY + 700))" <<'PY'
import json, sys
client = json.load(open(sys.argv[1]))
reqs = json.load(open(sys.argv[2]))
until = json.loads(sys.argv[3])["until"]
grace = int(sys.argv[4]) / 1000.0
prim = [r for r in reqs if r.get("dialect") == "openai" and r.get("model") == "echo"]
fb = [r for r in reqs if r.get("dialect") == "anthropic"]
bad = [c for c in client if c["status"] != 200]
out_client = [c for c in client if c["t"] < until]
prim_out = [r for r in prim if r["time"] < until]
rec = [r for r in prim if r["time"] >= until and r.get("status") == 200]
rec_ms = int((rec[0]["time"] - until) * 1000) if rec else -1
# once recovered (plus open_ms and one request interval), nothing goes to the fallback
late_fb = [r for r in fb if r["time"] > until + grace]
late_prim = [r for r in prim if r["time"] > until + grace and r.get("status") == 200]
print(json.dumps({"failed": len(bad), "first_failure": bad[0] if bad else None,
                  "outage_requests": len(out_client), "primary_during_outage": len(prim_out),
                  "fallback_total": len(fb), "recovery_ms": rec_ms,
                  "fallback_after_recovery": len(late_fb), "primary_after_recovery": len(late_prim),
                  "primary_total": len(prim)}))
PY
)
    echo "# breaker: $res"
    check faults_breaker_all_answered "0" "$(jget "$res" failed)"
    # without a breaker: every outage request would try the primary $ATT
    # times (~60 attempts); with it: the opening failures plus one probe
    # per open period (and its retry)
    local cap=$((FAILS * ATT + ATT * (DOWN * 1000 / OPEN + 2)))
    within faults_breaker_outage_primary_attempts "$(jget "$res" primary_during_outage)" 1 "$cap"
    within faults_breaker_outage_on_fallback "$(jget "$res" fallback_total)" 20 "$N"
    within faults_breaker_recovery_ms "$(jget "$res" recovery_ms)" 0 $((OPEN + EVERY + 700))
    check faults_breaker_back_on_primary "0" "$(jget "$res" fallback_after_recovery)"
    within faults_breaker_primary_serves_after_recovery "$(jget "$res" primary_after_recovery)" 5 "$N"
}

# ---------------------------------------------------------------------------
# run the groups in parallel (FAULTS_JOBS at a time, default 5; longest first), each with
# its own mock; FAULTS_GROUPS picks some ("midstream_a prefill")
# ---------------------------------------------------------------------------
FAULT_GROUPS_ALL="midstream_b prefill 4xx serve_midstream silent midstream_a retry_after breaker ratelimit 5xx reset timeouts privacy ledger"
RUN_GROUPS=${FAULTS_GROUPS:-$FAULT_GROUPS_ALL}
JOBS=${FAULTS_JOBS:-5}
declare -A GPID
running_groups() {
    local g n=0
    for g in "${!GPID[@]}"; do
        kill -0 "${GPID[$g]}" 2>/dev/null && n=$((n + 1))
    done
    echo "$n"
}
for g in $RUN_GROUPS; do
    while [ "$(running_groups)" -ge "$JOBS" ]; do sleep 0.1; done
    if ! start_mock; then
        fail "faults_${g}_mock" "the mock provider did not start"
        continue
    fi
    (
        E2E_TMP="$E2E_TMP/g_$g"
        mkdir -p "$E2E_TMP"
        cp "$(dirname "$E2E_TMP")/rq.py" "$(dirname "$E2E_TMP")/runner.py" "$E2E_TMP/"
        trap 'exit 143' TERM INT # so that the EXIT trap stops what the group started
        group_trap
        t0=$(now_ms)
        "group_$g"
        echo "# group $g done in $(($(now_ms) - t0)) ms"
    ) >"$E2E_TMP/group_$g.out" 2>&1 &
    GPID[$g]=$!
    track_pid "${GPID[$g]}"
done
for g in $RUN_GROUPS; do
    [ -n "${GPID[$g]:-}" ] || continue
    wait "${GPID[$g]}"
    out="$E2E_TMP/group_$g.out"
    grep -E '^(ok|not ok|skip) ' "$out"
    grep -E '^# ' "$out" >&2
    E2E_PASSED=$((E2E_PASSED + $(grep -c '^ok ' "$out")))
    E2E_FAILED=$((E2E_FAILED + $(grep -c '^not ok ' "$out")))
    E2E_SKIPPED=$((E2E_SKIPPED + $(grep -c '^skip ' "$out")))
    if ! grep -q "^# group $g done" "$out"; then
        fail "faults_group_$g" "stopped before its end: $(grep -Ev '^(ok|not ok|skip) ' "$out" | tail -3)"
    fi
done
finish
