#!/usr/bin/env bash
# mock_selftest.sh — drives tests/mock/mock_provider.py directly with curl, so
# that failures elsewhere can be blamed on llmux and not on the mock: each
# dialect plain and streamed (text, usage, terminator), auth, validation,
# tool calls, faults, the control API.
. "$(dirname "$0")/lib.sh"

if ! have curl || ! have python3; then
    skip mock_selftest "curl and python3 are needed"
    finish
fi
if ! start_mock; then
    fail mock_start "the mock did not come up"
    finish
fi
U=$MOCK_URL
K=$MOCK_KEY

# post NAME URL BODY [curl args...]: body to $E2E_TMP/NAME.body, status to CODE
post() {
    local name=$1 url=$2 body=$3
    shift 3
    CODE=$(curl -sN --max-time 10 -o "$E2E_TMP/$name.body" -D "$E2E_TMP/$name.hdr" \
        -w '%{http_code}' "$@" -H 'Content-Type: application/json' --data-binary "$body" "$url")
    CURL_RC=$?
    BODY=$(cat "$E2E_TMP/$name.body" 2>/dev/null)
}

# parse DIALECT FILE: decodes a response (stream or not) and prints one JSON
# line {text, thinking, tools:[[name,args]], terminated, usage, errors, bad}
parse() {
    py - "$1" "$2" <<'PY'
import json, sys
d, path = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read().decode("utf-8", "replace")
r = {"text": "", "thinking": "", "tools": [], "terminated": False, "usage": None,
     "errors": [], "bad": 0, "ids": []}
def events():
    if d == "ollama":
        for line in raw.split("\n"):
            if line.strip():
                yield None, line
        return
    if raw.lstrip().startswith("{"):
        yield None, raw
        return
    if d == "gemini" and raw.lstrip().startswith("["):
        try:
            for o in json.loads(raw):
                yield None, json.dumps(o)
        except ValueError:
            r["bad"] += 1
        return
    for block in raw.split("\n\n"):
        ev, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                ev = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            yield ev, "\n".join(data)
args = {}
for ev, data in events():
    if data == "[DONE]":
        r["terminated"] = True
        continue
    try:
        o = json.loads(data)
    except ValueError:
        r["bad"] += 1
        continue
    if "error" in o and d != "anthropic" or o.get("type") == "error":
        r["errors"].append(o["error"])
        continue
    if d == "openai":
        if o.get("object") == "chat.completion":
            m = o["choices"][0]["message"]
            r["text"] = m.get("content") or ""
            r["thinking"] = m.get("reasoning_content") or ""
            r["tools"] = [[t["function"]["name"], json.loads(t["function"]["arguments"])]
                          for t in m.get("tool_calls") or []]
            r["ids"] = [t["id"] for t in m.get("tool_calls") or []]
            r["usage"] = o["usage"]
            r["terminated"] = True
            continue
        if o.get("usage"):
            r["usage"] = o["usage"]
        for c in o.get("choices") or []:
            dl = c.get("delta") or {}
            r["text"] += dl.get("content") or ""
            r["thinking"] += dl.get("reasoning_content") or ""
            for t in dl.get("tool_calls") or []:
                a = args.setdefault(t["index"], ["", ""])
                if t.get("id"):
                    r["ids"].append(t["id"])
                f = t.get("function") or {}
                a[0] += f.get("name") or ""
                a[1] += f.get("arguments") or ""
    elif d == "anthropic":
        t = o.get("type")
        if t == "message":
            for b in o["content"]:
                if b["type"] == "text":
                    r["text"] += b["text"]
                elif b["type"] == "thinking":
                    r["thinking"] += b["thinking"]
                elif b["type"] == "tool_use":
                    r["tools"].append([b["name"], b["input"]])
                    r["ids"].append(b["id"])
            r["usage"] = o["usage"]
            r["terminated"] = True
        elif t == "message_start":
            r["usage"] = dict(o["message"]["usage"])
        elif t == "content_block_start" and o["content_block"]["type"] == "tool_use":
            args[o["index"]] = [o["content_block"]["name"], ""]
            r["ids"].append(o["content_block"]["id"])
        elif t == "content_block_delta":
            dl = o["delta"]
            if dl["type"] == "text_delta":
                r["text"] += dl["text"]
            elif dl["type"] == "thinking_delta":
                r["thinking"] += dl["thinking"]
            elif dl["type"] == "input_json_delta":
                args[o["index"]][1] += dl["partial_json"]
        elif t == "message_delta":
            r["usage"]["output_tokens"] = o["usage"]["output_tokens"]
        elif t == "message_stop":
            r["terminated"] = True
    elif d == "gemini":
        for c in o.get("candidates") or []:
            for p in c.get("content", {}).get("parts") or []:
                if "functionCall" in p:
                    r["tools"].append([p["functionCall"]["name"], p["functionCall"]["args"]])
                elif p.get("thought"):
                    r["thinking"] += p.get("text", "")
                else:
                    r["text"] += p.get("text", "")
            if c.get("finishReason"):
                r["terminated"] = True
        if o.get("usageMetadata"):
            r["usage"] = o["usageMetadata"]
    else:
        m = o.get("message") or {}
        r["text"] += m.get("content") or o.get("response") or ""
        r["thinking"] += m.get("thinking") or o.get("thinking") or ""
        for t in m.get("tool_calls") or []:
            r["tools"].append([t["function"]["name"], t["function"]["arguments"]])
        if o.get("done"):
            r["terminated"] = True
            r["usage"] = {k: o[k] for k in ("prompt_eval_count", "eval_count") if k in o}
for k in sorted(args):
    name, a = args[k]
    try:
        r["tools"].append([name, json.loads(a)])
    except ValueError:
        r["tools"].append([name, "BAD:" + a])
print(json.dumps(r))
PY
}

