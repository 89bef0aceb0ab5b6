#!/usr/bin/env bash
# ask.sh — end-to-end tests of `llmux ask` against the mock provider, for each
# of the four remote dialects (mockopenai, mockanthropic, mockgemini,
# mockollama): streamed and whole answers, --json with exact usage, options
# reaching the provider, auth, tools, stdin context, faults, incremental
# output; plus usage/config errors; and the routing that every ask goes
# through: -m auto, -H headers, the --json "route" object, fallback, and
# privacy applied to an explicit remote model (kept local, or refused).
#
# Expected text: "Hello from mock-<dialect>. You said: <prompt>"; usage counts
# words (tests/mock/README.md): "hello world" -> input 2, output 7.
. "$(dirname "$0")/lib.sh"

if ! have python3 || ! have curl; then
    skip ask "python3 and curl are needed"
    finish
fi
if [ ! -x "$LLMUX_BIN" ]; then
    fail ask_binary "no llmux binary at $LLMUX_BIN"
    finish
fi
if ! start_mock; then
    fail ask_mock "the mock provider did not start"
    finish
fi

CFG="$E2E_TMP/llmux.yaml"
write_config "$CFG"
PROVIDERS="mockopenai mockanthropic mockgemini mockollama"
FAULT_CFG="$E2E_TMP/faults.yaml"
write_config "$FAULT_CFG"
sed -i 's/^    num_ctx: 4096$/    num_ctx: 4096\n    locality: remote/' "$FAULT_CFG"
ALL_OUTPUT="$E2E_TMP/all_output"
: >"$ALL_OUTPUT"

