#!/usr/bin/env bash
# End-to-end tests of `llmux scan`: exact --json output, the corpora of
# tests/data/scan through the real binary, plain output, options, exit codes.
. "$(dirname "$0")/lib.sh"

DATA="$REPO_ROOT/tests/data/scan"

scan_text() { # TEXT ARGS...: runs scan with TEXT on stdin
    local text=$1
    shift
    printf '%s' "$text" >"$E2E_TMP/in.txt"
    RUN_STDIN="$E2E_TMP/in.txt" run_llmux scan "$@"
}

# ---- exact JSON -------------------------------------------------------------
scan_text 'mail bob@acme.io' --json
assert_eq json_exact '{"findings":[{"type":"EMAIL","start":5,"end":16}]}' "$OUT"
assert_rc json_exit 0

scan_text '' --json
assert_eq json_empty_input '{"findings":[]}' "$OUT"

scan_text 'nothing to see here, version 1.2.3.4' --json
assert_eq json_no_findings '{"findings":[]}' "$OUT"

scan_text 'card 4111 1111 1111 1111 to +44 20 7946 0958' --json
assert_eq json_two_sorted \
    '{"findings":[{"type":"CREDIT_CARD","start":5,"end":24},{"type":"PHONE","start":28,"end":44}]}' "$OUT"

printf 'a\0b bob@acme.io' >"$E2E_TMP/nul.txt"
run_llmux scan --json "$E2E_TMP/nul.txt"
assert_eq json_nul_bytes '{"findings":[{"type":"EMAIL","start":4,"end":15}]}' "$OUT"

# ---- the corpora, each file scanned whole, offsets checked -----------------
for corpus in positives negatives overlaps; do
    python3 - "$DATA/$corpus.txt" "$E2E_TMP/$corpus" <<'PY'
import re, sys, json
src, out = sys.argv[1], sys.argv[2]
text, want = b"", []
for line in open(src, "rb").read().split(b"\n"):
    if not line or line.startswith(b"#"):
        continue
    pos = 0
    for m in re.finditer(rb"\{\{([A-Z_0-9]+)\|(.*?)\}\}", line):
        text += line[pos:m.start()]
        want.append({"type": m.group(1).decode(), "start": len(text), "end": len(text) + len(m.group(2))})
        text += m.group(2)
        pos = m.end()
    text += line[pos:].replace(b"\\n", b"\n") + b"\n"
open(out + ".txt", "wb").write(text)
open(out + ".want", "w").write(json.dumps({"findings": want}, separators=(",", ":")))
PY
    run_llmux scan --json "$E2E_TMP/$corpus.txt"
    if [ "$RC" -ne 0 ]; then
        fail "corpus_$corpus" "exit $RC: $ERR"
    else
        diff=$(python3 - "$E2E_TMP/$corpus.txt" "$E2E_TMP/$corpus.want" "$OUT" <<'PY'
import json, sys
text = open(sys.argv[1], "rb").read()
want = json.load(open(sys.argv[2]))["findings"]
got = json.loads(sys.argv[3])["findings"]
show = lambda f: "%s=%r" % (f["type"], text[f["start"]:f["end"]].decode("utf-8", "replace"))
w = {(f["type"], f["start"], f["end"]) for f in want}
g = {(f["type"], f["start"], f["end"]) for f in got}
for f in want:
    if (f["type"], f["start"], f["end"]) not in g: print("missing", show(f))
for f in got:
    if (f["type"], f["start"], f["end"]) not in w: print("extra", show(f))
if [f["start"] for f in got] != sorted(f["start"] for f in got): print("unsorted")
PY
)
        if [ -z "$diff" ]; then ok "corpus_$corpus"; else fail "corpus_$corpus" "$diff"; fi
    fi
done

# ---- plain output -----------------------------------------------------------
scan_text 'Contact bob@acme.io or alice@acme.io at 8.8.8.8.'
assert_contains plain_marks "$OUT" 'Contact [EMAIL: bob@acme.io] or [EMAIL: alice@acme.io] at [IP_ADDRESS: 8.8.8.8].'
assert_match plain_summary_email "$OUT" '^EMAIL +2$'
assert_match plain_summary_ip "$OUT" '^IP_ADDRESS +1$'
assert_not_contains plain_no_colour_when_piped "$OUT" $'\033['

scan_text 'all clear'
assert_contains plain_none "$OUT" '-- no findings'
assert_rc plain_none_exit 0

if have script; then
    printf 'mail bob@acme.io\n' >"$E2E_TMP/tty.txt"
    tty_out=$(timeout 20 script -qec "'$LLMUX_BIN' scan '$E2E_TMP/tty.txt'" /dev/null 2>&1)
    assert_contains plain_colour_on_tty "$tty_out" $'\033[1;31mbob@acme.io\033[0;2m[EMAIL]\033[0m'
else
    skip plain_colour_on_tty "no script(1) to fake a terminal"
fi

# ---- options ----------------------------------------------------------------
scan_text 'Project Bluebird ships; ticket JIRA-4711.' --json --term CODENAME=bluebird --regex 'TICKET=JIRA-[0-9]+'
assert_eq user_term_and_regex \
    '{"findings":[{"type":"CODENAME","start":8,"end":16},{"type":"TICKET","start":31,"end":40}]}' "$OUT"

scan_text 'x' --regex 'BROKEN=abc(def'
assert_rc bad_regex_exit 2
assert_contains bad_regex_names_it "$ERR" 'abc(def'

scan_text 'x' --term lowercase=word
assert_rc bad_type_name_exit 2

scan_text 'x' --term NOEQUALS
assert_rc term_without_value_exit 2

scan_text 'Dr. Jane Goodall <jane@gombe.org>' --json --disable EMAIL,PERSON
assert_eq disable_types '{"findings":[]}' "$OUT"

scan_text 'x' --disable NOPE
assert_rc disable_unknown_type 2

scan_text 'bob@acme.io' --json -
assert_eq stdin_dash '{"findings":[{"type":"EMAIL","start":0,"end":11}]}' "$OUT"

run_llmux scan --help
assert_rc help_exit 0
assert_contains help_text "$OUT" 'usage: llmux scan'

run_llmux scan --frobnicate
assert_rc unknown_option 2

run_llmux scan --json --term
assert_rc option_without_value 2

printf 'x bob@acme.io' >"$E2E_TMP/-dash.txt"
pushd "$E2E_TMP" >/dev/null
run_llmux scan --json -- -dash.txt
popd >/dev/null
assert_eq double_dash_ends_options '{"findings":[{"type":"EMAIL","start":2,"end":13}]}' "$OUT"

run_llmux scan a.txt b.txt
assert_rc two_files 2

run_llmux scan --json "$E2E_TMP/does-not-exist.txt"
assert_rc missing_file_is_io_error 1

run_llmux scan --json "$E2E_TMP"
assert_rc directory_is_io_error 1

run_llmux scan --config "$E2E_TMP/no-config.yaml" "$DATA/README.md"
assert_rc missing_config 2

finish
