#!/usr/bin/env bash
# pull.sh — end-to-end tests of `llmux pull` against a local file server
# (tests/e2e/pull_server.py on 127.0.0.1): full download, --sha256 checks,
# resume after a cut connection (in one run and across runs), a server that
# ignores Range, 404, non-GGUF content, Hugging Face short names with the
# X-Linked-Etag sha256, the cache directory, usage errors.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$LLMUX_BIN" ]; then
    fail pull_binary "no llmux binary at $LLMUX_BIN"
    finish
fi
if ! have python3; then
    skip pull "python3 is needed for the local file server"
    finish
fi
unset LLMUX_CACHE_DIR HF_ENDPOINT

ROOT="$E2E_TMP/srv"
OUTD="$E2E_TMP/out"
mkdir -p "$ROOT" "$OUTD"
# A GGUF-looking file of 2 MiB (magic, version 3, then random bytes).
python3 - "$ROOT/model.gguf" <<'PY'
import os, struct, sys
with open(sys.argv[1], "wb") as f:
    f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 0) + os.urandom(2 * 1024 * 1024 - 20))
PY
printf 'this is not a model\n' >"$ROOT/notes.txt"
SHA=$(sha256sum "$ROOT/model.gguf" | cut -c1-64)
SIZE=$(stat -c %s "$ROOT/model.gguf")

LOG="$E2E_TMP/requests.log"
: >"$LOG"
python3 "$E2E_DIR/pull_server.py" "$ROOT" "$E2E_TMP/port" "$LOG" 2>"$E2E_TMP/server.err" &
track_pid $!
for _ in $(seq 1 100); do [ -s "$E2E_TMP/port" ] && break; sleep 0.05; done
if [ ! -s "$E2E_TMP/port" ]; then
    fail pull_server "file server did not start: $(cat "$E2E_TMP/server.err")"
    finish
fi
BASE="http://127.0.0.1:$(cat "$E2E_TMP/port")"
sha_of() { sha256sum "$1" 2>/dev/null | cut -c1-64; }

# ---- help and usage --------------------------------------------------------
run_llmux pull --help
assert_rc help_rc 0
assert_contains help_names "$OUT" "smollm2-135m-instruct"
run_llmux pull
assert_rc no_args_rc 2
run_llmux pull no-such-model --output "$OUTD"
assert_rc unknown_name_rc 2
assert_contains unknown_name_lists "$ERR" "qwen2.5-0.5b-instruct"
run_llmux pull "$BASE/files/model.gguf" --sha256 1234
assert_rc bad_sha_arg_rc 2
assert_contains bad_sha_arg_msg "$ERR" "64 hex digits"
run_llmux pull "ftp://127.0.0.1/x.gguf" --output "$OUTD"
assert_rc ftp_rc 2

# ---- full download ---------------------------------------------------------
run_llmux pull "$BASE/files/model.gguf" --output "$OUTD"
assert_rc full_rc 0
assert_eq full_stdout_path "$OUTD/model.gguf" "$OUT"
assert_eq full_sha "$SHA" "$(sha_of "$OUTD/model.gguf")"
assert_eq full_no_part "no" "$([ -e "$OUTD/model.gguf.part" ] && echo yes || echo no)"
assert_not_contains full_quiet_off_tty "$ERR" "["

# Already there: nothing fetched again.
n_before=$(wc -l <"$LOG")
run_llmux pull "$BASE/files/model.gguf" --output "$OUTD"
assert_rc again_rc 0
assert_contains again_msg "$ERR" "already there"
assert_eq again_no_request "$n_before" "$(wc -l <"$LOG")"

# ---- sha256 ----------------------------------------------------------------
D="$E2E_TMP/sha_ok"
run_llmux pull "$BASE/files/model.gguf" --output "$D" --sha256 "$SHA"
assert_rc sha_ok_rc 0
assert_contains sha_ok_msg "$ERR" "sha256 verified"
D="$E2E_TMP/sha_bad"
BAD=0000000000000000000000000000000000000000000000000000000000000000
run_llmux pull "$BASE/files/model.gguf" --output "$D" --sha256 "$BAD"
assert_rc sha_bad_rc 1
assert_contains sha_bad_msg "$ERR" "sha256 mismatch"
assert_contains sha_bad_got "$ERR" "$SHA"
assert_eq sha_bad_nothing_left "" "$(ls -A "$D")"

