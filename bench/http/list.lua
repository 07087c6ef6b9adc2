-- GET /api/posts: the first page in the default order (-total_funded).
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
local common = require("common")

function setup(thread)
  common.spread(thread)
end

function request()
  return wrk.format("GET", "/api/posts")
end

function done(summary, latency, requests)
  io.write(string.format("unexpected_status %d\n", summary.errors.status))
end
