-- wrk: POST a small JSON body, like a scoring call.
wrk.method = "POST"
wrk.body = '{"x":1}'
wrk.headers["Content-Type"] = "application/json"
