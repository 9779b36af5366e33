/**
 * The router's gauges the alert rules (monitoring/alerts.yaml) read: each service version's
 * settings next to its replica counts, which pod's replica counts are current (the autoscaling
 * leader's), whether self-scaling is at its ceiling, and that a service the router no longer
 * serves leaves /metrics instead of keeping its last values (and alerts on them) forever.
 */
import * as assert from "node:assert/strict";
import pino from "pino";
import { DEFAULT_SELF_SCALE_LIMITS } from "../../core/decisions/selfScale";
import { Autoscaler } from "../../router/autoscaler";
import { ServiceBalancer } from "../../router/balancer";
import { RouterMetrics } from "../../router/metrics";
import { SelfScaler, type RouterSize } from "../../router/selfScaler";
import type { Coordinator } from "../../router/types";
import { settings } from "../support/upstream";

const quiet = pino({ level: "silent" });

function coordinator(leader: () => boolean): Coordinator {
  return { isLeader: leader, leaderPod: () => undefined, collect: async (l) => l, close: async () => undefined };
}

function balancer(name: string, ready: number, over: Parameters<typeof settings>[1] = {}): ServiceBalancer {
  const s = settings(name, over);
  const b = new ServiceBalancer(s, 100);
  b.update(s, Array.from({ length: ready }, (_, i) => ({ id: `${name}-${i}`, url: `http://127.0.0.1:${42_000 + i}` })));
  return b;
}

/** The exposition's sample lines (no comments), as a scrape reads them. */
async function samples(m: RouterMetrics): Promise<string[]> {
  return (await m.registry.metrics()).split("\n").filter((l) => l.startsWith("aksinf_router_") && !/_(process|nodejs)_/.test(l));
}

