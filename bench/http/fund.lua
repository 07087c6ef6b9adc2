-- POST /api/posts/{id}/fundings on one of the first BENCH_FUND_POSTS posts,
-- as one of the backers whose tokens are in BENCH_TOKENS. Durable: every 201
-- was fsync'd first.
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
local common = require("common")

function setup(thread)
  common.spread(thread)
end
local tokens

function init(args)
  tokens = common.read_lines(os.getenv("BENCH_TOKENS"))
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  local id = math.random(1, common.fund_posts)
  local token = tokens[math.random(1, #tokens)]
  return wrk.format("POST", "/api/posts/" .. id .. "/fundings", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, '{"units":1}')
end


function done(summary, latency, requests)
  io.write(string.format("unexpected_status %d\n", summary.errors.status))
end