OA=(-H "Authorization: Bearer $K")
AN=(-H "x-api-key: $K" -H "anthropic-version: 2023-06-01")
GE=(-H "x-goog-api-key: $K")
MSG='[{"role":"user","content":"hello mock world"}]'

# dialect -> url, headers, body for model M, stream flag S
req() { # DIALECT MODEL STREAM(true|false) -> sets URL BODYJSON HDRS
    local d=$1 m=$2 s=$3
    case $d in
    openai)
        URL=$U/v1/chat/completions; HDRS=("${OA[@]}")
        BODYJSON="{\"model\":\"$m\",\"stream\":$s,$( [ "$s" = true ] && echo '"stream_options":{"include_usage":true},')\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"hello mock world\"}]}" ;;
    anthropic)
        URL=$U/v1/messages; HDRS=("${AN[@]}")
        BODYJSON="{\"model\":\"$m\",\"max_tokens\":64,\"stream\":$s,\"system\":\"be brief\",\"messages\":$MSG}" ;;
    gemini)
        if [ "$s" = true ]; then URL="$U/v1beta/models/$m:streamGenerateContent?alt=sse"
        else URL="$U/v1beta/models/$m:generateContent"; fi
        HDRS=("${GE[@]}")
        BODYJSON='{"systemInstruction":{"parts":[{"text":"be brief"}]},"contents":[{"role":"user","parts":[{"text":"hello mock world"}]}]}' ;;
    ollama)
        URL=$U/api/chat; HDRS=()
        BODYJSON="{\"model\":\"$m\",\"stream\":$s,\"options\":{\"num_ctx\":4096},\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"hello mock world\"}]}" ;;
    esac
}

# usage_io DIALECT PARSED -> "IN OUT"
usage_io() {
    local u
    u=$(jget "$2" usage) || { echo "none"; return; }
    case $1 in
    openai) echo "$(jget "$u" prompt_tokens) $(jget "$u" completion_tokens)" ;;
    anthropic) echo "$(jget "$u" input_tokens) $(jget "$u" output_tokens)" ;;
    gemini) echo "$(jget "$u" promptTokenCount) $(jget "$u" candidatesTokenCount)" ;;
    ollama) echo "$(jget "$u" prompt_eval_count) $(jget "$u" eval_count)" ;;
    esac
}

