-- wrk script: POST the NDJSON file named by $BODY_FILE on every request, and print a summary
-- line that run.sh reads (completed requests, run time, non-2xx/3xx answers).
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/x-ndjson"

function done(summary, latency, requests)
  io.write(string.format("wrk_requests=%d wrk_duration_us=%d wrk_status_errors=%d wrk_latency_p50_us=%d wrk_latency_p99_us=%d\n",
    summary.requests, summary.duration, summary.errors.status,
    latency:percentile(50), latency:percentile(99)))
end
