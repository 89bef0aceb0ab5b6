#!/usr/bin/env bash
# config.sh — end-to-end tests of `llmux config check` and `llmux models`:
# fixture configs (valid, each kind of error with its FILE:LINE:COL), the
# search order ($LLMUX_CONFIG, ./llmux.yaml, ~/.config/llmux/config.yaml),
# the environment fallback, masking of keys, table and JSON output.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$LLMUX_BIN" ]; then
    fail config_binary "no llmux binary at $LLMUX_BIN"
    finish
fi

FIX="$REPO_ROOT/tests/fixtures/config"
# Nothing from the machine may leak in: no keys, no models, no config files.
unset GOOGLE_API_KEY OPENAI_BASE_URL ANTHROPIC_BASE_URL LLMUX_MODEL LLMUX_MODEL_DIR \
    XDG_CONFIG_HOME LLMUX_TEST_OPENAI_KEY LLMUX_TEST_ANTHROPIC_KEY
# A working directory with no llmux.yaml and no ../shared/models next to it.
WORK="$E2E_TMP/work"
mkdir -p "$WORK"
cd "$WORK" || exit 1

have_py() { command -v python3 >/dev/null 2>&1; }

# ---- config check: valid --------------------------------------------------
SECRET="sk-e2e-SECRETVALUE-0123456789abcdef"
export LLMUX_TEST_OPENAI_KEY="$SECRET"
run_llmux config check --config "$FIX/full.yaml"
assert_rc check_full_rc 0
assert_contains check_full_dump "$OUT" "default_model: openai/gpt-4o-mini"
assert_contains check_full_default_base "$OUT" "base_url: https://api.anthropic.com"
assert_contains check_full_trailing_slash "$OUT" "base_url: http://127.0.0.1:11434
"
assert_contains check_full_timeouts "$OUT" \
    "timeouts: {connect_ms: 5000, first_byte_ms: 30000, idle_ms: 30000, total_ms: 120000}"
assert_contains check_full_masked "$OUT" "api_key_env: LLMUX_TEST_OPENAI_KEY  # set: sk-…(35 chars)"
assert_not_contains check_full_no_secret_stdout "$OUT" "SECRETVALUE"
assert_not_contains check_full_no_secret_stderr "$ERR" "SECRETVALUE"
assert_contains check_full_warns_unset "$ERR" \
    "llmux: warning: provider claude: LLMUX_TEST_ANTHROPIC_KEY is not set"
assert_contains check_full_catalogue_override "$OUT" \
    "price: {input: 3, output: 10, cache_read: 1.25, cache_write: 0}"
# every section is in the effective configuration, defaults included
for s in aliases routing guard reliability server keys ledger budgets cache; do
    assert_match "check_full_section_$s" "$OUT" "^$s:"
done
assert_contains check_full_routing_default "$OUT" "routing:
  privacy: route_local"
unset LLMUX_TEST_OPENAI_KEY

# the dump is itself a valid config
run_llmux config check --config "$FIX/full.yaml"
printf '%s\n' "$OUT" >"$E2E_TMP/dump.yaml"
run_llmux config check -q --config "$E2E_TMP/dump.yaml"
if [ "$RC" -eq 0 ] && [ -z "$OUT" ]; then ok check_dump_reads_back; else
    fail check_dump_reads_back "exit $RC; $ERR"; fi

# a relative model path is relative to the config file, printed absolute
(cd "$REPO_ROOT/tests" && run_llmux config check --config fixtures/config/full.yaml &&
    printf '%s\n' "$OUT" >"$E2E_TMP/rel.out")
assert_contains check_model_path_anchored "$(cat "$E2E_TMP/rel.out")" \
    "model: $FIX/models/tiny.gguf"

# ---- config check: errors, one line each, FILE:LINE:COL ---------------------
check_error() { # NAME FILE EXPECTED-STDERR-PREFIX
    run_llmux config check --config "$2"
    if [ "$RC" -ne 2 ]; then
        fail "$1" "exit $RC (want 2); stderr: $ERR"
    elif [ "$(printf '%s\n' "$ERR" | wc -l)" -ne 1 ]; then
        fail "$1" "expected exactly one line on stderr, got: $ERR"
    elif [ -n "$OUT" ]; then
        fail "$1" "nothing expected on stdout, got: $OUT"
    else
        case "$ERR" in
        "$3"*) ok "$1" ;;
        *) fail "$1" "stderr '$ERR' does not start with '$3'" ;;
        esac
    fi
}
check_error check_unknown_key "$FIX/bad_key.yaml" \
    "llmux: $FIX/bad_key.yaml:4:5: unknown key 'base_ulr' in providers[0] (did you mean 'base_url'?); expected one of: name, type, base_url,"
