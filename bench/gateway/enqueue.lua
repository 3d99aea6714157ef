-- wrk script: POST /enqueue with a distinct placeId per request.
-- placeIds are "<run>_<thread>_<counter>" (letters, digits, '_': valid for the gateway).
-- The run prefix comes from the environment (BENCH_RUN) so repeated runs do not collide.
local counter = 0
local thread_id = 0
local prefix = os.getenv("BENCH_RUN") or "bench"
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid
end

function request()
  counter = counter + 1
  local body = '{"placeId":"' .. prefix .. "_" .. thread_id .. "_" .. counter .. '"}'
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end

accepted = 0
function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + t:get("accepted")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT accepted=%d requests=%d seconds=%.2f accepted_per_s=%.0f p50_ms=%.2f p99_ms=%.2f errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d errors_status=%d\n",
    total, summary.requests, seconds, total / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))
end
