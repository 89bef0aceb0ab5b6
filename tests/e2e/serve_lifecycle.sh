#!/usr/bin/env bash
# serve_lifecycle.sh — a client that leaves mid-stream cancels the upstream
# at once (the mock sees the disconnect, also while the upstream is silent);
# SIGTERM drains (a running stream completes, new connections are refused,
# /readyz says 503 on an open connection, exit 0); SIGHUP reloads the config
# (new requests see a changed alias, a running stream survives, a broken
# config is refused and the old one kept).
source "$(dirname "$0")/lib.sh"

start_mock || { fail lifecycle_mock "mock did not start"; finish; }
CFG="$E2E_TMP/life.yaml"
write_config "$CFG" "ledger: {enabled: false}
aliases: {pick: mockopenai/echo}
server: {drain_ms: 8000, access_log: $E2E_TMP/access.log}"
if ! start_serve "$CFG" --workers 2; then
    fail lifecycle_start "$(cat "$SERVE_LOG")"
    finish
fi
U=$SERVE_URL

# ---- disconnect cancels upstream ------------------------------------------------
# leave_after PORT MODEL SECONDS: streams, reads the first bytes, waits, closes
leave_after() {
    py - "$SERVE_PORT" "$1" "$2" <<'PY'
import json, socket, sys, time
port, model, wait = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
b = json.dumps({"model": model, "stream": True,
                "messages": [{"role": "user", "content": " ".join("w%d" % i for i in range(40))}]}).encode()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n" % len(b) + b)
first = s.recv(4096)
time.sleep(wait)
s.close()
print(first.split(b"\r\n")[0].decode())
PY
}
mock_reset
R=$(leave_after mockopenai/slow-100 0.35)
assert_eq disconnect_stream_started "HTTP/1.1 200 OK" "$R"
T0=$(now_ms)
if mock_wait stream.client_disconnected true 3; then
    ok disconnect_mock_sees_it
    DT=$(( $(now_ms) - T0 ))
    if [ "$DT" -lt 2500 ]; then ok disconnect_fast; else fail disconnect_fast "seen after $DT ms"; fi
else
    fail disconnect_mock_sees_it "$(mock_last)"
fi
N1=$(jget "$(mock_last)" stream.chunks_written)
sleep 0.5
N2=$(jget "$(mock_last)" stream.chunks_written)
assert_eq disconnect_no_more_chunks "$N1" "$N2"
assert_eq disconnect_not_completed false "$(jget "$(mock_last)" stream.completed)"

# the upstream is silent (stalled) when the client leaves: still seen at once
mock_reset
R=$(leave_after mockopenai/fault-stall 0.3)
if mock_wait stream.client_disconnected true 2; then
    ok disconnect_while_upstream_silent
else
    fail disconnect_while_upstream_silent "$(mock_last)"
fi
# the same in another dialect (Anthropic caller, Gemini upstream)
mock_reset
py - "$SERVE_PORT" <<'PY'
import json, socket, sys, time
b = json.dumps({"model": "mockgemini/fault-stall", "max_tokens": 100, "stream": True,
                "messages": [{"role": "user", "content": "a b c d e f"}]}).encode()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
s.recv(4096)
time.sleep(0.3)
s.close()
PY
if mock_wait stream.client_disconnected true 2; then
    ok disconnect_anthropic_via_gemini
else
    fail disconnect_anthropic_via_gemini "$(mock_last)"
fi
sleep 0.2
assert_contains disconnect_logged_499 "$(cat "$E2E_TMP/access.log")" '"status":499'
assert_match disconnect_in_metrics "$(curl -s "$U/metrics")" 'llmux_requests_total\{[^}]*provider="mockopenai"[^}]*status="499"\} [1-9]'

# ---- SIGHUP reload -----------------------------------------------------------------------
curl -s -N --max-time 20 "$U/v1/chat/completions" \
    -d '{"model":"pick","stream":true,"messages":[{"role":"user","content":"one two three four five six"}]}' \
    -D "$E2E_TMP/inflight.h" >"$E2E_TMP/inflight.out" &
INFLIGHT=$!
sleep 0.3
sed -i 's|pick: mockopenai/echo|pick: mockanthropic/echo|' "$CFG"
kill -HUP "$SERVE_PID"
ok_reload=0
for i in $(seq 50); do
    P=$(curl -s -D - -o /dev/null "$U/v1/chat/completions" \
        -d '{"model":"pick","messages":[{"role":"user","content":"hi"}]}' | tr -d '\r' |
        grep -i '^x-llmux-provider:' | sed 's/^[^:]*: *//')
    [ "$P" = mockanthropic ] && { ok_reload=1; break; }
    sleep 0.1
done
assert_eq reload_new_alias 1 "$ok_reload"
# a second request to each worker's pool also sees it (both workers swapped)
P=$(for i in 1 2 3 4; do curl -s -D - -o /dev/null "$U/v1/chat/completions" \
    -d '{"model":"pick","messages":[{"role":"user","content":"hi"}]}' | tr -d '\r' |
    grep -i '^x-llmux-provider:' | sed 's/^[^:]*: *//'; done | sort -u | tr '\n' ' ')
assert_eq reload_all_workers "mockanthropic " "$P"
# both workers served (each new connection lands on one of them), and after the reload
WORKERS=$(grep '"model":"echo"' "$E2E_TMP/access.log" | grep '"provider":"mockanthropic"' |
    grep -o '"worker":[0-9]*' | sort -u | wc -l)
