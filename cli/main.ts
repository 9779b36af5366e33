/**
 * `aks-inference`: Azure ML v1's SDK operations from a shell, against a running local mode or a
 * cluster (which one, and why: cli/target.ts; e.g. `pulumi stack output kubeconfig
 * --show-secrets > kubeconfig`). `--json` on every command for scripts.
 */
import * as path from "node:path";
import { Command, Option } from "commander";
import { replicasFor } from "../core/decisions/autoscale";
import { computeSummary } from "../core/decisions/gpu";
import { DEFAULT_NAMESPACE, type KeyName } from "../core/contracts/naming";
import type { ReplicaInfo } from "../core/decisions/serviceState";
import { DEFAULT_LOCAL_DIR, readLocalState } from "../local/state";
import type { StatusJson } from "../router/status";
import { renderStatus } from "../router/statusText";
import type { ServiceDescription } from "../local/admin";
import { CliError, LocalBackend, type Backend } from "./backends";
import { httpRequest, type HttpAnswer } from "./http";
import { registerImportV1 } from "./importV1";
import { parseDuration, type LogQuery } from "./logs";
import { requestBody, score } from "./run";
import { DEFAULT_REQUEST_TIMEOUT_SECONDS, chooseTarget } from "./target";

interface GlobalOptions {
  json?: boolean;
  kubeconfig?: string;
  context?: string;
  namespace: string;
  localDir: string;
  requestTimeout: string;
}

const program = new Command()
  .name("aks-inference")
  .description("Operate model services: state, logs, keys, tokens, scoring URIs, replica sizing.")
  .option("--json", "machine-readable output")
  .option("--kubeconfig <file>", "talk to the cluster of this kubeconfig")
  .option("--context <name>", "talk to the cluster of this kubeconfig context (of --kubeconfig, else KUBECONFIG, else ~/.kube/config)")
  .option("--namespace <ns>", "namespace of the model services on the cluster", DEFAULT_NAMESPACE)
  .option("--local-dir <dir>", "local mode's state folder", DEFAULT_LOCAL_DIR)
  .option("--request-timeout <seconds>", "on a cluster, give up on an API request after this long", String(DEFAULT_REQUEST_TIMEOUT_SECONDS))
  .addHelpText(
    "after",
    `
Which backend: a cluster when --kubeconfig or --context is given; else the local mode running in
--local-dir (\`npm start\`); else the cluster of KUBECONFIG's current context. A running local mode
comes before KUBECONFIG. Errors name the backend used and why.`,
  )
  .showHelpAfterError();

/** The backend the commands talk to and why it was chosen, once chosen (errors name it). */
let chosen: { label: string; why: string } | undefined;

async function backend(): Promise<Backend> {
  const o = program.opts<GlobalOptions>();
  const target = chooseTarget(o, process.env, readLocalState(path.resolve(o.localDir)));
  if (target.kind === "local") {
    const local = new LocalBackend(target.state, path.resolve(o.localDir));
    chosen = { label: local.label, why: target.why };
    return local;
  }
  const requestTimeoutSeconds = Number(o.requestTimeout);
  if (!(requestTimeoutSeconds > 0)) throw new CliError(`--request-timeout must be a number of seconds above 0 (got '${o.requestTimeout}')`);
  // Loaded only here: the Kubernetes client is most of the CLI's code, and local mode's
  // commands should not pay for compiling it.
  const { kubernetesBackend } = await import("./kubernetes.js");
  const cluster = kubernetesBackend({ ...target, namespace: o.namespace, requestTimeoutSeconds });
  chosen = { label: cluster.label, why: target.why };
  return cluster;
}

function print(human: string, data: unknown): void {
  console.log(program.opts<GlobalOptions>().json ? JSON.stringify(data, null, 2) : human);
}

