#!/usr/bin/env bash
# serve_edge.sh — HTTP edge cases of `llmux serve`, with curl and raw
# sockets: malformed JSON (400 naming line and column) in each dialect,
# content types (415), oversized bodies (413, with and without
# Content-Length), unknown models (404) and keys (401) in each dialect's
# error shape, HEAD and OPTIONS (CORS preflight), unknown paths and methods,
# pipelined keep-alive requests answered in order, and /metrics after
# traffic (counters moved, a privacy finding counted, exposition valid).
# The decisions these cases pin down are in docs/metrics.md ("HTTP edge
# cases").
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! start_mock; then
    fail edge_mock "the mock provider did not start"
    finish
fi
KEY="sk-llmux-edge-3f9a61c0de"
export LLMUX_EDGE_KEY="$KEY"
CFG="$E2E_TMP/edge.yaml"
write_config "$CFG" "server:
  max_body: 65536
keys:
  - id: edge
    key_env: LLMUX_EDGE_KEY
reliability:
  retry: {max_attempts: 1}
ledger:
  path: \":memory:\""

if ! start_serve "$CFG" --workers 2; then
    fail edge_serve "llmux serve did not start"
    finish
fi
U=$SERVE_URL
HOSTPORT=${U#http://}

# req METHOD PATH [curl args...]: sets CODE, BODY and HDRS (lower-cased).
req() {
    local m=$1 p=$2
    shift 2
    local hf="$E2E_TMP/h" bf="$E2E_TMP/b"
    if [ "$m" = HEAD ]; then
        CODE=$(curl -s -I --max-time 10 -D "$hf" -o /dev/null -w '%{http_code}' "$@" "$U$p")
        : >"$bf"
    else
        CODE=$(curl -s -X "$m" --max-time 10 -D "$hf" -o "$bf" -w '%{http_code}' "$@" "$U$p")
    fi
    BODY=$(cat "$bf")
    HDRS=$(tr 'A-Z' 'a-z' <"$hf" | tr -d '\r')
}
AUTH=(-H "Authorization: Bearer $KEY")
JSON=(-H "Content-Type: application/json")
ANTH=(-H "anthropic-version: 2023-06-01")

# Error shapes, checked with a python snippet: prints the message or exits 1.
shape() { # DIALECT BODY
    py - "$1" "$2" <<'PY'
import json, sys
d, body = sys.argv[1], sys.argv[2]
try:
    o = json.loads(body)
    if d == "openai":
        e = o["error"]; assert isinstance(e, dict); m = e["message"]; assert "type" in e
    elif d == "anthropic":
        assert o["type"] == "error"; e = o["error"]; m = e["message"]; assert isinstance(e["type"], str)
    else:
        m = o["error"]; assert isinstance(m, str)
    assert isinstance(m, str) and m
    print(m)
except Exception as ex:
    print("bad %s error shape (%s): %s" % (d, ex, body[:200]))
    sys.exit(1)
PY
}

# check_error NAME DIALECT WANT_STATUS [MESSAGE_ERE]: uses CODE/BODY of the last req.
check_error() {
    local name=$1 d=$2 want=$3 ere=${4:-}
    local msg
    if [ "$CODE" != "$want" ]; then
        fail "$name" "status $CODE (want $want): $BODY"
        return
    fi
    if ! msg=$(shape "$d" "$BODY"); then
        fail "$name" "$msg"
        return
    fi
    if [ -n "$ere" ] && ! printf '%s' "$msg" | grep -Eqi -- "$ere"; then
        fail "$name" "message /$ere/ not matched: $msg"
        return
    fi
    ok "$name"
}

# endpoint and a minimal valid body per dialect
declare -A EP=([openai]=/v1/chat/completions [anthropic]=/v1/messages [ollama]=/api/chat)
body_for() { # DIALECT MODEL TEXT
    case $1 in
    openai) printf '{"model":"%s","messages":[{"role":"user","content":"%s"}]}' "$2" "$3" ;;
    anthropic) printf '{"model":"%s","max_tokens":50,"messages":[{"role":"user","content":"%s"}]}' "$2" "$3" ;;
    ollama) printf '{"model":"%s","stream":false,"messages":[{"role":"user","content":"%s"}]}' "$2" "$3" ;;
    esac
}
mock_model() { case $1 in openai) echo mockopenai/echo ;; anthropic) echo mockanthropic/echo ;; ollama) echo mockollama/echo ;; esac; }

