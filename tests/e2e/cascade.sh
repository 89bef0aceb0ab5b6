#!/usr/bin/env bash
# End-to-end tests of the cascade (local first, validate, escalate) through
# `llmux ask`, the embedded engine (stories260K) and the mock provider:
# a draft that fails validation escalates, the caller's stream carries only
# the hosted answer, the verdict is reported; without cascade the local
# answer is the answer; a sensitive request never escalates to the cloud
# (privacy route_local). The validator's every reason, and passing drafts,
# are unit-tested in tests/unit/test_cascade.c (stories260K never ends a
# story on its own, so every draft of it here stops on the length limit).
. "$(dirname "$0")/lib.sh"

MODELS=${LLMUX_MODEL_DIR:-$REPO_ROOT/../shared/models}
ST="$MODELS/stories260K/stories260K.gguf"
if [ ! -f "$ST" ]; then
    skip cascade "test model not found: $ST (set LLMUX_MODEL_DIR)"
    finish
fi
RUN_TIMEOUT=60

start_mock
LOCAL="  - name: local
    type: local
    model: $ST"
write_config "$E2E_TMP/cascade.yaml" "$LOCAL
routing:
  default: local
  escalate: mockopenai/echo
  cascade: true"
write_config "$E2E_TMP/plain.yaml" "$LOCAL
routing:
  default: local
  escalate: mockopenai/echo"

run_llmux ask --config "$E2E_TMP/cascade.yaml" --json -m auto --max-tokens 20 -t 0 "Once upon a time"
if [[ "$OUT" != *'"cascade"'* ]]; then
    skip cascade_ask "llmux ask does not run cascades yet: $ERR"
    finish
fi
assert_rc escalate_exit 0
assert_eq escalate_flag "true" "$(jget "$OUT" route.escalated)"
assert_eq escalate_pass "false" "$(jget "$OUT" route.cascade.pass)"
assert_eq escalate_reason "hit length limit" "$(jget "$OUT" route.cascade.reason)"
assert_eq escalate_first_attempt_local "local" "$(jget "$OUT" route.attempts.0.provider)"
assert_eq escalate_answer_from_cloud "mockopenai" "$(jget "$OUT" provider)"
assert_eq escalate_text "Hello from mock-openai. You said: Once upon a time" "$(jget "$OUT" text)"

# streamed to the terminal: only the hosted answer, none of the local draft
run_llmux ask --config "$E2E_TMP/cascade.yaml" -m auto --max-tokens 20 -t 0 "Once upon a time"
assert_rc stream_exit 0
assert_eq stream_only_hosted_answer "Hello from mock-openai. You said: Once upon a time" "$OUT"

# without cascade the local draft is the answer, length limit or not
run_llmux ask --config "$E2E_TMP/plain.yaml" --json -m auto --max-tokens 20 -t 0 "Once upon a time"
assert_eq no_cascade_local "local" "$(jget "$OUT" provider)"
assert_eq no_cascade_finish "length" "$(jget "$OUT" finish)"
assert_eq no_cascade_not_escalated "false" "$(jget "$OUT" route.escalated)"

# a sensitive request stays local even when its draft would fail
mock_reset >/dev/null
run_llmux ask --config "$E2E_TMP/cascade.yaml" --json -m auto --max-tokens 20 -t 0 \
    "Once upon a time bob@corp.io"
assert_rc sensitive_exit 0
assert_eq sensitive_local "local" "$(jget "$OUT" provider)"
assert_eq sensitive_not_escalated "false" "$(jget "$OUT" route.escalated)"
assert_eq sensitive_no_upstream_request "0" "$(jget "$(mock_stats)" total)"

finish
