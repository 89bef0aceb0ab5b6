#!/usr/bin/env bash
# bench/engine.sh — embedded engine speed against llama.cpp and the memory
# bandwidth bound, on random-weight models with real shapes.
#
#   BUILD=build bash bench/engine.sh
#   LLAMA_BENCH=/path/to/llama-peer-bench BUILD=build bash bench/engine.sh
#
# For each shape (smollm2-135m, qwen2.5-0.5b) x type (q8_0, q4_0) x threads
# (1, 2): `llmux bench-engine`, the llama.cpp driver when $LLAMA_BENCH points
# at it (it takes MODEL THREADS PROMPT GEN and prints the same JSON fields),
# and bench/triad. Models are generated once with bench/mkmodel into
# $MODEL_DIR (default /tmp/llmux-bench-models). Prints a side-by-side table;
# "bw" is decode speed as a fraction of the bandwidth bound
# (triad GB/s / weight bytes per token).
# Knobs: SHAPES, TYPES, THREADS, PROMPT (128), GEN (64), REPEAT (1): with
# REPEAT=N each configuration runs N times, llmux and llama.cpp alternating,
# and the table shows the median of the N figures (each figure already being
# the median of 3 rounds) -- on a shared machine, use 3 or more.
set -u
BUILD=${BUILD:-build}
LLMUX=${LLMUX:-$BUILD/llmux}
MKMODEL=${MKMODEL:-$BUILD/bench/mkmodel}
TRIAD=${TRIAD:-$BUILD/bench/triad}
MODEL_DIR=${MODEL_DIR:-/tmp/llmux-bench-models}
SHAPES=${SHAPES:-"smollm2-135m qwen2.5-0.5b"}
TYPES=${TYPES:-"q8_0 q4_0"}
THREADS=${THREADS:-"1 2"}
PROMPT=${PROMPT:-128}
GEN=${GEN:-64}
REPEAT=${REPEAT:-1}
LLAMA_BENCH=${LLAMA_BENCH:-}

for b in "$LLMUX" "$MKMODEL" "$TRIAD"; do
  [ -x "$b" ] || { echo "missing $b: run 'make BUILD=$BUILD bench' first" >&2; exit 2; }
done
if [ -z "$LLAMA_BENCH" ] || [ ! -x "$LLAMA_BENCH" ]; then
  echo "note: LLAMA_BENCH not set (or not executable): llama.cpp columns skipped" >&2
  LLAMA_BENCH=
fi
mkdir -p "$MODEL_DIR"

field() { # field NAME JSON -> value
  sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2"
}
median() { # median of the arguments ("-" when none)
  [ $# -gt 0 ] || { echo -; return; }
  printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}

declare -A TRIAD_GBS
for th in $THREADS; do
  j=$("$TRIAD" --threads "$th" --mb 256 --reps 7)
  echo "triad: $j" >&2
  TRIAD_GBS[$th]=$(field median_gb_s "$j")
done

rows=()
for shape in $SHAPES; do
  for type in $TYPES; do
    model="$MODEL_DIR/$shape-$type.gguf"
    if [ ! -f "$model" ]; then
      "$MKMODEL" --preset "$shape" --type "$type" -o "$model" || exit 1
    fi
    for th in $THREADS; do
      lps=(); lds=(); pps=(); pds=(); bytes=0; kern=-
      for ((rep = 0; rep < REPEAT; rep++)); do
        j=$("$LLMUX" bench-engine --model "$model" --threads "$th" --prompt-tokens "$PROMPT" \
              --gen-tokens "$GEN") || { echo "llmux bench-engine failed on $model" >&2; continue; }
        echo "llmux: $j" >&2
        lps+=("$(field prefill_tok_s "$j")"); lds+=("$(field decode_tok_s "$j")")
        bytes=$(field weight_bytes_per_token "$j"); kern=$(field kernels "$j")
        if [ -n "$LLAMA_BENCH" ]; then
          pj=$("$LLAMA_BENCH" "$model" "$th" "$PROMPT" "$GEN" 2>/dev/null) || pj=
          echo "llama.cpp: $pj" >&2
          v=$(field prefill_tok_s "$pj"); [ -n "$v" ] && pps+=("$v")
          v=$(field decode_tok_s "$pj"); [ -n "$v" ] && pds+=("$v")
        fi
      done
      [ ${#lps[@]} -gt 0 ] || continue
      lp=$(median "${lps[@]}"); ld=$(median "${lds[@]}")
      pp=$(median "${pps[@]}"); pd=$(median "${pds[@]}")
      rows+=("$shape $type $th $kern $lp $ld $pp $pd $bytes ${TRIAD_GBS[$th]}")
    done
  done
done

printf '\n%-13s %-5s %2s %-7s | %9s %9s | %9s %9s | %7s %7s | %6s %5s\n' \
  shape type th kernels "pre tok/s" "dec tok/s" "llama pre" "llama dec" "pre x" "dec x" "triad" "bw"
for r in "${rows[@]}"; do
  read -r shape type th kern lp ld pp pd bytes gbs <<<"$r"
  awk -v s="$shape" -v t="$type" -v th="$th" -v k="$kern" -v lp="$lp" -v ld="$ld" \
      -v pp="$pp" -v pd="$pd" -v by="$bytes" -v g="$gbs" 'BEGIN {
    rp = (pp == "-" || pp == 0) ? "-" : sprintf("%.2f", lp / pp);
    rd = (pd == "-" || pd == 0) ? "-" : sprintf("%.2f", ld / pd);
    bw = (g > 0) ? sprintf("%.2f", ld * by / (g * 1e9)) : "-";
    printf "%-13s %-5s %2s %-7s | %9.1f %9.1f | %9s %9s | %7s %7s | %6.1f %5s\n",
           s, t, th, k, lp, ld, pp, pd, rp, rd, g, bw }'
done