# ---- sanity: each dialect answers ------------------------------------------
for d in openai anthropic ollama; do
    req POST "${EP[$d]}" "${AUTH[@]}" "${JSON[@]}" "${ANTH[@]}" -d "$(body_for $d "$(mock_model $d)" hello)"
    assert_eq "edge_${d}_ok" 200 "$CODE"
done

# ---- malformed JSON: 400 naming line and column ----------------------------
BAD=$'{\n  "model": "mockopenai/echo",\n  "messages": [ {"role": "user", "content": "x"} \n  oops\n}'
for d in openai anthropic ollama; do
    req POST "${EP[$d]}" "${AUTH[@]}" "${JSON[@]}" "${ANTH[@]}" --data-binary "$BAD"
    check_error "edge_${d}_malformed_json" "$d" 400 'line[^0-9]*[0-9]+.*col(umn)?[^0-9]*[0-9]+'
done
req POST /v1/chat/completions "${AUTH[@]}" "${JSON[@]}" --data-binary '[1,2]'
check_error edge_json_not_object openai 400
req POST /v1/chat/completions "${AUTH[@]}" "${JSON[@]}" --data-binary ''
check_error edge_empty_body openai 400
req POST /v1/chat/completions "${AUTH[@]}" "${JSON[@]}" --data-binary $'{"model":"mockopenai/echo","messages":[{"role":"user","content":"\xff\xfe"}]}'
check_error edge_invalid_utf8 openai 400

# ---- content type ------------------------------------------------------------
for d in openai anthropic ollama; do
    req POST "${EP[$d]}" "${AUTH[@]}" "${ANTH[@]}" -H "Content-Type: application/xml" \
        -d "$(body_for $d "$(mock_model $d)" hi)"
    check_error "edge_${d}_content_type_415" "$d" 415 'application/json'
done
req POST /v1/chat/completions "${AUTH[@]}" -H "Content-Type: multipart/form-data; boundary=x" \
    -d "$(body_for openai mockopenai/echo hi)"
check_error edge_multipart_415 openai 415
# curl -d's default type (the Ollama docs' examples rely on it) and an
# explicit charset are accepted when the body is JSON
req POST /api/chat "${AUTH[@]}" -d "$(body_for ollama mockollama/echo formdefault)"
assert_eq edge_form_urlencoded_accepted 200 "$CODE"
req POST /v1/chat/completions "${AUTH[@]}" -H "Content-Type: application/json; charset=utf-8" \
    -d "$(body_for openai mockopenai/echo charset)"
assert_eq edge_json_charset_accepted 200 "$CODE"

# ---- oversized bodies: 413 --------------------------------------------------
BIG="$E2E_TMP/big.json"
py -c 'import json,sys; print(json.dumps({"model":"mockopenai/echo","max_tokens":10,"messages":[{"role":"user","content":"x"*100000}]}))' >"$BIG"
for d in openai anthropic ollama; do
    req POST "${EP[$d]}" "${AUTH[@]}" "${JSON[@]}" "${ANTH[@]}" --data-binary "@$BIG"
    check_error "edge_${d}_too_big_413" "$d" 413 'max_body|too (big|large)|larger'
done
# no Content-Length: the cap applies while reading the chunks (raw socket:
# the answer may come while the client is still sending)
CHUNKED=$(py - "$HOSTPORT" "$KEY" <<'PY'
import select, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
           % sys.argv[2]).encode())
piece = b'{"model":"mockopenai/echo","messages":[{"role":"user","content":"' + b"z" * 8000
resp = b""
for i in range(40):  # 320 KB, cap 64 KB; the server reads on and answers at the end
    if select.select([s], [], [], 0)[0]:
        break
    try:
        s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
    except OSError:
        break
    piece = b"z" * 8000
else:
    try:
        s.sendall(b"0\r\n\r\n")
    except OSError:
        pass
try:
    while b"\r\n\r\n" not in resp:
        d = s.recv(65536)
        if not d:
            break
        resp += d
except OSError:
    pass