for d in openai anthropic gemini ollama; do
    want="Hello from mock-$d. You said: hello mock world"
    for s in false true; do
        tag=$([ "$s" = true ] && echo stream || echo plain)
        req "$d" echo "$s"
        post "$d-$tag" "$URL" "$BODYJSON" "${HDRS[@]}"
        if [ "$CODE" != 200 ]; then
            fail "mock_${d}_${tag}" "HTTP $CODE: $BODY"
            continue
        fi
        P=$(parse "$d" "$E2E_TMP/$d-$tag.body")
        assert_eq "mock_${d}_${tag}_text" "$want" "$(jget "$P" text)"
        assert_eq "mock_${d}_${tag}_terminated" "true" "$(jget "$P" terminated)"
        # input: "be brief" + "hello mock world" = 5 words; output: 8 words
        assert_eq "mock_${d}_${tag}_usage" "5 8" "$(usage_io "$d" "$P")"
        if [ "$s" = true ]; then
            ct=$(grep -i '^content-type:' "$E2E_TMP/$d-$tag.hdr" | tr -d '\r')
            te=$(grep -i '^transfer-encoding:' "$E2E_TMP/$d-$tag.hdr" | tr -d '\r')
            case $d in
            ollama) assert_contains "mock_${d}_stream_ctype" "$ct" "application/x-ndjson" ;;
            *) assert_contains "mock_${d}_stream_ctype" "$ct" "text/event-stream" ;;
            esac
            assert_contains "mock_${d}_stream_chunked" "$te" "chunked"
        fi
    done

    # tools, streamed: two calls with the right arguments
    req "$d" tools true
    post "$d-tools" "$URL" "$BODYJSON" "${HDRS[@]}"
    P=$(parse "$d" "$E2E_TMP/$d-tools.body")
    assert_eq "mock_${d}_tools" '[["get_weather",{"city":"Paris"}],["get_time",{"tz":"CET"}]]' "$(jget "$P" tools)"
    case $d in
    openai) assert_eq "mock_${d}_tool_ids" '["call_mock_1","call_mock_2"]' "$(jget "$P" ids)" ;;
    anthropic) assert_eq "mock_${d}_tool_ids" '["toolu_mock_1","toolu_mock_2"]' "$(jget "$P" ids)" ;;
    esac
    # tools, not streamed
    req "$d" tools false
    post "$d-tools-plain" "$URL" "$BODYJSON" "${HDRS[@]}"
    P=$(parse "$d" "$E2E_TMP/$d-tools-plain.body")
    assert_eq "mock_${d}_tools_plain" '[["get_weather",{"city":"Paris"}],["get_time",{"tz":"CET"}]]' "$(jget "$P" tools)"

    # think: reasoning first, then the answer
    req "$d" think true
    post "$d-think" "$URL" "$BODYJSON" "${HDRS[@]}"
    P=$(parse "$d" "$E2E_TMP/$d-think.body")
    assert_eq "mock_${d}_think" "Let me think step by step.|$want" "$(jget "$P" thinking)|$(jget "$P" text)"

    # faults
    req "$d" fault-429 false
    post "$d-429" "$URL" "$BODYJSON" "${HDRS[@]}"
    ra=$(grep -i '^retry-after:' "$E2E_TMP/$d-429.hdr" | tr -d '\r')
    assert_eq "mock_${d}_fault_429" "429 Retry-After: 1" "$CODE $ra"
    req "$d" fault-no-terminator true
    post "$d-noterm" "$URL" "$BODYJSON" "${HDRS[@]}"
    P=$(parse "$d" "$E2E_TMP/$d-noterm.body")
    assert_eq "mock_${d}_fault_no_terminator" "$CODE $CURL_RC false" "200 0 $(jget "$P" terminated)"
    req "$d" fault-midstream-error true
    post "$d-mid" "$URL" "$BODYJSON" "${HDRS[@]}"
    P=$(parse "$d" "$E2E_TMP/$d-mid.body")
    assert_eq "mock_${d}_fault_midstream" "1 false Hello from" \
        "$(jget "$P" errors | py -c 'import json,sys; print(len(json.load(sys.stdin)))') $(jget "$P" terminated) $(jget "$P" text)"
    req "$d" fault-malformed true
    post "$d-malformed" "$URL" "$BODYJSON" "${HDRS[@]}"
    P=$(parse "$d" "$E2E_TMP/$d-malformed.body")
    assert_eq "mock_${d}_fault_malformed" "200 1" "$CODE $(jget "$P" bad)"
    req "$d" fault-reset true
    post "$d-reset" "$URL" "$BODYJSON" "${HDRS[@]}"
    assert_eq "mock_${d}_fault_reset" "56" "$CURL_RC"
    req "$d" fault-context-length false
    post "$d-ctx" "$URL" "$BODYJSON" "${HDRS[@]}"
    assert_eq "mock_${d}_fault_context_length" "400" "$CODE"
done

