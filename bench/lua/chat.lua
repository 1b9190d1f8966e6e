-- wrk script: POST one small, fixed chat completion (non-streaming) and report latency in a parseable line.
-- Used by bench/overhead.py for both the direct and the through-the-gateway runs, so both send the same bytes.
-- The model name is the same on both sides: the gateway's `bench-model` maps to the fake's `bench-model`.

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
wrk.body = '{"model":"bench-model","messages":[{"role":"system","content":"You are terse."},'
  .. '{"role":"user","content":"Say hello to the benchmark."}],"max_tokens":16,"temperature":0}'

-- One line, prefixed so the driver can find it among wrk's own output. Latencies are in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,'
      .. '"write_errors":%d,"status_errors":%d,"timeouts":%d,"mean_us":%.1f,"stdev_us":%.1f,'
      .. '"min_us":%d,"max_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.min, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
