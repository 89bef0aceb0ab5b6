#!/usr/bin/env bash
# bench/gateway.sh — llmux serve next to its peer (the Portkey gateway) and
# next to no gateway at all, in one run, on one machine.
#
#   bash bench/gateway.sh setup          # once: Portkey into bench/peers/ (npm)
#   make BUILD=build bench build/llmux
#   BUILD=build bash bench/gateway.sh    # full run (~12 min), prints the table
#   GATEWAY_SECONDS=2 REPEAT=1 TTFT_N=50 BUILD=build bash bench/gateway.sh   # quick check
#
# Four targets answer the same OpenAI chat request (~400-byte body, wrk
# scripts in bench/gateway/):
#   direct   bench/mock_upstream itself (the upper bound),
#   llmux    `llmux serve` with one openai provider pointed at the mock,
#   portkey  @portkey-ai/gateway (node) with x-portkey-provider: openai and
#            x-portkey-custom-host pointed at the mock (the peer the issue names),
#   nginx    nginx as a plain reverse proxy to the mock (keep-alive upstream,
#            no buffering, no access log, one worker per CPU): not a gateway
#            (it never reads the JSON), a reference for what any proxy hop costs
#            on this machine. Installed by `setup` (apt-get nginx-light) when
#            missing; the run skips it when absent.
# For each mode (plain, stream) x concurrency (1 16 64) x repeat, every target
# gets one wrk run of GATEWAY_SECONDS, targets taking turns so that all see the
# same neighbours; the table shows medians over REPEAT. Then bench/ttft (one
# connection, one request at a time) measures the time to the first streamed
# token on a paced stream (the mock sends event 1 at once, then one every
# TTFT_GAP_US), REPEAT times per target. RSS: VmRSS sampled in the middle of
# every streamed concurrency-64 run (the maximum is shown) and VmHWM at the end.
#
# Pinning. PIN=auto (the default on 2+ CPUs): the concurrency-1 runs and the
# TTFT runs put the load generator (wrk, ttft) on CPU $LOAD_CPU and the mock and
# every gateway on CPU $SERVER_CPU, so a request crosses between the CPUs exactly
# twice whichever target serves it (an idle vCPU here takes ~40 µs to wake: left
# free, the scheduler would sometimes put wrk and the mock on one CPU and give
# the direct path no wake-up at all). The concurrency-16/64 runs leave every
# process free on all CPUs (`taskset -a -p` moves the running servers), as on
# a real machine: each gateway in its default shape (llmux one worker per CPU,
# Portkey one node process), the mock single-threaded. PIN=1 pins every run,
# PIN=0 none.
# Knobs: BUILD, LLMUX, GATEWAY_SECONDS (10), REPEAT (3), CONC ("1 16 64"),
# MODES ("plain stream"), TARGETS ("direct llmux portkey nginx"), WRK_THREADS (1),
# TTFT_N (400), TTFT_GAP_US (1000), PIN, LOAD_CPU (0), SERVER_CPU (1),
# LLMUX_WORKERS (llmux's default), PEERS_DIR (bench/peers), KEEP_TMP=1 (keep logs),
# PROFILE=1: perf (cpu-clock, DWARF call graphs) samples llmux during its first
# plain and streamed runs at the highest concurrency and writes the top
# functions (inclusive share) to $PROFILE_OUT (default /tmp/llmux-gateway-profile.txt).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PEERS_DIR=${PEERS_DIR:-$HERE/peers}
PORTKEY_VERSION=1.15.2
HONO_NODE_SERVER=1.13.5