# Error shapes: auth and validation
post oa-401 "$U/v1/chat/completions" '{"model":"echo","messages":[]}' -H "Authorization: Bearer wrong"
assert_eq mock_openai_401 "401 invalid_api_key" "$CODE $(jget "$BODY" error.code)"
post an-401 "$U/v1/messages" '{}' -H "x-api-key: wrong" -H "anthropic-version: 2023-06-01"
assert_eq mock_anthropic_401 "401 authentication_error" "$CODE $(jget "$BODY" error.type)"
post an-bearer "$U/v1/messages" "{\"model\":\"echo\",\"max_tokens\":9,\"messages\":$MSG}" \
    -H "Authorization: Bearer $K" -H "anthropic-version: 2023-06-01"
assert_eq mock_anthropic_bearer_ok "200" "$CODE"
post an-nover "$U/v1/messages" "{\"model\":\"echo\",\"max_tokens\":9,\"messages\":$MSG}" -H "x-api-key: $K"
assert_eq mock_anthropic_needs_version "400 invalid_request_error" "$CODE $(jget "$BODY" error.type)"
post an-nomax "$U/v1/messages" "{\"model\":\"echo\",\"messages\":$MSG}" "${AN[@]}"
assert_contains mock_anthropic_needs_max_tokens "$CODE $(jget "$BODY" error.message)" "400 max_tokens"
post an-sysrole "$U/v1/messages" '{"model":"echo","max_tokens":9,"messages":[{"role":"system","content":"x"}]}' "${AN[@]}"
assert_eq mock_anthropic_rejects_system_role "400" "$CODE"
post ge-401 "$U/v1beta/models/echo:generateContent" '{"contents":[{"parts":[{"text":"x"}]}]}'
assert_eq mock_gemini_401 "401 UNAUTHENTICATED" "$CODE $(jget "$BODY" error.status)"
post ge-qkey "$U/v1beta/models/echo:generateContent?key=$K" '{"contents":[{"parts":[{"text":"x"}]}]}'
assert_eq mock_gemini_query_key "200" "$CODE"
post oa-badjson "$U/v1/chat/completions" '{"model": "echo", "messages": [' "${OA[@]}"
assert_eq mock_openai_malformed_json "400 invalid_request_error" "$CODE $(jget "$BODY" error.type)"
post oa-so "$U/v1/chat/completions" "{\"model\":\"echo\",\"stream_options\":{\"include_usage\":true},\"messages\":$MSG}" "${OA[@]}"
assert_eq mock_openai_stream_options_needs_stream "400" "$CODE"
post ol-nomodel "$U/api/chat" "{\"messages\":$MSG}"
assert_eq mock_ollama_needs_model "400 model is required" "$CODE $(jget "$BODY" error)"
post ol-gen "$U/api/generate" '{"model":"echo","prompt":"hi there","stream":false}'
assert_eq mock_ollama_generate "Hello from mock-ollama. You said: hi there" "$(jget "$BODY" response)"
post ge-array "$U/v1beta/models/echo:streamGenerateContent" '{"contents":[{"parts":[{"text":"x y"}]}]}' "${GE[@]}"
P=$(parse gemini "$E2E_TMP/ge-array.body")
assert_eq mock_gemini_json_array_stream "Hello from mock-gemini. You said: x y" "$(jget "$P" text)"

# Listing endpoints
assert_eq mock_openai_models "echo" "$(jget "$(curl -s "${OA[@]}" "$U/v1/models")" data.0.id)"
assert_eq mock_anthropic_models "echo" "$(jget "$(curl -s "${AN[@]}" "$U/v1/models")" data.0.id)"
assert_eq mock_gemini_models "models/echo" "$(jget "$(curl -s "${GE[@]}" "$U/v1beta/models")" models.0.name)"
assert_eq mock_ollama_tags "echo:latest" "$(jget "$(curl -s "$U/api/tags")" models.0.name)"
assert_match mock_ollama_version "$(curl -s "$U/api/version")" '"version"'

# flaky-2: two 503 then 200; the counter is per model name and reset clears it
codes=""
for i in 1 2 3; do
    post flaky "$U/v1/chat/completions" "{\"model\":\"flaky-2\",\"messages\":$MSG}" "${OA[@]}"
    codes="$codes$CODE "
done
assert_eq mock_flaky "503 503 200 " "$codes"

