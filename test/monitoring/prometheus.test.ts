/**
 * A real Prometheus (Debian's) scraping a real router's admin /metrics with the job the cluster
 * runs — only pod discovery (which Debian's build leaves out) replaced by static targets carrying
 * the labels discovery gives a pod, so the job's own relabelling picks the router's admin port out
 * of other pods and ports — and evaluating monitoring/alerts.yaml while a bounded load runs: every
 * query of the dashboard returns series through the HTTP API, and the 5xx alert stays quiet while
 * the service is healthy and fires once its only replica is killed. Rule timings are shortened
 * (group every second, no `for`), the expressions are the file's own. kube-state-metrics, which
 * the cluster runs, is a static exposition of one model pod's restart counter.
 */
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parse, stringify } from "yaml";
import { ALERT_RULES_FILE, DASHBOARD_FILE, podLabel, routerScrapeJob } from "../../core/azure/monitoring";
import { LABELS, ROLE_MODEL, ROLE_ROUTER, ROUTER_PORTS, SCORING_PORT } from "../../core/contracts/naming";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import { tempDir } from "../support/tmp";
import { MemoryKeyStore, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";
import { eventually } from "../support/poll";

const REPO = path.join(__dirname, "..", "..");

/** The executable's path on PATH, if any. */
function onPath(name: string): string | undefined {
  return (process.env.PATH ?? "")
    .split(path.delimiter)
    .map((dir) => path.join(dir, name))
    .find((file) => existsSync(file));
}

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
}

/** Every query of the dashboard, with Grafana's variables as "All" would give them and a rate window fit for a 1 s scrape. */
function dashboardQueries(): { panel: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(path.join(REPO, DASHBOARD_FILE), "utf8")) as { panels: Panel[] };
  return dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr.replaceAll("$__rate_interval", "10s").replaceAll("$cluster", ".*").replaceAll("$service", ".*") })),
  );
}

/** monitoring/alerts.yaml evaluated every second, each alert firing on its first match: only timings differ. */
function fastRules(): string {
  const rules = parse(readFileSync(path.join(REPO, ALERT_RULES_FILE), "utf8")) as { groups: { interval: string; rules: { for?: string }[] }[] };
  for (const g of rules.groups) {
    g.interval = "1s";
    for (const r of g.rules) delete r.for;
  }
  return stringify(rules);
}

/** A target as Kubernetes pod discovery offers it: one container port of one pod, with the pod's meta labels. */
function discovered(address: string, pod: { name: string; role: string; port: number; phase: string }): { targets: string[]; labels: Record<string, string> } {
  return {
    targets: [address],
    labels: {
      __meta_kubernetes_namespace: "aks-inference",
      __meta_kubernetes_pod_name: pod.name,
      [podLabel(LABELS.role)]: pod.role,
      __meta_kubernetes_pod_container_port_number: String(pod.port),
      __meta_kubernetes_pod_phase: pod.phase,
    },
  };
}

/**
 * The cluster's job with discovery's answer in its place: the router pod's admin port (this
 * router), the same pod's public port, a model pod, and a router pod that has finished.
 */