if [ "$WORKERS" -lt 2 ]; then
    for i in $(seq 30); do curl -s -o /dev/null "$U/v1/chat/completions" \
        -d '{"model":"pick","messages":[{"role":"user","content":"hi"}]}'; done
    sleep 0.2
    WORKERS=$(grep '"provider":"mockanthropic"' "$E2E_TMP/access.log" | grep -o '"worker":[0-9]*' | sort -u | wc -l)
fi
assert_eq reload_seen_by_both_workers 2 "$WORKERS"
wait $INFLIGHT
assert_eq reload_inflight_completed 0 $?
assert_contains reload_inflight_done "$(cat "$E2E_TMP/inflight.out")" "[DONE]"
assert_contains reload_inflight_old_target "$(tr -d '\r' <"$E2E_TMP/inflight.h")" "x-llmux-provider: mockopenai"
# a broken config is refused; the old one stays
printf 'providers: [\n' >>"$CFG"
kill -HUP "$SERVE_PID"
sleep 0.5
P=$(curl -s -D - -o /dev/null "$U/v1/chat/completions" \
    -d '{"model":"pick","messages":[{"role":"user","content":"hi"}]}' | tr -d '\r' |
    grep -i '^x-llmux-provider:' | sed 's/^[^:]*: *//')
assert_eq reload_bad_config_keeps_old mockanthropic "$P"
assert_match reload_bad_config_logged "$(cat "$SERVE_LOG")" 'reload failed.*life\.yaml'
kill -0 "$SERVE_PID" 2>/dev/null && ok reload_bad_config_alive || fail reload_bad_config_alive "server died"

# SIGHUP reopens the access log: rotation by rename + HUP
mv "$E2E_TMP/access.log" "$E2E_TMP/access.log.1"
kill -HUP "$SERVE_PID"
for i in $(seq 30); do [ -e "$E2E_TMP/access.log" ] && break; sleep 0.1; done
curl -s -o /dev/null "$U/healthz"
sleep 0.2
assert_contains access_log_rotated "$(cat "$E2E_TMP/access.log" 2>/dev/null)" '"path":"/healthz"'

# ---- SIGTERM drain ---------------------------------------------------------------------------
curl -s -N --max-time 20 "$U/v1/chat/completions" \
    -d '{"model":"mockopenai/slow-150","stream":true,"messages":[{"role":"user","content":"a b c d e f g"}]}' \
    >"$E2E_TMP/drain.out" &
DRAIN=$!
# a keep-alive connection opened before the signal, to ask /readyz during the drain
py - "$SERVE_PORT" "$SERVE_PID" >"$E2E_TMP/readyz.out" <<'PY' &
import os, signal, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
s.recv(4096)
time.sleep(0.6)
s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
print(s.recv(4096).split(b"\r\n")[0].decode())
PY
READY=$!
sleep 0.3
T0=$(now_ms)
kill -TERM "$SERVE_PID"
sleep 0.2
S=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$U/healthz")
assert_eq drain_refuses_new_connections 000 "$S"
wait $READY
assert_eq drain_readyz_503 "HTTP/1.1 503 Service Unavailable" "$(cat "$E2E_TMP/readyz.out")"
wait $DRAIN
assert_eq drain_stream_curl_ok 0 $?
assert_contains drain_stream_completed "$(cat "$E2E_TMP/drain.out")" "[DONE]"
for i in $(seq 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.05; done
wait "$SERVE_PID"
assert_eq drain_exit_0 0 $?
assert_serve_clean serve_lifecycle_sanitizers
assert_match drain_exit_soon "$(( $(now_ms) - T0 ))" '^[0-9]{1,4}$'

# ---- the drain deadline: what is still running then is cancelled ----------------------------------
CFG2="$E2E_TMP/life2.yaml"
write_config "$CFG2" "ledger: {enabled: false}
server: {drain_ms: 400, access_log: \"off\"}"
if start_serve "$CFG2" --workers 2; then
    mock_reset
    curl -s -N --max-time 20 "$SERVE_URL/v1/chat/completions" \
        -d '{"model":"mockopenai/slow-200","stream":true,"messages":[{"role":"user","content":"a b c d e f g h i j k l m n"}]}' \
        >"$E2E_TMP/cut.out" &
    CUT=$!
    sleep 0.5
    T0=$(now_ms)
    kill -TERM "$SERVE_PID"
    wait "$SERVE_PID"
    RC=$?
    DT=$(( $(now_ms) - T0 ))
    assert_eq drain_deadline_exit_0 0 "$RC"
    if [ "$DT" -ge 300 ] && [ "$DT" -lt 3000 ]; then ok drain_deadline_kept; else fail drain_deadline_kept "stopped after $DT ms"; fi
    wait $CUT
    assert_not_contains drain_deadline_stream_cut "$(cat "$E2E_TMP/cut.out")" "[DONE]"
    if mock_wait stream.client_disconnected true 3; then ok drain_deadline_upstream_cancelled; else fail drain_deadline_upstream_cancelled "$(mock_last)"; fi
    assert_serve_clean drain_deadline_sanitizers
else
    fail drain_deadline_start "$(cat "$SERVE_LOG")"
fi
finish
