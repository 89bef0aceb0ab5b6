#!/usr/bin/env bash
# clients.sh — the official SDKs drive `llmux serve`: the npm packages
# `openai`, `@anthropic-ai/sdk` and `ollama` (exact versions pinned in
# tests/clients/package.json) run the suites in tests/clients/*.mjs against a
# server whose providers are the mock (tests/mock/mock_provider.py): plain
# and streamed chat in each SDK, cross-dialect answers, tool-call round
# trips, and errors surfacing as each SDK's typed errors (bad key, unknown
# model, 429, bad request).
#
# The packages are installed once per machine into tests/clients/node_modules
# (git-ignored) and reinstalled only when package.json changes; the install
# needs the npm registry the first time. Without node or npm every case is
# skipped with a message (scripts/deps.sh installs Debian's nodejs and npm).
# CLIENTS_SUITES="openai ollama" runs a subset; CLIENTS_VERBOSE=1 prints
# per-case timings.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CL="$REPO_ROOT/tests/clients"

if ! have node || ! have npm; then
    skip clients "node and npm are not installed (scripts/deps.sh installs Debian's nodejs and npm)"
    finish
fi
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$NODE_MAJOR" -lt 18 ]; then
    skip clients "node $(node --version) is too old: the SDKs need Node.js 18 or later"
    finish
fi

# ---- install (once; serialised between concurrent runs) ---------------------
clients_install() {
    local stamp="$CL/node_modules/.llmux-stamp" want
    want=$(sha256sum "$CL/package.json" | cut -d' ' -f1)
    mkdir -p "$CL/node_modules"
    (
        flock -w 300 9 || exit 1
        [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && exit 0
        echo "# clients: installing the SDKs (npm install, first run only)" >&2
        cd "$CL" &&
            npm install --no-audit --no-fund --no-save --loglevel=error --fetch-timeout=30000 --fetch-retries=2 >"$E2E_TMP/npm.log" 2>&1 &&
            echo "$want" >"$stamp"
    ) 9>"$CL/node_modules/.llmux-lock"
}
if clients_install; then
    ok clients_install
else
    fail clients_install "npm install failed: $(tail -5 "$E2E_TMP/npm.log" 2>/dev/null)"
    finish
fi

# ---- server ----------------------------------------------------------------
if ! start_mock; then
    fail clients_mock "the mock provider did not start"
    finish
fi
CLIENT_KEY="sk-llmux-clients-7c41e09b2d"
export LLMUX_CLIENTS_KEY="$CLIENT_KEY"
CFG="$E2E_TMP/clients.yaml"
write_config "$CFG" "keys:
  - id: clients
    key_env: LLMUX_CLIENTS_KEY
reliability:
  retry: {max_attempts: 1}
ledger:
  path: \":memory:\""

if ! start_serve "$CFG" --workers 2; then
    fail clients_serve "llmux serve did not start"
    finish
fi
ok clients_serve

# ---- the suites ------------------------------------------------------------
# One Node process runs every suite; its ok / not ok lines become ours.
T0=$(now_ms)
# shellcheck disable=SC2086
LLMUX_URL="$SERVE_URL" LLMUX_KEY="$CLIENT_KEY" timeout -k 5 120 \
    node "$CL/run.mjs" ${CLIENTS_SUITES:-} >"$E2E_TMP/node.out" 2>"$E2E_TMP/node.err"
NODE_RC=$?
T1=$(now_ms)
cases=0
while IFS= read -r line; do
    case "$line" in
    "ok "*) ok "${line#ok }"; cases=$((cases + 1)) ;;
    "not ok "*)
        rest=${line#not ok }
        fail "${rest%%:*}" "${rest#*: }"
        cases=$((cases + 1))
        ;;
    *) [ -z "$line" ] || echo "# $line" >&2 ;;
    esac
done <"$E2E_TMP/node.out"
echo "# clients: $cases cases in $((T1 - T0)) ms (node $(node --version))" >&2
MIN_CASES=30
[ -z "${CLIENTS_SUITES:-}" ] || MIN_CASES=1
if [ "$cases" -lt "$MIN_CASES" ]; then
    fail clients_ran "only $cases cases reported (exit $NODE_RC): $(tail -5 "$E2E_TMP/node.err")"
elif [ "$NODE_RC" -eq 124 ]; then
    fail clients_ran "node timed out"
fi
# a clean stop: SIGTERM drains and exits 0, and (under ASan) the server
# reported no error or leak on the way out
stop_serve TERM
assert_eq clients_serve_clean_exit 0 "$SERVE_RC"
SAN=$(grep -m3 -E 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$SERVE_LOG")
assert_eq clients_serve_no_sanitizer_report "" "$SAN"
finish
