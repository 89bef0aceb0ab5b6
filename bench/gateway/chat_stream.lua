-- bench/gateway/chat_stream.lua — the same request as chat.lua, streamed
-- ("stream":true with stream_options.include_usage). wrk times the whole
-- streamed response (headers to the last chunk); time to first token is
-- measured by bench/ttft.c.
BENCH_STREAM_FORCE = true
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "chat.lua")
