#!/usr/bin/env bash
# tokenize.sh — end-to-end tests of `llmux tokenize`: the SmolLM2 reference
# ids (TEXT argument and stdin, with and without special-token parsing),
# Llama 2 / stories260K BOS handling, and clear errors for bad model files.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$LLMUX_BIN" ]; then
    fail tokenize_binary "no llmux binary at $LLMUX_BIN"
    finish
fi

run_llmux tokenize --help
assert_rc help_rc 0
assert_contains help_text "$OUT" "--no-special"
run_llmux tokenize "hello"
assert_rc no_model_rc 2
assert_contains no_model_msg "$ERR" "--model"
run_llmux tokenize --model
assert_rc model_needs_value_rc 2
run_llmux tokenize --bogus -m x.gguf hi
assert_rc unknown_option_rc 2

# ---- bad model files ---------------------------------------------------------
run_llmux tokenize --model "$E2E_TMP/absent.gguf" hi
assert_rc absent_rc 1
assert_contains absent_msg "$ERR" "absent.gguf"
printf 'not a gguf at all, just text\n' >"$E2E_TMP/text.gguf"
run_llmux tokenize --model "$E2E_TMP/text.gguf" hi
assert_rc not_gguf_rc 1
assert_contains not_gguf_names_file "$ERR" "text.gguf"

if have python3; then
    # Minimal GGUF v3 files: one without a tokenizer, one with an unknown
    # pre-tokenizer, one with an unknown tokenizer model.
    python3 - "$E2E_TMP" <<'PY'
import struct, sys
d = sys.argv[1]
def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b
def kv_str(k, v):
    return s(k) + struct.pack("<I", 8) + s(v)
def kv_strarr(k, vs):
    return s(k) + struct.pack("<IIQ", 9, 8, len(vs)) + b"".join(s(v) for v in vs)
def write(name, kvs):
    with open(d + "/" + name, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs))
write("notok.gguf", [kv_str("general.architecture", "llama")])
toks = ["a", "b", "ab"]
write("badpre.gguf", [kv_str("tokenizer.ggml.model", "gpt2"), kv_str("tokenizer.ggml.pre", "klingon"),
                      kv_strarr("tokenizer.ggml.tokens", toks), kv_strarr("tokenizer.ggml.merges", ["a b"])])
write("badmodel.gguf", [kv_str("tokenizer.ggml.model", "wordpiece"), kv_strarr("tokenizer.ggml.tokens", toks)])
write("tinybpe.gguf", [kv_str("tokenizer.ggml.model", "gpt2"), kv_str("tokenizer.ggml.pre", "qwen2"),
                       kv_strarr("tokenizer.ggml.tokens", toks), kv_strarr("tokenizer.ggml.merges", ["a b"])])
PY
    run_llmux tokenize --model "$E2E_TMP/notok.gguf" hi
    assert_rc no_tokenizer_rc 1
    assert_contains no_tokenizer_msg "$ERR" "tokenizer.ggml.model"
    run_llmux tokenize --model "$E2E_TMP/badpre.gguf" hi
    assert_rc bad_pre_rc 1
    assert_contains bad_pre_names_it "$ERR" "klingon"
    assert_contains bad_pre_lists "$ERR" "smollm"
    run_llmux tokenize --model "$E2E_TMP/badmodel.gguf" hi
    assert_rc bad_model_rc 1
    assert_contains bad_model_msg "$ERR" "wordpiece"
    run_llmux tokenize --model "$E2E_TMP/tinybpe.gguf" abab
    assert_rc tiny_bpe_rc 0
    assert_eq tiny_bpe_ids "[2,2]" "$OUT"
else
    skip synthetic_gguf "python3 not available"
fi

MD=${LLMUX_MODEL_DIR:-$REPO_ROOT/../shared/models}
SMOL="$MD/smollm2-tokenizer/smollm2-tokenizer-tiny-random.gguf"
REF="$MD/smollm2-tokenizer/tokenize_ref.jsonl"
LLAMA2="$MD/llama-2-tiny-random/llama-2-tiny-random.gguf"
STORIES="$MD/stories260K/stories260K.gguf"

