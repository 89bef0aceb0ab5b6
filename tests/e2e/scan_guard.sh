#!/usr/bin/env bash
# End-to-end tests of `llmux scan` with the config's guard: section: terms,
# regexes and disabled types from --config and from the usual config file
# (LLMUX_CONFIG), --no-config, command-line options added on top, and
# --redact (the text as redact mode sends it).
. "$(dirname "$0")/lib.sh"

cat >"$E2E_TMP/guard.yaml" <<'EOF'
guard:
  disable: [PERSON]
  terms:
    - {type: CODENAME, words: [Bluebird, Nightjar]}
  regexes:
    - {type: TICKET, pattern: 'ACME-[0-9]{4}', caseless: true}
EOF
printf 'Bluebird fixes acme-1234 for John Smith, mail bob@corp.io' >"$E2E_TMP/in.txt"
# offsets:  Bluebird 0-8, acme-1234 15-24, John Smith 29-39, bob@corp.io 46-57

RUN_STDIN="$E2E_TMP/in.txt" run_llmux scan --json --config "$E2E_TMP/guard.yaml"
if [ "$RC" -eq 2 ] && [[ "$ERR" == *"not supported"* ]]; then
    skip guard_config "the config parser does not read guard: yet ($ERR)"
    finish
fi
assert_rc guard_config_exit 0
assert_eq guard_config_findings \
    '{"findings":[{"type":"CODENAME","start":0,"end":8},{"type":"TICKET","start":15,"end":24},{"type":"EMAIL","start":46,"end":57}]}' \
    "$OUT"

# the usual config file applies without --config
LLMUX_CONFIG="$E2E_TMP/guard.yaml" RUN_STDIN="$E2E_TMP/in.txt" run_llmux scan --json
assert_contains guard_default_config "$OUT" '"CODENAME"'
assert_not_contains guard_default_config_disable "$OUT" '"PERSON"'

# --no-config: built-ins only, PERSON back
LLMUX_CONFIG="$E2E_TMP/guard.yaml" RUN_STDIN="$E2E_TMP/in.txt" run_llmux scan --json --no-config
assert_eq guard_no_config \
    '{"findings":[{"type":"PERSON","start":29,"end":39},{"type":"EMAIL","start":46,"end":57}]}' "$OUT"

# command-line options add to the configured ones
RUN_STDIN="$E2E_TMP/in.txt" run_llmux scan --json --config "$E2E_TMP/guard.yaml" \
    --term VERB=fixes --disable EMAIL
assert_eq guard_cli_adds \
    '{"findings":[{"type":"CODENAME","start":0,"end":8},{"type":"VERB","start":9,"end":14},{"type":"TICKET","start":15,"end":24}]}' \
    "$OUT"

run_llmux scan --config "$E2E_TMP/guard.yaml" --no-config
assert_rc guard_config_and_no_config 2

# --redact: the text as redact mode sends it, configured types included
RUN_STDIN="$E2E_TMP/in.txt" run_llmux scan --redact --config "$E2E_TMP/guard.yaml"
assert_rc redact_exit 0
assert_eq redact_text '[CODENAME_1] fixes [TICKET_1] for John Smith, mail [EMAIL_1]' "$OUT"
printf 'bob@corp.io, "bob@corp.io" and eve@corp.io\n' >"$E2E_TMP/two.txt"
RUN_STDIN="$E2E_TMP/two.txt" run_llmux scan --redact --json --no-config
assert_eq redact_json_same_value True "$(printf '%s' "$OUT" | py -c 'import json, sys
print(json.load(sys.stdin)["redacted"] == "[EMAIL_1], \"[EMAIL_1]\" and [EMAIL_2]\n")')"
assert_contains redact_json_findings "$OUT" '{"findings":[{"type":"EMAIL","start":0,"end":11}'
printf 'a\0b bob@corp.io' >"$E2E_TMP/nul.txt"
run_llmux scan --redact --no-config "$E2E_TMP/nul.txt"
assert_rc redact_nul_refused 1
assert_contains redact_nul_msg "$ERR" "NUL"

# a bad guard section is a configuration error naming the field
printf 'guard:\n  disable: [NOPE]\n' >"$E2E_TMP/bad.yaml"
RUN_STDIN="$E2E_TMP/in.txt" run_llmux scan --config "$E2E_TMP/bad.yaml"
assert_rc guard_bad_type_exit 2
assert_contains guard_bad_type_msg "$ERR" "NOPE"

finish
