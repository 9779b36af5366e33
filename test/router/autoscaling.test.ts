/** The router's autoscaler against real replicas: it adds replicas under load, removes them after the delay. */
import * as assert from "node:assert/strict";
import { CallbackScaler, LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import { MemoryKeyStore, call, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";

describe("router: model autoscaling", function () {
  this.timeout(30_000);
  let discovery: LocalDiscovery;
  let router: RouterHandle;
  const upstreams: Upstream[] = [];
  const decisions: { at: number; replicas: number }[] = [];

  /** A scaler like local mode's: starts or stops replicas until `n` are ready. */
  const scaler = new CallbackScaler(async (service, n) => {
    decisions.push({ at: Date.now(), replicas: n });
    while (upstreams.length < n) {
      const u = await startUpstream(`r${upstreams.length}`, { delayMs: 100 });
      upstreams.push(u);
      discovery.addReplica(service, { id: `r${upstreams.length - 1}`, url: u.url });
    }
    while (upstreams.length > n) {
      const u = upstreams.pop()!;
      discovery.removeReplica(service, `r${upstreams.length}`);
      await u.close();
    }
  });

  before(async () => {
    discovery = new LocalDiscovery();
    discovery.upsertService(settings("auto", { authMode: "none", autoscale: { enabled: true, minReplicas: 1, maxReplicas: 5, targetUtilization: 70 }, maxQueueWaitMs: 5_000 }));
    router = await routerWith(discovery, new MemoryKeyStore(), { scaler, autoscale: { intervalMs: 100, scaleDownDelayMs: 1_500 } });
    await scaler.setReplicas("auto", 1);
    decisions.length = 0;
  });
  after(async () => {
    await router.close();
    await Promise.all(upstreams.map((u) => u.close()));
  });

  it("adds replicas within ~1 s of load above target, and loses no request", async () => {
    const start = Date.now();
    let stop = false;
    const statuses: number[] = [];
    const clients = Array.from({ length: 4 }, async () => {
      while (!stop) statuses.push((await call(`${router.url}/api/v1/service/auto/score`)).status);
    });
    while (decisions.length === 0 && Date.now() - start < 5_000) await new Promise((r) => setTimeout(r, 20));
    assert.ok(decisions.length > 0, "no scale-up decision");
    const reaction = decisions[0].at - start;
    assert.ok(reaction <= 1_600, `scale-up decided after ${reaction} ms`);
    assert.ok(decisions[0].replicas >= 4, `4 concurrent clients need >= 4 replicas at 70 %, got ${decisions[0].replicas}`);
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(clients);
    assert.deepEqual([...new Set(statuses)], [200]);
    assert.ok(upstreams.length <= 5, "never beyond max");
    const metrics = await (await fetch(`${router.adminUrl}/metrics`)).text();
    assert.match(metrics, /aksinf_router_replicas_desired\{service="auto",version="default"\} [4-5]/);
  });

  it("removes replicas only after the scale-down delay once the load stops", async () => {
    const before = upstreams.length;
    const quietSince = Date.now();
    decisions.length = 0;
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(decisions.length, 0, "scaled down before the delay");
    while (upstreams.length === before && Date.now() - quietSince < 6_000) await new Promise((r) => setTimeout(r, 50));
    assert.ok(upstreams.length < before, "never scaled down");
    assert.ok(decisions[0].at - quietSince >= 1_400, `scaled down after ${decisions[0].at - quietSince} ms`);
  });
});