check_error check_yaml_syntax "$FIX/bad_syntax.yaml" \
    "llmux: $FIX/bad_syntax.yaml:4:1: YAML syntax error: "
check_error check_bad_default "$FIX/bad_default.yaml" \
    "llmux: $FIX/bad_default.yaml:1:16: default_model: unknown model 'anthropic/claude-sonnet-4-5'; configured: openai (gpt-4o-mini)"
check_error check_missing_file "$FIX/does-not-exist.yaml" \
    "llmux: $FIX/does-not-exist.yaml: cannot read: No such file or directory"
printf 'providers:\n  - name: a\n    type: openai\n    timeouts: {total_ms: -1}\n' >"$E2E_TMP/neg.yaml"
check_error check_negative_timeout "$E2E_TMP/neg.yaml" \
    "llmux: $E2E_TMP/neg.yaml:4:26: providers[0].timeouts.total_ms: expected a positive integer, got -1"
printf '\x00\xff\xfe garbage [[[\n' >"$E2E_TMP/binary.yaml"
run_llmux config check --config "$E2E_TMP/binary.yaml"
assert_rc check_binary_garbage 2

# ---- literal key in the file: masked, warned ---------------------------------
run_llmux config check --config "$FIX/literal_key.yaml"
assert_rc check_literal_rc 0
assert_contains check_literal_masked "$OUT" 'api_key: "sk-…(32 chars)"'
assert_not_contains check_literal_no_secret "$OUT$ERR" "literal-0123456789"
assert_contains check_literal_warns "$ERR" "api_key is written in $FIX/literal_key.yaml"

# ---- usage ---------------------------------------------------------------------
run_llmux config --help
assert_rc config_help_rc 0
assert_contains config_help_text "$OUT" "usage: llmux config [check] [--config FILE]"
run_llmux config check --bogus
assert_rc config_bad_option_rc 2
assert_contains config_bad_option_msg "$ERR" "unknown option '--bogus'"
run_llmux config check --config
assert_rc config_missing_value_rc 2
run_llmux config frobnicate
assert_rc config_bad_subcommand 2
run_llmux models --help
assert_rc models_help_rc 0
assert_contains models_help_text "$OUT" "usage: llmux models [--config FILE] [--json]"
run_llmux models extra-arg
assert_rc models_extra_arg 2

# ---- search order ------------------------------------------------------------
printf 'providers:\n  - {name: from_env_var, type: ollama}\n' >"$E2E_TMP/envcfg.yaml"
printf 'providers:\n  - {name: from_cwd, type: ollama}\n' >"$WORK/llmux.yaml"
mkdir -p "$HOME/.config/llmux"
printf 'providers:\n  - {name: from_home, type: ollama}\n' >"$HOME/.config/llmux/config.yaml"
export LLMUX_CONFIG="$E2E_TMP/envcfg.yaml"
run_llmux config check
assert_contains search_llmux_config "$OUT" "name: from_env_var"
unset LLMUX_CONFIG
run_llmux config check
assert_contains search_cwd "$OUT" "name: from_cwd"
rm "$WORK/llmux.yaml"
run_llmux config check
assert_contains search_home "$OUT" "name: from_home"
rm "$HOME/.config/llmux/config.yaml"
run_llmux config check
assert_contains search_environment "$OUT" "# effective configuration (source: (environment))"
export LLMUX_CONFIG="$E2E_TMP/nope.yaml"
run_llmux config check
assert_rc search_llmux_config_missing 2
unset LLMUX_CONFIG

# ---- nothing configured --------------------------------------------------------
run_llmux models
assert_rc models_none_rc 2
assert_contains models_none_msg "$ERR" "no providers configured: set OPENAI_API_KEY"
run_llmux config check
assert_rc check_none_rc 0
assert_contains check_none_warns "$ERR" "no providers configured"

