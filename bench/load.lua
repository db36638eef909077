-- wrk driver for the benchmark: POSTs JSON bodies with a bearer token, one line of a data
-- file per request. One wrk thread (-t1): it keeps up with one service worker easily.
--
--   wrk -t1 -c10 -d20s -s bench/load.lua http://127.0.0.1:8100/graphql -- FILE MODE NONCE [HISTOGRAM]
--
-- FILE: one request per line, "token<TAB>body". "%KEY%" in a body becomes a key unique to
--       this run (NONCE), thread and request: redeemReward's idempotency keys.
-- MODE: "cycle" goes round the lines for the whole duration; "once" sends every line
--       exactly once and then stops (the notice-read storm: each read finished once);
--       -d is then only an upper bound.
--
-- Every answer is checked: an HTTP status other than 200, a GraphQL top-level error or a
-- non-empty `errors` list in a mutation payload counts as a failure. pointsAwarded is
-- summed (the storm's exactly-once check compares it with the ledger). At the end one line
-- "WRKJSON {...}" carries the numbers for bench/run.py, and HISTOGRAM (a file) gets every
-- latency wrk recorded as "microseconds count" lines, so that rounds can be merged exactly.

local threads = {}
local counter = 0

-- a monotonic clock (LuaJIT's ffi): a "once" run is timed from its first request to its
-- last answer
local ffi = require("ffi")
ffi.cdef [[
   typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
   int clock_gettime(int clock, bench_timespec *ts);
]]
local timespec = ffi.new("bench_timespec")
local function now_us()
   ffi.C.clock_gettime(1, timespec)  -- CLOCK_MONOTONIC
   return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

function init(args)
   path, mode, nonce, histogram = args[1], args[2] or "cycle", args[3] or "0", args[4]
   lines = {}
   for line in io.lines(path) do
      local token, body = line:match("^([^\t]+)\t(.*)$")
      if token then
         table.insert(lines, { "Bearer " .. token, body })
      end
   end
   index, reserved = 0, 0
   sent, failures, http_errors, awarded, answered = 0, 0, 0, 0, 0
   first_failure = ""
   -- wrk calls request() once on the first thread to check the script, and sends nothing
   verifying = id == 1
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

-- In "once" mode wrk asks delay() before every request a connection sends: that is where
-- a line is reserved (a connection's timer may fire after another's, so request() alone
-- could hand out more lines than there are). A connection with no line left waits an
-- hour; the run ends when the last answer arrives.
function delay()
   if lines == nil or mode ~= "once" then
      return 0
   end
   if reserved >= #lines then
      return 3600000
   end
   reserved = reserved + 1
   return 0
end

function request()
   if lines == nil or verifying then  -- wrk's own check of the script: takes no line
      verifying = false
      return wrk.format(nil, nil, nil, "{}")
   end
   if mode == "once" and index >= #lines then
      -- only a connection reopened after the last line gets here: send nothing that counts
      return wrk.format("GET", "/healthz", nil, "")
   end
   index = index + 1
   if index > #lines then
      index = 1
   end
   sent = sent + 1
   if sent == 1 then started_us = now_us() end
   local line = lines[index]
   wrk.headers["Authorization"] = line[1]
   local body = line[2]:gsub("%%KEY%%", nonce .. "-" .. id .. "-" .. sent)
   return wrk.format(nil, nil, nil, body)
end

function clean(text)
   return (text:sub(1, 300):gsub('[%c"\\]', " "))
end

function response(status, headers, body)
   answered = answered + 1
   finished_us = now_us()
   if status ~= 200 then
      http_errors = http_errors + 1
      if first_failure == "" then first_failure = clean(status .. " " .. body) end
      return
   end
   if body:find('"errors":%[{') then
      failures = failures + 1
      if first_failure == "" then first_failure = clean(body) end
   end
   local points = body:match('"pointsAwarded":(%d+)')
   if points then awarded = awarded + tonumber(points) end
   if mode == "once" and answered >= #lines then
      -- wrk's main thread sleeps for the whole -d unless interrupted by SIGINT, which
      -- system() ignores while it runs: interrupt it a moment after
      wrk.thread:stop()
      os.execute("(sleep 0.05; kill -INT $PPID) >/dev/null 2>&1 &")
   end
end

function done(summary, latency, requests)
   -- done() runs in wrk's main Lua state, where init() never ran: ask the thread
   local histogram = threads[1] and threads[1]:get("histogram")
   if histogram then
      local out = io.open(histogram, "w")
      for i = 1, #latency do
         local value, count = latency(i)
         out:write(string.format("%d %d\n", value, count))
      end
      out:close()
   end
   local failures_total, http_total, awarded_total, answered_total, sample = 0, 0, 0, 0, ""
   local elapsed = 0
   for _, thread in ipairs(threads) do
      elapsed = math.max(elapsed, (thread:get("finished_us") or 0) - (thread:get("started_us") or 0))
      failures_total = failures_total + thread:get("failures")
      http_total = http_total + thread:get("http_errors")
      awarded_total = awarded_total + thread:get("awarded")
      answered_total = answered_total + thread:get("answered")
      if sample == "" then sample = thread:get("first_failure") end
   end
   local socket_errors = summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout
   io.write(string.format(
      'WRKJSON {"requests": %d, "duration_us": %d, "elapsed_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"mean_us": %.1f, "max_us": %d, "status_errors": %d, "socket_errors": %d, '
      .. '"failures": %d, "http_errors": %d, "awarded": %d, "answered": %d, "first_failure": "%s"}\n',
      summary.requests, summary.duration, elapsed, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.mean, latency.max, summary.errors.status, socket_errors,
      failures_total, http_total, awarded_total, answered_total, sample))
end