# ---- resume within one run (the first connection is cut halfway) ----------
D="$E2E_TMP/resume1"
: >"$LOG"
run_llmux pull "$BASE/cutonce/model.gguf" --output "$D" --sha256 "$SHA"
assert_rc resume_rc 0
assert_eq resume_sha "$SHA" "$(sha_of "$D/model.gguf")"
assert_contains resume_msg "$ERR" "resuming from byte"
HALF=$((SIZE / 2))
assert_contains resume_range_sent "$(cat "$LOG")" "GET /cutonce/model.gguf bytes=$HALF- 206"

# ---- resume across runs ------------------------------------------------------
cp "$ROOT/model.gguf" "$ROOT/model2.gguf"
D="$E2E_TMP/resume2"
: >"$LOG"
run_llmux pull "$BASE/cutonce/model2.gguf" --output "$D" --retries 0
assert_rc cut_no_retry_rc 1
assert_contains cut_no_retry_msg "$ERR" "run the same command to resume"
assert_eq cut_part_kept "$HALF" "$(stat -c %s "$D/model2.gguf.part" 2>/dev/null)"
assert_eq cut_no_final "no" "$([ -e "$D/model2.gguf" ] && echo yes || echo no)"
run_llmux pull "$BASE/cutonce/model2.gguf" --output "$D" --retries 0
assert_rc resumed_rc 0
assert_eq resumed_sha "$SHA" "$(sha_of "$D/model2.gguf")"
assert_contains resumed_range "$(cat "$LOG")" "bytes=$HALF- 206"
assert_eq resumed_no_part "no" "$([ -e "$D/model2.gguf.part" ] && echo yes || echo no)"

# A part that is already complete: the server answers 416, we verify.
D="$E2E_TMP/complete_part"
mkdir -p "$D"
cp "$ROOT/model.gguf" "$D/model.gguf.part"
run_llmux pull "$BASE/files/model.gguf" --output "$D" --sha256 "$SHA"
assert_rc complete_part_rc 0
assert_eq complete_part_sha "$SHA" "$(sha_of "$D/model.gguf")"

# A server that ignores Range (200): the part restarts from zero.
D="$E2E_TMP/norange"
mkdir -p "$D"
head -c 1000 /dev/urandom >"$D/model.gguf.part"
run_llmux pull "$BASE/norange/model.gguf" --output "$D" --sha256 "$SHA"
assert_rc norange_rc 0
assert_eq norange_sha "$SHA" "$(sha_of "$D/model.gguf")"

# ---- errors -------------------------------------------------------------------
D="$E2E_TMP/e404"
run_llmux pull "$BASE/files/missing.gguf" --output "$D"
assert_rc http404_rc 1
assert_contains http404_msg "$ERR" "HTTP 404"
assert_eq http404_nothing_left "" "$(ls -A "$D" 2>/dev/null)"

D="$E2E_TMP/notgguf"
run_llmux pull "$BASE/files/notes.txt" --output "$D"
assert_rc not_gguf_rc 1
assert_contains not_gguf_msg "$ERR" "not a GGUF file"
assert_eq not_gguf_nothing_left "" "$(ls -A "$D" 2>/dev/null)"

# Nothing listening (the port of a server that was stopped).
python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' \
    >"$E2E_TMP/deadport"
run_llmux pull "http://127.0.0.1:$(cat "$E2E_TMP/deadport")/files/model.gguf" --output "$E2E_TMP/dead" \
    --retries 0
assert_rc refused_rc 1
assert_contains refused_msg "$ERR" "llmux pull:"

