/**
 * Request parsing on its own: which service and endpoint a path names (and what it does not),
 * the replica path, the request id a client may choose, and the 413 message per service.
 */
import * as assert from "node:assert/strict";
import type * as http from "node:http";
import { ServiceBalancer } from "../../router/balancer";
import { PayloadLimit, parseRoute, requestIdOf, splitTarget, upstreamPath } from "../../router/request";
import { settings } from "../support/upstream";

describe("router: request parsing", () => {
  it("routes the v1 and v2 paths to a service, and nothing else", () => {
    assert.deepEqual(parseRoute("/api/v1/service/fraud/score"), { service: "fraud", kind: "score" });
    assert.deepEqual(parseRoute("/api/v1/service/fraud/swagger.json"), { service: "fraud", kind: "swagger" });
    assert.deepEqual(parseRoute("/v2/models/fraud/infer"), { service: "fraud", kind: "infer" });
    assert.deepEqual(parseRoute("/v2/models/fraud/ready"), { service: "fraud", kind: "modelReady" });
    for (const path of [
      "/api/v1/service//score",
      "/api/v1/service/fraud",
      "/api/v1/service/fraud/score/",
      "/api/v1/service/fraud/infer",
      "/v2/models/fraud/score",
      "/api/v1/service/fraud/constructor",
      "/score",
    ]) {
      assert.equal(parseRoute(path), undefined, path);
    }
  });

  it("sends each route to the replica's own path, with the client's query string", () => {
    assert.equal(upstreamPath({ service: "fraud", kind: "score" }, "?sepal=5.1"), "/score?sepal=5.1");
    assert.equal(upstreamPath({ service: "fraud", kind: "swagger" }, "?version=3"), "/swagger.json?version=3");
    assert.equal(upstreamPath({ service: "fraud", kind: "infer" }, ""), "/v2/models/fraud/infer");
    assert.deepEqual(splitTarget("/api/v1/service/fraud/score?a=1?b"), { path: "/api/v1/service/fraud/score", query: "?a=1?b" });
    assert.deepEqual(splitTarget(undefined), { path: "/", query: "" });
  });

  it("keeps a client's request id only when it is a safe token", () => {
    const req = (headers: http.IncomingHttpHeaders) => ({ headers }) as http.IncomingMessage;
    assert.equal(requestIdOf(req({ "x-ms-request-id": "abc-123:4.5_6" })), "abc-123:4.5_6");
    assert.equal(requestIdOf(req({ "x-request-id": "from-proxy" })), "from-proxy");
    const uuid = /^[0-9a-f-]{36}$/;
    for (const bad of ["has space", "a\r\nset-cookie: x", "x".repeat(129), ""]) assert.match(requestIdOf(req({ "x-ms-request-id": bad })), uuid, JSON.stringify(bad));
    assert.match(requestIdOf(req({})), uuid);
  });

  it("limits a body to the router's size, or the service's when smaller, and says whose limit it was", async () => {
    const limit = new PayloadLimit(1_000);
    const plain = new ServiceBalancer(settings("plain"), 1);
    const small = new ServiceBalancer(settings("small", { maxBodyBytes: 200 }), 1);
    try {
      assert.equal(limit.of(plain), 1_000);
      assert.equal(limit.of(small), 200);
      assert.equal(limit.tooLarge(plain, "5000"), "request body of 5000 bytes exceeds the limit of 1000 bytes");
      assert.equal(limit.tooLarge(small), "request body exceeds the limit of service 'small' (what its replicas' memory holds) of 200 bytes");
    } finally {
      await Promise.all([plain.close(), small.close()]);
    }
  });
});
