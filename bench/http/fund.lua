-- POST /api/posts/{id}/fundings on one of the first BENCH_FUND_POSTS posts,
-- as one of the backers whose tokens are in BENCH_TOKENS. Durable: every 201
-- was fsync'd first. BENCH_IDEMPOTENCY=1: each request carries an
-- Idempotency-Key of its own, as a client that retries safely sends (the
-- service then also looks the key up and stores it with the funding).
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
local common = require("common")

local threads = 0
function setup(thread)
  common.spread(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
local tokens
local key_prefix
local sent = 0

function init(args)
  tokens = common.read_lines(os.getenv("BENCH_TOKENS"))
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  if os.getenv("BENCH_IDEMPOTENCY") == "1" then
    -- Unique across threads and runs: the thread, the start time, a counter.
    key_prefix = string.format("bench-%d-%d-%d-", thread_number, os.time(), math.random(1, 1e9))
  end
end

function request()
  local id = math.random(1, common.fund_posts)
  local token = tokens[math.random(1, #tokens)]
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
  if key_prefix then
    sent = sent + 1
    headers["Idempotency-Key"] = key_prefix .. sent
  end
  return wrk.format("POST", "/api/posts/" .. id .. "/fundings", headers, '{"units":1}')
end


function done(summary, latency, requests)
  io.write(string.format("unexpected_status %d\n", summary.errors.status))
end
