/**
 * The router's status page: the numbers behind it (a bounded ring of one-second samples taken
 * from the metrics' counters), and the page itself on the admin port, self-contained and
 * without a key anywhere.
 */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import * as os from "node:os";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import type { StatusJson } from "../../router/status";
import { RING_SECONDS, Ring, quantile, rowState, rows, sampleBetween, type Counts, type Gauges } from "../../router/statusModel";
import { MemoryKeyStore, call, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";

const BOUNDS = [0.01, 0.1, 1];
const counts = (requests: Record<string, Record<number, number>>, buckets: Record<string, number[]>): Counts => ({
  requests: new Map(Object.entries(requests).map(([s, by]) => [s, new Map(Object.entries(by).map(([k, v]) => [Number(k), v]))])),
  buckets: new Map(Object.entries(buckets)),
});
const gauges = (g: Record<string, Gauges>) => new Map(Object.entries(g));

describe("status page: samples", () => {
  it("keeps at most 15 minutes of samples however long the router runs, oldest first", () => {
    const ring = new Ring<number>(RING_SECONDS);
    for (let i = 0; i < 10 * RING_SECONDS; i++) ring.push(i);
    assert.equal(ring.size, RING_SECONDS);
    const all = ring.toArray();
    assert.equal(all.length, RING_SECONDS);
    assert.equal(all[0], 10 * RING_SECONDS - RING_SECONDS);
    assert.equal(all[all.length - 1], 10 * RING_SECONDS - 1);
    assert.throws(() => new Ring(0), /positive integer/);
  });

  it("turns cumulative counters into one second's requests, status classes, 503s and latencies", () => {
    const before = counts({ svc: { 200: 10, 503: 1 } }, { svc: [5, 10, 11, 11] });
    const after = counts({ svc: { 200: 15, 404: 2, 503: 4 }, unknown: { 404: 3 } }, { svc: [5, 18, 21, 21] });
    const s = sampleBetween(before, after, gauges({ svc: { ready: 2, desired: 3, utilization: 150, queued: 4 } }), 1000);
    assert.deepEqual(Object.keys(s.services), ["svc"], "requests for no known service are not a row");
    const svc = s.services.svc;
    assert.equal(svc.requests, 10);
    assert.deepEqual(svc.byClass, { "2xx": 5, "3xx": 0, "4xx": 2, "5xx": 3 });
    assert.equal(svc.unavailable, 3);
    assert.deepEqual(svc.latency, [0, 8, 2, 0], "per bucket, not cumulative");
    assert.equal(svc.ready, 2);
    assert.equal(svc.queued, 4);
  });

  it("reads quantiles from bucket counts as Prometheus does", () => {
    assert.ok(Math.abs(quantile(0.5, BOUNDS, [0, 10, 0, 0])! - 0.055) < 1e-12, "halfway through the (0.01, 0.1] bucket");
    assert.equal(quantile(0.99, BOUNDS, [0, 0, 0, 5]), 1, "beyond the last bound: the last bound");
    assert.equal(quantile(0.5, BOUNDS, [0, 0, 0, 0]), undefined);
  });

  it("summarizes the last 10 seconds per service, with 15-minute series", () => {
    const samples = Array.from({ length: 20 }, (_, i) => ({
      t: i * 1000,
      services: { svc: { requests: 5, byClass: { "2xx": 4, "3xx": 0, "4xx": 0, "5xx": 1 }, unavailable: 1, latency: [5, 0, 0, 0], ready: i < 10 ? 1 : 3, desired: 3, utilization: 90, queued: 0 } },
    }));
    const [row] = rows(samples, BOUNDS, new Map([["svc", { minReplicas: 1, maxReplicas: 5, targetUtilization: 70, autoscale: true }]]));
    assert.equal(row.rps, 5);
    assert.equal(row.ready, 3);
    assert.equal(row.maxReplicas, 5);
    assert.equal(row.errorRate["5xx"], 0.2);
    assert.equal(row.unavailable, 10);
    assert.equal(row.state, "Degraded");
    assert.equal(row.series.replicas.length, 20);
    assert.equal(row.series.replicas[0], 1);
    assert.ok(row.p50Ms! > 0 && row.p50Ms! <= 10);
  });

  it("states: Down with nothing ready, Degraded on 5xx, Scaling while ready differs from desired", () => {
    assert.equal(rowState(0, 1, 0), "Down");
    assert.equal(rowState(2, 2, 1), "Degraded");
    assert.equal(rowState(1, 3, 0), "Scaling");
    assert.equal(rowState(2, 2, 0), "Healthy");
  });

  it("CrashLoopBackOff while a replica loops, whether it is down or briefly up (no flipping between Down and Degraded)", () => {
    assert.equal(rowState(0, 1, 3, true), "CrashLoopBackOff");
    assert.equal(rowState(1, 1, 3, true), "CrashLoopBackOff");
    assert.equal(rowState(1, 1, 0, true), "CrashLoopBackOff");
    assert.equal(rowState(1, 1, 0, false), "Healthy");
  });

  it("rows carry the replicas' restarts and crash loop when the router is told them, and nothing when not", () => {
    const sample = { t: 0, services: { svc: { requests: 1, byClass: { "2xx": 1, "3xx": 0, "4xx": 0, "5xx": 0 }, unavailable: 0, latency: [1, 0, 0, 0], ready: 1, desired: 1, utilization: 10, queued: 0 } } };
    const settings = new Map([["svc", { minReplicas: 1, maxReplicas: 1, targetUtilization: 70, autoscale: false }], ["other", { minReplicas: 1, maxReplicas: 1, targetUtilization: 70, autoscale: false }]]);
    const loop = `CrashLoopBackOff (restarts 4, last exit: code 1 "boom" 3 s ago)`;
    const told = rows([sample], BOUNDS, settings, (name) => (name === "svc" ? { restarts: 4, crashLoop: loop } : { restarts: 0 }));
    assert.deepEqual(told.map((r) => [r.name, r.state, r.restarts, r.crashLoop]), [["other", "Down", 0, undefined], ["svc", "CrashLoopBackOff", 4, loop]]);
    const untold = rows([sample], BOUNDS, settings);
    assert.ok(untold.every((r) => !("restarts" in r) && !("crashLoop" in r)));
  });
});

describe("status page: served by the router's admin port", function () {
  this.timeout(20_000);
  let router: RouterHandle;
  let replica: Upstream;

  before(async () => {
    const discovery = new LocalDiscovery();
    const keys = new MemoryKeyStore();
    keys.keys.set("svc", { primaryKey: "primary-key-secret", secondaryKey: "secondary-key-secret" });
    replica = await startUpstream("a", { delayMs: 5 });
    discovery.upsertService(settings("svc", { maxConcurrentRequestsPerReplica: 4 }));
    discovery.addReplica("svc", { id: "a", url: replica.url });
    router = await routerWith(discovery, keys);
  });
  after(async () => {
    await router.close();
    await replica.close();
  });

  it("serves a self-contained page: its own stylesheet and script, nothing from elsewhere", async () => {
    const page = await fetch(`${router.adminUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    const html = await page.text();
    assert.match(html, /<script src="\/status.js">/);
    for (const asset of ["/", "/status.css", "/status.js"]) {
      const text = await (await fetch(`${router.adminUrl}${asset}`)).text();
      assert.doesNotMatch(text, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, `${asset} loads nothing from another host`);
    }
    const publicPort = await fetch(`${router.url}/`);
    assert.equal(publicPort.status, 404, "the page is not on the public port");
  });

  it("forbids framing the page on another site (clickjacking)", async () => {
    for (const asset of ["/", "/status.css", "/status.js", "/status.json"]) {
      const res = await fetch(`${router.adminUrl}${asset}`);
      assert.equal(res.headers.get("x-frame-options"), "DENY", asset);
      assert.match(res.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/, asset);
      await res.arrayBuffer();
    }
  });

  it("answers only to loopback names and the machine's own addresses in Host (no DNS rebinding)", async () => {
    const get = (path: string, host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        http.get(`${router.adminUrl}${path}`, { headers: { host } }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        }).on("error", reject);
      });
    const port = new URL(router.adminUrl).port;
    for (const path of ["/", "/status.json", "/metrics", "/internal/load", "/healthz"]) {
      const rebound = await get(path, `attacker.example:${port}`);
      assert.equal(rebound.status, 421, path);
      assert.equal((JSON.parse(rebound.body) as { error: { code: string } }).error.code, "MisdirectedRequest");
    }
    const own = Object.values(os.networkInterfaces()).flatMap((l) => l ?? []).find((i) => !i.internal && i.family === "IPv4")?.address;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, ...(own ? [`${own}:${port}`] : [])]) {
      assert.equal((await get("/status.json", host)).status, 200, host);
    }
  });

  it("shows requests per second from live traffic, and never a key", async () => {
    for (let i = 0; i < 20; i++) assert.equal((await call(`${router.url}/api/v1/service/svc/score`, { key: "primary-key-secret" })).status, 200);
    let status: StatusJson | undefined;
    let text = "";
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      text = await (await fetch(`${router.adminUrl}/status.json`)).text();
      status = JSON.parse(text) as StatusJson;
      if ((status.services.find((s) => s.name === "svc")?.rps ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const row = status!.services.find((s) => s.name === "svc");
    assert.ok(row && row.rps > 0, text);
    assert.ok(row.p50Ms !== undefined && row.p50Ms > 0);
    assert.equal(status!.router.leader, true);
    assert.deepEqual(status!.decisions, [], "autoscaling is off for this service: no decision");
    assert.equal(row.state, "Healthy", "one replica ready of one, no errors");
    assert.doesNotMatch(text, /key-secret/);
  });
});
