/**
 * Request parsing on its own: which service and endpoint a path names (and what it does not),
 * the replica path, absolute-form targets, which routes the router checks methods and credentials
 * on, and the 413 message per service.
 */
import * as assert from "node:assert/strict";
import { ServiceBalancer } from "../../router/balancer";
import { PayloadLimit, allowedMethods, needsCredentials, parseRoute, splitTarget, upstreamPath } from "../../router/request";
import { settings } from "../support/upstream";

describe("router: request parsing", () => {
  it("routes the v1 and v2 paths to a service, and nothing else", () => {
    assert.deepEqual(parseRoute("/api/v1/service/fraud/score"), { service: "fraud", kind: "score" });
    assert.deepEqual(parseRoute("/api/v1/service/fraud/swagger.json"), { service: "fraud", kind: "swagger" });
    assert.deepEqual(parseRoute("/api/v1/service/fraud/"), { service: "fraud", kind: "health" });
    assert.deepEqual(parseRoute("/v2/models/fraud/infer"), { service: "fraud", kind: "infer" });
    assert.deepEqual(parseRoute("/v2/models/fraud/ready"), { service: "fraud", kind: "modelReady" });
    // Any other tail of a v1 service is the replica's to refuse, as Azure ML's server does.
    for (const path of ["/api/v1/service/fraud/score/", "/api/v1/service/fraud/infer", "/api/v1/service/fraud/a/b"]) {
      assert.deepEqual(parseRoute(path), { service: "fraud", kind: "unrouted", path }, path);
    }
    for (const path of ["/api/v1/service//score", "/api/v1/service/fraud", "/v2/models/fraud/score", "/v2/models//infer", "/v2/models/fraud", "/score", "/api/v1/servicefraud/score"]) {
      assert.equal(parseRoute(path), undefined, path);
    }
  });

  it("sends each route to the replica's own path, with the client's query string; an unrouted tail keeps its public path", () => {
    assert.equal(upstreamPath({ service: "fraud", kind: "score" }, "?sepal=5.1"), "/score?sepal=5.1");
    assert.equal(upstreamPath({ service: "fraud", kind: "swagger" }, "?version=3"), "/swagger.json?version=3");
    assert.equal(upstreamPath({ service: "fraud", kind: "health" }, ""), "/");
    assert.equal(upstreamPath({ service: "fraud", kind: "unrouted", path: "/api/v1/service/fraud/metrics" }, "?a"), "/api/v1/service/fraud/metrics?a");
    assert.equal(upstreamPath({ service: "fraud", kind: "infer" }, ""), "/v2/models/fraud/infer");
    assert.equal(upstreamPath({ service: "fraud", kind: "modelReady" }, ""), "/v2/models/fraud/ready");
    assert.deepEqual(splitTarget("/api/v1/service/fraud/score?a=1?b"), { path: "/api/v1/service/fraud/score", query: "?a=1?b" });
    assert.deepEqual(splitTarget(undefined), { path: "/", query: "" });
  });

  it("routes an absolute-form target as its path and query", () => {
    assert.deepEqual(splitTarget("http://h.example:80/api/v1/service/fraud/score?a=1"), { path: "/api/v1/service/fraud/score", query: "?a=1" });
    assert.deepEqual(splitTarget("HTTPS://h.example"), { path: "/", query: "" });
    assert.deepEqual(splitTarget("http://h.example?a"), { path: "/", query: "?a" });
    assert.deepEqual(splitTarget("http://u@h.example/x"), { path: "/x", query: "" });
    assert.deepEqual(splitTarget("*"), { path: "*", query: "" }, "asterisk-form routes nowhere");
    assert.deepEqual(splitTarget("/http://h/x"), { path: "/http://h/x", query: "" });
  });

  it("checks methods only on v2 routes; credentials on everything but reading swagger.json and the health route", () => {
    assert.deepEqual(allowedMethods({ service: "s", kind: "infer" }), ["POST"]);
    assert.deepEqual(allowedMethods({ service: "s", kind: "modelReady" }), ["GET"]);
    for (const kind of ["score", "swagger", "health"] as const) assert.equal(allowedMethods({ service: "s", kind }), undefined, kind);
    assert.equal(allowedMethods({ service: "s", kind: "unrouted", path: "/x" }), undefined);
    for (const kind of ["swagger", "health"] as const) {
      assert.equal(needsCredentials({ service: "s", kind }, "GET"), false, kind);
      assert.equal(needsCredentials({ service: "s", kind }, "HEAD"), false, kind);
      assert.equal(needsCredentials({ service: "s", kind }, "POST"), true, kind);
    }
    assert.equal(needsCredentials({ service: "s", kind: "score" }, "GET"), true);
    assert.equal(needsCredentials({ service: "s", kind: "unrouted", path: "/x" }, "GET"), true);
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
