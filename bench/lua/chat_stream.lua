-- wrk script: the same chat completion as chat.lua, streamed (SSE). wrk counts a request as done when the
-- chunked body ends, i.e. after `data: [DONE]`, so its latency is the time to the last byte.
-- include_usage is asked for explicitly: the gateway always asks the upstream for usage (to cost every
-- stream), so asking on the direct run too keeps the upstream's work identical on both sides.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "chat.lua")

wrk.body = '{"model":"bench-model","stream":true,"stream_options":{"include_usage":true},'
  .. '"messages":[{"role":"system","content":"You are terse."},'
  .. '{"role":"user","content":"Say hello to the benchmark."}],"max_tokens":16,"temperature":0}'
