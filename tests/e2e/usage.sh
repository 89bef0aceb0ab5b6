#!/usr/bin/env bash
# usage.sh — end-to-end tests of `llmux usage`: an empty or missing ledger,
# a seeded ledger (raw rows + one daily rollup) as a table and as JSON,
# every --by, --since forms, usage errors; and, when `llmux ask` records
# ledger rows (dispatch), a row written by a real request.
#
# The ledger is seeded with python3's sqlite3 module in the schema of
# src/store/sqlite.c (version 1), so this test does not need the sqlite3
# CLI.
. "$(dirname "$0")/lib.sh"

if ! have python3; then
    skip usage "python3 is needed"
    finish
fi
if [ ! -x "$LLMUX_BIN" ]; then
    fail usage_binary "no llmux binary at $LLMUX_BIN"
    finish
fi
if ! py -c 'import sqlite3' 2>/dev/null && ! python3 -c 'import sqlite3' 2>/dev/null; then
    skip usage "python3 has no sqlite3 module"
    finish
fi

# A config without a mock: usage never talks to a provider.
MOCK_URL=http://127.0.0.1:9
CFG="$E2E_TMP/llmux.yaml"
DB="$E2E_TMP/data/ledger.db"
write_config "$CFG" "ledger: {path: $DB, retention_days: 30}"
sed -i 's#^default_model: .*#default_model: mockopenai/gpt-4o#' "$CFG"

# ---- empty / missing ledger ------------------------------------------------
run_llmux usage --config "$CFG"
assert_rc usage_missing_rc 0
assert_match usage_missing_total "$OUT" '^total +0 +0 +0 +\$0\.0000'
assert_contains usage_missing_saved_against "$OUT" "saved: against mockopenai/gpt-4o"
[ ! -e "$DB" ] && ok usage_missing_creates_nothing || fail usage_missing_creates_nothing "$DB created"
run_llmux usage --config "$CFG" --json
assert_rc usage_missing_json_rc 0
assert_eq usage_missing_json_groups "[]" "$(jget "$OUT" groups)"
assert_eq usage_missing_json_requests 0 "$(jget "$OUT" total.requests)"

