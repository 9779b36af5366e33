/**
 * The self-scaler's round in detail: the p95 it reads at the histogram's edges, the CPU figure
 * (differences since the last round, per core, guarded against a zero size or no time passed),
 * what it logs, its timer; and the Kubernetes size it reads and writes (CPU quantities, free
 * cluster CPU, the patch it sends), with the API clients faked.
 */
import * as assert from "node:assert/strict";
import { Writable } from "node:stream";
import * as k8s from "@kubernetes/client-node";
import pino from "pino";
import { DEFAULT_SELF_SCALE_LIMITS, type SelfScaleLimits } from "../../core/decisions/selfScale";
import { RouterMetrics } from "../../router/metrics";
import { KubernetesRouterSize, SelfScaler, cpuCores, type RouterSize } from "../../router/selfScaler";
import type { Coordinator } from "../../router/types";

class FakeSize implements RouterSize {
  applied: { cpu: number; replicas: number }[] = [];
  constructor(
    public cpu = 1,
    public replicas = 3,
    public free = 8,
  ) {}
  async current() {
    return { cpu: this.cpu, replicas: this.replicas };
  }
  async freeCpu() {
    return this.free;
  }
  async apply(cpu: number, replicas: number) {
    this.applied.push({ cpu, replicas });
  }
}

