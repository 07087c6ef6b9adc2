-- POST /api/posts/{id}/fundings on one of the posts LAG_FIRST_POST ..
-- LAG_FIRST_POST + LAG_POST_COUNT - 1, as one of the backers whose tokens
-- are in BENCH_TOKENS (settlement_lag.sh).
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local tokens
local first = tonumber(os.getenv("LAG_FIRST_POST"))
local count = tonumber(os.getenv("LAG_POST_COUNT"))

function init(args)
  tokens = common.read_lines(os.getenv("BENCH_TOKENS"))
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  local id = first + math.random(0, count - 1)
  local token = tokens[math.random(1, #tokens)]
  return wrk.format("POST", "/api/posts/" .. id .. "/fundings", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, '{"units":1}')
end

function done(summary, latency, requests)
  io.write(string.format("unexpected_status %d\n", summary.errors.status))
end
