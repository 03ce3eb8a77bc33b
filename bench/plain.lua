-- wrk script for bench/bench_overhead.py's bare reference: the same reporting as signed_in.lua,
-- no cookies.
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  if status ~= 200 then
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local line = "non-200:"
  for status, n in pairs(counts) do
    line = line .. " " .. status .. "=" .. n
  end
  io.write(string.format("BENCH requests=%d seconds=%.3f errors=%d %s\n", summary.requests,
    summary.duration / 1e6, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout, line))
end
