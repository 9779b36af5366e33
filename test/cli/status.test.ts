/**
 * `aks-inference status`: the router's status page as a terminal table, from the router's
 * /status.json (the same numbers the page shows), once or with --watch.
 */
import * as assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import type { StatusJson } from "../../router/status";
import { renderStatus } from "../../router/statusText";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";
import { MemoryKeyStore, call, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";

const run = promisify(execFile);
const BIN = path.join(REPO_ROOT, "cli", "bin.js");

const sample: StatusJson = {
  at: Date.UTC(2026, 0, 1, 8, 0, 0),
  router: { pod: "aks-inference-router-abc", leader: true },
  services: [
    {
      name: "regressor",
      state: "Scaling",
      ready: 1,
      desired: 3,
      minReplicas: 1,
      maxReplicas: 4,
      utilization: 180,
      targetUtilization: 70,
      rps: 42.04,
      p50Ms: 4.2,
      p99Ms: 31.5,
      errorRate: { "4xx": 0.01, "5xx": 0 },
      queued: 2,
      unavailable: 0,
      series: { rps: [], p99Ms: [], replicas: [] },
    },
  ],
  decisions: [{ service: "regressor", from: 1, to: 3, reason: "utilization 180% above target 70%", at: Date.UTC(2026, 0, 1, 7, 59, 58) }],
};

describe("CLI: status", function () {
  this.timeout(60_000);

  it("renders the page's row and the autoscaler's decisions as a table", () => {
    const text = renderStatus(sample);
    assert.match(text, /^router pod aks-inference-router-abc \(autoscaling leader\)$/m);
    assert.match(text, /^SERVICE\s+STATE\s+REPLICAS\s+RESTARTS\s+UTIL\/TARGET\s+REQ\/S\s+P50\s+P99\s+4XX\s+5XX\s+QUEUE\s+503S$/m);
    assert.match(text, /^regressor\s+Scaling\s+1\/3 \(1-4\)\s+–\s+180\/70 %\s+42\.0\s+4\.2 ms\s+31\.5 ms\s+1\.0 %\s+0\.0 %\s+2\s+0$/m, "restarts not known: a dash");
    assert.match(text, /07:59:58Z scaled regressor 1 → 3: utilization 180% above target 70%/);
  });

  it("shows each service's restarts, and why one is in a crash loop under the table", () => {
    const loop = `CrashLoopBackOff (restarts 5, last exit: code 1 "ModuleNotFoundError: No module named 'x'" 12 s ago)`;
    const text = renderStatus({ ...sample, services: [{ ...sample.services[0], state: "CrashLoopBackOff", ready: 0, restarts: 5, crashLoop: loop }, { ...sample.services[0], name: "steady", state: "Healthy", restarts: 0 }] });
    assert.match(text, /^regressor\s+CrashLoopBackOff\s+0\/3 \(1-4\)\s+5\s+180\/70 %/m);
    assert.match(text, /^steady\s+Healthy\s+1\/3 \(1-4\)\s+0\s+180\/70 %/m);
    assert.ok(text.split("\n").includes(`  regressor: ${loop}`), text);
    assert.doesNotMatch(text, /steady: /);
  });

  it("on a follower pod, names the pod that decides scaling (or says it is not known yet)", () => {
    const follower = (leaderPod?: string) => renderStatus({ ...sample, router: { pod: "aks-inference-router-def", leader: false, leaderPod } });
    assert.match(follower("aks-inference-router-abc"), /^router pod aks-inference-router-def \(follower: aks-inference-router-abc decides scaling\)$/m);
    assert.match(follower(), /^router pod aks-inference-router-def \(follower: another pod decides scaling\)$/m);
  });

  describe("against a router", () => {
    let router: RouterHandle;
    let replica: Upstream;
    before(async () => {
      const discovery = new LocalDiscovery();
      const keys = new MemoryKeyStore();
      keys.keys.set("svc", { primaryKey: "k1", secondaryKey: "k2" });
      replica = await startUpstream("a");
      discovery.upsertService(settings("svc"));
      discovery.addReplica("svc", { id: "a", url: replica.url });
      router = await routerWith(discovery, keys);
      for (let i = 0; i < 5; i++) await call(`${router.url}/api/v1/service/svc/score`, { key: "k1" });
      await new Promise((r) => setTimeout(r, 1_200)); // one sample taken
    });
    after(async () => {
      await router.close();
      await replica.close();
    });

    it("prints the table once, and the page's JSON with --json", async () => {
      const { stdout } = await run(process.execPath, [BIN, "status", "--url", router.adminUrl], { cwd: REPO_ROOT });
      assert.match(stdout, /^svc\s+Healthy\s+1\/1 \(1-10\)/m);
      const json = JSON.parse((await run(process.execPath, [BIN, "--json", "status", "--url", router.adminUrl], { cwd: REPO_ROOT })).stdout) as StatusJson;
      assert.equal(json.services[0].name, "svc");
      assert.ok(json.services[0].rps > 0);
    });

    it("refreshes every second with --watch", async () => {
      const child = spawn(process.execPath, [BIN, "--json", "status", "--url", router.adminUrl, "--watch"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      await new Promise<void>((resolve) => {
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.split("\n").filter(Boolean).length >= 2) resolve();
        });
      });
      child.kill("SIGTERM");
      const [first, second] = out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as StatusJson);
      assert.ok(second.at > first.at, "a newer snapshot each time");
    });
  });

  it("says how to point it at a router when no local mode runs", async () => {
    const dir = tempDir("status-none");
    await assert.rejects(run(process.execPath, [BIN, "status", "--local-dir", dir], { cwd: REPO_ROOT }), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /no local mode is running .*--url <router admin URL>/);
      return true;
    });
  });
});
