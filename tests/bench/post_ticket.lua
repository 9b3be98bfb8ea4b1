-- wrk script: POST a distinct ticket per request (distinct phone numbers, so no repeat-call
-- linking), stop each thread after its share of TOTAL requests, and print percentiles.
-- Usage: wrk -t2 -c64 -d120s -s post_ticket.lua URL/v1/tickets -- TOTAL [BEARER_TOKEN]
local counter = 0
local done_count = 0
local share = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local total = tonumber(args[1] or "200000")
  share = math.floor(total / 2)
  thread_id = id
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if args[2] then
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
end

local categories = {"W01", "W02", "W03", "W04", "W05", "W06", "W07", "W08", "W09"}
local districts = {"Gulou", "Taijiang", "Cangshan", "Jin'an", "Mawei"}

function request()
  counter = counter + 1
  local n = thread_id * 10000000 + counter
  local body = string.format(
    '{"categoryCode":"%s","description":"bench ticket %d: no water since morning",' ..
    '"contact":{"phone":"13%09d"},"location":{"district":"%s","community":"c%d"}}',
    categories[(n % 9) + 1], n, n, districts[(n % 5) + 1], n % 97)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  done_count = done_count + 1
  if status ~= 200 then
    print("non-200 answer: " .. status .. " " .. body)
  end
  if done_count >= share then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %.2f, "per_s": %.0f, "p50_ms": %.2f, "p99_ms": %.2f, ' ..
    '"p999_ms": %.2f, "max_ms": %.2f, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout))
end