# ---- seed ------------------------------------------------------------------
mkdir -p "$(dirname "$DB")"
python3 - "$DB" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.executescript("""
PRAGMA journal_mode=WAL;
CREATE TABLE requests(id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, key_id TEXT, front TEXT,
 route TEXT, reason TEXT, provider TEXT, model TEXT, attempts INTEGER NOT NULL DEFAULT 0,
 input INTEGER NOT NULL DEFAULT 0, cache_read INTEGER NOT NULL DEFAULT 0,
 cache_write INTEGER NOT NULL DEFAULT 0, output INTEGER NOT NULL DEFAULT 0,
 reasoning INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
 saved_usd REAL NOT NULL DEFAULT 0, ttft_ms INTEGER, latency_ms INTEGER, http_status INTEGER,
 status TEXT, privacy TEXT, privacy_action TEXT, bytes_out INTEGER NOT NULL DEFAULT 0,
 cached INTEGER NOT NULL DEFAULT 0, prompt TEXT, answer TEXT);
CREATE INDEX requests_ts ON requests(ts_ms);
CREATE TABLE daily(day INTEGER NOT NULL, key_id TEXT NOT NULL, provider TEXT NOT NULL,
 model TEXT NOT NULL, route TEXT NOT NULL, requests INTEGER NOT NULL, errors INTEGER NOT NULL,
 cached INTEGER NOT NULL, input INTEGER NOT NULL, cache_read INTEGER NOT NULL,
 cache_write INTEGER NOT NULL, output INTEGER NOT NULL, reasoning INTEGER NOT NULL,
 cost_usd REAL NOT NULL, saved_usd REAL NOT NULL, latency_ms INTEGER NOT NULL,
 ttft_ms INTEGER NOT NULL, bytes_out INTEGER NOT NULL,
 PRIMARY KEY(day, key_id, provider, model, route));
CREATE TABLE cache(key TEXT PRIMARY KEY, created_ms INTEGER NOT NULL,
 expires_ms INTEGER NOT NULL, size INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB NOT NULL, expires_ms INTEGER NOT NULL);
PRAGMA user_version=1;
""")
now = int(time.time() * 1000)
rows = [
    # key, route, provider, model, input, output, cost, latency, status
    ("team-a", "cloud", "mockopenai", "gpt-4o-mini", 1000000, 0, 0.15, 100, "ok"),
    ("team-a", "cloud", "mockopenai", "gpt-4o-mini", 0, 1000000, 0.60, 200, "ok"),
    (None, "cloud", "mockopenai", "gpt-4o-mini", 0, 0, 0.0, 300, "timeout"),
    (None, "local", "mockollama", "tiny", 1000000, 0, 0.0, 40, "ok"),
]
for i, (k, route, p, m, inp, out, cost, lat, st) in enumerate(rows):
    db.execute("INSERT INTO requests(ts_ms, key_id, front, route, reason, provider, model,"
               " attempts, input, output, cost_usd, latency_ms, ttft_ms, http_status, status)"
               " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
               (now - 3600000 - i, k, "cli", route, "default", p, m, 1, inp, out, cost, lat,
                lat // 2, 200, st))
day = (now // 86400000 - 40) * 86400000
db.execute("INSERT INTO daily VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
           (day, "team-b", "mockopenai", "gpt-4o", "cloud", 10, 0, 0, 0, 0, 0, 100000, 0,
            1.0, 0.0, 5000, 1000, 0))
db.commit()
db.close()
PY
[ $? -eq 0 ] && ok usage_seeded || fail usage_seeded "python could not write the ledger"

# ---- table -------------------------------------------------------------------
run_llmux usage --config "$CFG"
assert_rc usage_table_rc 0
assert_match usage_table_header "$OUT" '^model +requests +tokens in +tokens out +cost +saved +p50 +p95 +local'
assert_match usage_table_mini "$OUT" '^mockopenai/gpt-4o-mini +3 +1000000 +1000000 +\$0\.7500 +\$11\.7500 +200 ms +300 ms +0%'
assert_match usage_table_local "$OUT" '^mockollama/tiny +1 +1000000 +0 +\$0\.0000 +\$2\.5000 +40 ms +40 ms +100%'
assert_match usage_table_total "$OUT" '^total +4 +2000000 +1000000 +\$0\.7500 +\$14\.2500 +100 ms +300 ms +25%'
assert_not_contains usage_table_no_note "$OUT" "rollups"

# Older than 7 days: the rollup joins, and the note says so.
run_llmux usage --config "$CFG" --since 60d --by provider
assert_rc usage_rollup_rc 0
assert_match usage_rollup_provider "$OUT" '^mockopenai +13 '
assert_contains usage_rollup_note "$OUT" "10 requests come from daily rollups"
assert_contains usage_rollup_pct_note "$OUT" "p50/p95 use raw rows only"

# ---- JSON --------------------------------------------------------------------
run_llmux usage --config "$CFG" --json --since 60d --by key
assert_rc usage_json_rc 0
assert_eq usage_json_by key "$(jget "$OUT" by)"
assert_eq usage_json_total 14 "$(jget "$OUT" total.requests)"
assert_eq usage_json_rollup 10 "$(jget "$OUT" rollup_requests)"
assert_eq usage_json_first "team-b" "$(jget "$OUT" groups.0.name)"
assert_eq usage_json_first_pct "null" "$(jget "$OUT" groups.0.p50_ms)"
assert_eq usage_json_team_a_cost 0.75 "$(jget "$OUT" groups.1.cost_usd)"
assert_eq usage_json_team_a_p95 200 "$(jget "$OUT" groups.1.p95_ms)"
assert_eq usage_json_errors 1 "$(jget "$OUT" total.errors)"
assert_eq usage_json_escalate "mockopenai/gpt-4o" "$(jget "$OUT" escalate)"

run_llmux usage --config "$CFG" --json --by route
assert_eq usage_json_route_local_share 0.25 "$(jget "$OUT" total.local_share)"
run_llmux usage --config "$CFG" --json --by day --since 2020-01-01
assert_rc usage_by_day_rc 0
assert_eq usage_by_day_groups 2 "$(py -c 'import json,sys; print(len(json.loads(sys.argv[1])["groups"]))' "$OUT")"
run_llmux usage --config "$CFG" --json --since 1m
assert_eq usage_since_minute 0 "$(jget "$OUT" total.requests)"

# ---- errors ------------------------------------------------------------------
run_llmux usage --config "$CFG" --since yesterday
assert_rc usage_bad_since 2
assert_contains usage_bad_since_msg "$ERR" "--since"
run_llmux usage --config "$CFG" --by team
assert_rc usage_bad_by 2
run_llmux usage --config "$CFG" extra
assert_rc usage_extra_arg 2
run_llmux usage --help
assert_rc usage_help 0
assert_contains usage_help_text "$OUT" "--since"

# ---- a real request, when `ask` records to the ledger -------------------------
if have curl && start_mock; then
    CFG2="$E2E_TMP/ask.yaml"
    DB2="$E2E_TMP/ask/ledger.db"
    write_config "$CFG2" "ledger: {path: $DB2, flush_ms: 10}"
    run_llmux ask --config "$CFG2" -m mockopenai/gpt-4o-mini "hello world"
    if [ "$RC" = 0 ] && [ -e "$DB2" ]; then
        run_llmux usage --config "$CFG2" --json
        assert_eq usage_after_ask_requests 1 "$(jget "$OUT" total.requests)"
        assert_eq usage_after_ask_model "mockopenai/gpt-4o-mini" "$(jget "$OUT" groups.0.name)"
        assert_eq usage_after_ask_tokens_in 2 "$(jget "$OUT" total.tokens_in)"
        assert_eq usage_after_ask_cost 4.5e-06 "$(jget "$OUT" total.cost_usd)"

        # Several processes write one ledger at once: every row lands.
        CFGP="$E2E_TMP/par.yaml"
        write_config "$CFGP" "ledger: {path: $E2E_TMP/par/ledger.db, flush_ms: 10}"
        pids=()
        for i in $(seq 6); do
            (
                timeout 90 "$LLMUX_BIN" ask --config "$CFGP" -m mockopenai/gpt-4o "hello $i" \
                    >/dev/null 2>>"$E2E_TMP/par.err"
                echo "$?" >>"$E2E_TMP/par.rc"
            ) &
            pids+=($!)
        done
        for p in "${pids[@]}"; do wait "$p"; done
        assert_eq usage_parallel_exit "0 0 0 0 0 0" "$(sort "$E2E_TMP/par.rc" | tr '\n' ' ' | sed 's/ $//')"
        assert_eq usage_parallel_no_errors "" "$(cat "$E2E_TMP/par.err")"
        run_llmux usage --config "$CFGP" --json
        assert_eq usage_parallel_rows 6 "$(jget "$OUT" total.requests)"

        # temperature 0: the second identical request is a cache hit, cost 0.
        CFG3="$E2E_TMP/cache.yaml"
        write_config "$CFG3" "ledger: {path: $E2E_TMP/cache/ledger.db, flush_ms: 10}"
        run_llmux ask --config "$CFG3" -m mockopenai/gpt-4o -t 0 "hello world"
        run_llmux ask --config "$CFG3" -m mockopenai/gpt-4o -t 0 "hello world"
        assert_contains usage_cache_hit_answer "$OUT" "You said: hello world"
        run_llmux usage --config "$CFG3" --json
        assert_eq usage_cache_requests 2 "$(jget "$OUT" total.requests)"
        assert_eq usage_cache_hits 1 "$(jget "$OUT" total.cached)"
        assert_eq usage_cache_cost 7.5e-05 "$(jget "$OUT" total.cost_usd)"

        # A day budget smaller than one request: the first goes through (it
        # is under the limit when it starts), the next is refused with the
        # budget and its reset time; usage shows both.
        CFG4="$E2E_TMP/budget.yaml"
        write_config "$CFG4" "ledger: {path: $E2E_TMP/budget/ledger.db, flush_ms: 10}
budgets: {day_usd: 0.00001, at_limit: reject}"
        run_llmux ask --config "$CFG4" -m mockopenai/gpt-4o "hello world"
        assert_rc usage_budget_first 0
        run_llmux ask --config "$CFG4" -m mockopenai/gpt-4o "hello again"
        assert_rc usage_budget_refused 1
        assert_match usage_budget_message "$ERR" 'global day budget \$0\.00001 reached \(\$0\.000075 spent\); resets at [0-9-]+T00:00:00Z'
        run_llmux usage --config "$CFG4" --json --by route
        assert_eq usage_budget_rows 2 "$(jget "$OUT" total.requests)"
        assert_eq usage_budget_errors 1 "$(jget "$OUT" total.errors)"
    else
        skip usage_after_ask "llmux ask does not write the ledger yet"
    fi
else
    skip usage_after_ask "the mock provider did not start"
fi

# ---- the server: 64 concurrent requests against a small budget, kill -9 --------
# Budget $0.0005; one answer costs $0.000075 (gpt-4o: 2 in, 7 out) and
# reserves its worst case (100 output tokens: about $0.001). Whatever the
# interleaving: at least one answer, at least one 429 naming the budget,
# spend <= budget + one worst case. Then kill -9: every row of a request
# answered before is on disk, and the file is intact.
if have curl && [ -n "${MOCK_URL:-}" ] && [ "$MOCK_URL" != http://127.0.0.1:9 ]; then
    CFG5="$E2E_TMP/serve.yaml"
    DB5="$E2E_TMP/serve/ledger.db"
    write_config "$CFG5" "ledger: {path: $DB5, flush_ms: 10}
budgets: {day_usd: 0.0005, at_limit: reject}"
    if start_serve "$CFG5"; then
        body='{"model":"mockopenai/gpt-4o","max_tokens":100,"messages":[{"role":"user","content":"hello world"}]}'
        seq 64 | xargs -P 64 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 \
            -H 'content-type: application/json' -d "$body" "$SERVE_URL/v1/chat/completions" \
            >"$E2E_TMP/codes" 2>/dev/null
        n200=$(grep -c '^200$' "$E2E_TMP/codes")
        n429=$(grep -c '^429$' "$E2E_TMP/codes")
        assert_eq usage_serve_all_answered 64 "$((n200 + n429))"
        [ "$n200" -ge 1 ] && ok usage_serve_some_served || fail usage_serve_some_served "no 200"
        [ "$n429" -ge 1 ] && ok usage_serve_some_refused || fail usage_serve_some_refused "no 429"
        # The burst's reservations are worst cases: when they are settled the
        # budget may still have room for an answer or two. One at a time
        # now, until the budget refuses.
        extra=0
        for i in $(seq 10); do
            extra=$((extra + 1))
            msg=$(curl -s --max-time 20 -H 'content-type: application/json' -d "$body" \
                -w '\n%{http_code}' "$SERVE_URL/v1/chat/completions")
            [ "${msg##*$'\n'}" = 429 ] && break
            n200=$((n200 + 1))
        done
        assert_contains usage_serve_429_message "$msg" "global day budget \$0.0005 reached"
        # Wait (at most 5 s) until the writer has committed every row, then
        # kill -9: committed rows must all still be there.
        for i in $(seq 50); do
            rows=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM requests").fetchone()[0])' "$DB5" 2>/dev/null)
            [ "${rows:-0}" -ge $((64 + extra)) ] && break
            sleep 0.1
        done
        kill -KILL "$SERVE_PID" 2>/dev/null
        wait "$SERVE_PID" 2>/dev/null
        run_llmux usage --config "$CFG5" --json
        assert_eq usage_serve_rows_after_kill "$((64 + extra))" "$(jget "$OUT" total.requests)"
        assert_eq usage_serve_refused_rows "$((n429 + 1))" "$(jget "$OUT" total.errors)"
        cost=$(jget "$OUT" total.cost_usd)
        if py -c 'import sys; c=float(sys.argv[1]); n=int(sys.argv[2]); sys.exit(0 if abs(c - n*7.5e-5) < 1e-9 and c <= 0.0005 + 0.0011 else 1)' "$cost" "$n200"; then
            ok usage_serve_budget_bound
        else
            fail usage_serve_budget_bound "spent $cost with $n200 answers on a \$0.0005 budget"
        fi
        check=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' "$DB5")
        assert_eq usage_serve_integrity ok "$check"
    else
        fail usage_serve_start "llmux serve did not start"
    fi
else
    skip usage_serve "no mock provider"
fi

finish