function routerJob(admin: string, other: string): object {
  const { kubernetes_sd_configs: _discovery, ...job } = routerScrapeJob("aks-inference", "1s");
  return {
    ...job,
    static_configs: [
      discovered(admin, { name: "aks-inference-router-7c9d5-abcde", role: ROLE_ROUTER, port: ROUTER_PORTS.admin, phase: "Running" }),
      discovered(other, { name: "aks-inference-router-7c9d5-abcde", role: ROLE_ROUTER, port: ROUTER_PORTS.http, phase: "Running" }),
      discovered(other, { name: "model-fraud-5d8f7c9b4-x2x7q", role: ROLE_MODEL, port: SCORING_PORT, phase: "Running" }),
      discovered(other, { name: "aks-inference-router-7c9d5-fghij", role: ROLE_ROUTER, port: ROUTER_PORTS.admin, phase: "Succeeded" }),
    ],
  };
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe("monitoring: a real Prometheus scraping the router with the stack's job", function () {
  this.timeout(45_000);
  let prometheus: ChildProcess | undefined;
  let promUrl = "";
  let router: RouterHandle;
  let upstream: Upstream;
  let ksm: http.Server;
  const KEY = "k".repeat(32);
  let stopLoad = false;
  let load: Promise<number[]> | undefined;

  before(async function () {
    const binary = onPath("prometheus");
    if (!binary) {
      console.log("      (skipped: no prometheus on PATH; install Debian's `prometheus` package, as .ci/run does: `apt-get install -y prometheus`)");
      return this.skip();
    }
    upstream = await startUpstream("a", { delayMs: 2 });
    const discovery = new LocalDiscovery();
    discovery.upsertService(settings("fraud", { autoscale: { enabled: true, minReplicas: 1, maxReplicas: 2, targetUtilization: 70 }, maxQueueWaitMs: 100 }));
    discovery.addReplica("fraud", { id: "a", url: upstream.url });
    const keys = new MemoryKeyStore();
    keys.keys.set("fraud", { primaryKey: KEY, secondaryKey: KEY.toUpperCase() });
    router = await routerWith(discovery, keys, { autoscale: { intervalMs: 250 } });
    // kube-state-metrics' restart counter of one model pod, as the cluster's default target exposes it.
    ksm = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end('# TYPE kube_pod_container_status_restarts_total counter\nkube_pod_container_status_restarts_total{namespace="aks-inference",pod="model-fraud-5d8f7c9b4-x2x7q",container="scoring",uid="u1"} 0\n');
    });
    await new Promise<void>((r) => ksm.listen(0, "127.0.0.1", r));

    const dir = tempDir("prometheus");
    writeFileSync(path.join(dir, "rules.yaml"), fastRules());
    const admin = new URL(router.adminUrl).host;
    const config = {
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: ["rules.yaml"],
      scrape_configs: [
        // The other pods' and ports' address answers nothing: scraping it would show as a target down.
        routerJob(admin, new URL(upstream.url).host),
        { job_name: "kube-state-metrics", scrape_interval: "1s", static_configs: [{ targets: [`127.0.0.1:${(ksm.address() as AddressInfo).port}`] }] },
      ],
    };
    writeFileSync(path.join(dir, "prometheus.yml"), stringify(config));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(binary, [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    prometheus.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await fetch(`${promUrl}/-/ready`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline || prometheus.exitCode !== null) throw new Error(`Prometheus did not start:\n${stderr}`);
      await sleep(100);
    }
    // The load: two clients, one request in 20 with a wrong key (failed authentications), until the end.
    load = Promise.all(
      [0, 1].map(async (client) => {
        let sent = 0;
        for (let i = client; !stopLoad && sent < 5_000; i += 2, sent++) {
          const key = i % 20 === 0 ? "wrong" : KEY;
          await fetch(`${router.url}/api/v1/service/fraud/score`, { method: "POST", body: "{}", headers: { authorization: `Bearer ${key}` } }).then((r) => r.arrayBuffer(), () => undefined);
          await sleep(10);
        }
        return sent;
      }),
    );
  });

  after(async () => {
    stopLoad = true;
    await load;
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once("exit", r));
      prometheus.kill("SIGTERM");
      await exited;
    }
    await router?.close();
    await upstream?.close();
    ksm?.close();
  });

  async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    assert.equal(body.status, "success", `${expr}: ${body.error}`);
    return body.data.result;
  }

  async function firing(alertname: string): Promise<Record<string, string>[]> {
    const body = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
    return body.data.alerts.filter((a) => a.labels.alertname === alertname && a.state === "firing").map((a) => a.labels);
  }

  const answers = (status: string) => query(`sum by (status) (rate(aksinf_router_requests_total{job="aks-inference-router", service="fraud", status=~"${status}"}[5m])) > 0`);

  it("scrapes the router pod's admin port and nothing else the job's discovery offers, labelled with namespace and pod", async () => {
    assert.ok(await eventually(async () => (await query('up{job="aks-inference-router"}')).length > 0, 12_000, 250), "no target scraped after 12 s");
    const targets = await query('up{job="aks-inference-router"}');
    assert.deepEqual(
      targets.map((t) => [t.metric.instance, t.metric.namespace, t.metric.pod, t.value[1]]),
      [[new URL(router.adminUrl).host, "aks-inference", "aks-inference-router-7c9d5-abcde", "1"]],
    );
  });

  it("keeps the 5xx alert quiet while the service answers, 401s and all", async () => {
    // Prometheus hands discovered targets to its scrapers every 5 s: the first scrape comes late.
    assert.ok(await eventually(async () => (await answers("200")).length > 0 && (await answers("401")).length > 0, 12_000, 250), "no answers of the router scraped after 12 s");
    // Rules evaluate every second: two evaluations over data with 200s, 401s and no 5xx.
    await sleep(2_000);
    assert.deepEqual(await answers("5.."), []);
    assert.deepEqual(await firing("AksInferenceServerErrors"), []);
  });

  it("fires the 5xx alert for the service once its only replica is killed", async () => {
    await upstream.close();
    assert.ok(
      await eventually(async () => (await firing("AksInferenceServerErrors")).length > 0, 15_000, 250),
      `no AksInferenceServerErrors after the replica died; answers: ${JSON.stringify(await answers(".*"))}`,
    );
    const [alert] = await firing("AksInferenceServerErrors");
    assert.deepEqual({ service: alert.service, version: alert.version, severity: alert.severity }, { service: "fraud", version: "default", severity: "critical" });
  });

  // After the replica died, so that the panel of 503s has some too.
  it("answers every query of the dashboard with series", async () => {
    const queries = dashboardQueries();
    assert.ok(queries.length >= 20, `only ${queries.length} queries`);
    const empty: string[] = [];
    for (const q of queries) if ((await query(q.expr)).length === 0) empty.push(`${q.panel}: ${q.expr}`);
    assert.deepEqual(empty, []);
  });
});
