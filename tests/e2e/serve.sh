#!/usr/bin/env bash
# serve.sh — `llmux serve` end to end: every endpoint, stream and not, each
# dialect in and another out, x-llmux-* headers, errors in each dialect's
# shape, the access log. Keys, limits and lifecycle: serve_keys.sh,
# serve_limits.sh, serve_lifecycle.sh.
source "$(dirname "$0")/lib.sh"

start_mock || { fail serve_mock "mock did not start"; finish; }
CFG="$E2E_TMP/serve.yaml"
write_config "$CFG" "ledger: {enabled: false}
aliases: {fast: mockopenai/echo}
catalogue:
  - {id: echo, context: 8192, max_output: 1024, features: [tools]}
server: {access_log: $E2E_TMP/access.log}"
# one provider that lists its models, so listings have something to show
sed -i "s|^  - name: mockollama|  - name: mocklisted\n    type: openai\n    base_url: $MOCK_URL/v1\n    api_key_env: MOCK_KEY\n    models: [echo, tools]\n  - name: mockollama|" "$CFG"

if ! start_serve "$CFG" --workers 2; then
    fail serve_start "$(cat "$SERVE_LOG" 2>/dev/null)"
    finish
fi
U=$SERVE_URL
assert_match serve_start_line "$(head -1 "$SERVE_LOG")" \
    'listening on http://127\.0\.0\.1:[0-9]+ \(2 workers, 0 keys; no keys configured: loopback only\)'

# req METHOD PATH [BODY] -> H (headers), B (body), S (status)
req() {
    local m=$1 p=$2 body=${3:-}
    local args=(-s -X "$m" -D "$E2E_TMP/h" -o "$E2E_TMP/b" -w '%{http_code}' --max-time 15)
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    S=$(curl "${args[@]}" "${EXTRA_CURL[@]}" "$U$p")
    H=$(tr -d '\r' <"$E2E_TMP/h")
    B=$(cat "$E2E_TMP/b")
}
EXTRA_CURL=()
hdr() { printf '%s\n' "$H" | grep -i "^$1:" | head -1 | sed 's/^[^:]*: *//'; }

# ---- health ---------------------------------------------------------------
req GET /healthz
assert_eq healthz "200 ok" "$S $(jget "$B" status)"
req GET /readyz
assert_eq readyz "200 ready" "$S $(jget "$B" status)"
req GET /metrics
assert_eq metrics_status 200 "$S"
assert_contains metrics_content_type "$(hdr content-type)" "text/plain"

# ---- OpenAI ---------------------------------------------------------------
req POST /v1/chat/completions '{"model":"mockopenai/echo","messages":[{"role":"user","content":"hello world"}]}'
assert_eq openai_status 200 "$S"
assert_eq openai_text "Hello from mock-openai. You said: hello world" "$(jget "$B" choices.0.message.content)"
assert_eq openai_usage "2 7" "$(jget "$B" usage.prompt_tokens) $(jget "$B" usage.completion_tokens)"
assert_eq openai_hdr_provider mockopenai "$(hdr x-llmux-provider)"
assert_eq openai_hdr_model echo "$(hdr x-llmux-model)"
assert_eq openai_hdr_target cloud "$(hdr x-llmux-target)"
assert_match openai_hdr_reason "$(hdr x-llmux-reason)" '.+'

