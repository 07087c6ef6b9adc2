-- Shared by the wrk scenarios: tokens (one per line in $BENCH_TOKENS) and
-- the id ranges the seeding step created ($BENCH_POSTS, $BENCH_FUND_POSTS).
local M = {}

function M.read_lines(path)
  local lines = {}
  local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  for line in f:lines() do
    if #line > 0 then lines[#lines + 1] = line end
  end
  f:close()
  return lines
end

-- BENCH_SPREAD ("host:port,host:port"): the wrk threads connect round robin
-- to these addresses instead of the URL's (the nodes of a cluster behind a
-- load balancer). Call from each scenario's setup(thread).
local spread_next = 0
function M.spread(thread)
  local list = os.getenv("BENCH_SPREAD") or ""
  if list == "" then return end
  local addrs = {}
  for host, port in list:gmatch("([^,:]+):(%d+)") do
    addrs[#addrs + 1] = wrk.lookup(host, port)[1]
  end
  thread.addr = addrs[spread_next % #addrs + 1]
  spread_next = spread_next + 1
end

M.posts = tonumber(os.getenv("BENCH_POSTS") or "100000")
M.fund_posts = tonumber(os.getenv("BENCH_FUND_POSTS") or "1000")

return M
