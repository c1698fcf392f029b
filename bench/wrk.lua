-- Drives one query: cycles through the bodies in BODIES_FILE (one JSON body per line), counts
-- every answer that is not HTTP 200 or carries GraphQL errors, and prints one RESULT line.
local bodies = {}
for line in io.lines(os.getenv("BODIES_FILE")) do
  bodies[#bodies + 1] = line
end
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  errors = 0
  i = math.random(#bodies)
end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/graphql", { ["Content-Type"] = "application/json" }, bodies[i])
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    errors = errors + 1
  end
end
function done(summary, latency, requests)
  local e = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  for _, t in ipairs(threads) do
    e = e + t:get("errors")
  end
  io.write(string.format("RESULT %d %.3f %.3f %.3f %d\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, e))
end
