/**
 * Per-replica concurrency holds across router pods: each router enforces
 * replicaMaxConcurrentRequests on its own, so two routers could send one replica two requests at
 * once. The replica refuses the extra one with an immediate "busy" (before reading its body), and
 * the router, which treats that as not delivered, tries again: no caller sees it, and the script
 * never runs more than its limit at once.
 */
import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import { EntryScriptHandler } from "../../scoring/handlers";
import { startScoringServer, type ScoringServer } from "../../scoring/server";
import { tempDir } from "../support/tmp";
import { MemoryKeyStore, routerWith, settings } from "../support/upstream";

describe("router: replica concurrency across router pods", function () {
  this.timeout(30_000);
  let replica: ScoringServer;
  const routers: RouterHandle[] = [];
  const dir = tempDir("busy");
  const script = path.join(dir, "score.js");
  writeFileSync(
    script,
    "let now = 0; let max = 0;\nexports.init = () => {};\nexports.run = async (input) => { now++; max = Math.max(max, now); await new Promise((r) => setTimeout(r, 150)); now--; return { max, got: input.i }; };\n",
  );

  before(async () => {
    replica = await startScoringServer({ service: "svc", replica: "r1", handler: new EntryScriptHandler(script, { modelDir: dir, models: {} }), log: pino({ level: "silent" }), maxConcurrentRequests: 1 });
    await replica.initialize();
    for (let i = 0; i < 2; i++) {
      const discovery = new LocalDiscovery();
      discovery.upsertService(settings("svc", { authMode: "none", maxConcurrentRequestsPerReplica: 1, maxQueueWaitMs: 5_000 }));
      discovery.addReplica("svc", { id: "r1", url: replica.url });
      routers.push(await routerWith(discovery, new MemoryKeyStore()));
    }
  });
  after(async () => {
    await Promise.all(routers.map((r) => r.close()));
    await replica.close();
  });

  it("two routers in front of one single-request replica: every caller gets 200, the script never runs two at once", async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const res = await fetch(`${routers[i % 2].url}/api/v1/service/svc/score`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ i }) });
        return { status: res.status, body: (await res.json()) as { max: number; got: number } };
      }),
    );
    assert.deepEqual(answers.map((a) => a.status), Array(8).fill(200));
    assert.deepEqual(answers.map((a) => a.body.got).sort(), [0, 1, 2, 3, 4, 5, 6, 7], "each request ran exactly once");
    assert.equal(Math.max(...answers.map((a) => a.body.max)), 1);
  });

  it("the replica's busy answer is immediate and marked, for whoever calls it directly", async () => {
    const first = fetch(`${replica.url}/score`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"i": 1}' });
    await new Promise((r) => setTimeout(r, 30));
    const t = Date.now();
    const second = await fetch(`${replica.url}/score`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"i": 2}' });
    assert.equal(second.status, 503);
    assert.equal(second.headers.get("x-aks-inference-replica-busy"), "true");
    assert.ok(Date.now() - t < 100, "answered at once");
    assert.equal((await first).status, 200);
  });
});
