-- bench/gateway/chat.lua — wrk script: POST an OpenAI chat completion request
-- (~400-byte body, not streamed) and print one machine-readable result line.
--
--   BENCH_MODEL=gpt-4o-mini wrk -t1 -c16 -d10s -s bench/gateway/chat.lua \
--       http://127.0.0.1:PORT/v1/chat/completions
--
-- Environment: BENCH_MODEL (model field, default "gpt-4o-mini"), BENCH_STREAM
-- ("1": streamed with stream_options.include_usage; chat_stream.lua sets it).
-- Extra headers (keys, Portkey's x-portkey-*) come from wrk's -H.
-- The last line of output is
--   WRK_RESULT requests=N seconds=S rps=R p50_us=A p90_us=B p99_us=C max_us=D errors=E non2xx=F

local model = os.getenv("BENCH_MODEL") or "gpt-4o-mini"
local stream = (BENCH_STREAM_FORCE or os.getenv("BENCH_STREAM") == "1")

local question = "Our team runs a small web service that stores orders in Postgres. "
  .. "Requests must finish within 200 ms. Last night the batch job timed out twice. "
  .. "In two sentences, what are the first three things we should check?"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"' .. model .. '","messages":['
  .. '{"role":"system","content":"You are a concise assistant for software operations questions."},'
  .. '{"role":"user","content":"' .. question .. '"}],'
  .. '"max_tokens":64,"temperature":0.2,'
  .. (stream and '"stream":true,"stream_options":{"include_usage":true}' or '"stream":false')
  .. '}'

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "WRK_RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d errors=%d non2xx=%d body_bytes=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status, #wrk.body))
end
