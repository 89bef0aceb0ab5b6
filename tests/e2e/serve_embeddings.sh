#!/usr/bin/env bash
# serve_embeddings.sh — POST /v1/embeddings (and Ollama's /api/embed,
# /api/embeddings) passed through to an OpenAI-type
# provider (answer as is) and to an Ollama provider (/api/embed turned into
# the OpenAI shape); 501 for a provider type without embeddings, 404 for an
# unknown model, 403 when the guard finds sensitive input bound for a remote
# provider, and a client that leaves cancels the upstream call.
source "$(dirname "$0")/lib.sh"

# A tiny embeddings upstream: OpenAI /v1/embeddings and Ollama /api/embed.
# Vectors are [len(text), words(text)]; model "slow" answers after 3 s; the
# last request is kept for /_last (with "finished": false while answering).
EMB_PY="$E2E_TMP/emb.py"
cat >"$EMB_PY" <<'PY'
import json, sys, time, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
last = {}
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        try:
            self.wfile.write(b)
        except OSError:
            last["client_gone"] = True
    def do_GET(self):
        self.send(200, last)
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        last.clear()
        last.update({"path": self.path, "body": body, "auth": self.headers.get("Authorization"),
                     "finished": False})
        inp = body.get("input")
        texts = [inp] if isinstance(inp, str) else [t for t in inp if isinstance(t, str)]
        vecs = [[float(len(t)), float(len(t.split()))] for t in texts]
        if body.get("model") == "slow":
            for _ in range(30):
                time.sleep(0.1)
                try:
                    self.connection.settimeout(0.001)
                    if self.connection.recv(1, 2) == b"":  # MSG_PEEK
                        last["client_gone"] = True
                        return
                except (BlockingIOError, OSError):
                    pass
        last["finished"] = True
        n = sum(len(t.split()) for t in texts)
        if self.path == "/v1/embeddings":
            self.send(200, {"object": "list", "model": body["model"],
                            "data": [{"object": "embedding", "index": i, "embedding": v}
                                     for i, v in enumerate(vecs)],
                            "usage": {"prompt_tokens": n, "total_tokens": n}})
        elif self.path == "/api/embed":
            self.send(200, {"model": body["model"], "embeddings": vecs, "prompt_eval_count": n})
        else:
            self.send(404, {"error": "no such path"})
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
"$PY" "$EMB_PY" >"$E2E_TMP/emb.port" 2>"$E2E_TMP/emb.err" &
track_pid $!
for i in $(seq 50); do [ -s "$E2E_TMP/emb.port" ] && break; sleep 0.1; done
EPORT=$(head -1 "$E2E_TMP/emb.port")
[ -n "$EPORT" ] || { fail emb_upstream "did not start: $(cat "$E2E_TMP/emb.err")"; finish; }
start_mock || { fail emb_mock "mock did not start"; finish; }

