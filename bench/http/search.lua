-- GET /api/posts?search=<term>: Korean and Latin substrings of the seeded
-- titles ("캠페인 <n> 취미 모임" / "campaign <n> hobby").
local terms = {
  "%EC%B7%A8%EB%AF%B8",          -- 취미
  "%EB%AA%A8%EC%9E%84",          -- 모임
  "hobby",
  "campaign%2012",
  "%EC%BA%A0%ED%8E%98%EC%9D%B8%20777", -- 캠페인 777
}

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  return wrk.format("GET", "/api/posts?search=" .. terms[math.random(1, #terms)])
end

function done(summary, latency, requests)
  io.write(string.format("unexpected_status %d\n", summary.errors.status))
end
