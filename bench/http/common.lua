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

M.posts = tonumber(os.getenv("BENCH_POSTS") or "100000")
M.fund_posts = tonumber(os.getenv("BENCH_FUND_POSTS") or "1000")

return M