# ask ARGS...: one `llmux ask` with the mock config and a clean request log;
# LAST = the last request the mock received (JSON), NREQ = how many.
ask() {
    mock_reset
    run_llmux ask --config "$CFG" "$@"
    cat "$OUT_FILE" "$ERR_FILE" >>"$ALL_OUTPUT"
    LAST=$(mock_last)
    NREQ=$(py -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$(mock_requests)")
}

# summary DIALECT REQUEST_JSON: what reached the provider, dialect-neutral:
# {system, user, max_tokens, max_completion_tokens, temperature, stream,
#  include_usage, num_ctx, tools, auth, version}
summary() {
    py - "$1" "$2" "$MOCK_KEY" <<'PY'
import json, sys
d, req, key = sys.argv[1], json.loads(sys.argv[2] or "{}"), sys.argv[3]
b = req.get("body") if isinstance(req.get("body"), dict) else {}
h = req.get("headers") or {}
q = req.get("query") or {}
def text(c):
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return "".join(p.get("text", "") for p in c if isinstance(p, dict))
    return ""
s = {"system": None, "user": None, "max_tokens": None, "max_completion_tokens": None,
     "temperature": None, "stream": None, "include_usage": None, "num_ctx": None,
     "tools": None, "auth": "missing", "version": None, "path": req.get("path")}
msgs = b.get("messages") or []
if d in ("openai", "ollama"):
    sm = [m for m in msgs if m.get("role") in ("system", "developer")]
    if sm:
        s["system"] = text(sm[0].get("content"))
        s["system_first"] = msgs[0] is sm[0]
    um = [m for m in msgs if m.get("role") == "user"]
    s["user"] = text(um[-1].get("content")) if um else None
if d == "openai":
    s["max_tokens"] = b.get("max_tokens")
    s["max_completion_tokens"] = b.get("max_completion_tokens")
    s["temperature"] = b.get("temperature")
    s["stream"] = b.get("stream") is True
    s["include_usage"] = (b.get("stream_options") or {}).get("include_usage")
    s["tools"] = [t["function"]["name"] for t in b.get("tools") or []
                  if t.get("type") == "function" and "parameters" in t.get("function", {})]
    s["auth"] = "ok" if h.get("authorization") == "Bearer " + key else "bad"
elif d == "anthropic":
    s["system"] = text(b.get("system")) if "system" in b else None
    um = [m for m in msgs if m.get("role") == "user"]
    s["user"] = text(um[-1].get("content")) if um else None
    s["max_tokens"] = b.get("max_tokens")
    s["temperature"] = b.get("temperature")
    s["stream"] = b.get("stream") is True
    s["tools"] = [t["name"] for t in b.get("tools") or [] if "input_schema" in t]
    s["auth"] = "ok" if key in (h.get("x-api-key"), h.get("authorization", "")[7:]) else "bad"
    s["version"] = h.get("anthropic-version")
elif d == "gemini":
    si = b.get("systemInstruction") or b.get("system_instruction")
    s["system"] = text((si or {}).get("parts")) if si else None
    um = [c for c in b.get("contents") or [] if c.get("role", "user") == "user"]
    s["user"] = text(um[-1].get("parts")) if um else None
    gc = b.get("generationConfig") or {}
    s["max_tokens"] = gc.get("maxOutputTokens")
    s["temperature"] = gc.get("temperature")
    p = req.get("path") or ""
    s["stream"] = p.endswith(":streamGenerateContent") and q.get("alt") == "sse"
    s["tools"] = [f["name"] for t in b.get("tools") or []
                  for f in t.get("functionDeclarations") or t.get("function_declarations") or []]
    s["auth"] = "ok" if key in (h.get("x-goog-api-key"), q.get("key")) else "bad"
else:
    o = b.get("options") or {}
    s["max_tokens"] = o.get("num_predict")
    s["temperature"] = o.get("temperature")
    s["num_ctx"] = o.get("num_ctx")
    s["stream"] = b.get("stream") is not False
    s["tools"] = [t["function"]["name"] for t in b.get("tools") or []]
    s["auth"] = "none" if "authorization" not in h else "sent"
if not s["tools"]:
    s["tools"] = None
print(json.dumps(s))
PY
}

# json_summary: the `ask --json` object on stdout, checked for its shape
# and reduced to comparable strings.
json_field() { jget "$OUT" "$1"; }
tool_lines() { # stdout "tool call: NAME ARGS" lines -> [[name, args-object], ...]
    py -c '
import json, sys
out = []
for line in sys.stdin.read().splitlines():
    if line.startswith("tool call: "):
        name, _, args = line[len("tool call: "):].partition(" ")
        try:
            out.append([name, json.loads(args)])
        except ValueError:
            out.append([name, "UNPARSED:" + args])
print(json.dumps(out, separators=(",", ":")))' <"$OUT_FILE"
}
json_tool_calls() { # --json tool_calls -> [[name, args-object, id-or-null], ...]
    py -c '
import json, sys
o = json.loads(sys.stdin.read())
out = []
for t in o["tool_calls"]:
    a = t["arguments"]
    out.append([t["name"], json.loads(a) if isinstance(a, str) else "NOT-A-STRING", t.get("id")])
print(json.dumps(out, separators=(",", ":")))' <"$OUT_FILE" 2>/dev/null || echo "invalid --json output"
}
stderr_lines() { grep -c '' "$ERR_FILE"; }
exact_stdout() { cat "$OUT_FILE"; printf '|'; } # keeps the trailing newline visible

TOOLS_WANT='[["get_weather",{"city":"Paris"}],["get_time",{"tz":"CET"}]]'

for P in $PROVIDERS; do
    D=${P#mock}
    WANT="Hello from mock-$D. You said: hello world"

    # --- plain streamed answer --------------------------------------------
    ask -m "$P/echo" "hello world"
    if [ "$RC" -ne 0 ]; then
        assert_rc "ask_${D}_plain" 0
    else
        assert_eq "ask_${D}_plain" "$WANT"$'\n|' "$(exact_stdout)"
    fi
    S=$(summary "$D" "$LAST")
    assert_eq "ask_${D}_plain_streamed_request" "true" "$(jget "$S" stream)"
    assert_eq "ask_${D}_plain_one_request" "1" "$NREQ"
    case $D in
    openai) assert_eq "ask_${D}_include_usage" "true" "$(jget "$S" include_usage)" ;;
    ollama) assert_eq "ask_${D}_num_ctx" "4096" "$(jget "$S" num_ctx)" ;;
    esac

    # --- auth headers -----------------------------------------------------
    case $D in
    ollama) assert_eq "ask_${D}_no_auth_header" "none" "$(jget "$S" auth)" ;;
    anthropic)
        assert_eq "ask_${D}_auth" "ok" "$(jget "$S" auth)"
        assert_match "ask_${D}_version_header" "$(jget "$S" version)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' ;;
    *) assert_eq "ask_${D}_auth" "ok" "$(jget "$S" auth)" ;;
    esac

    # --- --no-stream ------------------------------------------------------
    ask -m "$P/echo" --no-stream "hello world"
    if [ "$RC" -ne 0 ]; then
        assert_rc "ask_${D}_no_stream" 0
    else
        assert_eq "ask_${D}_no_stream" "$WANT"$'\n|' "$(exact_stdout)"
    fi
    assert_eq "ask_${D}_no_stream_request" "false" "$(jget "$(summary "$D" "$LAST")" stream)"

    # --- --json, streamed and not ------------------------------------------
    for mode in stream no-stream; do
        extra=()
        [ "$mode" = no-stream ] && extra=(--no-stream)
        ask -m "$P/echo" --json "${extra[@]}" "hello world"
        n="ask_${D}_json_${mode//-/_}"
        if [ "$RC" -ne 0 ] || ! jget "$OUT" provider >/dev/null; then
            fail "$n" "exit $RC, stdout not a JSON object: $OUT; stderr: $ERR"
            continue
        fi
        assert_eq "${n}_provider_model" "$P echo" "$(json_field provider) $(json_field model)"
        assert_eq "${n}_text" "$WANT" "$(json_field text)"
        assert_eq "${n}_finish" "stop" "$(json_field finish)"
        assert_eq "${n}_tool_calls" "[]" "$(json_field tool_calls)"
        assert_eq "${n}_usage" "input=2 cache_read=0 cache_write=0 output=7 reasoning=0" \
            "input=$(json_field usage.input) cache_read=$(json_field usage.cache_read) cache_write=$(json_field usage.cache_write) output=$(json_field usage.output) reasoning=$(json_field usage.reasoning)"
        assert_match "${n}_timing" "$(json_field ttft_ms) $(json_field latency_ms)" '^[0-9.]+ [0-9.]+$'
    done

    # --- --system, --max-tokens, --temperature reach the provider ----------
    ask -m "$P/echo" --system "Be brief." --max-tokens 50 --temperature 0.25 "hello world"
    assert_rc "ask_${D}_options_exit" 0
    S=$(summary "$D" "$LAST")
    assert_eq "ask_${D}_system" "Be brief." "$(jget "$S" system)"
    case $D in
    openai)
        assert_eq "ask_${D}_system_first" "true" "$(jget "$S" system_first)"
        assert_eq "ask_${D}_max_completion_tokens" "50" "$(jget "$S" max_completion_tokens)" ;;
    ollama)
        assert_eq "ask_${D}_system_first" "true" "$(jget "$S" system_first)"
        assert_eq "ask_${D}_num_predict" "50" "$(jget "$S" max_tokens)"
        assert_eq "ask_${D}_num_ctx_with_options" "4096" "$(jget "$S" num_ctx)" ;;
    *) assert_eq "ask_${D}_max_tokens" "50" "$(jget "$S" max_tokens)" ;;
    esac
    assert_eq "ask_${D}_temperature" "0.25" "$(jget "$S" temperature)"
    assert_eq "ask_${D}_user_text" "hello world" "$(jget "$S" user)"
    # input now counts "Be brief." too: 2 + 2 words
    ask -m "$P/echo" --system "Be brief." --json "hello world"
    assert_eq "ask_${D}_system_usage" "4" "$(json_field usage.input)"

    # --- tools ------------------------------------------------------------
    ask -m "$P/tools" --tools "$FIXTURES/tools.json" "What is the weather in Paris?"
    assert_rc "ask_${D}_tools_exit" 0
    assert_eq "ask_${D}_tools_printed" "$TOOLS_WANT" "$(tool_lines)"
    assert_eq "ask_${D}_tools_sent" '["get_weather","get_time"]' "$(jget "$(summary "$D" "$LAST")" tools)"
    ask -m "$P/tools" --tools "$FIXTURES/tools.json" --json "What is the weather in Paris?"
    TC=$(json_tool_calls)
    case $D in
    openai) ids='"call_mock_1"\],\["get_time",\{"tz":"CET"\},"call_mock_2"' ;;
    anthropic) ids='"toolu_mock_1"\],\["get_time",\{"tz":"CET"\},"toolu_mock_2"' ;;
    *) ids='(null|"[^"]*")\],\["get_time",\{"tz":"CET"\},(null|"[^"]*")' ;;
    esac
    assert_match "ask_${D}_tools_json" "$TC" "^\[\[\"get_weather\",\{\"city\":\"Paris\"\},$ids\]\]$"
    assert_eq "ask_${D}_tools_json_finish" "tool_calls" "$(json_field finish)"
    assert_eq "ask_${D}_tools_json_usage" "10" "$(json_field usage.output)"

    # --- stdin appended as context -----------------------------------------
    printf 'line one\nline two\n' >"$E2E_TMP/stdin.txt"
    RUN_STDIN="$E2E_TMP/stdin.txt" ask -m "$P/echo" "Summarize this:"
    assert_rc "ask_${D}_stdin_exit" 0
    assert_match "ask_${D}_stdin_context" "$(jget "$(summary "$D" "$LAST")" user | head -c 200 | tr '\n' '~')" \
        '^Summarize this:~~line one~line two~?$'
    assert_contains "ask_${D}_stdin_echoed" "$OUT" "line two"

    # --- reasoning stays out of the text ------------------------------------
    ask -m "$P/think" --json "hello world"
    assert_eq "ask_${D}_think_text" "$WANT" "$(json_field text)"
    case $D in
    openai | gemini) assert_eq "ask_${D}_think_reasoning_tokens" "6" "$(json_field usage.reasoning)" ;;
    esac

    # --- incremental streaming: first word long before the end ---------------
    T=$(stream_timing "$E2E_TMP/slow.out" timeout -k 2 20 "$LLMUX_BIN" ask --config "$CFG" -m "$P/slow-300" "hello world")
    read -r first end rc <<<"$T"
    if [ "$rc" -ne 0 ]; then
        fail "ask_${D}_incremental" "exit $rc"
    elif [ "$first" -lt 0 ] || [ $((end - first)) -lt 1200 ]; then
        fail "ask_${D}_incremental" "first output at ${first} ms, exit at ${end} ms: not streamed"
    else
        ok "ask_${D}_incremental"
    fi
    assert_eq "ask_${D}_incremental_text" "$WANT" "$(cat "$E2E_TMP/slow.out")"

    # --- wrong key: 401, key never shown -------------------------------------
    if [ "$D" != ollama ]; then
        MOCK_KEY=sk-wrong-key-0123456789 ask -m "$P/echo" "hello world"
        assert_rc "ask_${D}_bad_key_exit" 1
        assert_contains "ask_${D}_bad_key_status" "$ERR" "401"
        assert_not_contains "ask_${D}_bad_key_not_printed" "$OUT$ERR" "sk-wrong-key-0123456789"
    fi

    # --- faults: exit 1, one line "llmux: <provider>: ..." -------------------
    # (FAULT_CFG: every provider remote, so no built-in fallback to the other
    # side answers in place of the failing one; fallbacks have their own
    # cases below)
    for F in 401 429 500 503 malformed reset stall no-terminator midstream-error \
        reset-headers stall-first context-length content-policy \
        no-stream:malformed no-stream:reset no-stream:stall; do
        n="ask_${D}_fault_${F//[-:]/_}"
        extra=()
        case $F in no-stream:*) extra=(--no-stream); F=${F#no-stream:} ;; esac
        t0=$(now_ms)
        CFG=$FAULT_CFG RUN_TIMEOUT=40 ask -m "$P/fault-$F" "${extra[@]}" "hello world"
        t1=$(now_ms)
        if [ "$RC" -ne 1 ]; then
            assert_rc "$n" 1
            continue
        fi
        if [ "$(stderr_lines)" -ne 1 ]; then
            fail "$n" "stderr should be one line, got $(stderr_lines): $ERR"
            continue
        fi
        case "$ERR" in
        "llmux: $P: "*) ;;
        *) fail "$n" "stderr should start with 'llmux: $P: ': $ERR"; continue ;;
        esac
        why=""
        case $F in
        401 | 429 | 500 | 503) printf '%s' "$ERR" | grep -q "$F" || why="no HTTP status $F in: $ERR" ;;
        context-length | content-policy) printf '%s' "$ERR" | grep -q "400" || why="no HTTP status 400 in: $ERR" ;;
        stall | stall-first)
            printf '%s' "$ERR" | grep -qi "timeout\|timed out" || why="no 'timeout' in: $ERR"
            [ $((t1 - t0)) -lt 10000 ] || why="took $((t1 - t0)) ms (idle timeout is 1.5 s) $why" ;;
        reset | reset-headers) printf '%s' "$ERR" | grep -Eqi "stream|connection|reset" || why="cut stream not mentioned: $ERR" ;;
        no-terminator) printf '%s' "$ERR" | grep -qi "ended before" || why="no 'ended before' in: $ERR" ;;
        midstream-error)
            case $D in
            openai) pat="server had an error" ;;
            ollama) pat="model runner" ;;
            *) pat="overloaded" ;;
            esac
            printf '%s' "$ERR" | grep -qi "$pat" || why="provider message '$pat' missing: $ERR" ;;
        esac
        if [ -n "$why" ]; then fail "$n" "$why"; else ok "$n"; fi
        if [ "$F" = stall ] && [ ${#extra[@]} -eq 0 ]; then
            # llmux gave up: the mock must see the connection go away
            mock_wait stream.client_disconnected true 5
            assert_eq "ask_${D}_stall_connection_closed" "2 true" \
                "$(jget "$(mock_last)" stream.chunks_written) $(jget "$(mock_last)" stream.client_disconnected)"
        fi
    done
done

# --- provider-independent cases ---------------------------------------------
ask "hello world"
assert_eq ask_default_model "Hello from mock-openai. You said: hello world" "$OUT"

ask -m nosuch/echo "hello world"
assert_rc ask_unknown_provider 2
assert_contains ask_unknown_provider_named "$ERR" "nosuch"

run_llmux ask --config "$FIXTURES/bad_config.yaml" -m mockopenai/echo "hello world"
assert_rc ask_bad_config_exit 2
assert_match ask_bad_config_position "$ERR" 'bad_config\.yaml:[0-9]+:[0-9]+'

printf 'providers:\n  - name: x\n    type: [openai\n' >"$E2E_TMP/syntax.yaml"
run_llmux ask --config "$E2E_TMP/syntax.yaml" -m x/echo "hello world"
assert_rc ask_config_syntax_exit 2
assert_match ask_config_syntax_position "$ERR" 'syntax\.yaml:[0-9]+:[0-9]+'

run_llmux ask --config "$E2E_TMP/does-not-exist.yaml" -m mockopenai/echo "hello world"
assert_rc ask_missing_config 2

run_llmux ask --help
assert_rc ask_help 0
assert_match ask_help_text "$OUT" '(-m|--model)'

run_llmux ask --config "$CFG" -m mockopenai/echo
assert_rc ask_no_prompt 2

# Ctrl-C in the middle of a stream: exit 130 at once, and the upstream
# connection is dropped (the mock sees the client go away, well before the
# answer's 12 chunks are all written).
mock_reset
timeout 20 "$LLMUX_BIN" ask --config "$CFG" -m mockopenai/slow-400 \
    "one two three four five six seven eight nine ten" </dev/null >/dev/null 2>"$E2E_TMP/int.err" &
ask_pid=$!
if mock_wait stream.chunks_written 2 5; then
    kill -INT "$ask_pid"
    wait "$ask_pid"
    RC=$?
    OUT=""
    ERR=$(cat "$E2E_TMP/int.err")
    assert_rc ask_sigint_exit 130
    if mock_wait stream.client_disconnected true 3; then
        ok ask_sigint_cancels_upstream
    else
        fail ask_sigint_cancels_upstream "mock did not see the client go away: $(mock_last)"
    fi
    chunks=$(jget "$(mock_last)" stream.chunks_written)
    [ "${chunks:-99}" -lt 8 ] && ok ask_sigint_stops_early || fail ask_sigint_stops_early "$chunks chunks written"
else
    kill "$ask_pid" 2>/dev/null
    fail ask_sigint_exit "stream never started: $(mock_last)"
fi

# --- every ask goes through the router and the dispatcher ---------------------
# RCFG: the mock config with a local provider that lists a model, so the
# router has a local target (mockollama/echo) and a cloud one (mockopenai/echo).
RCFG="$E2E_TMP/route.yaml"
write_config "$RCFG"
sed -i 's/^    num_ctx: 4096$/    num_ctx: 4096\n    models: [echo, err-500]/' "$RCFG"
openai_hits() { # requests the mock got in the OpenAI dialect
    local n
    n=$(jget "$(mock_stats)" dialects.openai)
    echo "${n:-0}"
}

CFG=$RCFG ask -m auto --json "hello world"
assert_rc ask_auto_exit 0
assert_eq ask_auto_local "local mockollama echo" \
    "$(json_field route.target) $(json_field route.provider) $(json_field route.model)"
assert_eq ask_auto_text "Hello from mock-ollama. You said: hello world" "$(json_field text)"
assert_match ask_auto_reason "$(json_field route.reason)" '.+'
assert_eq ask_auto_attempts "mockollama echo ok" \
    "$(json_field route.attempts.0.provider) $(json_field route.attempts.0.model) $(json_field route.attempts.0.status)"

CFG=$RCFG ask -m auto "hello world"
assert_eq ask_auto_streamed "Hello from mock-ollama. You said: hello world" "$OUT"

CFG=$RCFG ask -m mockopenai/echo --json "hello world"
assert_eq ask_json_route "cloud mockopenai echo send [] ok" \
    "$(json_field route.target) $(json_field route.provider) $(json_field route.model) $(json_field route.action) $(json_field route.privacy) $(json_field route.status)"
assert_match ask_json_route_bytes_out "$(json_field route.bytes_out)" '^[1-9][0-9]*$'

CFG=$RCFG ask -m auto -H 'X-LLMux-Target: cloud' --json "hello world"
assert_eq ask_header_routes "cloud mockopenai" "$(json_field route.target) $(json_field route.provider)"
run_llmux ask --config "$RCFG" -H 'no colon here' "hello world"
assert_rc ask_bad_header 2

# a local target that fails: the built-in local -> cloud fallback answers,
# and the answer names who answered and every attempt
CFG=$RCFG ask -m mockollama/err-500 --json "hello world"
assert_rc ask_fallback_exit 0
assert_eq ask_fallback_answered_by "mockopenai echo" "$(json_field provider) $(json_field model)"
assert_eq ask_fallback_first_attempt "mockollama err-500 500" \
    "$(json_field route.attempts.0.provider) $(json_field route.attempts.0.model) $(json_field route.attempts.0.http_status)"

# privacy applies to an explicit remote model too: route_local keeps it here
SECRET="please email john.doe@acme-corp.com about it"
CFG=$RCFG ask -m mockopenai/echo --json "$SECRET"
assert_rc ask_sensitive_exit 0
assert_eq ask_sensitive_stays_local "local mockollama [\"EMAIL\"]" \
    "$(json_field route.target) $(json_field route.provider) $(json_field route.privacy)"
assert_eq ask_sensitive_no_remote_call "0" "$(openai_hits)"

# ... and with nothing local to take it, the request is refused, not sent
CFG=$FAULT_CFG ask -m mockopenai/echo "$SECRET"
assert_rc ask_sensitive_no_local_exit 1
assert_eq ask_sensitive_no_local_nothing_sent "0" "$(jget "$(mock_stats)" total)"
assert_eq ask_sensitive_no_local_one_line "1" "$(stderr_lines)"
assert_contains ask_sensitive_no_local_says_why "$ERR" "EMAIL"

# privacy: block refuses with the plan's message, exit 1
BCFG="$E2E_TMP/block.yaml"
write_config "$BCFG" "routing: {privacy: block}"
CFG=$BCFG ask -m mockopenai/echo "$SECRET"
assert_rc ask_block_exit 1
assert_eq ask_block_nothing_sent "0" "$(jget "$(mock_stats)" total)"
assert_contains ask_block_names_type "$ERR" "EMAIL"
assert_eq ask_block_one_line "1" "$(stderr_lines)"

# The proxy variables are honoured (libcurl reads them; llmux only skips the
# lookup when none is set at start): a host that does not resolve is reached
# through the mock acting as the HTTP proxy, and fails without it.
PCFG="$E2E_TMP/proxy.yaml"
sed "s#$MOCK_URL/v1\$#http://llmux-proxy-test.invalid/v1#" "$CFG" >"$PCFG"
mock_reset
http_proxy="$MOCK_URL" HTTP_PROXY="" run_llmux ask --config "$PCFG" -m mockopenai/echo "via proxy"
assert_rc ask_proxy_env_exit 0
assert_contains ask_proxy_env_answer "$OUT" "You said: via proxy"
env -u http_proxy -u HTTP_PROXY -u all_proxy -u ALL_PROXY \
    "$LLMUX_BIN" ask --config "$PCFG" -m mockopenai/echo "no proxy" >/dev/null 2>"$E2E_TMP/noproxy.err"
if grep -q "resolve" "$E2E_TMP/noproxy.err"; then ok ask_no_proxy_cannot_resolve; else
    fail ask_no_proxy_cannot_resolve "$(cat "$E2E_TMP/noproxy.err")"; fi

# The key was never printed, whatever happened above.
if grep -qF -- "$MOCK_KEY" "$ALL_OUTPUT"; then
    fail ask_key_never_printed "$MOCK_KEY appears in llmux output"
else
    ok ask_key_never_printed
fi
finish