# Stall: the mock keeps quiet after 2 chunks and notices the client leaving
req openai fault-stall true
t0=$(now_ms)
post stall "$URL" "$BODYJSON" "${HDRS[@]}" --max-time 1
t1=$(now_ms)
assert_eq mock_stall_client_timeout "28" "$CURL_RC"
mock_wait stream.client_disconnected true 5
L=$(mock_last)
assert_eq mock_stall_recorded "2 true" "$(jget "$L" stream.chunks_written) $(jget "$L" stream.client_disconnected)"
[ $((t1 - t0)) -lt 3000 ] && ok mock_stall_elapsed || fail mock_stall_elapsed "$((t1 - t0)) ms"

# Reset before any response: curl sees the connection drop with no status
post rsthdr "$U/v1/chat/completions" "{\"model\":\"fault-reset-headers\",\"messages\":$MSG}" "${OA[@]}"
assert_match mock_reset_headers "$CURL_RC $CODE" '^(52|56) 000$'

# Slow streams pace the chunks; an early disconnect is recorded
t0=$(now_ms)
post slow "$U/api/chat" "{\"model\":\"slow-200\",\"messages\":$MSG}"
t1=$(now_ms)
[ $((t1 - t0)) -ge 1400 ] && ok mock_slow_paced || fail mock_slow_paced "$((t1 - t0)) ms for 9 lines at 200 ms"
post slowcut "$U/api/chat" "{\"model\":\"slow-300\",\"messages\":$MSG}" --max-time 0.8
mock_wait stream.client_disconnected true 5
L=$(mock_last)
assert_eq mock_disconnect_recorded "true false" "$(jget "$L" stream.client_disconnected) $(jget "$L" stream.completed)"

# Control API: the log holds headers (lower-cased) and the parsed body
L=$(mock_requests)
assert_eq mock_log_headers "Bearer $K" "$(jget "$L" 0.headers.authorization)"
assert_eq mock_log_body "echo" "$(jget "$L" 0.body.model)"
S=$(mock_stats)
assert_match mock_stats "$(jget "$S" models.echo)" '^[0-9]+$'
mock_reset
assert_eq mock_reset_clears "[]" "$(mock_requests)"
post flaky2 "$U/v1/chat/completions" "{\"model\":\"flaky-2\",\"messages\":$MSG}" "${OA[@]}"
assert_eq mock_reset_clears_flaky "503" "$CODE"

# cache-<n>: cached input reported the dialect's way
post cache-oa "$U/v1/chat/completions" "{\"model\":\"cache-2\",\"messages\":$MSG}" "${OA[@]}"
assert_eq mock_cache_openai "3 2" "$(jget "$BODY" usage.prompt_tokens) $(jget "$BODY" usage.prompt_tokens_details.cached_tokens)"
post cache-an "$U/v1/messages" "{\"model\":\"cache-2\",\"max_tokens\":9,\"messages\":$MSG}" "${AN[@]}"
assert_eq mock_cache_anthropic "1 2" "$(jget "$BODY" usage.input_tokens) $(jget "$BODY" usage.cache_read_input_tokens)"

# A conversation ending with tool results gets a text answer, even from "tools"
post toolres "$U/v1/chat/completions" '{"model":"tools","messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_mock_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_mock_1","content":"sunny"}]}' "${OA[@]}"
assert_eq mock_tool_results_answer "Hello from mock-openai. Tool results: sunny" "$(jget "$BODY" choices.0.message.content)"
post toolres-an "$U/v1/messages" '{"model":"tools","max_tokens":9,"messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_mock_1","name":"get_weather","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_mock_1","content":"sunny"}]}]}' "${AN[@]}"
assert_eq mock_tool_results_answer_anthropic "Hello from mock-anthropic. Tool results: sunny" "$(jget "$BODY" content.0.text)"

# Content policy and first-byte stall
post policy "$U/v1/chat/completions" "{\"model\":\"fault-content-policy\",\"messages\":$MSG}" "${OA[@]}"
assert_eq mock_content_policy "400 content_policy_violation" "$CODE $(jget "$BODY" error.code)"
post stallfirst "$U/api/chat" "{\"model\":\"fault-stall-first\",\"messages\":$MSG}" --max-time 1
assert_eq mock_stall_first "28 000" "$CURL_RC $CODE"

# /api/generate streamed
post gen-stream "$U/api/generate" '{"model":"echo","prompt":"hi there"}'
P=$(parse ollama "$E2E_TMP/gen-stream.body")
assert_eq mock_ollama_generate_stream "Hello from mock-ollama. You said: hi there|true" "$(jget "$P" text)|$(jget "$P" terminated)"

