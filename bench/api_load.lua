-- wrk script for bench/api_load.py: one path, the bearer key, and p50/p95/p99 in the summary.
-- Environment: HK_TOKEN (the API key), HK_PATH (path with query).
local token = os.getenv("HK_TOKEN")
local path = os.getenv("HK_PATH")

request = function()
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json" })
end

local non2xx = 0
response = function(status, headers, body)
  if status ~= 200 then non2xx = non2xx + 1 end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.3f p50=%.1f p95=%.1f p99=%.1f max=%.1f socket_errors=%d status_errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e.connect + e.read + e.write + e.timeout, e.status))
end
