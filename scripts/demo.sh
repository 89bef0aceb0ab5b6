#!/usr/bin/env bash
# Quick-start demo: installs what the build needs, builds llmux, and runs its
# main job — asking a model — on the embedded defaults.
#
#   1. the embedded engine with a local GGUF model, when one is found
#      ($LLMUX_MODEL, or the small test model under $LLMUX_MODEL_DIR or
#      ../shared/models);
#   2. otherwise the mock provider from tests/ (it speaks the OpenAI wire
#      format on 127.0.0.1), so the demo works on a machine with no model
#      and no API key; it says so.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "demo: run as root or install sudo so scripts/deps.sh can install packages" >&2
  exit 2
fi
bash scripts/deps.sh
make -j"$(nproc)" >/dev/null
BIN=build/llmux
echo "== llmux $($BIN --version | cut -d' ' -f2) built: $BIN"

model="${LLMUX_MODEL:-}"
if [ -z "$model" ]; then
  for d in "${LLMUX_MODEL_DIR:-}" ../shared/models; do
    if [ -n "$d" ] && [ -f "$d/stories260K/stories260K.gguf" ]; then
      model="$d/stories260K/stories260K.gguf"; break
    fi
  done
fi

if [ -n "$model" ] && $BIN ask --help >/dev/null 2>&1 && \
   LLMUX_MODEL="$model" $BIN models 2>/dev/null | grep -q '^local/'; then
  echo "== embedded engine, model $model"
  echo "\$ llmux complete --model $(basename "$model") --max-tokens 120 'Once upon a time'"
  $BIN complete --model "$model" --temperature 0 --max-tokens 120 "Once upon a time"
  echo
  echo "\$ llmux ask -m local 'Tell me a story about a cat.'"
  LLMUX_MODEL="$model" $BIN ask -m local --temperature 0 --max-tokens 80 "Tell me a story about a cat."
  exit 0
fi

echo "== no local model found: asking the mock provider from tests/mock (not a real model)"
tmp=$(mktemp -d)
trap 'kill $mock_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
python3 tests/mock/mock_provider.py --port 0 --port-file "$tmp/port" >/dev/null 2>&1 &
mock_pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
cat >"$tmp/llmux.yaml" <<YAML
default_model: mock/demo
providers:
  - name: mock
    type: openai
    base_url: http://127.0.0.1:$port/v1
    api_key_env: MOCK_KEY
YAML
echo "\$ llmux ask 'What is llmux?'"
MOCK_KEY=test-key $BIN ask --config "$tmp/llmux.yaml" "What is llmux?"