describe("monitoring: the router's gauges for the alert rules", () => {
  const balancers = new Map<string, ServiceBalancer>();
  const made: Autoscaler[] = [];
  afterEach(async () => {
    for (const a of made.splice(0)) a.close();
    for (const b of balancers.values()) await b.close();
    balancers.clear();
  });
  const autoscaler = (metrics: RouterMetrics, leader: () => boolean = () => true) => {
    const a = new Autoscaler(balancers, { setReplicas: async () => undefined }, coordinator(leader), metrics, quiet, { intervalMs: 0 });
    made.push(a);
    return a;
  };

  it("drops every gauge of a service version the router no longer serves", async () => {
    const metrics = new RouterMetrics();
    balancers.set("fraud", balancer("fraud", 2, { autoscale: { enabled: true, minReplicas: 1, maxReplicas: 4, targetUtilization: 70 } }));
    balancers.set("churn", balancer("churn", 1));
    const a = autoscaler(metrics);
    await a.tick();
    assert.ok((await samples(metrics)).some((l) => l.startsWith('aksinf_router_replicas_desired{service="fraud"')), "published while served");
    const gone = balancers.get("fraud")!;
    balancers.delete("fraud");
    await gone.close();
    await a.tick();
    const left = (await samples(metrics)).filter((l) => l.includes('service="fraud"') && !l.startsWith("aksinf_router_requests_total") && !l.startsWith("aksinf_router_request_duration"));
    assert.deepEqual(left, [], "a removed service's replica counts would keep ReplicasNotReady firing for it");
    assert.ok((await samples(metrics)).includes('aksinf_router_replicas_ready{service="churn",version="default"} 1'), "the other service stays");
  });

  it("publishes each service version's min, max, target and latency objective on every pod, and which pod leads", async () => {
    const metrics = new RouterMetrics();
    balancers.set("fraud", balancer("fraud", 2, { autoscale: { enabled: true, minReplicas: 2, maxReplicas: 8, targetUtilization: 60 }, scoringTimeoutMs: 3_000 }));
    balancers.set("churn.blue", balancer("churn", 1, { autoscale: { enabled: false, minReplicas: 3, maxReplicas: 3, targetUtilization: 70 }, version: { name: "blue", traffic: 100, mirrorPercent: 0 } }));
    let leads = false;
    const a = autoscaler(metrics, () => leads);
    await a.tick();
    const lines = await samples(metrics);
    for (const want of [
      'aksinf_router_replicas_min{service="fraud",version="default"} 2',
      'aksinf_router_replicas_max{service="fraud",version="default"} 8',
      'aksinf_router_utilization_target_percent{service="fraud",version="default"} 60',
      'aksinf_router_latency_objective_seconds{service="fraud",version="default"} 1.5',
      'aksinf_router_replicas_min{service="churn",version="blue"} 3',
      'aksinf_router_replicas_max{service="churn",version="blue"} 3',
      'aksinf_router_latency_objective_seconds{service="churn",version="blue"} 2.5',
      "aksinf_router_leader 0",
    ]) {
      assert.ok(lines.includes(want), `${want} missing from:\n${lines.join("\n")}`);
    }
    assert.ok(!lines.some((l) => l.startsWith("aksinf_router_replicas_ready{")), "a pod that does not lead publishes no replica counts");
    leads = true;
    await a.tick();
    assert.ok((await samples(metrics)).includes("aksinf_router_leader 1"));
    assert.ok((await samples(metrics)).includes('aksinf_router_replicas_ready{service="fraud",version="default"} 2'));
    leads = false;
    await a.tick();
    assert.ok((await samples(metrics)).includes("aksinf_router_leader 0"), "losing the Lease shows at the next round");
    // A deploy changes the settings: discovery hands the balancer new ones, the next round shows them.
    const fraud = balancers.get("fraud")!;
    fraud.update({ ...fraud.settings, autoscale: { ...fraud.settings.autoscale, maxReplicas: 12 }, scoringTimeoutMs: 10_000 }, []);
    await a.tick();
    const after = await samples(metrics);
    assert.ok(after.includes('aksinf_router_replicas_max{service="fraud",version="default"} 12'), after.join("\n"));
    assert.ok(after.includes('aksinf_router_latency_objective_seconds{service="fraud",version="default"} 5'));
  });

  describe("self-scaling at its ceiling", () => {
    /** A self-scaler whose routing p95 is `overheadMs`, on a router of `cpu` cores × `replicas` with `free` cores left in the cluster. */
    async function ceiling(o: { overheadMs: number; cpu: number; replicas: number; free: number; leader?: boolean; rounds?: number }): Promise<string[]> {
      const metrics = new RouterMetrics();
      for (let i = 0; i < 100; i++) metrics.overhead.observe(o.overheadMs / 1000);
      let size = { cpu: o.cpu, replicas: o.replicas };
      const routerSize: RouterSize = { current: async () => size, freeCpu: async () => o.free, apply: async (cpu, replicas) => void (size = { cpu, replicas }) };
      const t = { now: 1_000_000 };
      const scaler = new SelfScaler(routerSize, coordinator(() => o.leader ?? true), metrics, quiet, DEFAULT_SELF_SCALE_LIMITS, {
        intervalMs: 3_600_000,
        clock: { now: () => t.now, cpuMicros: () => t.now * 500 },
      });
      const seen: string[] = [];
      for (let i = 0; i < (o.rounds ?? 1); i++) {
        t.now += 60_000;
        await scaler.tick();
        seen.push((await samples(metrics)).find((l) => l.startsWith("aksinf_router_self_scaling_at_ceiling"))!);
      }
      scaler.close();
      return seen;
    }
    const { cpuSteps, maxReplicas } = DEFAULT_SELF_SCALE_LIMITS;
    const top = Math.max(...cpuSteps);

    it("is 1 when routing is slow at the largest pod size and the most pods", async () => {
      assert.deepEqual(await ceiling({ overheadMs: 30, cpu: top, replicas: maxReplicas, free: 100 }), ["aksinf_router_self_scaling_at_ceiling 1"]);
    });
    it("is 1 when routing is slow and the cluster has no free CPU for the next step", async () => {
      assert.deepEqual(await ceiling({ overheadMs: 30, cpu: cpuSteps[0], replicas: 2, free: 0 }), ["aksinf_router_self_scaling_at_ceiling 1"]);
    });
    it("turns 1 in the cooldown after the last step up reached the ceiling (the cooldown does not hide it)", async () => {
      assert.deepEqual(await ceiling({ overheadMs: 30, cpu: cpuSteps[cpuSteps.length - 2], replicas: maxReplicas, free: 100, rounds: 2 }), [
        "aksinf_router_self_scaling_at_ceiling 0",
        "aksinf_router_self_scaling_at_ceiling 1",
      ]);
    });
    it("is 0 while it can still grow (also in the cooldown after growing), or routing is fast", async () => {
      assert.deepEqual(await ceiling({ overheadMs: 30, cpu: cpuSteps[0], replicas: 2, free: 100, rounds: 2 }), ["aksinf_router_self_scaling_at_ceiling 0", "aksinf_router_self_scaling_at_ceiling 0"]);
      assert.deepEqual(await ceiling({ overheadMs: 1, cpu: top, replicas: maxReplicas, free: 0 }), ["aksinf_router_self_scaling_at_ceiling 0"]);
    });
    it("is 0 on a pod that does not lead", async () => {
      assert.deepEqual(await ceiling({ overheadMs: 30, cpu: top, replicas: maxReplicas, free: 0, leader: false }), ["aksinf_router_self_scaling_at_ceiling 0"]);
    });
  });
});
