/**
 * The one request-id rule (Azure ML's scoring server's): which header wins, the limit of 100
 * characters in each header, what an answer echoes, and what a replica behind the router reads.
 */
import * as assert from "node:assert/strict";
import { REQUEST_ID_LIMIT, echoHeaders, headerReader, idsBehindRouter, readRequestIds, type RequestIdOutcome, type RequestIds } from "../../core/contracts/requestId";

const read = (given: Record<string, string>): RequestIdOutcome => readRequestIds((n) => given[n], () => "new");
const ids = (given: Record<string, string>): RequestIds => {
  const r = read(given);
  assert.ok("ids" in r, JSON.stringify(r));
  return r.ids;
};

describe("request ids", () => {
  it("x-request-id is the caller's, else new; x-ms-request-id the caller's, else the client id, else the request id", () => {
    assert.deepEqual(ids({}), { requestId: "new", msRequestId: "new", clientRequestId: "" });
    assert.deepEqual(ids({ "x-request-id": "r" }), { requestId: "r", msRequestId: "r", clientRequestId: "" });
    assert.deepEqual(ids({ "x-ms-request-id": "l" }), { requestId: "new", msRequestId: "l", clientRequestId: "l" });
    assert.deepEqual(ids({ "x-ms-client-request-id": "c" }), { requestId: "new", msRequestId: "c", clientRequestId: "c" });
    assert.deepEqual(ids({ "x-request-id": "r", "x-ms-request-id": "l", "x-ms-client-request-id": "c" }), { requestId: "r", msRequestId: "l", clientRequestId: "c" });
    assert.deepEqual(ids({ "x-request-id": "r", "x-ms-client-request-id": "c" }), { requestId: "r", msRequestId: "c", clientRequestId: "c" });
  });

  it("an empty header counts as absent", () => {
    assert.deepEqual(ids({ "x-request-id": "", "x-ms-request-id": "", "x-ms-client-request-id": "" }), { requestId: "new", msRequestId: "new", clientRequestId: "" });
  });

  it("keeps any characters a header value may hold, as sent", () => {
    const odd = "a b/c+d=;é\t~";
    assert.equal(ids({ "x-ms-request-id": odd }).msRequestId, odd);
  });

  it("refuses more than 100 characters in any of the three headers, with Azure ML's message; exactly 100 pass", () => {
    assert.equal(REQUEST_ID_LIMIT, 100);
    const ok = "x".repeat(100);
    const long = "x".repeat(101);
    assert.deepEqual(ids({ "x-request-id": ok, "x-ms-request-id": ok, "x-ms-client-request-id": ok }), { requestId: ok, msRequestId: ok, clientRequestId: ok });
    assert.deepEqual(read({ "x-request-id": long, "x-ms-request-id": "l", traceid: "t" }), { tooLong: "x-request-id must not exceed 100 characters", traceId: "t" });
    for (const h of ["x-ms-request-id", "x-ms-client-request-id"]) {
      assert.deepEqual(read({ "x-request-id": "r", [h]: long }), { tooLong: "x-ms-request-id and x-ms-client-request-id must not exceed 100 characters", requestId: "r" }, h);
    }
    assert.ok("tooLong" in read({ "x-ms-request-id": "l", "x-ms-client-request-id": long }), "a long client id beside a short x-ms-request-id");
    assert.ok("tooLong" in read({ "x-ms-request-id": long, "x-ms-client-request-id": "c" }), "a long x-ms-request-id beside a short client id");
  });

  it("echoes x-request-id, x-ms-request-id, the client id when there is one, and TraceId, in that order", () => {
    assert.deepEqual(echoHeaders(ids({})), [["x-request-id", "new"], ["x-ms-request-id", "new"]]);
    assert.deepEqual(echoHeaders(ids({ "x-ms-client-request-id": "c", traceid: "" })), [["x-request-id", "new"], ["x-ms-request-id", "c"], ["x-ms-client-request-id", "c"], ["TraceId", ""]]);
  });

  it("behind the router a replica reads the router's id as x-request-id and x-ms-request-id: the router echoes what it will", () => {
    const cases: Record<string, string>[] = [{}, { "x-request-id": "r" }, { "x-ms-request-id": "l" }, { "x-ms-client-request-id": "c" }, { "x-request-id": "r", "x-ms-request-id": "l", "x-ms-client-request-id": "c", traceid: "t" }];
    for (const given of cases) {
      const front = ids(given);
      // What router/proxy.ts forwards: the router's id in both headers, the client id and TraceId as sent.
      const forwarded: Record<string, string> = { "x-request-id": front.msRequestId, "x-ms-request-id": front.msRequestId };
      for (const h of ["x-ms-client-request-id", "traceid"]) if (h in given) forwarded[h] = given[h];
      assert.deepEqual(idsBehindRouter(front), ids(forwarded), JSON.stringify(given));
    }
  });

  it("reads Node's parsed headers, repeats joined", () => {
    const get = headerReader({ "x-request-id": "r", "x-ms-request-id": ["a", "b"] });
    assert.equal(get("x-request-id"), "r");
    assert.equal(get("x-ms-request-id"), "a, b");
    assert.equal(get("traceid"), undefined);
  });
});