print(resp.split(b"\r\n", 1)[0].decode("latin-1"))
PY
)
assert_match edge_chunked_too_big_413 "$CHUNKED" '^HTTP/1\.1 413'
# just under the cap is fine
py -c 'import json; print(json.dumps({"model":"mockopenai/echo","messages":[{"role":"user","content":"y"*60000}]}))' >"$E2E_TMP/near.json"
req POST /v1/chat/completions "${AUTH[@]}" "${JSON[@]}" --data-binary "@$E2E_TMP/near.json"
assert_eq edge_under_cap_ok 200 "$CODE"

# ---- unknown model: 404 in each dialect's shape ----------------------------
for d in openai anthropic ollama; do
    req POST "${EP[$d]}" "${AUTH[@]}" "${JSON[@]}" "${ANTH[@]}" -d "$(body_for $d nosuchprovider/nosuchmodel hi)"
    check_error "edge_${d}_unknown_model_404" "$d" 404 'nosuchprovider'
done

# ---- keys: 401 in each dialect's shape --------------------------------------
for d in openai anthropic ollama; do
    req POST "${EP[$d]}" "${JSON[@]}" "${ANTH[@]}" -d "$(body_for $d "$(mock_model $d)" hi)"
    check_error "edge_${d}_missing_key_401" "$d" 401
    req POST "${EP[$d]}" -H "Authorization: Bearer sk-wrong-key" "${JSON[@]}" "${ANTH[@]}" \
        -d "$(body_for $d "$(mock_model $d)" hi)"
    check_error "edge_${d}_bad_key_401" "$d" 401
    assert_not_contains "edge_${d}_401_no_key_echo" "$BODY" "sk-wrong-key"
done
req POST /v1/messages -H "x-api-key: $KEY" "${JSON[@]}" "${ANTH[@]}" -d "$(body_for anthropic mockanthropic/echo xkey)"
assert_eq edge_x_api_key_accepted 200 "$CODE"
req POST /v1/chat/completions -H "x-goog-api-key: $KEY" "${JSON[@]}" -d "$(body_for openai mockopenai/echo gkey)"
assert_eq edge_x_goog_api_key_accepted 200 "$CODE"
req POST /v1/chat/completions -H "Authorization: Basic $KEY" "${JSON[@]}" -d "$(body_for openai mockopenai/echo basic)"
assert_eq edge_basic_scheme_401 401 "$CODE"
# open endpoints need no key
req GET /healthz
assert_eq edge_healthz_open 200 "$CODE"
req GET /v1/models
assert_eq edge_models_needs_key 401 "$CODE"

# ---- HEAD, OPTIONS, unknown paths and methods --------------------------------
# HEAD then GET pipelined on one connection: the GET's status line must
# follow the HEAD's headers at once (a HEAD body would sit in between).
HEADGET=$(py - "$HOSTPORT" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
buf, end = b"", time.time() + 5
while time.time() < end:
    i = buf.find(b"\r\n\r\n")
    j = buf.find(b"\r\n\r\n", i + 4) if i >= 0 else -1
    if j >= 0 and b"content-length" in buf[i:j].lower():
        n = [int(l.split(b":")[1]) for l in buf[i:j].split(b"\r\n") if l.lower().startswith(b"content-length")][0]
        if len(buf) >= j + 4 + n:
            break
    d = s.recv(65536)
    if not d:
        break
    buf += d
head, rest = buf.split(b"\r\n\r\n", 1)
hl = [l.decode().lower() for l in head.split(b"\r\n")]
print(hl[0])
print([l for l in hl if l.startswith("content-length")][0] if any(l.startswith("content-length") for l in hl) else "content-length: none")
print(rest.split(b"\r\n", 1)[0].decode("latin-1"))
gh = rest.split(b"\r\n\r\n", 1)[0].decode().lower().split("\r\n")
print([l for l in gh if l.startswith("content-length")][0] if any(l.startswith("content-length") for l in gh) else "content-length: none")
PY
)
mapfile -t HG <<<"$HEADGET"
assert_match edge_head_status "${HG[0]:-}" '^http/1\.1 200'
assert_match edge_head_no_body "${HG[2]:-}" '^HTTP/1\.1 200'
assert_eq edge_head_same_length "${HG[3]:-get}" "${HG[1]:-head}"
req HEAD /healthz
assert_contains edge_head_content_type "$HDRS" "content-type: application/json"
req HEAD /v1/models "${AUTH[@]}"
assert_eq edge_head_models 200 "$CODE"
req OPTIONS /v1/chat/completions -H "Origin: http://localhost:3000" \
    -H "Access-Control-Request-Method: POST" -H "Access-Control-Request-Headers: authorization, content-type"