# keep-alive: two requests over one connection
n=$(curl -sv "$U/api/version" "$U/api/version" 2>&1 | grep -c 'Re-using existing connection')
[ "$n" -ge 1 ] && ok mock_keepalive || fail mock_keepalive "connection not reused"

# ---- reliability scenarios (tests/e2e/faults.sh) ---------------------------
# count-<n>: "t1 ... tn", output n; after an assistant prefill, what follows it
post count "$U/v1/chat/completions" "{\"model\":\"count-5\",\"messages\":$MSG}" "${OA[@]}"
assert_eq mock_count "t1 t2 t3 t4 t5 5" "$(jget "$BODY" choices.0.message.content) $(jget "$BODY" usage.completion_tokens)"
post count-pre "$U/v1/messages" '{"model":"count-5","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"go on"},{"role":"assistant","content":"t1 t2 t3"}]}' "${AN[@]}"
P=$(parse anthropic "$E2E_TMP/count-pre.body")
assert_eq mock_count_prefill_continues "| t4 t5|true|5 2" \
    "|$(jget "$P" text)|$(jget "$P" terminated)|$(jget "$P" usage.input_tokens) $(jget "$P" usage.output_tokens)"
assert_eq mock_prefill_logged "t1 t2 t3" "$(jget "$(mock_last)" prefill)"
post count-ws "$U/v1/messages" '{"model":"count-5","max_tokens":9,"messages":[{"role":"user","content":"go on"},{"role":"assistant","content":"t1 "}]}' "${AN[@]}"
assert_contains mock_anthropic_prefill_trailing_space "$CODE $(jget "$BODY" error.message)" "400 messages: final assistant content cannot end with trailing whitespace"
for d in openai anthropic gemini ollama; do
    # cut: 2 of 5 tokens, then the connection closes mid-body (curl 18)
    req "$d" cut-2-of-5 true
    post "$d-cut" "$URL" "$BODYJSON" "${HDRS[@]}"
    P=$(parse "$d" "$E2E_TMP/$d-cut.body")
    assert_eq "mock_${d}_cut_k_of_n" "18 t1 t2 false" "$CURL_RC $(jget "$P" text) $(jget "$P" terminated)"
    # noterm: 2 of 5 tokens, then a clean end of the body without terminator
    req "$d" noterm-2-of-5 true
    post "$d-nt" "$URL" "$BODYJSON" "${HDRS[@]}"
    P=$(parse "$d" "$E2E_TMP/$d-nt.body")
    assert_eq "mock_${d}_noterm_k_of_n" "0 t1 t2 false" "$CURL_RC $(jget "$P" text) $(jget "$P" terminated)"
    # malformed: one bad frame after token 2, then the rest
    req "$d" malformed-2-of-5 true
    post "$d-mf" "$URL" "$BODYJSON" "${HDRS[@]}"
    P=$(parse "$d" "$E2E_TMP/$d-mf.body")
    assert_eq "mock_${d}_malformed_k_of_n" "1 t1 t2 t3 t4 t5" "$(jget "$P" bad) $(jget "$P" text)"
    # every dialect rejects a prefill on prefill-reject
    case $d in
    openai) b='{"model":"prefill-reject","messages":[{"role":"user","content":"x"},{"role":"assistant","content":"t1"}]}' ;;
    anthropic) b='{"model":"prefill-reject","max_tokens":9,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"t1"}]}' ;;
    gemini) b='{"contents":[{"role":"user","parts":[{"text":"x"}]},{"role":"model","parts":[{"text":"t1"}]}]}' ;;
    ollama) b='{"model":"prefill-reject","stream":false,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"t1"}]}' ;;
    esac
    url=$URL
    [ "$d" = gemini ] && url="$U/v1beta/models/prefill-reject:generateContent"
    post "$d-pr" "$url" "$b" "${HDRS[@]}"
    assert_eq "mock_${d}_prefill_reject" "400" "$CODE"
done
post cut-plain "$U/v1/chat/completions" "{\"model\":\"cut-2-of-5\",\"messages\":$MSG}" "${OA[@]}"
assert_eq mock_cut_whole_body "18 200" "$CURL_RC $CODE"
post noterm-plain "$U/v1/chat/completions" "{\"model\":\"noterm-2-of-5\",\"messages\":$MSG}" "${OA[@]}"
assert_eq mock_noterm_whole_body "0 200 no" "$CURL_RC $CODE $(jget "$BODY" id >/dev/null && echo yes || echo no)"
post pr-ok "$U/v1/chat/completions" "{\"model\":\"prefill-reject-3\",\"messages\":$MSG}" "${OA[@]}"
assert_eq mock_prefill_reject_without_prefill "200 t1 t2 t3" "$CODE $(jget "$BODY" choices.0.message.content)"

