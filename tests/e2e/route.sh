#!/usr/bin/env bash
# route.sh — `llmux route --explain`: the decision for a prompt, without
# sending anything, against a config of the mock providers (and the local
# stories260K model when it is present: exact token counts, local routing).
source "$(dirname "$0")/lib.sh"

start_mock || { fail mock "mock provider did not start"; finish; }

GGUF="${LLMUX_MODEL_DIR:-$REPO_ROOT/../shared/models}/stories260K/stories260K.gguf"
RULES='routing:
  rules:
    - when: {privacy: [PRIVATE_KEY]}
      action: block
      reason: keys never leave
    - when: {header: x-team, equals: research}
      target: mockanthropic/claude-sonnet-4-5
aliases:
  smart: mockanthropic/claude-sonnet-4-5
  router: auto'

SIMPLE="Classify the sentiment of this review: I love it."
HARD="Prove rigorously that there are infinitely many primes, then derive a closed form for the recurrence and justify each step."
EMAIL=" Write to jane.doe@acme-corp.io about it."

explain() { run_llmux route --explain --json --config "$CFG" "$@"; }

# ---- remote only (the mock providers) ------------------------------------
CFG="$E2E_TMP/remote.yaml"
write_config "$CFG" "$RULES"

explain "$SIMPLE"
assert_rc remote.simple.rc 0
assert_eq remote.simple.target cloud "$(jget "$OUT" target)"
assert_eq remote.simple.provider mockopenai "$(jget "$OUT" provider)"
assert_eq remote.simple.model echo "$(jget "$OUT" model)"
assert_eq remote.simple.action send "$(jget "$OUT" action)"
assert_eq remote.simple.estimate false "$(jget "$OUT" tokens.mockopenai/echo.exact)"
assert_match remote.simple.complexity "$(jget "$OUT" complexity)" '^0\.[0-9]+$'

explain -m smart "$SIMPLE"
assert_eq remote.alias.provider mockanthropic "$(jget "$OUT" provider)"
assert_eq remote.alias.explicit true "$(jget "$OUT" explicit_model)"

explain -H 'X-Team: research' "$HARD"
assert_eq remote.header_rule.model claude-sonnet-4-5 "$(jget "$OUT" model)"
assert_match remote.header_rule.rule "$(jget "$OUT" rule)" '^rules\[1\] at line [0-9]+$'

explain "my key: -----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA7bq1XbZk3mQ9vJ2n8sLr0pYtW4xC6dE5fG7hI8jK9lM0nO1pQ2rS3tU4vW5xY6z
-----END RSA PRIVATE KEY-----"
assert_rc remote.block_rule.rc 0
assert_eq remote.block_rule.action block "$(jget "$OUT" action)"
assert_eq remote.block_rule.target none "$(jget "$OUT" target)"
assert_contains remote.block_rule.error "$(jget "$OUT" error)" "keys never leave"
assert_eq remote.block_rule.privacy '["PRIVATE_KEY"]' "$(jget "$OUT" privacy)"

# sensitive under route_local with no local model that can take it: block
explain "$HARD$EMAIL"
assert_eq remote.sensitive_no_local.action block "$(jget "$OUT" action)"
assert_eq remote.sensitive_no_local.code blocked "$(jget "$OUT" error_code)"
assert_contains remote.sensitive_no_local.error "$(jget "$OUT" error)" "route_local keeps it local"

explain -H 'x-llmux-privacy: block' "$SIMPLE$EMAIL"
assert_eq remote.privacy_header.action block "$(jget "$OUT" action)"
explain -H 'x-llmux-privacy: off' "$SIMPLE$EMAIL"
assert_eq remote.privacy_header_weaker.mode route_local "$(jget "$OUT" privacy_mode)"

# stdin, plain output
RUN_STDIN="$E2E_TMP/prompt.txt"
printf '%s\n' "$SIMPLE" >"$RUN_STDIN"
run_llmux route --explain --config "$CFG"
unset RUN_STDIN
assert_rc plain.rc 0
assert_contains plain.target "$OUT" "target:     cloud (mockopenai/echo)"
assert_contains plain.tokens "$OUT" "mockopenai/echo:"
assert_contains plain.reasons "$OUT" "reasons:"
run_llmux route --explain --config "$CFG" -H 'x-llmux-privacy: block' "$SIMPLE$EMAIL"
assert_rc plain.block.rc 0
assert_contains plain.block "$OUT" "BLOCKED:"

# usage and configuration errors
run_llmux route --config "$CFG" "$SIMPLE"
assert_rc usage.no_explain 2
run_llmux route --explain --config "$CFG" --feature telepathy "$SIMPLE"
assert_rc usage.feature 2
write_config "$E2E_TMP/bad.yaml" 'routing:
  rules:
    - {when: {task: astrology}, action: block}'
