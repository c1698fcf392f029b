-- Drives one query: cycles through the bodies in BODIES_FILE (one JSON body per line), replacing
-- every `__N__` with a number fresh to this run (so writes add rows instead of colliding), sends
-- AUTHORIZATION when set, counts every answer that is not HTTP 200, carries GraphQL errors or
-- non-empty userErrors, and prints one RESULT line.
local bodies = {}
for line in io.lines(os.getenv("BODIES_FILE")) do
  bodies[#bodies + 1] = line
end
local auth = os.getenv("AUTHORIZATION")
local run = os.getenv("RUN_ID") or "0"
local threads = {}
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end
function init(args)
  errors = 0
  n = 0
  i = math.random(#bodies)
  headers = { ["Content-Type"] = "application/json" }
  if auth and auth ~= "" then
    headers["Authorization"] = auth
  end
end
function request()
  i = i % #bodies + 1
  n = n + 1
  local body = string.gsub(bodies[i], "__N__", run .. "-" .. id .. "-" .. n)
  return wrk.format("POST", "/graphql", headers, body)
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) or string.find(body, '"userErrors":[{', 1, true) then
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
