-- wrk script for bench/bench_overhead.py's signed-in scenario: each request goes out as the
-- next of the signed-in users (its cookie, its address and the User-Agent it signed in with);
-- every answer other than 200 is counted and reported, since a run with refusals is invalid.
-- The users come from the file named by BENCH_USERS: "cookie<TAB>address" a line.
local users = {}
for line in io.lines(os.getenv("BENCH_USERS")) do
  local cookie, address = line:match("^(.-)\t(.*)$")
  users[#users + 1] = {cookie = cookie, address = address}
end
local agent = os.getenv("BENCH_AGENT")
local path = os.getenv("BENCH_PATH")
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  next_user = id
  statuses = {}
  step = tonumber(os.getenv("BENCH_THREADS"))
end

function request()
  local user = users[next_user % #users + 1]
  next_user = next_user + step
  return wrk.format("GET", path, {["Cookie"] = user.cookie, ["X-Forwarded-For"] = user.address,
                                  ["User-Agent"] = agent})
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