# ---- setup: the peer gateway ---------------------------------------------------
write_peers() {
    mkdir -p "$PEERS_DIR"
    # @hono/node-server as npm resolves it today breaks Portkey's streaming;
    # 1.13.5 works, so it is pinned through an override.
    cat >"$PEERS_DIR/package.json" <<EOF
{
  "name": "llmux-bench-peers",
  "private": true,
  "description": "peer gateways for bench/gateway.sh (git-ignored; written by the script)",
  "dependencies": { "@portkey-ai/gateway": "$PORTKEY_VERSION" },
  "overrides": { "@hono/node-server": "$HONO_NODE_SERVER" }
}
EOF
    # Portkey has no option to bind one address: this preload makes every
    # listening socket of the process bind 127.0.0.1.
    cat >"$PEERS_DIR/loopback.cjs" <<'EOF'
// Preload for peer gateways (node -r): every listening socket binds 127.0.0.1
// whatever host the program asked for (Portkey has no bind option).
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "object" && args[0] !== null) {
    args[0] = { ...args[0], host: "127.0.0.1" };
  } else if (typeof args[0] === "number" || typeof args[0] === "string") {
    if (typeof args[1] === "string") args[1] = "127.0.0.1";
    else args.splice(1, 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
EOF
}
if [ "${1:-}" = "setup" ]; then
    if ! command -v nginx >/dev/null && ! [ -x /usr/sbin/nginx ]; then
        SUDO=
        [ "$(id -u)" = 0 ] || SUDO=sudo
        $SUDO apt-get install -y -q nginx-light >/dev/null || echo "setup: nginx-light not installed (the nginx column stays empty)" >&2
        # the package starts a system nginx on port 80; the bench runs its own
        $SUDO systemctl disable --now nginx >/dev/null 2>&1 || $SUDO service nginx stop >/dev/null 2>&1 || true
    fi
    command -v npm >/dev/null || { echo "setup: npm is missing (scripts/deps.sh installs it)" >&2; exit 2; }
    write_peers
    (cd "$PEERS_DIR" && npm install --no-audit --no-fund --loglevel=error) || exit 1
    echo "setup: Portkey $PORTKEY_VERSION in $PEERS_DIR ($(node -p "require('$PEERS_DIR/node_modules/@hono/node-server/package.json').version" 2>/dev/null | sed 's/^/@hono\/node-server /'))"
    exit 0
fi
[ $# -eq 0 ] || { echo "usage: bash bench/gateway.sh [setup]   (knobs in the header)" >&2; exit 2; }

BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
LLMUX=${LLMUX:-$BUILD/llmux}
MOCK=$BUILD/bench/mock_upstream
TTFT=$BUILD/bench/ttft
SECS=${GATEWAY_SECONDS:-10}
REPEAT=${REPEAT:-3}
CONC=${CONC:-"1 16 64"}
MODES=${MODES:-"plain stream"}
TARGETS=${TARGETS:-"direct llmux portkey nginx"}
COLS="direct llmux portkey nginx"
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
WRK_THREADS=${WRK_THREADS:-1}
TTFT_N=${TTFT_N:-400}
TTFT_GAP_US=${TTFT_GAP_US:-1000}
LLMUX_WORKERS=${LLMUX_WORKERS:-}
LOAD_CPU=${LOAD_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
if [ -z "${PIN:-}" ] || [ "$PIN" = auto ]; then
    if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then PIN=auto; else PIN=0; fi
fi
ALL_CPUS=0-$(($(nproc) - 1))
PORTKEY_JS=$PEERS_DIR/node_modules/@portkey-ai/gateway/build/start-server.js

for b in "$MOCK" "$TTFT"; do
    [ -x "$b" ] || { echo "missing $b: run 'make BUILD=${BUILD#$ROOT/} bench' first" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "wrk is missing (scripts/deps.sh installs it)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/llmux-gateway.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "logs kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Servers start free (or pinned with PIN=1); set_pinning moves them and picks
# the load generators' prefix. LOAD is a command prefix, not a function: a
# backgrounded simple command keeps its pid through the exec chain.
SRV=(env)
LOAD=(env)
PINNED=0
if [ "$PIN" = 1 ]; then
    SRV=(taskset -c "$SERVER_CPU")
    LOAD=(taskset -c "$LOAD_CPU")
    PINNED=1
fi
set_pinning() { # set_pinning CONC: pinned for concurrency 1 under PIN=auto
    [ "$PIN" = auto ] || return 0
    local want=0 p
    [ "$1" = 1 ] && want=1
    [ "$want" = "$PINNED" ] && return 0
    for p in $(tree_pids "${PID_OF[@]}"); do
        if [ "$want" = 1 ]; then taskset -a -p -c "$SERVER_CPU" "$p"; else taskset -a -p -c "$ALL_CPUS" "$p"; fi >/dev/null 2>&1
    done
    if [ "$want" = 1 ]; then LOAD=(taskset -c "$LOAD_CPU"); else LOAD=(env); fi
    PINNED=$want
}
tree_pids() { # tree_pids PID...: the pids and their child processes (nginx workers)
    local p
    for p in "$@"; do
        [ -n "$p" ] || continue
        echo "$p"
        pgrep -P "$p" 2>/dev/null
    done
}
free_port() {
    python3 -S -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
median() { # median of the arguments ("-" when none)
    [ $# -gt 0 ] || { echo -; return; }
    printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
field() { # field NAME "k=v k=v" or JSON -> value
    sed -n "s/.*[\" ]$1\"\{0,1\}[=:]\([^ ,}]*\).*/\1/p" <<<" $2"
}
proc_kb() { # proc_kb PID VmRSS|VmHWM: summed over the process and its children
    local p f
    for p in $(tree_pids "$1"); do f+=" /proc/$p/status"; done
    # shellcheck disable=SC2086
    awk -v k="$2:" '$1 == k {s += $2; n++} END {if (n) print s}' $f 2>/dev/null
}
cpu_ns() { # cpu_ns PID: on-CPU nanoseconds of all its threads (and children) so far
    local p
    for p in $(tree_pids "$1"); do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done |
        awk '{s += $1} END {printf "%.0f", s}'
}
mb() { [ -n "$1" ] && awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}' || echo -; }

# ---- the targets ---------------------------------------------------------------
declare -A URL PID_OF NOTE
declare -a HDR_portkey=() HDR_llmux=() HDR_direct=() HDR_nginx=()
MODEL_direct=gpt-4o-mini
MODEL_nginx=gpt-4o-mini
MODEL_portkey=gpt-4o-mini
MODEL_llmux=mock/gpt-4o-mini

# wait_ready NAME SECONDS: a plain request answers 200
wait_ready() {
    local name=$1 deadline=$((SECONDS + $2)) hdr_var="HDR_$1[@]" model_var="MODEL_$1" code
    while [ $SECONDS -lt $deadline ]; do
        if [ -n "${PID_OF[$name]:-}" ] && ! kill -0 "${PID_OF[$name]}" 2>/dev/null; then
            return 1
        fi
        code=$(curl -s -o "$TMP/$name.probe" -w '%{http_code}' --max-time 2 "${!hdr_var}" \
            -H 'Content-Type: application/json' \
            -d "{\"model\":\"${!model_var}\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" \
            "${URL[$name]}" 2>/dev/null)
        [ "$code" = 200 ] && return 0
        sleep 0.2
    done
    return 1
}

# check_stream NAME: a streamed request ends with [DONE] and carries usage
check_stream() {
    local name=$1 hdr_var="HDR_$1[@]" model_var="MODEL_$1" out
    out=$(curl -s -N --max-time 5 "${!hdr_var}" -H 'Content-Type: application/json' \
        -d "{\"model\":\"${!model_var}\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" \
        "${URL[$name]}")
    grep -q 'data: \[DONE\]' <<<"$out" && grep -q '"usage"' <<<"$out" && grep -q '"content":"The"' <<<"$out"
}

"${SRV[@]}" "$MOCK" --port-file "$TMP/mock.port" >"$TMP/mock.log" 2>&1 &
PIDS+=($!)
PID_OF[direct]=$!
for _ in $(seq 50); do [ -s "$TMP/mock.port" ] && break; sleep 0.1; done
MOCK_PORT=$(cat "$TMP/mock.port" 2>/dev/null)
[ -n "$MOCK_PORT" ] || { echo "mock_upstream did not start: $(cat "$TMP/mock.log")" >&2; exit 1; }
URL[direct]=http://127.0.0.1:$MOCK_PORT/v1/chat/completions
wait_ready direct 5 || { echo "mock_upstream does not answer" >&2; exit 1; }

ACTIVE=()
for t in $TARGETS; do
    case $t in
    direct) ACTIVE+=(direct) ;;
    llmux)
        if [ ! -x "$LLMUX" ]; then
            NOTE[llmux]="no binary $LLMUX"
            continue
        fi
        port=$(free_port)
        mkdir -p "$TMP/home"
        cat >"$TMP/llmux.yaml" <<EOF
providers:
  - name: mock
    type: openai
    base_url: http://127.0.0.1:$MOCK_PORT/v1
    api_key_env: BENCH_MOCK_KEY
server:
  listen: 127.0.0.1:$port
$([ -n "$LLMUX_WORKERS" ] && echo "  workers: $LLMUX_WORKERS")
  access_log: "off"
EOF
        env HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/home/.config" \
            XDG_DATA_HOME="$TMP/home/.local/share" XDG_CACHE_HOME="$TMP/home/.cache" \
            XDG_STATE_HOME="$TMP/home/.local/state" BENCH_MOCK_KEY=sk-bench-not-secret \
            "${SRV[@]}" "$LLMUX" serve --config "$TMP/llmux.yaml" --listen "127.0.0.1:$port" \
            >"$TMP/llmux.log" 2>&1 &
        PIDS+=($!)
        PID_OF[llmux]=$!
        URL[llmux]=http://127.0.0.1:$port/v1/chat/completions
        if wait_ready llmux 10 && check_stream llmux; then
            ACTIVE+=(llmux)
        else
            NOTE[llmux]="llmux serve not usable: $(tail -c 300 "$TMP/llmux.log" | tr '\n' ' ') $(head -c 200 "$TMP/llmux.probe" 2>/dev/null)"
            kill "${PID_OF[llmux]}" 2>/dev/null
            PID_OF[llmux]=
        fi
        ;;
    portkey)
        if [ ! -f "$PORTKEY_JS" ] || ! command -v node >/dev/null; then
            NOTE[portkey]="Portkey not installed: run 'bash bench/gateway.sh setup'"
            continue
        fi
        [ -f "$PEERS_DIR/loopback.cjs" ] || write_peers
        port=$(free_port)
        env NODE_ENV=production "${SRV[@]}" node -r "$PEERS_DIR/loopback.cjs" "$PORTKEY_JS" \
            --port="$port" --headless >"$TMP/portkey.log" 2>&1 &
        PIDS+=($!)
        PID_OF[portkey]=$!
        URL[portkey]=http://127.0.0.1:$port/v1/chat/completions
        HDR_portkey=(-H "x-portkey-provider: openai"
            -H "x-portkey-custom-host: http://127.0.0.1:$MOCK_PORT/v1"
            -H "Authorization: Bearer sk-bench-not-secret")
        if wait_ready portkey 20 && check_stream portkey; then
            ACTIVE+=(portkey)
        else
            NOTE[portkey]="Portkey not usable: $(tail -c 300 "$TMP/portkey.log" | tr '\n' ' ')"
            kill "${PID_OF[portkey]}" 2>/dev/null
            PID_OF[portkey]=
        fi
        ;;
    nginx)
        if [ ! -x "$NGINX" ]; then
            NOTE[nginx]="nginx not installed: run 'bash bench/gateway.sh setup'"
            continue
        fi
        port=$(free_port)
        mkdir -p "$TMP/nginx"
        cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx;
    proxy_temp_path $TMP/nginx;
    upstream mock { server 127.0.0.1:$MOCK_PORT; keepalive 256; }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
        "${SRV[@]}" "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' \
            >"$TMP/nginx.log" 2>&1 &
        PIDS+=($!)
        PID_OF[nginx]=$!
        URL[nginx]=http://127.0.0.1:$port/v1/chat/completions
        if wait_ready nginx 10 && check_stream nginx; then
            ACTIVE+=(nginx)
        else
            NOTE[nginx]="nginx not usable: $(tail -c 300 "$TMP/nginx.log" "$TMP/nginx/error.log" 2>/dev/null | tr '\n' ' ')"
            kill "${PID_OF[nginx]}" 2>/dev/null
            PID_OF[nginx]=
        fi
        ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
    esac
done
for t in "${!NOTE[@]}"; do echo "note: ${NOTE[$t]}" >&2; done

# ---- measuring -------------------------------------------------------------------
declare -A RES      # RES[target/mode/conc] = "rps p50 p99 rps p50 p99 ..." over repeats
declare -A ERRS     # failed or non-2xx responses summed over the repeats
declare -A RSS_MAX  # VmRSS (kB) at mid-run of streamed c=64 runs, maximum
declare -A ANON_MAX # RssAnon (kB) at the same moments (VmRSS less shared-library pages)
declare -A CPU      # CPU[target/mode/conc] = "µs per request" over repeats
declare -A UPC UPR  # connections the mock accepted / requests wrk completed, per target
mock_conns() { curl -s --max-time 2 "http://127.0.0.1:$MOCK_PORT/_stats" | sed -n 's/.*"connections":\([0-9]*\).*/\1/p'; }

run_wrk() { # run_wrk TARGET MODE CONC SECONDS -> WRK_RESULT line
    local t=$1 mode=$2 c=$3 s=$4 hdr_var="HDR_$1[@]" model_var="MODEL_$1" script=chat.lua
    [ "$mode" = stream ] && script=chat_stream.lua
    local th=$WRK_THREADS
    [ "$th" -gt "$c" ] && th=$c
    BENCH_MODEL=${!model_var} "${LOAD[@]}" wrk -t"$th" -c"$c" -d"${s}s" --timeout 10s "${!hdr_var}" \
        -s "$HERE/gateway/$script" "${URL[$t]}" 2>&1 | grep '^WRK_RESULT' || echo "WRK_RESULT failed"
}

# Warm-up: a short run per target and mode (node's JIT, connection pools).
for t in "${ACTIVE[@]}"; do
    for mode in $MODES; do run_wrk "$t" "$mode" 64 1 >/dev/null; done
done

total_runs=$((REPEAT * $(wc -w <<<"$MODES") * $(wc -w <<<"$CONC") * ${#ACTIVE[@]}))
echo "gateway bench: ${ACTIVE[*]}; $total_runs wrk runs of ${SECS}s; pinning=$PIN" >&2

for ((rep = 1; rep <= REPEAT; rep++)); do
    for mode in $MODES; do
        for c in $CONC; do
            set_pinning "$c"
            for t in "${ACTIVE[@]}"; do
                sampler=
                if [ "$mode" = stream ] && [ "$c" = 64 ] && [ -n "${PID_OF[$t]:-}" ]; then
                    (sleep "$(awk -v s="$SECS" 'BEGIN {print s / 2}')"; proc_kb "${PID_OF[$t]}" VmRSS >"$TMP/rss.$t"
                        proc_kb "${PID_OF[$t]}" RssAnon >"$TMP/anon.$t") &
                    sampler=$!
                fi
                pid=${PID_OF[$t]:-}
                cpu0=$([ -n "$pid" ] && cpu_ns "$pid")
                conns0=$(mock_conns)
                prof=
                if [ "${PROFILE:-0}" = 1 ] && [ "$t" = llmux ] && [ "$rep" = 1 ] && [ "$c" = "${CONC##* }" ]; then
                    perf record -q -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$pid" \
                        -o "$TMP/perf.$mode" -- sleep "$(awk -v s="$SECS" 'BEGIN {print s * 0.8}')" \
                        >/dev/null 2>&1 &
                    prof=$!
                fi
                line=$(run_wrk "$t" "$mode" "$c" "$SECS")
                [ -z "$prof" ] || wait "$prof"
                cpu1=$([ -n "$pid" ] && cpu_ns "$pid")
                conns1=$(mock_conns)
                if [ -n "$sampler" ]; then
                    wait "$sampler"
                    kb=$(cat "$TMP/rss.$t" 2>/dev/null)
                    if [ -n "$kb" ] && [ "$kb" -gt "${RSS_MAX[$t]:-0}" ]; then RSS_MAX[$t]=$kb; fi
                    kb=$(cat "$TMP/anon.$t" 2>/dev/null)
                    if [ -n "$kb" ] && [ "$kb" -gt "${ANON_MAX[$t]:-0}" ]; then ANON_MAX[$t]=$kb; fi
                fi
                k="$t/$mode/$c"
                if [ "$line" = "WRK_RESULT failed" ]; then
                    ERRS[$k]=$((${ERRS[$k]:-0} + 1))
                    continue
                fi
                RES[$k]="${RES[$k]:-} $(field rps "$line") $(field p50_us "$line") $(field p99_us "$line")"
                ERRS[$k]=$((${ERRS[$k]:-0} + $(field errors "$line") + $(field non2xx "$line")))
                if [ -n "$conns0" ] && [ -n "$conns1" ]; then # less the stats request's own
                    UPC[$t]=$((${UPC[$t]:-0} + conns1 - conns0 - 1))
                    UPR[$t]=$((${UPR[$t]:-0} + $(field requests "$line")))
                fi
                if [ -n "$cpu0" ] && [ -n "$cpu1" ]; then
                    CPU[$k]="${CPU[$k]:-} $(awk -v a="$cpu0" -v b="$cpu1" -v n="$(field requests "$line")" \
                        'BEGIN {printf "%.1f", (n > 0 ? (b - a) / 1000 / n : 0)}')"
                fi
                printf '  rep %d %-6s c=%-3s %-8s %s\n' "$rep" "$mode" "$c" "$t" "${line#WRK_RESULT }" >&2
            done
        done
    done
done

# TTFT on a paced stream, concurrency 1.
declare -A TTFT
set_pinning 1
for ((rep = 1; rep <= REPEAT; rep++)); do
    for t in "${ACTIVE[@]}"; do
        hdr_var="HDR_$t[@]"
        model_var="MODEL_$t"
        model=${!model_var}
        model=${model%gpt-4o-mini}gap$TTFT_GAP_US
        [ "$TTFT_GAP_US" -gt 0 ] || model=${!model_var}
        j=$("${LOAD[@]}" "$TTFT" --url "${URL[$t]}" -n "$TTFT_N" --model "$model" "${!hdr_var}")
        printf '  rep %d ttft %-8s %s\n' "$rep" "$t" "$j" >&2
        [ -n "$j" ] || continue
        TTFT[$t]="${TTFT[$t]:-} $(field ttft_p50_us "$j") $(field ttft_p99_us "$j") $(field total_p50_us "$j")"
        ERRS[$t/ttft]=$((${ERRS[$t/ttft]:-0} + $(field errors "$j")))
    done
done

declare -A HWM
for t in "${ACTIVE[@]}"; do
    [ -n "${PID_OF[$t]:-}" ] && HWM[$t]=$(proc_kb "${PID_OF[$t]}" VmHWM)
done

if [ "${PROFILE:-0}" = 1 ]; then
    out=${PROFILE_OUT:-/tmp/llmux-gateway-profile.txt}
    : >"$out"
    for mode in $MODES; do
        [ -f "$TMP/perf.$mode" ] || continue
        {
            echo "== llmux, $mode, concurrency ${CONC##* }: inclusive (children) share of samples"
            perf report -i "$TMP/perf.$mode" --children --sort symbol --percent-limit 1.5 2>/dev/null |
                grep -E '^ +[0-9.]+%' | grep -v '0x0000' | head -80
            echo "== self share by library"
            perf report -i "$TMP/perf.$mode" --no-children --sort dso 2>/dev/null |
                grep -E '^ +[0-9.]+%' | head -12
        } >>"$out"
    done
    echo "profile written to $out" >&2
fi

# ---- the table ---------------------------------------------------------------------
nth() { # nth I "a b c d e f ..." -> every 3rd value starting at I (1-based)
    awk -v i="$1" '{for (k = i; k <= NF; k += 3) print $k}' <<<"$2"
}
cell() { # cell TARGET/MODE/CONC I -> median of figure I
    median $(nth "$2" "${RES[$1]:-}")
}

W=$((4 * 26 + 40))
echo
echo "llmux gateway benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
case $PIN in
auto) pin_text="concurrency 1 and ttft: wrk/ttft on CPU $LOAD_CPU, mock + gateways on CPU $SERVER_CPU; 16/64: free" ;;
1) pin_text="wrk/ttft on CPU $LOAD_CPU, mock + gateways on CPU $SERVER_CPU" ;;
*) pin_text=none ;;
esac
echo "wrk -t$WRK_THREADS, ${SECS}s x $REPEAT (medians); pinning: $pin_text; llmux workers: ${LLMUX_WORKERS:-default}"
echo "latency in µs; '!' = some requests failed or were not 2xx"
printf '%-14s|' ""
for t in $COLS; do printf ' %-24s|' "$t"; done
printf ' llmux vs direct and portkey\n'
printf '%-14s|' "mode     conc"
for t in $COLS; do printf ' %8s %6s %7s |' "req/s" "p50" "p99"; done
printf ' %7s %8s %9s\n' "+p50" "%direct" "x portkey"
printf '%.0s-' $(seq $W); echo
for mode in $MODES; do
    for c in $CONC; do
        printf '%-8s %4s |' "$mode" "$c"
        declare -A R=() P=()
        for t in $COLS; do
            k="$t/$mode/$c"
            if [ -z "${RES[$k]:-}" ]; then printf ' %8s %6s %7s |' - - -; continue; fi
            R[$t]=$(cell "$k" 1)
            P[$t]=$(cell "$k" 2)
            flag=" "
            [ "${ERRS[$k]:-0}" -gt 0 ] && flag="!"
            printf ' %7.0f%s %6s %7s |' "${R[$t]}" "$flag" "${P[$t]}" "$(cell "$k" 3)"
        done
        if [ -n "${R[llmux]:-}" ] && [ -n "${R[direct]:-}" ]; then
            printf ' %+7d %7.0f%%' "$((P[llmux] - P[direct]))" "$(awk -v a="${R[llmux]}" -v b="${R[direct]}" 'BEGIN {print 100 * a / b}')"
            if [ -n "${R[portkey]:-}" ]; then
                printf ' %8.1fx' "$(awk -v a="${R[llmux]}" -v b="${R[portkey]}" 'BEGIN {print a / b}')"
            fi
        fi
        echo
        unset R P
    done
done
printf '%.0s-' $(seq $W); echo
echo "CPU time of the serving process (all threads) per request, µs:"
for mode in $MODES; do
    for c in $CONC; do
        printf '%-8s %4s |' "$mode" "$c"
        for t in $COLS; do
            printf ' %23s |' "$(median ${CPU[$t/$mode/$c]:-})"
        done
        echo
    done
done
printf '%.0s-' $(seq $W); echo
printf '%-14s|' "ttft p50/p99"
for t in $COLS; do
    if [ -z "${TTFT[$t]:-}" ]; then printf ' %23s |' -; continue; fi
    flag=" "
    [ "${ERRS[$t/ttft]:-0}" -gt 0 ] && flag="!"
    printf ' %10s / %-10s%s|' "$(median $(nth 1 "${TTFT[$t]}"))" "$(median $(nth 2 "${TTFT[$t]}"))" "$flag"
done
if [ -n "${TTFT[llmux]:-}" ] && [ -n "${TTFT[direct]:-}" ]; then
    printf ' %+7d' "$(($(median $(nth 1 "${TTFT[llmux]}")) - $(median $(nth 1 "${TTFT[direct]}"))))"
fi
echo
printf '%-14s|' "stream total"
for t in $COLS; do
    if [ -z "${TTFT[$t]:-}" ]; then printf ' %23s |' -; continue; fi
    printf ' %10s %12s |' "$(median $(nth 3 "${TTFT[$t]}"))" "p50"
done
echo
printf '%-14s|' "RSS MB @64 st"
for t in $COLS; do printf ' %10s %12s |' "$(mb "${RSS_MAX[$t]:-}")" "VmRSS"; done
echo
printf '%-14s|' "  of it anon"
for t in $COLS; do printf ' %10s %12s |' "$(mb "${ANON_MAX[$t]:-}")" "RssAnon"; done
echo
printf '%-14s|' "mock conns"
for t in $COLS; do
    if [ -z "${UPR[$t]:-}" ]; then printf ' %23s |' -; continue; fi
    printf ' %23s |' "${UPC[$t]} / $(awk -v r="${UPR[$t]}" 'BEGIN {printf "%.1fk req", r / 1e3}')"
done
echo
printf '%-14s|' "peak RSS MB"
for t in $COLS; do printf ' %10s %12s |' "$(mb "${HWM[$t]:-}")" "VmHWM"; done
echo
echo "mock conns: connections the mock accepted during the wrk runs (direct: wrk's own), over the requests served"
echo "ttft: bench/ttft, 1 connection, $TTFT_N requests x $REPEAT, stream paced at ${TTFT_GAP_US} µs per event (20 events); 'stream total' = whole paced stream"
for t in "${!NOTE[@]}"; do echo "note: ${NOTE[$t]}"; done

# ---- targets (issue 5) -----------------------------------------------------------
if [ -n "${RES[llmux/plain/1]:-}" ] && [ -n "${RES[direct/plain/1]:-}" ]; then
    verdict() { if [ "$2" = 1 ]; then echo "  ok   $1"; else echo "  MISS $1"; fi; }
    d=$(($(cell llmux/plain/1 2) - $(cell direct/plain/1 2)))
    echo "targets:"
    verdict "llmux adds ${d} µs p50 at concurrency 1, plain (<= 50)" "$([ "$d" -le 50 ] && echo 1)"
    if [ -n "${RES[llmux/stream/1]:-}" ]; then
        d=$(($(cell llmux/stream/1 2) - $(cell direct/stream/1 2)))
        echo "  info llmux adds ${d} µs p50 at concurrency 1, streamed (whole response; no target)"
    fi
    if [ -n "${TTFT[llmux]:-}" ]; then
        d=$(($(median $(nth 1 "${TTFT[llmux]}")) - $(median $(nth 1 "${TTFT[direct]}"))))
        verdict "llmux adds ${d} µs to the time to first token (<= 100)" "$([ "$d" -le 100 ] && echo 1)"
    fi
    for mode in $MODES; do
        [ -n "${RES[llmux/$mode/64]:-}" ] || continue
        r=$(awk -v a="$(cell llmux/$mode/64 1)" -v b="$(cell direct/$mode/64 1)" 'BEGIN {printf "%.0f", 100 * a / b}')
        verdict "llmux $mode throughput at 64 = ${r}% of direct (>= 50%)" "$([ "$r" -ge 50 ] && echo 1)"
        if [ -n "${RES[portkey/$mode/64]:-}" ]; then
            x=$(awk -v a="$(cell llmux/$mode/64 1)" -v b="$(cell portkey/$mode/64 1)" 'BEGIN {printf "%.1f", a / b}')
            verdict "llmux $mode throughput at 64 = ${x}x Portkey (>= 10x)" "$(awk -v x="$x" 'BEGIN {print (x >= 10)}')"
        fi
        if [ -n "${RES[nginx/$mode/64]:-}" ]; then
            r2=$(awk -v a="$(cell nginx/$mode/64 1)" -v b="$(cell direct/$mode/64 1)" 'BEGIN {printf "%.0f", 100 * a / b}')
            r3=$(awk -v a="$(cell llmux/$mode/64 1)" -v b="$(cell nginx/$mode/64 1)" 'BEGIN {printf "%.0f", 100 * a / b}')
            echo "  info nginx (plain proxy, no JSON) $mode throughput at 64 = ${r2}% of direct; llmux = ${r3}% of nginx"
        fi
    done
    if [ -n "${RSS_MAX[llmux]:-}" ]; then
        verdict "llmux RSS at 64 streams $(mb "${RSS_MAX[llmux]}") MB, peak $(mb "${HWM[llmux]:-}") MB (< 30)" \
            "$(awk -v k="${HWM[llmux]:-${RSS_MAX[llmux]}}" 'BEGIN {print (k < 30 * 1024)}')"
    fi
fi