/** A pino logger whose lines the test reads. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString("utf8")) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: "info" }, stream), lines };
}

function setup(opts: { overheadMs?: number[]; cpu?: number; replicas?: number; limits?: Partial<SelfScaleLimits>; intervalMs?: number; size?: RouterSize } = {}) {
  // The clock and the process's CPU counter do not start at zero.
  const t = { now: 1_000_000, cpu: 7_000_000 };
  const clock = { now: () => t.now, cpuMicros: () => t.cpu };
  const coordinator: Coordinator = { isLeader: () => true, leaderPod: () => undefined, collect: async (l) => l, close: async () => undefined };
  const metrics = new RouterMetrics();
  for (const ms of opts.overheadMs ?? []) metrics.overhead.observe(ms / 1000);
  const size = new FakeSize(opts.cpu ?? 1, opts.replicas ?? 3);
  const { log, lines } = capturingLogger();
  const scaler = new SelfScaler(opts.size ?? size, coordinator, metrics, log, { ...DEFAULT_SELF_SCALE_LIMITS, ...opts.limits }, { intervalMs: opts.intervalMs ?? 3_600_000, clock });
  const minute = (cpuSeconds: number) => {
    t.now += 60_000;
    t.cpu += cpuSeconds * 1e6;
  };
  return { scaler, size, minute, lines, t };
}

describe("router self-scaler round", () => {
  const scalers: SelfScaler[] = [];
  afterEach(() => {
    for (const s of scalers.splice(0)) s.close();
  });
  const track = <T extends { scaler: SelfScaler }>(x: T) => {
    scalers.push(x.scaler);
    return x;
  };

  describe("CPU use over the round", () => {
    it("is the CPU time used since the last round over the time passed, per core of a pod", async () => {
      // 36 s of CPU in 60 s on 1 core: 60 % busy, nothing to do.
      const { scaler, size, minute } = track(setup({ overheadMs: [0.4] }));
      minute(36);
      await scaler.tick();
      assert.deepEqual(size.applied, []);
      // 12 s in 60 s on 1 core: 20 % < 30 %, one step down.
      minute(12);
      await scaler.tick();
      assert.deepEqual(size.applied, [{ cpu: 0.5, replicas: 3 }]);
    });

    it("divides by the pod's cores", async () => {
      // 12 s in 60 s on 0.5 cores: 40 %: stays (on 1 core it would be 20 %).
      const { scaler, size, minute } = track(setup({ overheadMs: [0.4], cpu: 0.5 }));
      minute(12);
      await scaler.tick();
      assert.deepEqual(size.applied, []);
    });

    it("counts a pod size of 0 cores (no request set) and a round with no time passed as idle", async () => {
      const zero = track(setup({ overheadMs: [0.4], cpu: 0 }));
      zero.minute(30);
      await zero.scaler.tick();
      assert.deepEqual(zero.size.applied, [{ cpu: 0, replicas: 2 }], "scales in at the smallest size");

      const { scaler, size, t } = track(setup({ overheadMs: [0.4], cpu: 1 }));
      t.cpu += 5e6;
      await scaler.tick();
      assert.deepEqual(size.applied, [{ cpu: 0.5, replicas: 3 }], "no time passed: 0 %, not a division by zero");
    });
  });

  describe("p95 of the routing time", () => {
    it("is 0 with no request routed yet", async () => {
      const { scaler, size, minute } = track(setup({ limits: { latencyThresholdMs: 0 } }));
      minute(36);
      await scaler.tick();
      assert.deepEqual(size.applied, [], "0 ms is not above a 0 ms threshold");
    });

    it("is the upper bound of the bucket holding the 95th percentile", async () => {
      // 95 requests ≤ 1 ms and 5 slower: p95 is 1 ms, not the 2 ms bucket.
      const at = track(setup({ overheadMs: [...Array(95).fill(0.8), ...Array(5).fill(1.5)], limits: { latencyThresholdMs: 1 } }));
      at.minute(36);
      await at.scaler.tick();
      assert.deepEqual(at.size.applied, []);
      const over = track(setup({ overheadMs: [...Array(94).fill(0.8), ...Array(6).fill(1.5)], limits: { latencyThresholdMs: 1 } }));
      over.minute(36);
      await over.scaler.tick();
      assert.deepEqual(over.size.applied, [{ cpu: 1.25, replicas: 3 }], "p95 in the 2 ms bucket");
    });

    it("is unbounded when the 95th percentile is beyond the largest bucket", async () => {
      const { scaler, size, minute } = track(setup({ overheadMs: Array(100).fill(500), limits: { latencyThresholdMs: 1_000_000 } }));
      minute(36);
      await scaler.tick();
      assert.deepEqual(size.applied, [{ cpu: 1.25, replicas: 3 }]);
    });
  });

  it("logs each change with its reason", async () => {
    const { scaler, minute, lines } = track(setup({ overheadMs: Array(100).fill(30) }));
    minute(36);
    await scaler.tick();
    assert.equal(lines.length, 1);
    assert.deepEqual(
      { msg: lines[0].msg, action: lines[0].action, cpu: lines[0].cpu, replicas: lines[0].replicas, reason: lines[0].reason },
      { msg: "router self-scaling", action: "up", cpu: 1.25, replicas: 3, reason: "routing p95 50 ms > 10 ms" },
    );
  });

  it("runs a round on its own timer, logs a failed round, and stops when closed", async () => {
    let calls = 0;
    const failing: RouterSize = {
      current: async () => {
        calls++;
        throw new Error("API server unreachable");
      },
      freeCpu: async () => 0,
      apply: async () => undefined,
    };
    const { scaler, lines } = setup({ intervalMs: 5, size: failing });
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.ok(calls >= 2, `${calls} rounds`);
    assert.deepEqual({ msg: lines[0].msg, err: lines[0].err }, { msg: "self-scaling round failed", err: "Error: API server unreachable" });
    scaler.close();
    const after = calls;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(calls, after);
  });
});

describe("router size on Kubernetes", () => {
  it("reads CPU quantities in cores", () => {
    assert.equal(cpuCores("500m"), 0.5);
    assert.equal(cpuCores("1250m"), 1.25);
    assert.equal(cpuCores("2"), 2);
    assert.equal(cpuCores("0.5"), 0.5);
    assert.equal(cpuCores(undefined), 0);
    assert.equal(cpuCores(""), 0);
  });

  /** A KubeConfig handing out fake API clients. */
  function withClients(apps: Partial<k8s.AppsV1Api>, core: Partial<k8s.CoreV1Api>) {
    const kc = { makeApiClient: (api: unknown) => (api === k8s.AppsV1Api ? apps : core) } as unknown as k8s.KubeConfig;
    return new KubernetesRouterSize(kc, "inference");
  }

  it("reads the router Deployment's CPU request and replicas", async () => {
    const asked: unknown[] = [];
    const size = withClients(
      {
        readNamespacedDeployment: (async (req: unknown) => {
          asked.push(req);
          return { spec: { replicas: 4, template: { spec: { containers: [{ name: "router", resources: { requests: { cpu: "750m" } } }] } } } };
        }) as unknown as k8s.AppsV1Api["readNamespacedDeployment"],
      },
      {},
    );
    assert.deepEqual(await size.current(), { cpu: 0.75, replicas: 4 });
    assert.deepEqual(asked, [{ name: "aks-inference-router", namespace: "inference" }]);
    const bare = withClients({ readNamespacedDeployment: (async () => ({ spec: { template: { spec: { containers: [] } } } })) as unknown as k8s.AppsV1Api["readNamespacedDeployment"] }, {});
    assert.deepEqual(await bare.current(), { cpu: 0, replicas: 1 });
  });

  it("free CPU: allocatable over all nodes minus what running pods request, never below 0", async () => {
    const selectors: unknown[] = [];
    const core = (nodes: string[], pods: (string | undefined)[][]) => ({
      listNode: (async () => ({ items: nodes.map((cpu) => ({ status: { allocatable: { cpu } } })) })) as unknown as k8s.CoreV1Api["listNode"],
      listPodForAllNamespaces: (async (req: unknown) => {
        selectors.push(req);
        return { items: pods.map((cs) => ({ spec: { containers: cs.map((cpu) => ({ resources: { requests: cpu === undefined ? undefined : { cpu } } })) } })) };
      }) as unknown as k8s.CoreV1Api["listPodForAllNamespaces"],
    });
    assert.equal(await withClients({}, core(["4", "3500m"], [["1", "250m"], [undefined, "500m"]])).freeCpu(), 5.75);
    assert.deepEqual(selectors[0], { fieldSelector: "status.phase=Running" });
    assert.equal(await withClients({}, core(["1"], [["2"]])).freeCpu(), 0);
  });

  it("applies a size as one strategic merge patch of replicas and the router container's CPU request and limit", async () => {
    const patches: unknown[][] = [];
    const size = withClients({ patchNamespacedDeployment: (async (...args: unknown[]) => void patches.push(args)) as unknown as k8s.AppsV1Api["patchNamespacedDeployment"] }, {});
    await size.apply(1.25, 3);
    assert.equal(patches.length, 1);
    const [req, options] = patches[0] as [unknown, { middleware: { pre(ctx: unknown): unknown }[] }];
    assert.deepEqual(req, {
      name: "aks-inference-router",
      namespace: "inference",
      body: { spec: { replicas: 3, template: { spec: { containers: [{ name: "router", resources: { requests: { cpu: "1250m" }, limits: { cpu: "1250m" } } }] } } } },
    });
    // The options' middleware sets the patch type header on the request.
    const headers: Record<string, string> = {};
    for (const m of options.middleware) m.pre({ setHeaderParam: (k: string, v: string) => (headers[k] = v) });
    assert.deepEqual(headers, { "Content-Type": "application/strategic-merge-patch+json" });
  });
});
