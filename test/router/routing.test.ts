/** The router in front of real HTTP replicas on 127.0.0.1: routing, auth, limits and errors. */
import * as assert from "node:assert/strict";
import * as net from "node:net";
import { Readable } from "node:stream";
import { request } from "undici";
import { mintToken } from "../../core/decisions/auth";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import { eventually } from "../support/poll";
import { MemoryKeyStore, call, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";

describe("router: routing", function () {
  this.timeout(30_000);
  let discovery: LocalDiscovery;
  let keys: MemoryKeyStore;
  let router: RouterHandle;
  let a: Upstream;
  let b: Upstream;
  const score = (svc = "svc") => `${router.url}/api/v1/service/${svc}/score`;

  beforeEach(async () => {
    discovery = new LocalDiscovery();
    keys = new MemoryKeyStore();
    keys.keys.set("svc", { primaryKey: "primary-key", secondaryKey: "secondary-key" });
    a = await startUpstream("a", { delayMs: 20 });
    b = await startUpstream("b", { delayMs: 20 });
    discovery.upsertService(settings("svc", { maxConcurrentRequestsPerReplica: 2 }));
    discovery.addReplica("svc", { id: "a", url: a.url });
    discovery.addReplica("svc", { id: "b", url: b.url });
    router = await routerWith(discovery, keys, { maxBodyBytes: 1024 * 1024 });
  });
  afterEach(async () => {
    await router.close();
    await a.close();
    await b.close();
  });

  it("spreads requests over the ready replicas and propagates the request id", async () => {
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => call(score(), { key: "primary-key", headers: { "x-ms-request-id": `req-${i}` } })));
    assert.ok(replies.every((r) => r.status === 200));
    const counts = { a: replies.filter((r) => r.json.replica === "a").length, b: replies.filter((r) => r.json.replica === "b").length };
    assert.ok(counts.a >= 4 && counts.b >= 4, `uneven: ${JSON.stringify(counts)}`);
    replies.forEach((r, i) => {
      assert.equal(r.headers["x-ms-request-id"], `req-${i}`);
      assert.equal((r.json.headers as Record<string, string>)["x-ms-request-id"], `req-${i}`);
      assert.equal((r.json.headers as Record<string, string>).authorization, undefined, "the key must not reach the model");
    });
    assert.deepEqual(new Set(a.hits), new Set(["/score"]));
  });

  it("generates a request id when the client sends none", async () => {
    const r = await call(score(), { key: "primary-key" });
    assert.match(r.headers["x-ms-request-id"], /^[0-9a-f-]{36}$/);
  });

  it("serves the Open Inference Protocol v2 paths", async () => {
    const r = await call(`${router.url}/v2/models/svc/infer`, { key: "primary-key", body: '{"inputs":[]}' });
    assert.equal(r.status, 200);
    assert.equal(r.json.path, "/v2/models/svc/infer");
    assert.equal((await call(`${router.url}/v2/models/svc/ready`, { method: "GET", body: undefined })).status, 200);
    assert.equal((await call(`${router.url}/v2/health/live`, { method: "GET", body: undefined })).status, 200);
    assert.equal((await call(`${router.url}/v2/health/ready`, { method: "GET", body: undefined })).status, 200);
  });

  it("passes the swagger document through without a key", async () => {
    const r = await call(`${router.url}/api/v1/service/svc/swagger.json`, { method: "GET", body: undefined });
    assert.equal(r.status, 200);
    assert.equal(r.json.path, "/swagger.json");
  });

  it("accepts either key, and rejects a missing or wrong one with 401", async () => {
    assert.equal((await call(score(), { key: "primary-key" })).status, 200);
    assert.equal((await call(score(), { key: "secondary-key" })).status, 200);
    const missing = await call(score());
    assert.equal(missing.status, 401);
    assert.equal(missing.headers["www-authenticate"], "Bearer");
    assert.match(missing.json.error!.message, /requires 'Authorization: Bearer <key>'/);
    assert.equal((await call(score(), { key: "wrong" })).status, 401);
    assert.equal(a.hits.length + b.hits.length, 2, "rejected requests never reach a replica");
  });

  it("rotating one key never rejects holders of the other", async () => {
    let stop = false;
    const statuses: number[] = [];
    const holder = (async () => {
      while (!stop) statuses.push((await call(score(), { key: "primary-key" })).status);
    })();
    // Each rotation is followed by requests of the holder (counted, not timed: a busy machine
    // answers fewer requests in a given time).
    for (let i = 0; i < 5; i++) {
      keys.keys.set("svc", { primaryKey: "primary-key", secondaryKey: `rotated-${i}` });
      const before = statuses.length;
      assert.ok(await eventually(() => statuses.length >= before + 2, 10_000, 5), `requests after rotation ${i}`);
    }
    stop = true;
    await holder;
    assert.deepEqual([...new Set(statuses)], [200]);
    assert.equal((await call(score(), { key: "secondary-key" })).status, 401, "the old secondary key stops working");
    assert.equal((await call(score(), { key: "rotated-4" })).status, 200);
  });

  it("answers unknown services 404, unknown paths 404 and wrong v2 methods 405, in JSON; a v1 service's methods are its replica's to refuse", async () => {
    const unknown = await call(score("nope"), { key: "primary-key" });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error!.code, "ServiceNotFound");
    assert.equal((await call(`${router.url}/api/v2/whatever`)).status, 404);
    const wrong = await call(`${router.url}/v2/models/svc/infer`, { method: "GET", body: undefined, key: "primary-key" });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, "POST");
    const v1 = await call(score(), { method: "DELETE", body: undefined, key: "primary-key" });
    assert.equal(v1.json.path, "/score", "forwarded: the replica answers as its kind of server does (test/router/amlRoutes.test.ts)");
    assert.equal((await call(score(), { method: "DELETE", body: undefined })).status, 401, "after credentials");
  });

  it("forwards scoring GETs with their query string (Azure ML passes them to run()), authenticated like POSTs", async () => {
    const r = await call(`${score()}?sepal=5.1&petal=1.4`, { method: "GET", body: undefined, key: "primary-key" });
    assert.equal(r.status, 200);
    assert.equal(r.json.path, "/score?sepal=5.1&petal=1.4");
    assert.equal((await call(`${score()}?x=1`, { method: "GET", body: undefined })).status, 401);
    const swagger = await call(`${router.url}/api/v1/service/svc/swagger.json?version=3`, { method: "GET", body: undefined });
    assert.equal(swagger.json.path, "/swagger.json?version=3");
  });

  it("keeps the model's error status visible", async () => {
    const failing = await startUpstream("f", {
      handler: (_req, res) => {
        res.writeHead(422, { "content-type": "application/json" });
        res.end('{"error":"bad input"}');
      },
    });
    discovery.upsertService(settings("failing", { authMode: "none" }));
    discovery.addReplica("failing", { id: "f", url: failing.url });
    const r = await call(score("failing"));
    assert.equal(r.status, 422);
    assert.equal(r.headers["ms-azureml-model-error-statuscode"], "422");
    assert.equal(r.json.error, "bad input");
    await failing.close();
  });

  it("queues beyond the per-replica limit and answers 503 with Retry-After after the maximum wait", async () => {
    const slow = await startUpstream("slow", { delayMs: 400 });
    discovery.upsertService(settings("slow", { authMode: "none", maxConcurrentRequestsPerReplica: 1, maxQueueWaitMs: 100 }));
    discovery.addReplica("slow", { id: "slow", url: slow.url });
    const [first, second] = await Promise.all([call(score("slow")), call(score("slow"))]);
    assert.equal(first.status, 200);
    assert.equal(second.status, 503);
    assert.equal(second.json.error!.code, "QueueTimeout");
    assert.equal(second.headers["retry-after"], "1");
    assert.equal(slow.hits.length, 1, "the second request never reached the busy replica");
    await slow.close();
  });

  it("answers 504 when the replica answers nothing within the scoring timeout (plus a second for the replica's own timeout answer)", async () => {
    const stuck = await startUpstream("stuck", { delayMs: 2_500 });
    discovery.upsertService(settings("stuck", { authMode: "none", scoringTimeoutMs: 200 }));
    discovery.addReplica("stuck", { id: "stuck", url: stuck.url });
    const t = Date.now();
    const r = await call(score("stuck"));
    assert.equal(r.status, 504);
    assert.equal(r.json.error!.code, "ScoringTimeout");
    // Well after the 200 ms scoring timeout (undici's timers are coarse, so not to the millisecond), before the replica's answer at 2.5 s.
    assert.ok(Date.now() - t >= 900 && Date.now() - t < 2_400, `answered after ${Date.now() - t} ms`);
    await stuck.close();
  });

  it("retries a request that could not connect on another replica", async () => {
    const dead = await startUpstream("dead");
    const deadUrl = dead.url;
    await dead.close();
    discovery.upsertService(settings("mixed", { authMode: "none", maxConcurrentRequestsPerReplica: 4 }));
    discovery.addReplica("mixed", { id: "dead", url: deadUrl });
    discovery.addReplica("mixed", { id: "a", url: a.url });
    const replies = await Promise.all(Array.from({ length: 10 }, () => call(score("mixed"), { body: "x".repeat(5000) })));
    assert.deepEqual([...new Set(replies.map((r) => r.status))], [200]);
    assert.ok(replies.every((r) => r.json.bytes === 5000), "the retried body arrives whole");
  });

  it("stops sending to a removed replica at once, without failing requests", async () => {
    let stop = false;
    const statuses: number[] = [];
    const clients = Array.from({ length: 4 }, async () => {
      while (!stop) statuses.push((await call(score(), { key: "primary-key" })).status);
    });
    await new Promise((r) => setTimeout(r, 150));
    discovery.removeReplica("svc", "b");
    // Requests dispatched just before the removal may still be on the wire: let them land.
    await new Promise((r) => setTimeout(r, 100));
    const bHits = b.hits.length;
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(clients);
    assert.deepEqual([...new Set(statuses)], [200]);
    assert.equal(b.hits.length, bHits, "removed replica got new requests");
  });

  it("answers 413 to a declared oversized body before forwarding", async () => {
    const r = await call(score(), { key: "primary-key", body: "x".repeat(1024 * 1024 + 1) });
    assert.equal(r.status, 413);
    assert.equal(r.json.error!.code, "PayloadTooLarge");
    assert.equal(a.hits.length + b.hits.length, 0);
  });

  it("answers 413 to a chunked body that grows past the limit", async () => {
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    const body = new Readable({
      read() {
        sent += chunk.length;
        this.push(sent > 2 * 1024 * 1024 ? null : chunk);
      },
    });
    const res = await request(score(), { method: "POST", body, headers: { authorization: "Bearer primary-key" } });
    assert.equal(res.statusCode, 413);
    assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, "PayloadTooLarge");
  });

  it("answers malformed HTTP with a JSON 400 and keeps serving", async () => {
    const raw = await new Promise<string>((resolve) => {
      const socket = net.connect(router.port, "127.0.0.1", () => socket.write("GARBAGE /\\ HTTP/9\r\n\r\n"));
      let data = "";
      socket.on("data", (d) => (data += d.toString()));
      socket.on("close", () => resolve(data));
    });
    assert.match(raw, /^HTTP\/1\.1 400/);
    assert.match(raw, /"code":"BadRequest"/);
    assert.equal((await call(score(), { key: "primary-key" })).status, 200);
  });

  it("verifies tokens by signature, issuer, audience and expiry", async () => {
    await router.close();
    const signingKey = "s".repeat(32);
    router = await routerWith(discovery, keys, { tokenIssuer: { type: "builtin", signingKey: () => signingKey } });
    discovery.upsertService(settings("tok", { authMode: "token" }));
    discovery.addReplica("tok", { id: "a", url: a.url });
    const good = await mintToken({ signingKey, audience: "tok" });
    assert.ok(good.refreshBy < good.expiresOn);
    assert.equal((await call(score("tok"), { key: good.accessToken })).status, 200);
    const expired = await mintToken({ signingKey, audience: "tok", ttlSeconds: 60, now: () => Date.now() - 120_000 });
    const e = await call(score("tok"), { key: expired.accessToken });
    assert.equal(e.status, 401);
    assert.match(e.json.error!.message, /expired/);
    const forged = await mintToken({ signingKey: "f".repeat(32), audience: "tok" });
    assert.equal((await call(score("tok"), { key: forged.accessToken })).status, 401);
    const otherAudience = await mintToken({ signingKey, audience: "svc" });
    assert.match((await call(score("tok"), { key: otherAudience.accessToken })).json.error!.message, /aud/);
    assert.equal((await call(score("tok"), { key: "primary-key" })).status, 401, "a key is no token");
  });

  it("reports Prometheus metrics and drains on close", async () => {
    await call(score(), { key: "primary-key" });
    const text = await (await fetch(`${router.adminUrl}/metrics`)).text();
    assert.match(text, /aksinf_router_requests_total\{service="svc",version="default",status="200"\} 1/);
    const slowCall = call(score(), { key: "primary-key" });
    await new Promise((r) => setTimeout(r, 5));
    await router.close();
    assert.equal((await slowCall).status, 200, "an in-flight request finishes during drain");
  });
});