if [ "$CODE" = 204 ] || [ "$CODE" = 200 ]; then ok edge_options_status; else fail edge_options_status "status $CODE"; fi
assert_match edge_options_allow "$HDRS" '^allow: .*post'
assert_match edge_cors_origin "$HDRS" '^access-control-allow-origin: '
assert_match edge_cors_methods "$HDRS" '^access-control-allow-methods: .*post'
assert_match edge_cors_headers "$HDRS" '^access-control-allow-headers: .*authorization.*content-type'
req GET /no/such/path "${AUTH[@]}"
check_error edge_unknown_path_404 openai 404
req GET /api/nothing "${AUTH[@]}"
check_error edge_unknown_ollama_path_404 ollama 404
req GET /v1/chat/completions "${AUTH[@]}"
check_error edge_wrong_method_405 openai 405
req DELETE /v1/messages "${AUTH[@]}"
check_error edge_wrong_method_anthropic_405 anthropic 405

# ---- pipelined keep-alive requests --------------------------------------------
# Three requests in one write on one connection: all answered, in order, on
# that connection.
PIPE_OUT=$(py - "$HOSTPORT" "$KEY" <<'PY'
import json, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
key = sys.argv[2]
def post(path, body, extra=""):
    b = json.dumps(body).encode()
    return (("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\n%sContent-Length: %d\r\n\r\n")
            % (path, key, extra, len(b))).encode() + b
reqs = (post("/v1/chat/completions", {"model": "mockopenai/echo",
             "messages": [{"role": "user", "content": "first"}]})
        + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        + post("/api/chat", {"model": "mockollama/echo", "stream": False,
               "messages": [{"role": "user", "content": "third"}]}))
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(reqs)
buf = b""
answers = []
deadline = time.time() + 10
def take():
    global buf
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        return None
    head = buf[:i].decode("latin-1").split("\r\n")
    hd = {h.split(":", 1)[0].lower(): h.split(":", 1)[1].strip() for h in head[1:] if ":" in h}
    if "content-length" in hd:
        n = int(hd["content-length"])
        if len(buf) < i + 4 + n:
            return None
        body = buf[i + 4:i + 4 + n]
        buf = buf[i + 4 + n:]
    elif hd.get("transfer-encoding", "").lower() == "chunked":
        j, body = i + 4, b""
        while True:
            k = buf.find(b"\r\n", j)
            if k < 0:
                return None
            n = int(buf[j:k].split(b";")[0], 16)
            if len(buf) < k + 2 + n + 2:
                return None
            body += buf[k + 2:k + 2 + n]
            j = k + 2 + n + 2
            if n == 0:
                break
        buf = buf[j:]
    else:
        return None
    return head[0].split(" ")[1], body.decode("utf-8", "replace")
while len(answers) < 3 and time.time() < deadline:
    a = take()
    if a:
        answers.append(a)
        continue
    try:
        d = s.recv(65536)
    except socket.timeout:
        break
    if not d:
        break
    buf += d
for st, body in answers:
    print(st, body.replace("\n", " ")[:300])
PY
)
mapfile -t PIPE <<<"$PIPE_OUT"
if [ "${#PIPE[@]}" -eq 3 ] && [ -n "${PIPE[2]}" ]; then ok edge_pipelined_three_answers; else fail edge_pipelined_three_answers "got: $PIPE_OUT"; fi
assert_match edge_pipelined_first "${PIPE[0]:-}" '^200 .*You said: first'
assert_match edge_pipelined_second "${PIPE[1]:-}" '^200 .*"status"'
assert_match edge_pipelined_third "${PIPE[2]:-}" '^200 .*You said: third'

