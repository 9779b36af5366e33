-- wrk: POST a small JSON body, like a scoring call, with the service key the benchmark set up
-- (BENCH_KEY), so a proxy that checks keys does its work on every request.
wrk.method = "POST"
wrk.body = '{"x":1}'
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key then wrk.headers["Authorization"] = "Bearer " .. key end