# ---- SmolLM2 reference, every line, through the binary --------------------------
if [ -f "$SMOL" ] && [ -f "$REF" ] && have python3; then
    res=$(python3 - "$LLMUX_BIN" "$SMOL" "$REF" <<'PY'
import json, subprocess, sys
binary, model, ref = sys.argv[1:4]
bad, n = [], 0
for i, line in enumerate(open(ref, encoding="utf-8")):
    o = json.loads(line)
    for key, args, via_stdin in (("ids", [], True), ("ids_no_parse_special", ["--no-special"], True),
                                 ("ids", [], False)):
        if not via_stdin and (o["text"] == "" or o["text"].startswith("-")):
            continue
        cmd = [binary, "tokenize", "--model", model] + args
        if via_stdin:
            p = subprocess.run(cmd, input=o["text"].encode(), capture_output=True)
        else:
            p = subprocess.run(cmd + [o["text"]], capture_output=True)
        n += 1
        got = p.stdout.decode().strip()
        if p.returncode != 0 or json.loads(got or "null") != o[key]:
            bad.append("line %d %s: %s" % (i + 1, key, got or p.stderr.decode()))
print("%d %d %s" % (n, len(bad), " | ".join(bad[:3])))
PY
)
    set -- $res
    if [ "${2:-x}" = 0 ] && [ "${1:-0}" -ge 60 ]; then ok smollm2_reference_all_lines; else
        fail smollm2_reference_all_lines "$res"; fi
    run_llmux tokenize --model "$SMOL" "<|im_start|>user"
    assert_eq smollm2_special_parsed "[1,4093]" "$OUT"
    run_llmux tokenize --model "$SMOL" --no-special "<|im_start|>"
    assert_not_contains smollm2_no_special "$OUT" "[1,"
    run_llmux tokenize --model "$SMOL" Hello world
    assert_eq smollm2_args_joined "[19556,905]" "$OUT"
else
    skip smollm2_reference "SmolLM2 tokenizer model or reference not found under $MD"
fi

# ---- SentencePiece models: BOS as the model asks ---------------------------------
if [ -f "$LLAMA2" ]; then
    run_llmux tokenize --model "$LLAMA2" "Hello world!"
    assert_rc llama2_rc 0
    assert_eq llama2_ids "[1,15043,3186,29991]" "$OUT"
    run_llmux tokenize --model "$LLAMA2" --no-bos "Hello world!"
    assert_eq llama2_no_bos "[15043,3186,29991]" "$OUT"
    printf 'Hello world!' >"$E2E_TMP/in.txt"
    RUN_STDIN="$E2E_TMP/in.txt" run_llmux tokenize --model "$LLAMA2"
    assert_eq llama2_stdin "[1,15043,3186,29991]" "$OUT"
else
    skip llama2 "llama-2-tiny-random.gguf not found under $MD"
fi
if [ -f "$STORIES" ]; then
    run_llmux tokenize --model "$STORIES" "Once upon a time"
    assert_rc stories_rc 0
    assert_match stories_bos "$OUT" '^\[1,[0-9]+(,[0-9]+)*\]$'
    V1="$MD/stories260K/stories260K-ggufv1.gguf"
    if [ -f "$V1" ]; then
        run_llmux tokenize --model "$V1" "Once upon a time"
        if [ "$RC" -eq 0 ]; then
            run_llmux tokenize --model "$STORIES" "Once upon a time"
            v3="$OUT"
            run_llmux tokenize --model "$V1" "Once upon a time"
            assert_eq gguf_v1_same_ids "$v3" "$OUT"
        else
            assert_rc gguf_v1_clear_error 1
            assert_contains gguf_v1_message "$ERR" "stories260K-ggufv1.gguf"
        fi
    fi
else
    skip stories260K "stories260K.gguf not found under $MD"
fi

finish
