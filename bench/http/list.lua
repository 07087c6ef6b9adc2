-- GET /api/posts: the first page in the default order (-total_funded).
function request()
  return wrk.format("GET", "/api/posts")
end

function done(summary, latency, requests)
  io.write(string.format("unexpected_status %d\n", summary.errors.status))
end
