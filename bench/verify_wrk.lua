-- wrk script for bench/verify.py: POST one JSON body per request, cycling through a file of bodies, with a
-- Bearer key read from a file (never from the command line, so it does not show in `ps`).
--
--   wrk -t2 -c32 -d30s -s bench/verify_wrk.lua http://127.0.0.1:8765/api/v1/verifications -- BODIES KEYFILE
--
-- BODIES holds one request body per line (e.g. {"code":"EDL1:..."}); KEYFILE holds the key; an empty KEYFILE
-- sends no Authorization header (for the GET /healthz harness check, give BODIES as "-" to send plain GETs).
-- Each thread starts at its own offset in the bodies. At the end one line `WRK_JSON {...}` carries the figures
-- bench/verify.py reads: requests, duration, socket errors, latency percentiles (microseconds), the count of
-- each HTTP status, and how many 200 answers said "valid": true.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local function read_lines(path)
  local lines = {}
  local fh = assert(io.open(path, "r"))
  for text in fh:lines() do
    if #text > 0 then
      table.insert(lines, text)
    end
  end
  fh:close()
  return lines
end

local requests = {}
statuses = {}
valid = 0

function init(args)
  local key = ""
  if args[2] then
    local keys = read_lines(args[2])
    key = keys[1] or ""
  end
  if key ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. key
  end
  if args[1] and args[1] ~= "-" then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    for _, body in ipairs(read_lines(args[1])) do
      table.insert(requests, wrk.format(nil, nil, nil, body))
    end
  else
    table.insert(requests, wrk.format(nil, nil, nil, nil))
  end
  counter = (id * 7919) % #requests
end

function request()
  counter = counter + 1
  if counter > #requests then
    counter = 1
  end
  return requests[counter]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 and body and string.find(body, '"valid"%s*:%s*true') then
    valid = valid + 1
  end
end

function done(summary, latency, requests)
  local by_status = {}
  local answered_valid = 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + n
    end
    answered_valid = answered_valid + thread:get("valid")
  end
  local parts = {}
  for status, n in pairs(by_status) do
    table.insert(parts, string.format('"%d":%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},' ..
    '"valid":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    answered_valid, table.concat(parts, ",")))
end
