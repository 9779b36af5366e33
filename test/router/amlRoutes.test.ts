/**
 * Azure ML's answers on its v1 routes, through a real router in front of a real Python replica
 * (Debian's /usr/bin/python3 running scoring/python/worker.py) and a JavaScript one: the requests
 * the router used to answer itself (a method `/score` does not route, `/score/`, the service's
 * health route `GET /api/v1/service/<name>/`) reach the replica, which answers as Azure ML's
 * scoring server does for a Python service; and request ids follow one rule, with one limit, for
 * the router and both kinds of replica.
 */
import * as assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { METHOD_NOT_ALLOWED_MESSAGE, NOT_FOUND_MESSAGE } from "../../core/contracts/amlScoring";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import { EntryScriptHandler } from "../../scoring/handlers";
import { PythonHandler } from "../../scoring/pythonHandler";
import { startScoringServer, type ScoringServer } from "../../scoring/server";
import { tempDir } from "../support/tmp";
import { MemoryKeyStore, routerWith, settings } from "../support/upstream";

const log = pino({ level: "silent" });

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

describe("router: Azure ML's answers on its v1 routes", function () {
  this.timeout(30_000);
  let py: ScoringServer;
  let js: ScoringServer;
  let router: RouterHandle;

  before(async () => {
    const work = tempDir("amlroutes");
    const appRoot = path.join(work, "project");
    mkdirSync(appRoot, { recursive: true });
    writeFileSync(path.join(appRoot, "score.py"), "import json\n\ndef init():\n    pass\n\ndef run(raw_data):\n    return {'echo': json.loads(raw_data)}\n");
    const handler = new PythonHandler({ python: "/usr/bin/python3", appRoot, entryScript: "score.py", models: { modelDir: "", models: {} }, modelsRoot: path.join(work, "azureml-models"), service: "py", workers: 1, scoringTimeoutMs: 10_000, log });
    py = await startScoringServer({ service: "py", replica: "p1", handler, log });
    const script = path.join(work, "score.js");
    writeFileSync(script, "exports.init = () => {};\nexports.run = (input) => ({ echo: input });\n");
    js = await startScoringServer({ service: "js", replica: "j1", handler: new EntryScriptHandler(script, { modelDir: "", models: {} }), log });
    await Promise.all([py.initialize(), js.initialize()]);
    const discovery = new LocalDiscovery();
    const keys = new MemoryKeyStore();
    for (const [name, replica] of [["py", py], ["js", js]] as const) {
      discovery.upsertService(settings(name, { maxConcurrentRequestsPerReplica: 2 }));
      discovery.addReplica(name, { id: `${name}-1`, url: replica.url });
      keys.keys.set(name, { primaryKey: "k1", secondaryKey: "k2" });
    }
    router = await routerWith(discovery, keys);
  });
  after(async () => {
    await router.close();
    await Promise.all([py.close(), js.close()]);
  });

  const call = async (service: string, tail: string, init: RequestInit & { key?: string } = {}): Promise<Answer> => {
    const headers = new Headers(init.headers);
    if (init.key) headers.set("authorization", `Bearer ${init.key}`);
    const res = await fetch(`${router.url}/api/v1/service/${service}/${tail}`, { ...init, headers, signal: AbortSignal.timeout(5_000) });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  describe("a Python service answers as Azure ML's scoring server", () => {
    it("PUT /score: 405 with Azure ML's message, x-ms-run-function-failed and the methods /score routes", async () => {
      const a = await call("py", "score", { method: "PUT", key: "k1", body: '{"a": 1}', headers: { "content-type": "application/json" } });
      assert.equal(a.status, 405);
      assert.equal(a.text, `{"message": "${METHOD_NOT_ALLOWED_MESSAGE}"}`);
      assert.equal(a.headers.get("x-ms-run-function-failed"), "False");
      assert.equal(a.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
    });

    it("/score/ (trailing slash) and a path the server does not route: its 404, whatever the method", async () => {
      for (const [tail, method] of [["score/", "POST"], ["score/", "GET"], ["metrics", "GET"], ["healthz", "GET"], ["v2/models/py/infer", "POST"]]) {
        const a = await call("py", tail, { method, key: "k1", ...(method === "POST" ? { body: "{}" } : {}) });
        assert.equal(a.status, 404, `${method} ${tail}`);
        assert.equal(a.text, `{"message": "${NOT_FOUND_MESSAGE}"}`, `${method} ${tail}: the replica's own routes stay out of reach`);
        assert.equal(a.headers.get("x-ms-run-function-failed"), "False");
      }
    });

    it("GET /api/v1/service/<name>/: 200 Healthy, without credentials (the health check its swagger.json lists)", async () => {
      const a = await call("py", "");
      assert.equal(a.status, 200);
      assert.equal(a.text, "Healthy");
      assert.equal((await call("py", "", { method: "HEAD" })).status, 200);
      assert.equal((await call("py", "", { method: "POST", body: "{}" })).status, 401, "other methods need credentials, like scoring");
      assert.equal((await call("py", "", { method: "POST", body: "{}", key: "k1" })).text, `{"message": "${METHOD_NOT_ALLOWED_MESSAGE}"}`);
    });

    it("swagger.json with another method than GET: 405 with Azure ML's message, after credentials", async () => {
      assert.equal((await call("py", "swagger.json", { method: "POST", body: "{}" })).status, 401);
      const a = await call("py", "swagger.json", { method: "POST", body: "{}", key: "k1" });
      assert.equal(a.status, 405);
      assert.equal(a.text, `{"message": "${METHOD_NOT_ALLOWED_MESSAGE}"}`);
      assert.equal((await call("py", "swagger.json")).status, 200, "GET needs no credentials");
    });
  });

  describe("a JavaScript service answers with its own JSON errors", () => {
    it("PUT /score: 405; /score/ and unknown paths: 404; the health route: 404; swagger.json takes GET only", async () => {
      const put = await call("js", "score", { method: "PUT", key: "k1", body: "{}" });
      assert.equal(put.status, 405);
      assert.equal((JSON.parse(put.text) as { error: { code: string } }).error.code, "MethodNotAllowed");
      for (const tail of ["score/", "metrics", ""]) {
        const a = await call("js", tail, { method: "GET", key: "k1" });
        assert.equal(a.status, 404, tail);
        assert.equal((JSON.parse(a.text) as { error: { code: string } }).error.code, "NotFound", tail);
      }
      const post = await call("js", "swagger.json", { method: "POST", body: "{}", key: "k1" });
      assert.equal(post.status, 405, "a POST is not a swagger request");
      assert.equal((await call("js", "swagger.json")).status, 200);
    });
  });

  describe("request ids: one rule and one limit for the router and both replicas", () => {
    const long = "r".repeat(101);
    const max = "m".repeat(100);

    for (const service of ["py", "js"]) {
      it(`${service}: an id over 100 characters is refused with 431 by the replica in its own words, in any of the three headers`, async () => {
        for (const header of ["x-request-id", "x-ms-request-id", "x-ms-client-request-id"]) {
          const a = await call(service, "score", { method: "POST", key: "k1", body: "{}", headers: { "content-type": "application/json", [header]: long } });
          assert.equal(a.status, 431, header);
          if (service === "py") {
            // Azure ML's server: {"message": ...} and x-ms-run-function-failed, before run().
            assert.match((JSON.parse(a.text) as { message: string }).message, /must not exceed 100 characters/);
            assert.equal(a.headers.get("x-ms-run-function-failed"), "False");
          } else {
            const body = JSON.parse(a.text) as { error: { code: string; message: string } };
            assert.equal(body.error.code, "RequestIdTooLong");
            assert.match(body.error.message, /must not exceed 100 characters/);
          }
          assert.match(a.headers.get("x-ms-request-id") ?? "", /^[0-9a-f-]{36}$/, "the refusal still carries an id of the router's");
        }
      });

      it(`${service}: an over-long id still needs credentials first, as behind azureml-fe`, async () => {
        assert.equal((await call(service, "score", { method: "POST", key: "wrong", body: "{}", headers: { "content-type": "application/json", "x-request-id": long } })).status, 401);
      });

      it(`${service}: 100 characters pass, in any characters a header may hold, and come back`, async () => {
        const odd = "id with spaces/+=;é".padEnd(100, "~");
        for (const id of [max, odd]) {
          const a = await call(service, "score", { method: "POST", key: "k1", body: '{"x": 1}', headers: { "content-type": "application/json", "x-ms-request-id": id } });
          assert.equal(a.status, 200, id);
          assert.equal(a.headers.get("x-ms-request-id"), id);
        }
      });
    }

    it("the router's own answers carry the same id headers as a Python replica's answer to the same request", async () => {
      const sent = { "x-ms-client-request-id": "client-7", traceid: "trace-7" };
      const scored = await call("py", "score", { method: "POST", key: "k1", body: "{}", headers: { "content-type": "application/json", ...sent } });
      const refused = await call("py", "score", { method: "POST", key: "wrong", body: "{}", headers: { "content-type": "application/json", ...sent } });
      assert.equal(scored.status, 200);
      assert.equal(refused.status, 401);
      for (const a of [scored, refused]) {
        // Azure ML's precedence: no x-ms-request-id, so the client request id is the request's id.
        assert.equal(a.headers.get("x-ms-request-id"), "client-7");
        assert.equal(a.headers.get("x-request-id"), "client-7");
        assert.equal(a.headers.get("x-ms-client-request-id"), "client-7");
        assert.equal(a.headers.get("traceid"), "trace-7");
      }
    });

    it("a JavaScript replica called directly applies the same limit", async () => {
      const res = await fetch(`${js.url}/score`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": long }, body: "{}" });
      assert.equal(res.status, 431);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "RequestIdTooLong");
      const ok = await fetch(`${js.url}/score`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": max }, body: "{}" });
      assert.equal(ok.status, 200);
    });
  });
});
