-- wrk script: the minimal endpoint (POST /noop on the worker-node simulator), same body shape as enqueue.lua.
local counter = 0
function request()
  counter = counter + 1
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, '{"placeId":"noop_' .. counter .. '"}')
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT requests=%d seconds=%.2f requests_per_s=%.0f p50_ms=%.2f p99_ms=%.2f errors_status=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