# keep-alive across separate writes: curl reuses the connection for two URLs
KA=$(curl -s -v --max-time 10 "$U/healthz" "$U/healthz" 2>&1 >/dev/null | grep -ci 're-\?using existing connection')
if [ "${KA:-0}" -ge 1 ]; then ok edge_keepalive_reused; else fail edge_keepalive_reused "curl opened a new connection for the second request"; fi

# ---- HTTP/1.x framing handled by libmicrohttpd -------------------------------
# One raw request per connection; prints "NAME STATUS CLOSED" (CLOSED: the
# server hung up after answering).
PROTO=$(py - "$HOSTPORT" "$KEY" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
A = ("Authorization: Bearer %s\r\n" % sys.argv[2]).encode()
body = b'{"model":"mockopenai/echo","messages":[{"role":"user","content":"x"}]}'
def one(name, raw):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(raw)
    buf, closed, end = b"", False, time.time() + 5
    while time.time() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            closed = True
            break
        if not d:
            closed = True
            break
        buf += d
        while buf.startswith(b"HTTP/1.1 100") and b"\r\n\r\n" in buf:
            buf = buf.split(b"\r\n\r\n", 1)[1]  # the interim answer
        if b"\r\n\r\n" in buf:
            head, rest = buf.split(b"\r\n\r\n", 1)
            cl = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            if cl and len(rest) >= cl[0]:
                s.settimeout(0.3)  # answered: does the server hang up?
    st = buf.split(b"\r\n", 1)[0].split(b" ")[1].decode() if buf.startswith(b"HTTP/") else "none"
    print(name, st, "closed" if closed else "open")
one("http10", b"GET /healthz HTTP/1.0\r\n\r\n")
one("conn_close", b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
one("expect_100", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + A +
    b"Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
one("bad_content_length", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + A + b"Content-Length: abc\r\n\r\n" + body)
one("huge_header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
one("long_url", b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
one("bad_version", b"GET /healthz HTTP/2.5\r\nHost: x\r\n\r\n")
one("query_string", b"GET /healthz?probe=1 HTTP/1.1\r\nHost: x\r\n\r\n")
PY
)
pstat() { printf '%s\n' "$PROTO" | awk -v n="$1" '$1 == n {print $2, $3}'; }
assert_eq edge_http10 "200 closed" "$(pstat http10)"
assert_eq edge_connection_close "200 closed" "$(pstat conn_close)"
assert_eq edge_expect_100_continue "200 open" "$(pstat expect_100)"
assert_eq edge_bad_content_length "400 closed" "$(pstat bad_content_length)"
assert_eq edge_huge_header_431 "431 closed" "$(pstat huge_header)"
assert_eq edge_long_url_414 "414 closed" "$(pstat long_url)"
assert_eq edge_bad_version_505 "505 closed" "$(pstat bad_version)"
assert_eq edge_query_string_ignored "200 open" "$(pstat query_string)"

# ---- /metrics after traffic --------------------------------------------------
# a client that gives up on a slow stream: counted as 499, kind cancelled
curl -s --max-time 0.5 "${AUTH[@]}" "${JSON[@]}" "$U/v1/chat/completions" \
    -d '{"model":"mockopenai/slow-3000","stream":true,"messages":[{"role":"user","content":"slow"}]}' >/dev/null
for i in $(seq 40); do # the server notices the hang-up on its own loop
    curl -s --max-time 2 "$U/metrics" | grep -q 'status="499"' && break
    sleep 0.05
done
# a prompt with an email address: the guard finds it (whatever the route)
req POST /v1/chat/completions "${AUTH[@]}" "${JSON[@]}" \
    -d "$(body_for openai mockopenai/echo 'write to jane.doe@gmail.com please')"
EMAIL_CODE=$CODE
# a model name that needs escaping in a label (the mock answers any name)
req POST /v1/chat/completions "${AUTH[@]}" "${JSON[@]}" \
    --data-binary '{"model":"mockopenai/we\"ird\\name","messages":[{"role":"user","content":"q"}]}'
WEIRD_CODE=$CODE
req GET /metrics
assert_eq edge_metrics_status 200 "$CODE"
assert_contains edge_metrics_content_type "$HDRS" "content-type: text/plain; version=0.0.4"
METRICS="$E2E_TMP/metrics.txt"
printf '%s\n' "$BODY" >"$METRICS"
# exposition format: every line is a comment or NAME{LABELS} VALUE
BADLINES=$(py - "$METRICS" <<'PY'
import re, sys
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
lab = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r"^%s(\{(%s(,%s)*)?\})? (\+Inf|-Inf|NaN|[-+]?[0-9.eE+-]+)$" % (name, lab, lab))
for i, l in enumerate(open(sys.argv[1]).read().splitlines(), 1):
    if not l or l.startswith("# HELP ") or l.startswith("# TYPE "):
        continue
    if not sample.match(l):
        print("line %d: %s" % (i, l))
PY
)
assert_eq edge_metrics_format_valid "" "$BADLINES"
assert_eq edge_weird_model_answered 200 "$WEIRD_CODE"
assert_match edge_metrics_label_escaped "$(cat "$METRICS")" 'model="we\\"ird\\\\name"'
mval() { # ERE over a sample line -> sum of values
    grep -E -- "$1" "$METRICS" | awk '{s += $NF} END {print s + 0}'
}
OK200=$(mval '^llmux_requests_total\{front="openai",provider="mockopenai",model="echo",target="cloud",status="200"\}')
if [ "${OK200%.*}" -ge 5 ]; then ok edge_metrics_requests_counted; else fail edge_metrics_requests_counted "openai 200 count $OK200"; fi
AUTHERR=$(mval '^llmux_errors_total\{.*kind="auth"')
if [ "${AUTHERR%.*}" -ge 6 ]; then ok edge_metrics_auth_errors; else fail edge_metrics_auth_errors "auth errors $AUTHERR"; fi
assert_match edge_metrics_401_by_front "$(cat "$METRICS")" 'llmux_requests_total\{front="anthropic",provider="none",model="none",target="none",status="401"\} [1-9]'
assert_match edge_metrics_413 "$(cat "$METRICS")" 'llmux_requests_total\{front="ollama",[^}]*status="413"\} [1-9]'
TOK_OUT=$(mval '^llmux_tokens_total\{provider="mockopenai",model="echo",direction="out"\}')
if [ "${TOK_OUT%.*}" -gt 0 ]; then ok edge_metrics_tokens; else fail edge_metrics_tokens "tokens out $TOK_OUT"; fi
DUR=$(mval '^llmux_request_duration_seconds_count\{provider="mockopenai",model="echo",target="cloud"\}')
if [ "${DUR%.*}" -ge 5 ]; then ok edge_metrics_duration; else fail edge_metrics_duration "duration count $DUR"; fi
assert_match edge_metrics_ttft "$(cat "$METRICS")" 'llmux_ttft_seconds_count\{provider="mockopenai",model="echo",target="cloud"\} [1-9]'
assert_match edge_metrics_overhead "$(cat "$METRICS")" 'llmux_overhead_seconds_count\{front="openai"\} [1-9]'
assert_match edge_metrics_privacy_email "$(cat "$METRICS")" "llmux_privacy_findings_total\{type=\"(EMAIL|email)\",action=\"[a-z]+\"\} [1-9]"
assert_match edge_metrics_cancelled_499 "$(cat "$METRICS")" 'llmux_requests_total\{front="openai",[^}]*status="499"\} [1-9]'
assert_match edge_metrics_cancelled_kind "$(cat "$METRICS")" 'llmux_errors_total\{front="openai",[^}]*kind="cancelled"\} [1-9]'
assert_match edge_metrics_breaker_state "$(cat "$METRICS")" '^llmux_breaker_state\{provider="mockopenai",model="echo"\} 0$'
assert_match edge_metrics_ledger "$(cat "$METRICS")" '^llmux_ledger_up 1$'
assert_match edge_metrics_inflight_zero "$(cat "$METRICS")" '^llmux_inflight_requests 0$'
echo "# the email request answered $EMAIL_CODE" >&2

# a clean stop: SIGTERM drains and exits 0, and (under ASan) the server
# reported no error or leak on the way out
stop_serve TERM
assert_eq edge_serve_clean_exit 0 "$SERVE_RC"
SAN=$(grep -m3 -E 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$SERVE_LOG")
assert_eq edge_serve_no_sanitizer_report "" "$SAN"
finish
