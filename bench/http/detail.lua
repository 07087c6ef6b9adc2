-- GET /api/posts/{id} of a random seeded post.
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
local common = require("common")

function setup(thread)
  common.spread(thread)
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  return wrk.format("GET", "/api/posts/" .. math.random(1, common.posts))
end

function done(summary, latency, requests)
  io.write(string.format("unexpected_status %d\n", summary.errors.status))
end