# stall-<k>-of-<n>: k tokens, then silence until the client leaves
req openai stall-2-of-5 true
post stallk "$URL" "$BODYJSON" "${HDRS[@]}" --max-time 0.6
mock_wait stream.client_disconnected true 5
assert_eq mock_stall_k_of_n "28 3 true" "$CURL_RC $(jget "$(mock_last)" stream.chunks_written) $(jget "$(mock_last)" stream.client_disconnected)"

# retry-after-<s>: 429 with Retry-After once, then success; -date-: HTTP date
codes=""
for i in 1 2; do
    post ra "$U/v1/chat/completions" "{\"model\":\"retry-after-1\",\"messages\":$MSG}" "${OA[@]}"
    codes+="$CODE:$(grep -i '^retry-after:' "$E2E_TMP/ra.hdr" | tr -d '\r' | cut -d' ' -f2) "
done
assert_eq mock_retry_after_seconds "429:1 200: " "$codes"
post rad "$U/v1/chat/completions" "{\"model\":\"retry-after-date-2\",\"messages\":$MSG}" "${OA[@]}"
ra=$(grep -i '^retry-after:' "$E2E_TMP/rad.hdr" | tr -d '\r' | cut -d' ' -f2-)
delta=$(py -c 'import email.utils, sys, time; print(int(email.utils.parsedate_to_datetime(sys.argv[1]).timestamp() - time.time()))' "$ra" 2>/dev/null)
assert_match mock_retry_after_date "$CODE $delta" '^429 [12]$'
# times-<n>-<scenario>, err-<code>
codes=""
for i in 1 2 3; do
    post t2 "$U/v1/chat/completions" "{\"model\":\"times-2-err-500\",\"messages\":$MSG}" "${OA[@]}"
    codes+="$CODE "
done
assert_eq mock_times_n "500 500 200 " "$codes"
post e429 "$U/v1/chat/completions" "{\"model\":\"err-429\",\"messages\":$MSG}" "${OA[@]}"
assert_eq mock_err_429_no_retry_after "429 rate_limit_exceeded 0" \
    "$CODE $(jget "$BODY" error.code) $(grep -ci '^retry-after:' "$E2E_TMP/e429.hdr")"
post e503 "$U/v1/messages" "{\"model\":\"err-503\",\"max_tokens\":9,\"messages\":$MSG}" "${AN[@]}"
assert_eq mock_err_503_anthropic "503 overloaded_error" "$CODE $(jget "$BODY" error.type)"
post treset "$U/v1/chat/completions" "{\"model\":\"times-1-fault-reset-headers\",\"messages\":$MSG}" "${OA[@]}"
r1="$CURL_RC"
post treset "$U/v1/chat/completions" "{\"model\":\"times-1-fault-reset-headers\",\"messages\":$MSG}" "${OA[@]}"
assert_match mock_times_reset "$r1 $CODE" '^(52|56) 200$'

# slow-first-<ms>: headers at once, the first token after ms; no-response
t0=$(now_ms)
T=$(stream_timing "$E2E_TMP/sf.out" curl -sN --max-time 5 -H "Authorization: Bearer $K" \
    -H 'Content-Type: application/json' --data-binary "{\"model\":\"slow-first-500\",\"stream\":true,\"messages\":$MSG}" "$U/v1/chat/completions")