/** Runs a command; a CliError (or any error) becomes a message and exit code 1, never a stack. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const message = err instanceof CliError ? err.message : `error: ${(err as Error).message}`;
      const via = chosen ? `${chosen.label}, chosen because ${chosen.why}` : undefined;
      if (program.opts<GlobalOptions>().json) console.log(JSON.stringify({ error: message, ...(via ? { backend: via } : {}) }));
      else console.error(via ? `${message}\n  backend: ${via}` : message);
      process.exitCode = 1;
    }
  };
}

/**
 * `, 3 restarts` when the replicas were restarted, unless a crash loop's reason (which counts
 * them, with the last exit) follows anyway.
 */
function restarts(replicas: readonly ReplicaInfo[]): string {
  const n = replicas.reduce((sum, r) => sum + r.restarts, 0);
  return n > 0 && !replicas.some((r) => r.crashLoop) ? `, ${n} restart${n === 1 ? "" : "s"}` : "";
}

/** `list`'s table: one row per service, then why each one that is not Healthy is not. */
function servicesTable(services: readonly ServiceDescription[]): string {
  if (services.length === 0) return "no model services";
  const rows = [["SERVICE", "STATE", "REPLICAS", "AUTH", "SCORING URI"], ...services.map((s) => [s.name, s.state, `${s.ready}/${s.desired}`, s.authMode, s.scoringUri])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const table = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  "));
  const reasons = services.filter((s) => s.state !== "Healthy" && s.reason).map((s) => `  ${s.name}: ${s.reason}`);
  return [...table, ...(reasons.length ? ["", ...reasons] : [])].join("\n");
}

program
  .command("state <service>")
  .description("Transitioning, Healthy, Unhealthy or Failed, with replicas and the reason")
  .action(
    action(async (service: string) => {
      const d = await (await backend()).describe(service);
      // GPU services: the compute their ready replicas got (cpu only with gpuFallbackToCpu).
      const gpu = computeSummary(d.replicas);
      const lines = [`${d.name}: ${d.state} (${d.ready}/${d.desired} replicas ready${restarts(d.replicas)})${gpu ? `, gpu: ${gpu}` : ""}${d.reason ? ` — ${d.reason}` : ""}`];
      // A service with versions: one line each, with its share of live traffic or of mirrored copies.
      for (const v of d.versions ?? []) {
        const share = v.mirrorPercent > 0 ? `mirror ${v.mirrorPercent} %` : `${v.traffic} %`;
        lines.push(`  ${v.version} (${share}): ${v.state} (${v.ready}/${v.desired} replicas ready${restarts(v.replicas)})${v.reason && v.state !== "Healthy" ? ` — ${v.reason}` : ""}`);
      }
      print(lines.join("\n"), gpu ? { ...d, gpu } : d);
      if (d.state === "Failed") process.exitCode = 1;
    }),
  );

program
  .command("traffic <service> <shares...>")
  .description("Change the split between a service's versions without a deploy, e.g. `traffic fraud blue=90 green=10`; the stack's config stays the source of truth (the next `pulumi up` sets its split again)")
  .option("--mirror <version=percent>", "copy this share of requests (at most 50 %) to a version that takes no live traffic")
  .action(
    action(async (service: string, shares: string[], o: { mirror?: string }) => {
      const split = await (await backend()).traffic(service, shares, o.mirror);
      const text = split.versions.map((v) => `${v.name}=${v.traffic}`).join(" ") + (split.mirror ? `, mirror ${split.mirror.name}=${split.mirror.percent}` : "");
      print(`${service}: ${text}`, split);
    }),
  );

program
  .command("status")
  .description("The router's status page as a table: state, replicas, load, latency and errors per service, and the autoscaler's last decisions")
  .option("--url <adminUrl>", "the router's admin URL (default: local mode's; on a cluster, after `kubectl -n aks-inference port-forward deploy/aks-inference-router 8081`: http://127.0.0.1:8081)")
  .option("--watch", "refresh every second until Ctrl-C")
  .action(
    action(async (o: { url?: string; watch?: boolean }) => {
      const dir = path.resolve(program.opts<GlobalOptions>().localDir);
      const url = o.url ?? readLocalState(dir)?.routerAdminUrl;
      if (!url) throw new CliError(`no local mode is running (no ${path.join(dir, "state.json")}); start it with \`npm start\`, or pass --url <router admin URL>`);
      const once = async () => {
        let res: HttpAnswer;
        try {
          res = await httpRequest(new URL("/status.json", url));
        } catch (err) {
          throw new CliError(`cannot reach the router at ${url}: ${(err as Error).message}`);
        }
        if (!res.ok) throw new CliError(`${url}/status.json answered ${res.status}`);
        const status = JSON.parse(res.text) as StatusJson;
        // --watch redraws in place; with --json each refresh is one line.
        if (program.opts<GlobalOptions>().json) console.log(JSON.stringify(status, null, o.watch ? undefined : 2));
        else console.log(`${o.watch ? "\x1b[2J\x1b[H" : ""}${renderStatus(status)}`);
      };
      await once();
      while (o.watch) {
        await new Promise((r) => setTimeout(r, 1_000));
        await once();
      }
    }),
  );

program
  .command("wait <service>")
  .description("Show progress until the service is Healthy; fail with the reason if it cannot get there")
  .option("--timeout <seconds>", "give up after this long", "300")
  .action(
    action(async (service: string, o: { timeout: string }) => {
      const b = await backend();
      const deadline = Date.now() + Number(o.timeout) * 1000;
      let last = "";
      for (;;) {
        const d = await b.describe(service);
        const line = `${d.state} ${d.ready}/${d.desired}${d.reason ? ` (${d.reason})` : ""}`;
        if (line !== last && !program.opts<GlobalOptions>().json) console.error(`${new Date().toISOString()} ${service}: ${line}`);
        last = line;
        if (d.state === "Healthy") return print(`${service} is Healthy`, d);
        if (d.state === "Failed") throw new CliError(`${service} failed: ${d.reason ?? "see \`aks-inference logs ${service}\`"}`);
        if (Date.now() > deadline) throw new CliError(`${service} is not Healthy after ${o.timeout} s: ${line}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }),
  );

program
  .command("list")
  .description("Every model service: state (as `state`), replicas ready/desired, auth and scoring URI")
  .action(
    action(async () => {
      const services = await (await backend()).list();
      print(servicesTable(services), services);
    }),
  );

program
  .command("logs <service>")
  .description("The service's replica logs; with --follow, new lines as they come")
  .option("--tail <lines>", "last lines per replica", "200")
  .option("-f, --follow", "keep printing new lines, each led by its replica, until the replicas stop (or Ctrl-C)")
  .option("--since <duration>", "only lines from the last 30s, 10m, 2h...")
  .option("--previous", "the replica's run before its last restart, e.g. why it crashed (cluster only)")
  .option("--replica <pod>", "one replica, by the name `state --json` gives it (cluster only)")
  .action(
    action(async (service: string, o: { tail: string; follow?: boolean; since?: string; previous?: boolean; replica?: string }) => {
      const tail = Number(o.tail);
      if (!Number.isInteger(tail) || tail < 1) throw new CliError(`--tail must be a whole number of lines above 0 (got '${o.tail}')`);
      const q: LogQuery = { tail, ...(o.since !== undefined ? { sinceSeconds: parseDuration(o.since) } : {}), previous: o.previous, replica: o.replica };
      const b = await backend();
      if (!o.follow) {
        const text = await b.logs(service, q);
        return print(text.trimEnd(), { service, logs: text });
      }
      // One line each as it comes; with --json one JSON document per line, as `status --watch`.
      const json = program.opts<GlobalOptions>().json;
      await b.follow(service, q, (from, line) => console.log(json ? JSON.stringify({ from, line }) : `${from} | ${line}`));
    }),
  );

program
  .command("run <service>")
  .description("Score a request through the router with the service's primary key or a token, as `az ml service run`; exits 1 when the answer is 400 or more")
  .option("--data <json>", "the request body")
  .option("--file <path>", "the request body, from a file")
  .option("--content-type <type>", "the body's type (a JSON body is checked before it is sent)", "application/json")
  .action(
    action(async (service: string, o: { data?: string; file?: string; contentType: string }) => {
      const body = requestBody(o);
      const answer = await score(await backend(), service, body, o.contentType);
      let parsed: unknown = answer.body;
      try {
        parsed = JSON.parse(answer.body);
      } catch {
        // not JSON: given as text
      }
      print(answer.body.trimEnd(), { ...answer, body: parsed });
    }),
  );

program
  .command("keys <service>")
  .description("Primary and secondary key")
  .action(
    action(async (service: string) => {
      const k = await (await backend()).keys(service);
      print(`primary:   ${k.primaryKey}\nsecondary: ${k.secondaryKey}`, k);
    }),
  );

program
  .command("regen-key <service>")
  .description("Regenerate one key; the other keeps working")
  .addOption(new Option("--key <which>", "which key").choices(["primary", "secondary"]).makeOptionMandatory())
  .action(
    action(async (service: string, o: { key: KeyName }) => {
      const k = await (await backend()).regenKey(service, o.key);
      print(`${o.key} key regenerated\nprimary:   ${k.primaryKey}\nsecondary: ${k.secondaryKey}`, k);
    }),
  );

program
  .command("token <service>")
  .description("A token for a token-auth service, with the time to refresh it by")
  .action(
    action(async (service: string) => {
      const t = await (await backend()).token(service);
      print(`${t.accessToken}\nrefresh_by: ${new Date(t.refreshBy * 1000).toISOString()}`, { accessToken: t.accessToken, refreshBy: t.refreshBy, expiresOn: t.expiresOn });
    }),
  );

program
  .command("uri <service>")
  .description("Scoring URI and swagger URI")
  .action(
    action(async (service: string) => {
      const d = await (await backend()).describe(service);
      print(`scoring: ${d.scoringUri}\nswagger: ${d.swaggerUri}`, { scoringUri: d.scoringUri, swaggerUri: d.swaggerUri });
    }),
  );

program
  .command("replicas")
  .description("Azure ML v1's sizing formula: replicas = ceil(rps × seconds / target / per-container)")
  .requiredOption("--rps <n>", "target requests per second")
  .requiredOption("--seconds <n>", "seconds per request")
  .option("--target <utilization>", "target utilization, 0.7 or 70", "70")
  .option("--per-container <n>", "max concurrent requests per container", "1")
  .action(
    action(async (o: { rps: string; seconds: string; target: string; perContainer: string }) => {
      let n: number;
      try {
        n = replicasFor({ targetRps: Number(o.rps), requestSeconds: Number(o.seconds), targetUtilization: Number(o.target), maxConcurrentRequestsPerContainer: Number(o.perContainer) });
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      print(String(n), { replicas: n });
    }),
  );

program
  .command("hosts <stack>")
  .description("The hosts a stack's cluster must resolve and reach (firewall / DNS)")
  .action(
    action(async (stack: string) => {
      // Loaded only here: reading a stack file takes the config schema (zod) and the YAML parser,
      // most of what is left of the CLI's code once the Kubernetes client is out.
      const [{ loadStack }, { requiredHostsFor }, { renderHostsTable }] = await Promise.all([
        import("../core/config/stackFile.js"),
        import("../core/azure/requiredHosts.js"),
        import("../scripts/hosts.js"),
      ]);
      const hosts = requiredHostsFor(loadStack(stack));
      print(renderHostsTable(hosts), hosts);
    }),
  );

registerImportV1(program);

program.parseAsync().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exitCode = 1;
});
