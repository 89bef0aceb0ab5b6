#!/usr/bin/env bash
# serve_keys.sh — virtual keys: 401 in each dialect's shape, the three ways
# to present a key, allowed models, per-key concurrency, and the loopback
# rule when no key is configured.
source "$(dirname "$0")/lib.sh"

start_mock || { fail serve_keys_mock "mock did not start"; finish; }
KEY_A="llmux-test-key-a-7f3e9b"
KEY_B="llmux-test-key-b-21c0d4"
export TEAM_B_KEY=$KEY_B
SHA_A=$(printf '%s' "$KEY_A" | sha256sum | cut -d' ' -f1)
CFG="$E2E_TMP/keys.yaml"
write_config "$CFG" "ledger: {enabled: false}
server: {access_log: $E2E_TMP/access.log}
keys:
  - id: team-a
    sha256: $SHA_A
  - id: team-b
    key_env: TEAM_B_KEY
    models: [mockanthropic/*, mockopenai/echo]
    limits: {concurrency: 1}"
if ! start_serve "$CFG" --workers 2; then
    fail serve_keys_start "$(cat "$SERVE_LOG")"
    finish
fi
U=$SERVE_URL
assert_match keys_start_line "$(head -1 "$SERVE_LOG")" '\(2 workers, 2 keys\)'

code() { curl -s -o "$E2E_TMP/b" -w '%{http_code}' --max-time 15 "$@"; }
CHAT='{"model":"mockopenai/echo","messages":[{"role":"user","content":"hi"}]}'
MSG='{"model":"mockopenai/echo","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}'

# missing key: 401 in each dialect's shape
S=$(code "$U/v1/chat/completions" -d "$CHAT")
assert_eq missing_key_openai "401 object" "$S $(py -c 'import json,sys; print("object" if isinstance(json.load(open(sys.argv[1]))["error"], dict) else "x")' "$E2E_TMP/b")"
S=$(code "$U/v1/messages" -d "$MSG")
B=$(cat "$E2E_TMP/b")
assert_eq missing_key_anthropic "401 error authentication_error" "$S $(jget "$B" type) $(jget "$B" error.type)"
S=$(code "$U/api/chat" -d "$CHAT")
B=$(cat "$E2E_TMP/b")
assert_eq missing_key_ollama 401 "$S"
assert_match missing_key_ollama_shape "$(jget "$B" error)" 'API key'
S=$(code "$U/v1/chat/completions" -H "Authorization: Bearer wrong-key" -d "$CHAT")
B=$(cat "$E2E_TMP/b")
assert_eq bad_key_openai 401 "$S"
assert_not_contains bad_key_not_echoed "$B" "wrong-key"
S=$(code "$U/v1/models")
assert_eq models_need_key 401 "$S"

# health and version need no key
assert_eq healthz_no_key 200 "$(code "$U/healthz")"
assert_eq version_no_key 200 "$(code "$U/api/version")"

# the three ways to present a key
assert_eq key_bearer 200 "$(code "$U/v1/chat/completions" -H "Authorization: Bearer $KEY_A" -d "$CHAT")"
assert_eq key_x_api_key 200 "$(code "$U/v1/messages" -H "x-api-key: $KEY_A" -d "$MSG")"
assert_eq key_goog 200 "$(code "$U/api/chat" -H "x-goog-api-key: $KEY_B" -d '{"model":"mockopenai/echo","stream":false,"messages":[{"role":"user","content":"hi"}]}')"

# a client that sends two headers: any matching one is enough
assert_eq key_second_header 200 "$(code "$U/v1/messages" -H "Authorization: Bearer stale-token" -H "x-api-key: $KEY_A" -d "$MSG")"

# allowed models: team-b may use mockanthropic/* and mockopenai/echo only
S=$(code "$U/v1/chat/completions" -H "Authorization: Bearer $KEY_B" \
    -d '{"model":"mockanthropic/echo","messages":[{"role":"user","content":"hi"}]}')
assert_eq allowed_wildcard 200 "$S"
S=$(code "$U/v1/chat/completions" -H "Authorization: Bearer $KEY_B" \
    -d '{"model":"mockgemini/echo","messages":[{"role":"user","content":"hi"}]}')
B=$(cat "$E2E_TMP/b")
assert_match not_allowed_model "$S" '^(403|404)$'
assert_match not_allowed_says_why "$(jget "$B" error.message)" 'team-b|not allowed|allowed'
S=$(code "$U/v1/models" -H "Authorization: Bearer $KEY_B")
B=$(cat "$E2E_TMP/b")
assert_not_contains models_filtered_by_key "$B" '"id":"auto"'

# with keys, any web origin may call (it needs a key anyway)
H=$(curl -s -D - -o /dev/null -H 'Origin: https://app.example.com' -H "Authorization: Bearer $KEY_A" \
    "$U/v1/chat/completions" -d "$CHAT" | tr -d '\r')
assert_contains origin_with_key "$H" "HTTP/1.1 200"
assert_contains origin_with_key_acao "$H" "Access-Control-Allow-Origin: https://app.example.com"
assert_eq origin_without_key 401 "$(code "$U/v1/chat/completions" -H 'Origin: https://app.example.com' -d "$CHAT")"

# per-key concurrency: team-b has limits.concurrency 1
curl -s -N --max-time 15 "$U/v1/chat/completions" -H "Authorization: Bearer $KEY_B" \
    -d '{"model":"mockanthropic/slow-300","stream":true,"messages":[{"role":"user","content":"a b c d"}]}' \
    >"$E2E_TMP/slow.out" &
SLOW=$!
sleep 0.4
S=$(curl -s -D "$E2E_TMP/h" -o "$E2E_TMP/b" -w '%{http_code}' "$U/v1/chat/completions" \
    -H "Authorization: Bearer $KEY_B" -d "$CHAT")
assert_eq key_concurrency_429 429 "$S"
assert_match key_concurrency_retry_after "$(tr -d '\r' <"$E2E_TMP/h" | grep -i '^retry-after:')" '[0-9]'
# another key is not limited by it
assert_eq other_key_not_limited 200 "$(code "$U/v1/chat/completions" -H "Authorization: Bearer $KEY_A" -d "$CHAT")"
wait $SLOW
assert_eq key_concurrency_freed 200 "$(code "$U/v1/chat/completions" -H "Authorization: Bearer $KEY_B" -d "$CHAT")"

# the access log names the key id, never the key
LOG=$(cat "$E2E_TMP/access.log")
assert_contains access_log_key_id "$LOG" '"key":"team-a"'
assert_not_contains access_log_no_key_a "$LOG" "$KEY_A"
assert_not_contains access_log_no_key_b "$LOG" "$KEY_B"
assert_not_contains serve_output_no_key "$(cat "$SERVE_LOG")" "$KEY_A"

# SIGHUP: a key removed from the config stops working, a new one works
KEY_C="llmux-test-key-c-93aa01"
SHA_C=$(printf '%s' "$KEY_C" | sha256sum | cut -d' ' -f1)
py - "$CFG" "$SHA_A" "$SHA_C" <<'PY'
import sys
path, old, new = sys.argv[1:]
text = open(path).read().replace("id: team-a", "id: team-c").replace(old, new)
open(path, "w").write(text)
PY
kill -HUP "$SERVE_PID"
for i in $(seq 50); do
    [ "$(code "$U/v1/chat/completions" -H "Authorization: Bearer $KEY_C" -d "$CHAT")" = 200 ] && break
    sleep 0.1
done
assert_eq reload_new_key 200 "$(code "$U/v1/chat/completions" -H "Authorization: Bearer $KEY_C" -d "$CHAT")"
R=""
for i in 1 2 3 4; do R="$R$(code "$U/v1/chat/completions" -H "Authorization: Bearer $KEY_A" -d "$CHAT") "; done
assert_eq reload_revoked_key "401 401 401 401 " "$R"
assert_eq reload_kept_key 200 "$(code "$U/v1/chat/completions" -H "Authorization: Bearer $KEY_B" -d "$CHAT")"
stop_serve
assert_eq keys_stop 0 "$SERVE_RC"
assert_serve_clean serve_keys_sanitizers

# keys configured: a non-loopback address is allowed
if start_serve "$CFG" --listen 0.0.0.0:0 --workers 1; then
    assert_match keys_any_address "$(head -1 "$SERVE_LOG")" 'listening on http://0\.0\.0\.0:[0-9]+'
    stop_serve
else
    fail keys_any_address "$(cat "$SERVE_LOG")"
fi

# no keys: only loopback; anything else is refused before listening
NOKEYS="$E2E_TMP/nokeys.yaml"
write_config "$NOKEYS" "ledger: {enabled: false}"
run_llmux serve --config "$NOKEYS" --listen 0.0.0.0:0
assert_rc no_keys_refuses_public 2
assert_contains no_keys_says_loopback "$ERR" "loopback"
run_llmux serve --config "$NOKEYS" --listen nonsense
assert_rc bad_listen 2
finish