read -r first end rc <<<"$T"
if [ "$rc" -eq 0 ] && [ "$first" -ge 450 ] && [ "$first" -lt 2500 ]; then ok mock_slow_first; else fail mock_slow_first "$T"; fi
post sfcut "$U/v1/chat/completions" "{\"model\":\"slow-first-20000\",\"stream\":true,\"messages\":$MSG}" "${OA[@]}" --max-time 0.5
mock_wait stream.client_disconnected true 5
assert_eq mock_slow_first_abandoned "28 0 true" "$CURL_RC $(jget "$(mock_last)" stream.chunks_written) $(jget "$(mock_last)" stream.client_disconnected)"
post nores "$U/v1/chat/completions" "{\"model\":\"no-response\",\"messages\":$MSG}" "${OA[@]}" --max-time 0.5
assert_eq mock_no_response "28 000" "$CURL_RC $CODE"
post cl "$U/v1/chat/completions" "{\"model\":\"context-length\",\"messages\":$MSG}" "${OA[@]}"
assert_eq mock_context_length_alias "400 context_length_exceeded" "$CODE $(jget "$BODY" error.code)"
post cp "$U/v1/messages" "{\"model\":\"content-policy\",\"max_tokens\":9,\"messages\":$MSG}" "${AN[@]}"
assert_eq mock_content_policy_alias "400 Output blocked by content filtering policy" "$CODE $(jget "$BODY" error.message)"

# outages: POST /_mock/down (scoped by dialect and model), down-until-<ms>
mock_reset
D=$(curl -s -X POST "$U/_mock/down" -d '{"seconds": 0.8, "dialects": ["openai"], "models": ["echo"]}')
assert_eq mock_down_set "true" "$(jget "$D" down)"
post dn1 "$U/v1/chat/completions" "{\"model\":\"echo\",\"messages\":$MSG}" "${OA[@]}"
c1=$CODE
post dn2 "$U/v1/chat/completions" "{\"model\":\"count-2\",\"messages\":$MSG}" "${OA[@]}"
c2=$CODE
post dn3 "$U/v1/messages" "{\"model\":\"echo\",\"max_tokens\":9,\"messages\":$MSG}" "${AN[@]}"
assert_eq mock_down_scoped "503 200 200" "$c1 $c2 $CODE"
sleep 0.9
post dn4 "$U/v1/chat/completions" "{\"model\":\"echo\",\"messages\":$MSG}" "${OA[@]}"
assert_eq mock_down_recovers "200 false" "$CODE $(jget "$(curl -s "$U/_mock/down")" down)"
curl -s -X POST "$U/_mock/down" -d '{"seconds": 5, "status": "reset"}' >/dev/null
post dn5 "$U/api/chat" "{\"model\":\"echo\",\"messages\":$MSG}"
r5=$CURL_RC
curl -s -X POST "$U/_mock/up" >/dev/null
post dn6 "$U/api/chat" "{\"model\":\"echo\",\"stream\":false,\"messages\":$MSG}"
assert_match mock_down_reset_then_up "$r5 $CODE" '^(52|56) 200$'
assert_eq mock_down_bad_body "400" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/_mock/down" -d '{"seconds": "x"}')"
until_ms=$(($(now_ms) + 600))
post du1 "$U/v1/chat/completions" "{\"model\":\"down-until-$until_ms\",\"messages\":$MSG}" "${OA[@]}"
c1=$CODE
sleep 0.7
post du2 "$U/v1/chat/completions" "{\"model\":\"down-until-$until_ms\",\"messages\":$MSG}" "${OA[@]}"
assert_eq mock_down_until "503 200" "$c1 $CODE"
# stats: per model, the statuses the attempts got
S=$(mock_stats)
assert_eq mock_stats_by_model "2 1 1" \
    "$(jget "$S" by_model.down-until-$until_ms.n) $(jget "$S" by_model.down-until-$until_ms.status.503) $(jget "$S" by_model.down-until-$until_ms.status.200)"
assert_eq mock_stats_by_model_none "1" "$(jget "$S" by_model.echo.status.none)"

curl -s -X POST "$U/_mock/shutdown" >/dev/null
sleep 0.5
if kill -0 "$MOCK_PID" 2>/dev/null; then fail mock_shutdown "still running"; else ok mock_shutdown; fi

# --close-delimited: streams end by closing the connection, no chunked framing
if start_mock --close-delimited; then
    post closed "$MOCK_URL/v1/chat/completions" "{\"model\":\"echo\",\"stream\":true,\"messages\":$MSG}" -H "Authorization: Bearer $MOCK_KEY"
    P=$(parse openai "$E2E_TMP/closed.body")
    hdr=$(tr -d '\r' <"$E2E_TMP/closed.hdr" | tr 'A-Z' 'a-z')
    te=no
    case $hdr in *transfer-encoding*) te=yes ;; esac
    assert_eq mock_close_delimited "Hello from mock-openai. You said: hello mock world true te=no" \
        "$(jget "$P" text) $(jget "$P" terminated) te=$te"
else
    fail mock_close_delimited "second mock did not start"
fi
finish