req POST /v1/chat/completions '{"model":"mockopenai/echo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello world"}]}'
assert_eq openai_stream_status 200 "$S"
assert_contains openai_stream_ct "$(hdr content-type)" "text/event-stream"
assert_eq openai_stream_provider mockopenai "$(hdr x-llmux-provider)"
TEXT=$(printf '%s\n' "$B" | py -c '
import json, sys
out = ""
for line in sys.stdin:
    line = line.strip()
    if line.startswith("data: {"):
        d = json.loads(line[6:])
        for c in d.get("choices", []):
            out += c.get("delta", {}).get("content") or ""
print(out)')
assert_eq openai_stream_text "Hello from mock-openai. You said: hello world" "$TEXT"
assert_contains openai_stream_done "$B" "data: [DONE]"
assert_contains openai_stream_usage "$B" '"prompt_tokens":2'

req POST /v1/chat/completions '{"model":"mockopenai/tools","messages":[{"role":"user","content":"weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}'
assert_eq openai_tools "get_weather tool_calls" \
    "$(jget "$B" choices.0.message.tool_calls.0.function.name) $(jget "$B" choices.0.finish_reason)"
req POST /v1/chat/completions '{"model":"mockopenai/tools","stream":true,"messages":[{"role":"user","content":"weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}'
assert_contains openai_tools_stream "$B" '"name":"get_weather"'
assert_contains openai_tools_stream_finish "$B" '"finish_reason":"tool_calls"'

# the alias
req POST /v1/chat/completions '{"model":"fast","messages":[{"role":"user","content":"hi"}]}'
assert_eq alias_provider "200 mockopenai echo" "$S $(hdr x-llmux-provider) $(hdr x-llmux-model)"

# OpenAI in, Ollama out, streamed
mock_reset
req POST /v1/chat/completions '{"model":"mockollama/echo","stream":true,"messages":[{"role":"user","content":"hi there"}]}'
assert_contains openai_via_ollama_stream "$B" '"content":" there"'
assert_eq openai_via_ollama_upstream "ollama" "$(jget "$(mock_last)" dialect)"

req GET /v1/models
assert_eq models_status 200 "$S"
assert_contains models_auto "$B" '"id":"auto"'
assert_contains models_alias "$B" '"id":"fast"'
assert_contains models_listed "$B" '"id":"mocklisted/tools"'
assert_eq models_object list "$(jget "$B" object)"
EXTRA_CURL=(-H 'anthropic-version: 2023-06-01')
req GET /v1/models
EXTRA_CURL=()
assert_eq models_anthropic_shape "model false" "$(jget "$B" data.0.type) $(jget "$B" has_more)"

req POST /v1/embeddings '{"model":"mockgemini/echo","input":"hi"}'
assert_eq embeddings_status 501 "$S"
assert_match embeddings_says_why "$(jget "$B" error.message)" 'embeddings'

# ---- Anthropic ------------------------------------------------------------
mock_reset
req POST /v1/messages '{"model":"mockopenai/echo","max_tokens":100,"messages":[{"role":"user","content":"hello world"}]}'
assert_eq anthropic_via_openai "200 message Hello from mock-openai. You said: hello world" \
    "$S $(jget "$B" type) $(jget "$B" content.0.text)"
assert_eq anthropic_via_openai_upstream openai "$(jget "$(mock_last)" dialect)"

mock_reset
req POST /v1/messages '{"model":"mockgemini/echo","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hello world"}]}'
assert_eq anthropic_stream_via_gemini_status 200 "$S"
assert_eq anthropic_stream_via_gemini_upstream gemini "$(jget "$(mock_last)" dialect)"
assert_eq anthropic_stream_provider mockgemini "$(hdr x-llmux-provider)"
TEXT=$(printf '%s\n' "$B" | py -c '
import json, sys
out = ""
for line in sys.stdin:
    line = line.strip()
    if line.startswith("data: {"):
        d = json.loads(line[6:])
        if d.get("type") == "content_block_delta":
            out += d["delta"].get("text", "")
print(out)')
assert_eq anthropic_stream_text "Hello from mock-gemini. You said: hello world" "$TEXT"
assert_contains anthropic_stream_stop "$B" "event: message_stop"

req POST /v1/messages '{"model":"mockanthropic/tools","max_tokens":100,"messages":[{"role":"user","content":"weather?"}],"tools":[{"name":"get_weather","input_schema":{"type":"object"}}]}'
assert_eq anthropic_tools "tool_use get_weather tool_use" \
    "$(jget "$B" content.0.type) $(jget "$B" content.0.name) $(jget "$B" stop_reason)"

req POST /v1/messages/count_tokens '{"model":"mockopenai/echo","messages":[{"role":"user","content":"one two three four"}]}'
assert_eq count_tokens_status 200 "$S"
assert_match count_tokens_value "$(jget "$B" input_tokens)" '^[1-9][0-9]*$'

# ---- Ollama ---------------------------------------------------------------
mock_reset
req POST /api/chat '{"model":"mockanthropic/echo","stream":false,"messages":[{"role":"user","content":"hello world"}]}'
assert_eq ollama_chat_via_anthropic "200 Hello from mock-anthropic. You said: hello world true" \
    "$S $(jget "$B" message.content) $(jget "$B" done)"
assert_eq ollama_chat_via_anthropic_upstream anthropic "$(jget "$(mock_last)" dialect)"

req POST /api/chat '{"model":"mockopenai/echo","messages":[{"role":"user","content":"hello world"}]}'
assert_contains ollama_chat_stream_ct "$(hdr content-type)" "application/x-ndjson"
assert_eq ollama_chat_stream_last_done true "$(jget "$(printf '%s\n' "$B" | tail -1)" done)"
assert_eq ollama_chat_stream_lines 1 "$( [ "$(printf '%s\n' "$B" | wc -l)" -gt 3 ] && echo 1 || echo 0)"

req POST /api/generate '{"model":"mockopenai/echo","prompt":"hello world","stream":false}'
assert_eq ollama_generate "200 Hello from mock-openai. You said: hello world" "$S $(jget "$B" response)"
req POST /api/generate '{"model":"mockgemini/echo","prompt":"hello world"}'
assert_contains ollama_generate_stream "$B" '"response":" world"'
assert_eq ollama_generate_stream_done true "$(jget "$(printf '%s\n' "$B" | tail -1)" done)"

req GET /api/tags
assert_contains ollama_tags "$B" '"name":"mocklisted/echo"'
req GET /
assert_eq ollama_root "200 llmux is running" "$S $B"
req GET /api/ps
assert_eq ollama_ps "200 []" "$S $(jget "$B" models)"
req GET /api/version
assert_match ollama_version "$(jget "$B" version)" '^[0-9]+\.[0-9]+'
req POST /api/show '{"model":"mocklisted/echo"}'
assert_eq ollama_show "200 completion" "$S $(jget "$B" capabilities.0)"
req POST /api/show '{"model":"nosuch/model"}'
assert_eq ollama_show_unknown 404 "$S"

# ---- errors in each dialect's shape -----------------------------------------
req POST /v1/chat/completions '{"model":"nosuch/model","messages":[{"role":"user","content":"hi"}]}'
assert_eq unknown_model_openai "404 object" "$S $(jget "$B" error | py -c 'import json,sys; print(type(json.load(sys.stdin)).__name__.replace("dict","object"))')"
assert_match unknown_model_reason "$(hdr x-llmux-reason)" '.+'
req POST /v1/messages '{"model":"nosuch/model","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}'
assert_eq unknown_model_anthropic "404 error" "$S $(jget "$B" type)"
req POST /api/chat '{"model":"nosuch/model","messages":[{"role":"user","content":"hi"}]}'
assert_eq unknown_model_ollama 404 "$S"
assert_match unknown_model_ollama_shape "$(jget "$B" error)" '.+'

req POST /v1/chat/completions '{"model": "mockopenai/echo",
  "messages": [}'
assert_eq bad_json_status 400 "$S"
assert_match bad_json_names_position "$(jget "$B" error.message)" 'line 2'
req POST /v1/messages '{"model": nope}'
assert_eq bad_json_anthropic "400 error invalid_request_error" "$S $(jget "$B" type) $(jget "$B" error.type)"

req GET /v1/nothing
assert_eq unknown_path 404 "$S"
req GET /v1/chat/completions
assert_eq wrong_method 405 "$S"
EXTRA_CURL=(-H 'Content-Type: multipart/form-data')
S=$(curl -s -o /dev/null -w '%{http_code}' "${EXTRA_CURL[@]}" --data-binary '{}' "$U/v1/chat/completions")
EXTRA_CURL=()
assert_eq wrong_content_type 415 "$S"

# web pages: with no keys only loopback origins may drive the gateway
CHAT1='{"model":"mockopenai/echo","messages":[{"role":"user","content":"hi"}]}'
S=$(curl -s -o "$E2E_TMP/b" -w '%{http_code}' -H 'Origin: https://evil.example' "$U/v1/chat/completions" -d "$CHAT1")
assert_eq origin_foreign_refused 403 "$S"
assert_match origin_foreign_says_why "$(jget "$(cat "$E2E_TMP/b")" error.message)" 'evil\.example'
S=$(curl -s -o /dev/null -w '%{http_code}' -H 'Origin: null' -H 'Content-Type: text/plain' "$U/v1/chat/completions" -d "$CHAT1")
assert_eq origin_null_refused 403 "$S"
H=$(curl -s -D - -o /dev/null -H 'Origin: http://localhost:5173' "$U/v1/chat/completions" -d "$CHAT1" | tr -d '\r')
assert_contains origin_localhost_allowed "$H" "HTTP/1.1 200"
assert_contains origin_localhost_acao "$H" "Access-Control-Allow-Origin: http://localhost:5173"
H=$(curl -s -D - -o /dev/null -X OPTIONS -H 'Origin: http://127.0.0.1:3000' \
    -H 'Access-Control-Request-Method: POST' "$U/v1/chat/completions" | tr -d '\r')
assert_contains preflight_204 "$H" "HTTP/1.1 204"
assert_contains preflight_acao "$H" "Access-Control-Allow-Origin: http://127.0.0.1:3000"
assert_match preflight_headers "$H" 'Access-Control-Allow-Headers: .*authorization.*content-type'
S=$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: https://evil.example' "$U/v1/chat/completions")
assert_eq preflight_foreign_refused 403 "$S"

# request ids: the caller's is echoed and logged; otherwise one is made
H=$(curl -s -D - -o /dev/null -H 'x-request-id: trace-abc-123' "$U/healthz" | tr -d '\r')
assert_contains request_id_echoed "$H" "x-request-id: trace-abc-123"
H=$(curl -s -D - -o /dev/null "$U/healthz" | tr -d '\r')
assert_match request_id_made "$H" 'x-request-id: [0-9a-f]{16}'
H=$(curl -s -D - -o /dev/null -H 'x-request-id: bad id"' "$U/healthz" | tr -d '\r')
assert_not_contains request_id_unsafe_replaced "$H" 'bad id'

# upstream failure maps through: a provider 429 comes back as 429 with Retry-After
req POST /v1/chat/completions '{"model":"mockopenai/fault-429","messages":[{"role":"user","content":"hi"}]}'
assert_eq upstream_429 429 "$S"
assert_match upstream_429_retry_after "$(hdr retry-after)" '^[0-9]+$'

# ---- the embedded engine (when the small model is there) ---------------------
MODEL=$(ls "$REPO_ROOT"/../shared/models/stories260K/stories260K.gguf 2>/dev/null | head -1)
if [ -n "$MODEL" ]; then
    LCFG="$E2E_TMP/local.yaml"
    cat >"$LCFG" <<EOF
ledger: {enabled: false}
server: {access_log: "off"}
providers:
  - name: local
    type: local
    model: $MODEL
EOF
    SAVED_URL=$U SAVED_PID=$SERVE_PID SAVED_LOG=$SERVE_LOG
    if start_serve "$LCFG" --workers 1; then
        U=$SERVE_URL
        req POST /v1/chat/completions '{"model":"local/stories260K.gguf","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"Once upon a time"}]}'
        assert_eq local_stream "200 local" "$S $(hdr x-llmux-target)"
        assert_contains local_stream_done "$B" "data: [DONE]"
        req POST /api/generate '{"model":"local/stories260K.gguf","prompt":"Once","stream":false,"options":{"num_predict":8}}'
        assert_eq local_generate "200 true" "$S $(jget "$B" done)"
        stop_serve
    else
        fail local_start "$(tail -3 "$SERVE_LOG")"
    fi
    U=$SAVED_URL SERVE_PID=$SAVED_PID SERVE_LOG=$SAVED_LOG
else
    skip local_stream "no stories260K model under ../shared/models"
fi

# ---- access log --------------------------------------------------------------
LINE=$(grep '"path":"/v1/chat/completions"' "$E2E_TMP/access.log" | grep '"provider":"mockopenai"' | head -1)
assert_match access_log_fields "$LINE" '"ts":"[0-9T:.-]+Z".*"front":"openai".*"status":200.*"target":"cloud".*"provider":"mockopenai".*"model":"echo".*"tokens_in":2,"tokens_out":7.*"ttft_ms":[0-9]+.*"overhead_us":[0-9]+.*"latency_ms":[0-9]+'
assert_contains access_log_request_id "$(cat "$E2E_TMP/access.log")" '"id":"trace-abc-123"'
assert_not_contains access_log_no_prompt "$(cat "$E2E_TMP/access.log")" "hello world"
assert_eq access_log_valid_json 0 "$(py -c '
import json, sys
bad = 0
for l in open(sys.argv[1]):
    try: json.loads(l)
    except Exception: bad += 1
print(bad)' "$E2E_TMP/access.log")"

stop_serve
assert_eq serve_sigterm_exit 0 "$SERVE_RC"
assert_serve_clean serve_sanitizers
finish
