#!/usr/bin/env bash
# engine.sh — end-to-end tests of the embedded engine through `llmux complete`:
# stories260K token for token against the llama2.c references (greedy and
# seeded top-p; ids and text), the old GGUF v1 file, the F16 and Q8_0 test
# models, and clear errors for corrupt files and bad usage.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$LLMUX_BIN" ]; then
    fail engine_binary "no llmux binary at $LLMUX_BIN"
    finish
fi
MODELS=${LLMUX_MODEL_DIR:-$REPO_ROOT/../shared/models}
ST="$MODELS/stories260K"
RUN_TIMEOUT=60

run_llmux complete --help
assert_rc complete_help 0
assert_contains complete_help_text "$OUT" "usage: llmux complete"

run_llmux complete
assert_rc complete_needs_model 2
assert_contains complete_needs_model_msg "$ERR" "--model"

run_llmux complete --model x.gguf --temperature abc
assert_rc complete_bad_option 2

# ids printed as a JSON array -> "1 2 3"
ids_of() { py -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin))))'; }

if [ ! -f "$ST/stories260K.gguf" ]; then
    skip engine_references "test models not found in $MODELS (set LLMUX_MODEL_DIR)"
    finish
fi

check_ids() { # NAME REF ARGS...
    local name=$1 ref=$2
    shift 2
    run_llmux complete --threads 1 --ids "$@"
    if [ "$RC" -ne 0 ]; then
        fail "$name" "exit $RC: $ERR"
        return
    fi
    assert_eq "$name" "$(tr -s ' \n' ' ' <"$ref" | sed 's/ $//')" "$(ids_of <"$OUT_FILE")"
}
check_text() { # NAME REF ARGS...
    local name=$1 ref=$2
    shift 2
    run_llmux complete --threads 1 "$@"
    if [ "$RC" -ne 0 ]; then
        fail "$name" "exit $RC: $ERR"
        return
    fi
    if cmp -s <(printf '%s\n' "$(cat "$ref")") "$OUT_FILE"; then
        ok "$name"
    else
        fail "$name" "text differs: $(diff <(cat "$ref"; echo) "$OUT_FILE" | head -5)"
    fi
}

check_ids greedy_n200_ids "$ST/expected_t0_n200.ids" -m "$ST/stories260K.gguf" -t 0 -n 200
check_ids greedy_n256_ids "$ST/expected_t0_n256.ids" -m "$ST/stories260K.gguf" -t 0 -n 256
check_ids seeded_top_p_ids "$ST/expected_t1.0_p0.9_s133742_n256.ids" \
    -m "$ST/stories260K.gguf" -t 1.0 -p 0.9 -s 133742 -n 256
check_ids ggufv1_greedy_ids "$ST/expected_t0_n200.ids" -m "$ST/stories260K-ggufv1.gguf" -t 0 -n 200
check_ids greedy_prompt_ids_from_bos "$ST/expected_t0_n200.ids" \
    -m "$ST/stories260K.gguf" -t 0 -n 200 --prompt-ids 1
check_text greedy_n200_text "$ST/expected_t0_n200.txt" -m "$ST/stories260K.gguf" -t 0 -n 200
check_text seeded_top_p_text "$ST/expected_t1.0_p0.9_s133742_n256.txt" \
    -m "$ST/stories260K.gguf" -t 1 -p 0.9 -s 133742 -n 256

# the default thread count (the pool) must give the same ids
run_llmux complete --ids -m "$ST/stories260K.gguf" -t 0 -n 256
assert_eq default_threads_ids "$(tr -s ' \n' ' ' <"$ST/expected_t0_n256.ids" | sed 's/ $//')" \
    "$(ids_of <"$OUT_FILE" 2>/dev/null)"

run_llmux complete --threads 1 -m "$ST/stories260K.gguf" -t 0 -n 30 Once upon a time
assert_rc prompt_text_runs 0
assert_match prompt_text_output "$OUT" '[a-z]+'

run_llmux complete --threads 1 -m "$ST/stories260K.gguf" --ctx 16 -t 0 -n 100
assert_rc context_overflow_exit 1
assert_contains context_overflow_msg "$ERR" "context of 16 tokens"

for m in llama-2-tiny-random/llama-2-tiny-random.gguf \
    smollm2-tokenizer/smollm2-tokenizer-tiny-random.gguf; do
    n=$(basename "$m" .gguf)
    if [ -f "$MODELS/$m" ]; then
        run_llmux complete --threads 1 --ids -m "$MODELS/$m" -t 0 -n 16 --no-eos Hello
        assert_rc "runs_$n" 0
        assert_match "ids_$n" "$OUT" '^\[[0-9]+(,[0-9]+){15}\]$'
    else
        skip "runs_$n" "$MODELS/$m not found"
    fi
done

# the embedded engine as a provider (type: local) through `llmux ask`
cat >"$E2E_TMP/local.yaml" <<EOF
providers:
  - name: local
    type: local
    model: $ST/stories260K.gguf
    models: [stories]
EOF
run_llmux ask --config "$E2E_TMP/local.yaml" -m local/stories -t 0 --max-tokens 40 "Once upon a time"
assert_rc local_provider_ask 0
assert_contains local_provider_text "$OUT" "there was a little girl named Lily"
run_llmux ask --config "$E2E_TMP/local.yaml" -m local/stories --json -t 0 --max-tokens 10 \
    "Once upon a time"
assert_rc local_provider_json 0
assert_eq local_provider_usage_output 10 "$(jget "$OUT" usage.output)"
assert_eq local_provider_finish length "$(jget "$OUT" finish)"
run_llmux ask --config "$E2E_TMP/local.yaml" -m local/stories --max-tokens 100000 "Once"
assert_rc local_provider_too_long 1
assert_contains local_provider_too_long_msg "$ERR" "512-token context"

# `models` reads an uncatalogued local model's context window from its GGUF
run_llmux models --config "$E2E_TMP/local.yaml" --json
assert_rc local_models_exit 0
assert_eq local_models_context 512 "$(jget "$OUT" models.0.context)"

# corrupt files: exit 1 and a message naming the field
head -c 5000 "$ST/stories260K.gguf" >"$E2E_TMP/trunc.gguf"
run_llmux complete -m "$E2E_TMP/trunc.gguf"
assert_rc truncated_exit 1
assert_contains truncated_msg "$ERR" "tokenizer.ggml.tokens"
head -c 1185000 "$ST/stories260K.gguf" >"$E2E_TMP/trunc_data.gguf"
run_llmux complete -m "$E2E_TMP/trunc_data.gguf"
assert_rc truncated_data_exit 1
assert_match truncated_data_msg "$ERR" "tensor '[a-z_.0-9]+': data .* past end of file"
printf 'GGML\3\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0' >"$E2E_TMP/magic.gguf"
run_llmux complete -m "$E2E_TMP/magic.gguf"
assert_rc bad_magic_exit 1
assert_contains bad_magic_msg "$ERR" "magic"
run_llmux complete -m "$E2E_TMP/missing.gguf"
assert_rc missing_file_exit 1
assert_contains missing_file_msg "$ERR" "missing.gguf"

finish
