#!/usr/bin/env bash
# serve_limits.sh — request body cap (413), slow clients closed after
# server.header_timeout_ms (headers or body trickled), server.max_streams
# (503 + Retry-After).
source "$(dirname "$0")/lib.sh"

start_mock || { fail serve_limits_mock "mock did not start"; finish; }
CFG="$E2E_TMP/limits.yaml"
write_config "$CFG" "ledger: {enabled: false}
server: {max_body: 4096, header_timeout_ms: 700, max_streams: 2, access_log: $E2E_TMP/access.log}"
if ! start_serve "$CFG" --workers 2; then
    fail serve_limits_start "$(cat "$SERVE_LOG")"
    finish
fi
U=$SERVE_URL

# ---- body cap ------------------------------------------------------------------
py -c 'import json; print(json.dumps({"model":"mockopenai/echo","messages":[{"role":"user","content":"x"*6000}]}))' \
    >"$E2E_TMP/big.json"
S=$(curl -s -o "$E2E_TMP/b" -w '%{http_code}' --max-time 10 "$U/v1/chat/completions" --data-binary @"$E2E_TMP/big.json")
assert_eq body_cap_413 413 "$S"
assert_match body_cap_message "$(jget "$(cat "$E2E_TMP/b")" error.message)" 'max_body'
S=$(curl -s -o "$E2E_TMP/b" -w '%{http_code}' --max-time 10 -H 'Transfer-Encoding: chunked' \
    "$U/v1/messages" --data-binary @"$E2E_TMP/big.json")
assert_eq body_cap_chunked_413 413 "$S"
assert_eq body_cap_chunked_dialect error "$(jget "$(cat "$E2E_TMP/b")" type)"
# a body just under the cap is fine
S=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$U/v1/chat/completions" \
    -d '{"model":"mockopenai/echo","messages":[{"role":"user","content":"small"}]}')
assert_eq body_under_cap 200 "$S"
# a body that never ends is not read forever: the connection is closed
R=$(py - "$SERVE_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
chunk = b"%x\r\n%s\r\n" % (65536, b"a" * 65536)
sent = 0
try:
    for i in range(20000):
        s.sendall(chunk)
        sent += 65536
except OSError:
    print("closed after %d KiB" % (sent // 1024))
    sys.exit(0)
print("still open after %d KiB" % (sent // 1024))
PY
)
assert_match endless_body_closed "$R" '^closed after [0-9]+ KiB'

# ---- slow clients -----------------------------------------------------------------
slowloris() { # MODE: headers | body; prints "closed S" or "open"
    py - "$SERVE_PORT" "$1" <<'PY'
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
t0 = time.monotonic()
if mode == "headers":
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    drip = b"X-Slow: a\r\n"
else:
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n{")
    drip = b" "
s.settimeout(0.1)
while time.monotonic() - t0 < 5:
    try:
        s.sendall(drip)
        d = s.recv(4096)
        if not d or b"HTTP/1.1 4" in d:
            print("closed %.1f" % (time.monotonic() - t0))
            sys.exit(0)
    except socket.timeout:
        pass
    except OSError:
        print("closed %.1f" % (time.monotonic() - t0))
        sys.exit(0)
    time.sleep(0.1)
print("open")
PY
}
R=$(slowloris headers)
assert_match slowloris_headers_closed "$R" '^closed (0\.[6-9]|1\.[0-9])'
R=$(slowloris body)
assert_match slowloris_body_closed "$R" '^closed (0\.[6-9]|1\.[0-9])'
# a well-behaved keep-alive client is not hurt: two requests on one connection
R=$(curl -s -o /dev/null -w '%{http_code}%{num_connects} ' "$U/healthz" -o /dev/null "$U/healthz")
assert_eq keepalive_two_requests "2001 2000 " "$R"

# ---- max_streams ---------------------------------------------------------------------
for i in 1 2; do
    curl -s -N --max-time 15 "$U/v1/chat/completions" \
        -d '{"model":"mockopenai/slow-250","stream":true,"messages":[{"role":"user","content":"a b c d"}]}' \
        >"$E2E_TMP/s$i.out" &
    eval "P$i=\$!"
done
sleep 0.5
S=$(curl -s -D "$E2E_TMP/h" -o "$E2E_TMP/b" -w '%{http_code}' --max-time 10 "$U/v1/chat/completions" \
    -d '{"model":"mockopenai/echo","messages":[{"role":"user","content":"hi"}]}')
assert_eq max_streams_503 503 "$S"
assert_match max_streams_retry_after "$(tr -d '\r' <"$E2E_TMP/h" | grep -i '^retry-after:')" '[0-9]'
assert_match max_streams_message "$(jget "$(cat "$E2E_TMP/b")" error.message)" 'max_streams'
# health is not a stream
assert_eq max_streams_health_ok 200 "$(curl -s -o /dev/null -w '%{http_code}' "$U/healthz")"
wait "$P1" "$P2"
assert_contains max_streams_running_ok "$(cat "$E2E_TMP/s1.out")" "[DONE]"
S=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$U/v1/chat/completions" \
    -d '{"model":"mockopenai/echo","messages":[{"role":"user","content":"hi"}]}')
assert_eq max_streams_freed 200 "$S"

# a second server cannot take over (or share) a port in use
RUN_TIMEOUT=10 run_llmux serve --config "$CFG" --listen "127.0.0.1:$SERVE_PORT"
assert_rc port_in_use_refused 1
assert_contains port_in_use_says_so "$ERR" "in use"
assert_eq port_in_use_first_still_serves 200 "$(curl -s -o /dev/null -w '%{http_code}' "$U/healthz")"

stop_serve
assert_eq limits_stop 0 "$SERVE_RC"
assert_serve_clean serve_limits_sanitizers
finish