# ---- environment fallback -------------------------------------------------------
export OPENAI_API_KEY="sk-env-0123456789abcdefghij"
export OLLAMA_HOST="gpu-box:1234"
export LLMUX_MODEL="/models/tiny-test.gguf"
run_llmux config check
assert_contains env_ollama_host "$OUT" "base_url: http://gpu-box:1234"
assert_contains env_default_local "$OUT" "default_model: local/tiny-test.gguf"
assert_not_contains env_no_secret "$OUT$ERR" "0123456789abcdefghij"
if have_py; then
    run_llmux models --json
    assert_rc env_models_json_rc 0
    assert_eq env_models_first "openai/gpt-4o-mini" "$(jget "$OUT" models.0.id)"
    assert_eq env_models_second "openai/gpt-4o" "$(jget "$OUT" models.1.id)"
    assert_eq env_models_ollama_any "true" "$(jget "$OUT" models.2.any_model)"
    assert_eq env_models_local_id "local/tiny-test.gguf" "$(jget "$OUT" models.3.id)"
    assert_eq env_models_local_type "local" "$(jget "$OUT" models.3.type)"
    assert_eq env_models_local_locality "local" "$(jget "$OUT" models.3.locality)"
else
    skip env_models_json "python3 is needed to read JSON"
fi
unset OPENAI_API_KEY OLLAMA_HOST LLMUX_MODEL

# ---- models: table and JSON over a fixture ----------------------------------------
run_llmux models --config "$FIX/full.yaml"
assert_rc models_table_rc 0
assert_match models_table_header "$(printf '%s\n' "$OUT" | head -1)" \
    '^NAME +TYPE +LOCALITY +CONTEXT +FEATURES +\$IN/M +\$OUT/M$'
assert_match models_table_gpt4o "$OUT" \
    'openai/gpt-4o +openai +remote +128k +tools,vision,json +3 +10'
assert_match models_table_mini "$OUT" \
    'openai/gpt-4o-mini +openai +remote +128k +tools,vision,json +0\.15 +0\.6'
assert_match models_table_claude "$OUT" \
    'claude/claude-sonnet-4-5 +anthropic +remote +200k +tools,vision,json,reasoning +3 +15'
assert_match models_table_local "$OUT" 'local/tiny\.gguf +local +local +- +- +0 +0'
assert_match models_table_unknown "$OUT" 'ollama/\* \(any model\) +ollama +local +- +- +- +-'
assert_match models_table_any "$OUT" 'ollama/\* \(any model\) +ollama +local'
# every row has its columns where the header has them
cols=$(printf '%s\n' "$OUT" | awk 'NR==1{h=index($0,"TYPE")} NR>1 && substr($0,h-2,2)!="  "{bad=1} END{print bad+0}')
assert_eq models_table_aligned 0 "$cols"

if have_py; then
    run_llmux models --json --config "$FIX/full.yaml"
    assert_rc models_json_rc 0
    assert_eq models_json_id "openai/gpt-4o-mini" "$(jget "$OUT" models.0.id)"
    assert_eq models_json_provider "openai" "$(jget "$OUT" models.0.provider)"
    assert_eq models_json_type "openai" "$(jget "$OUT" models.0.type)"
    assert_eq models_json_locality "remote" "$(jget "$OUT" models.0.locality)"
    assert_eq models_json_context "128000" "$(jget "$OUT" models.0.context)"
    assert_eq models_json_features '["tools","vision","json"]' "$(jget "$OUT" models.0.features)"
    assert_eq models_json_price_in "0.15" "$(jget "$OUT" models.0.price.input)"
    assert_eq models_json_override "3.0" "$(jget "$OUT" models.1.price.input)"
    assert_eq models_json_cache_read "1.25" "$(jget "$OUT" models.1.price.cache_read)"
    assert_eq models_json_user_entry "131072" "$(jget "$OUT" models.4.context)"
    assert_eq models_json_user_id "vllm/meta-llama/Llama-3.1-8B-Instruct" "$(jget "$OUT" models.4.id)"
    assert_eq models_json_vllm_local "local" "$(jget "$OUT" models.4.locality)"
    assert_eq models_json_local_id "local/tiny.gguf" "$(jget "$OUT" models.5.id)"
    assert_eq models_json_local_free '{"input":0.0,"output":0.0,"cache_read":0.0,"cache_write":0.0}' \
        "$(jget "$OUT" models.5.price)"
    assert_eq models_json_local_context "null" "$(jget "$OUT" models.5.context)"
    assert_eq models_json_unknown_price "null" "$(jget "$OUT" models.3.price)"
    assert_eq models_json_count 6 "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["models"]))' "$OUT")"
else
    skip models_json "python3 is needed to read JSON"
fi
run_llmux models --json --config "$FIX/bad_key.yaml"
assert_rc models_bad_config_rc 2
assert_contains models_bad_config_msg "$ERR" "bad_key.yaml:4:5: unknown key 'base_ulr'"

finish