run_llmux route --explain --config "$E2E_TMP/bad.yaml" "$SIMPLE"
assert_rc config.bad_task.rc 2
assert_match config.bad_task.pos "$ERR" 'bad\.yaml:[0-9]+:[0-9]+: routing\.rules\[0\]\.when\.task'

# virtual keys: scope and privacy mode
export ROUTE_TEAM_KEY="team-secret-0123456789"
write_config "$E2E_TMP/keys.yaml" 'keys:
  - {id: team-a, key_env: ROUTE_TEAM_KEY, models: [mockopenai/*, auto], privacy: block}'
run_llmux route --explain --json --config "$E2E_TMP/keys.yaml" --key team-a -m mockanthropic/claude "$SIMPLE"
assert_rc key.scope.rc 0
assert_contains key.scope.error "$(jget "$OUT" error)" "key 'team-a' may not use mockanthropic/claude"
run_llmux route --explain --json --config "$E2E_TMP/keys.yaml" --key team-a "$SIMPLE$EMAIL"
assert_eq key.privacy.mode block "$(jget "$OUT" privacy_mode)"
assert_eq key.privacy.action block "$(jget "$OUT" action)"
run_llmux route --explain --json --config "$E2E_TMP/keys.yaml" --key team-a "$SIMPLE"
assert_eq key.allowed.provider mockopenai "$(jget "$OUT" provider)"
run_llmux route --explain --config "$E2E_TMP/keys.yaml" --key nobody "$SIMPLE"
assert_rc key.unknown 2

# nothing was sent
assert_eq nothing_sent 0 "$(py -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$(mock_requests)")"

# ---- with the embedded engine's model -------------------------------------
if [ ! -r "$GGUF" ]; then
    skip local "stories260K.gguf not found (set LLMUX_MODEL_DIR)"
    finish
fi
CFG="$E2E_TMP/local.yaml"
write_config "$CFG" "  - {name: local, type: local, model: \"$GGUF\"}
$RULES"

explain "$SIMPLE"
assert_eq local.simple.target local "$(jget "$OUT" target)"
assert_eq local.simple.provider local "$(jget "$OUT" provider)"
assert_eq local.simple.model stories260K.gguf "$(jget "$OUT" model)"
assert_eq local.simple.exact true "$(jget "$OUT" plan.0.exact)"
assert_match local.simple.count "$(jget "$OUT" plan.0.tokens)" '^[1-9][0-9]*$'
assert_eq local.simple.context 512 "$(py -c 'import json,sys; print(json.loads(sys.argv[1])["tokens"]["local/stories260K.gguf"]["context"])' "$OUT")"
assert_eq local.simple.fallback mockopenai "$(jget "$OUT" plan.1.provider)"

explain "$HARD"
assert_eq local.hard.target cloud "$(jget "$OUT" target)"
assert_eq local.hard.fallback local "$(jget "$OUT" plan.1.provider)"

explain "$HARD$EMAIL"
assert_eq local.sensitive.target local "$(jget "$OUT" target)"
assert_eq local.sensitive.only_local 1 "$(jget "$OUT" plan | py -c 'import json,sys; print(len(json.load(sys.stdin)))')"
assert_eq local.sensitive.privacy '["EMAIL"]' "$(jget "$OUT" privacy)"

explain -m mockopenai/echo "$SIMPLE$EMAIL"
assert_eq local.explicit_remote_sensitive.provider local "$(jget "$OUT" provider)"

explain -H 'x-llmux-target: cloud' "$SIMPLE"
assert_eq local.target_header.target cloud "$(jget "$OUT" target)"

# too long for the 512-token context: cloud; and sensitive: a clear block
LONG=$(py -c 'print("Summarize this line of plain words for me. " * 60)')
explain "$LONG"
assert_eq local.long.target cloud "$(jget "$OUT" target)"
assert_contains local.long.reason "$(jget "$OUT" reasons)" "512-token context"
explain "$LONG$EMAIL"
assert_eq local.long_sensitive.action block "$(jget "$OUT" action)"
assert_contains local.long_sensitive.error "$(jget "$OUT" error)" "local/stories260K.gguf cannot take it"

explain --max-tokens 500 "$SIMPLE"
assert_eq local.max_tokens.target cloud "$(jget "$OUT" target)"

explain --feature tools "$SIMPLE"
assert_eq local.feature.target cloud "$(jget "$OUT" target)"
assert_contains local.feature.reason "$(jget "$OUT" reasons)" "needs tools"

finish