# ---- short names through a Hugging Face style endpoint ---------------------------
export HF_ENDPOINT="$BASE/hf"
export LLMUX_CACHE_DIR="$E2E_TMP/cache"
run_llmux pull smollm2-135m-instruct
assert_rc hf_name_rc 0
assert_eq hf_name_path "$LLMUX_CACHE_DIR/smollm2-135m-instruct-q8_0.gguf" "$OUT"
assert_eq hf_name_sha "$SHA" "$(sha_of "$LLMUX_CACHE_DIR/smollm2-135m-instruct-q8_0.gguf")"
assert_contains hf_name_verified "$ERR" "sha256 verified"
assert_contains hf_name_url "$(cat "$LOG")" \
    "/hf/bartowski/SmolLM2-135M-Instruct-GGUF/resolve/main/SmolLM2-135M-Instruct-Q8_0.gguf - 302"
export HF_ENDPOINT="$BASE/hfbad"
run_llmux pull qwen2.5-0.5b-instruct
assert_rc hf_bad_etag_rc 1
assert_contains hf_bad_etag_msg "$ERR" "announced by the server"
assert_eq hf_bad_etag_nothing "no" \
    "$(ls "$LLMUX_CACHE_DIR" | grep -q qwen && echo yes || echo no)"
# $HF_TOKEN goes to the Hugging Face endpoint, never to the CDN host it
# redirects to.
export HF_ENDPOINT="$BASE/hfx" HF_TOKEN="hf_e2e_not_a_real_token"
: >"$LOG"
run_llmux pull smollm2-360m-instruct
assert_rc hf_token_rc 0
assert_contains hf_token_sent_to_hf "$(cat "$LOG")" "/hfx/ngxson/SmolLM2-360M-Instruct-Q8_0-GGUF/resolve/main/smollm2-360m-instruct-q8_0.gguf - 302 auth"
assert_contains hf_token_not_to_cdn "$(cat "$LOG")" "GET /files/model.gguf - 200 -"
unset HF_TOKEN
export HF_ENDPOINT="$BASE/hf"
: >"$LOG"
run_llmux pull smollm2-360m-instruct --force
assert_contains hf_no_token_no_auth "$(cat "$LOG")" "302 -"
unset HF_ENDPOINT LLMUX_CACHE_DIR

# Two pulls of one file at once: the second is refused while the first runs.
D="$E2E_TMP/locked"
mkdir -p "$D"
: >"$D/model.gguf.part"
exec 9>>"$D/model.gguf.part"
flock -n 9
run_llmux pull "$BASE/files/model.gguf" --output "$D"
assert_rc locked_rc 1
assert_contains locked_msg "$ERR" "another llmux pull is downloading"
flock -u 9
exec 9>&-
run_llmux pull "$BASE/files/model.gguf" --output "$D"
assert_rc unlocked_rc 0

# Default location: ~/.cache/llmux/models (HOME is private to this test).
run_llmux pull "$BASE/files/model.gguf" --quiet
assert_rc home_cache_rc 0
assert_eq home_cache_path "$HOME/.cache/llmux/models/model.gguf" "$OUT"
assert_eq home_cache_quiet "" "$ERR"

# A real model pulled and then used, when the shared models are here.
MD=${LLMUX_MODEL_DIR:-$REPO_ROOT/../shared/models}
if [ -f "$MD/stories260K/stories260K.gguf" ]; then
    cp "$MD/stories260K/stories260K.gguf" "$ROOT/stories260K.gguf"
    run_llmux pull "$BASE/files/stories260K.gguf" --output "$OUTD" \
        --sha256 3c4a7c3a8313e00ae6a6b64df717828f4ba18391ea31ffb01abe9a2c4f7bb9a9
    assert_rc real_model_rc 0
    run_llmux tokenize --model "$OUTD/stories260K.gguf" "Once upon a time"
    assert_rc real_model_tokenize_rc 0
    assert_match real_model_tokenize_ids "$OUT" '^\[1,[0-9,]+\]$'
else
    skip real_model "stories260K.gguf not found under $MD"
fi

finish
