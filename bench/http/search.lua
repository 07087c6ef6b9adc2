-- GET /api/posts?search=<term>: one of the words the seeding step put in
-- titles (each in about 5 % of them), Korean or Latin, or a title number.
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
local common = require("common")

function setup(thread)
  common.spread(thread)
end

local terms = {
  "%EC%B7%A8%EB%AF%B8",                  -- 취미
  "%EC%97%AC%ED%96%89",                  -- 여행
  "%EA%B3%A0%EC%96%91%EC%9D%B4",         -- 고양이
  "hobby",
  "garden",
  "%EC%BA%A0%ED%8E%98%EC%9D%B8%20777",   -- 캠페인 777
}

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

-- BENCH_SEARCH_TERM (URL-encoded): that term alone.
local only = os.getenv("BENCH_SEARCH_TERM")

function request()
  local term = only or terms[math.random(1, #terms)]
  return wrk.format("GET", "/api/posts?search=" .. term)
end

function done(summary, latency, requests)
  io.write(string.format("unexpected_status %d\n", summary.errors.status))
end