export EMB_KEY="sk-emb-test-0c1d2e"
CFG="$E2E_TMP/emb.yaml"
write_config "$CFG" "ledger: {enabled: false}
server: {access_log: \"off\"}"
sed -i "s|^providers:|providers:\n  - name: embopenai\n    type: openai\n    base_url: http://127.0.0.1:$EPORT/v1\n    api_key_env: EMB_KEY\n  - name: embollama\n    type: ollama\n    base_url: http://127.0.0.1:$EPORT|" "$CFG"
start_serve "$CFG" --workers 1 || { fail emb_start "$(cat "$SERVE_LOG")"; finish; }
U=$SERVE_URL
post() { S=$(curl -s -D "$E2E_TMP/h" -o "$E2E_TMP/b" -w '%{http_code}' --max-time 10 "$U/v1/embeddings" -d "$1"); B=$(cat "$E2E_TMP/b"); H=$(tr -d '\r' <"$E2E_TMP/h"); }

post '{"model":"embopenai/text-embed-small","input":["hello there world","hi"]}'
assert_eq emb_openai_status 200 "$S"
assert_eq emb_openai_vectors "[17.0,3.0] [2.0,1.0]" "$(jget "$B" data.0.embedding) $(jget "$B" data.1.embedding)"
LAST=$(curl -s "http://127.0.0.1:$EPORT/_last")
assert_eq emb_openai_upstream "/v1/embeddings text-embed-small Bearer $EMB_KEY" \
    "$(jget "$LAST" path) $(jget "$LAST" body.model) $(jget "$LAST" auth)"
assert_contains emb_openai_header "$H" "x-llmux-provider: embopenai"

post '{"model":"embollama/nomic-embed-text","input":"one two three"}'
assert_eq emb_ollama_status 200 "$S"
assert_eq emb_ollama_shape "list embedding 0 [13.0,3.0] 3" \
    "$(jget "$B" object) $(jget "$B" data.0.object) $(jget "$B" data.0.index) $(jget "$B" data.0.embedding) $(jget "$B" usage.prompt_tokens)"
LAST=$(curl -s "http://127.0.0.1:$EPORT/_last")
assert_eq emb_ollama_upstream "/api/embed nomic-embed-text" "$(jget "$LAST" path) $(jget "$LAST" body.model)"
assert_eq emb_ollama_no_auth "null" "$(jget "$LAST" auth)"

post '{"model":"mockanthropic/claude","input":"hi"}'
assert_eq emb_unsupported_type 501 "$S"
assert_match emb_unsupported_says_why "$(jget "$B" error.message)" "mockanthropic.*anthropic"
post '{"model":"nosuch/model","input":"hi"}'
assert_eq emb_unknown_model 404 "$S"
post '{"model":"embopenai/x"}'
assert_eq emb_no_input 400 "$S"

# Ollama callers: /api/embed (either provider), legacy /api/embeddings
opost() { S=$(curl -s -o "$E2E_TMP/b" -w '%{http_code}' --max-time 10 "$U$1" -d "$2"); B=$(cat "$E2E_TMP/b"); }
opost /api/embed '{"model":"embopenai/text-embed-small","input":["a b","c"]}'
assert_eq emb_ollama_caller_openai_provider "200 [3.0,2.0] [1.0,1.0] 3" \
    "$S $(jget "$B" embeddings.0) $(jget "$B" embeddings.1) $(jget "$B" prompt_eval_count)"
opost /api/embed '{"model":"embollama/nomic-embed-text","input":"a b"}'
assert_eq emb_ollama_caller_ollama_provider "200 [3.0,2.0] nomic-embed-text" \
    "$S $(jget "$B" embeddings.0) $(jget "$B" model)"
opost /api/embeddings '{"model":"embopenai/text-embed-small","prompt":"x y z"}'
assert_eq emb_ollama_legacy "200 [5.0,3.0]" "$S $(jget "$B" embedding)"
opost /api/embed '{"model":"nosuch/model","input":"a"}'
assert_eq emb_ollama_unknown "404" "$S"
assert_match emb_ollama_error_shape "$(jget "$B" error)" 'nosuch'

# sensitive input never goes to a remote provider (embeddings cannot be redacted)
curl -s -X POST "http://127.0.0.1:$EPORT/reset" -d '{"model":"r","input":"r"}' >/dev/null
post '{"model":"embopenai/text-embed-small","input":"write to john.smith@acme-corp.com"}'
assert_eq emb_sensitive_remote 403 "$S"
assert_contains emb_sensitive_says_type "$(jget "$B" error.message)" "EMAIL"
assert_eq emb_sensitive_not_sent "r" "$(jget "$(curl -s "http://127.0.0.1:$EPORT/_last")" body.model)"
# the Ollama provider is local: it may embed it
post '{"model":"embollama/nomic-embed-text","input":"write to john.smith@acme-corp.com"}'
assert_eq emb_sensitive_local 200 "$S"

# a client that leaves cancels the upstream call
curl -s --max-time 0.4 "$U/v1/embeddings" -d '{"model":"embopenai/slow","input":"x"}' >/dev/null
for i in $(seq 30); do
    [ "$(jget "$(curl -s "http://127.0.0.1:$EPORT/_last")" client_gone)" = true ] && break
    sleep 0.1
done
assert_eq emb_disconnect_cancels true "$(jget "$(curl -s "http://127.0.0.1:$EPORT/_last")" client_gone)"

stop_serve
assert_eq emb_stop 0 "$SERVE_RC"
assert_serve_clean emb_sanitizers
finish
