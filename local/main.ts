/**
 * Local mode (`npm start`): the services of a stack on this machine, exactly as on the cluster
 * but with no cloud: Azurite for blob and table storage, the same router (local discovery, a
 * process supervisor as scaler), the same scoring server as child processes, the same auth,
 * limits, autoscaling, logs and data collection.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { TableServiceClient } from "@azure/data-tables";
import { Command, Option } from "commander";
import { ConfigError, isPythonEntryScript, unitsOf, type ModelServiceConfig, type StackConfig } from "../core/config";
import { SCORING_ENV, SERVICE_TABLE, logLevel } from "../core/contracts/naming";
import { routerPayloadLimitBytes } from "../core/decisions/payloadLimit";
import { routingSettings } from "../core/contracts/routingSettings";
import { scoringEnv } from "../core/contracts/scoringEnv";
import { loadStack, stackFilePath } from "../core/config/stackFile";
import { missingServiceFiles } from "../packaging/project";
import { createBlobContainers, replicaEnv, uploadService } from "../packaging/upload";
import { CallbackScaler, FileKeyStore, LocalDiscovery } from "../router/inProcess";
import type { AutoscalerOptions } from "../router/autoscaler";
import { startRouter, type RouterHandle } from "../router/server";
import { TELEMETRY_FILE_ENV } from "../scoring/telemetryEnv";
import { startAdmin } from "./admin";
import { startAzurite } from "./azurite";
import { defaultLogFormat, LOG_FORMATS, localLogger, replicaLinePrinter, type LogFormat } from "./logFormat";
import { configuredKeys, ensureKeyFile } from "./keys";
import { chooseInterpreter, environmentNeeds } from "./python";
import { DEFAULT_LOCAL_DIR, stateFile, type LocalState } from "./state";
import { restartSummary, type ServiceStatus } from "../core/decisions/serviceState";
import { Supervisor } from "./supervisor";

export interface LocalOptions {
  stack: string;
  port: number;
  dir: string;
  repoRoot: string;
  /** A config instead of reading `Pulumi.<stack>.yaml` (benchmarks). */
  config?: StackConfig;
  /** Autoscaler timing (benchmarks shorten the scale-down delay). */
  autoscale?: AutoscalerOptions;
  /** Level of local mode's own log on stderr (tests quiet it); default LOG_LEVEL, else info. */
  logLevel?: string;
  /** JSON lines (default), or readable lines with replica output shown too (`npm start` on a terminal). */
  logFormat?: LogFormat;
}

export interface LocalMode {
  router: RouterHandle;
  state: LocalState;
  status(service: string): ServiceStatus;
  stop(): Promise<void>;
}

export async function startLocal(opts: LocalOptions): Promise<LocalMode> {
  const logFormat = opts.logFormat ?? "json";
  const log = localLogger("aks-inference-local", opts.logLevel ?? logLevel(process.env), logFormat);
  const cfg: StackConfig = opts.config ?? loadStack(opts.stack, opts.repoRoot);
  // The same check as the stack's: a missing model or project folder names its key, before anything starts.
  const missing = missingServiceFiles(cfg.services, opts.repoRoot);
  if (missing.length > 0) throw new ConfigError(missing);
  const dir = path.resolve(opts.repoRoot, opts.dir);
  const keysDir = path.join(dir, "keys");
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });

  const azurite = await startAzurite(path.join(dir, "azurite"));
  const blob = BlobServiceClient.fromConnectionString(azurite.connectionString);
  await createBlobContainers(blob);
  await TableServiceClient.fromConnectionString(azurite.connectionString, { allowInsecureConnection: true }).createTable(SERVICE_TABLE);

  const services = new Map<string, ModelServiceConfig>(cfg.services.map((s) => [s.name, s]));
  const env = new Map<string, Record<string, string>>();
  // Python services need an interpreter that sees their environment; one that has none fails
  // alone, with the missing module and the install command, and the others start as usual.
  const cannotStart = new Map<string, string>();
  const units = cfg.services.flatMap((svc) => unitsOf(svc).map((u) => ({ ...u, svc })));
  // Every version runs, each with its own replicas (keyed by unit: the service's name for a
  // service without versions).
  const routerLimitBytes = routerPayloadLimitBytes(cfg.router.payloadLimitMb);
  for (const { unit, version } of units) {
    const uploaded = await uploadService(version, opts.repoRoot, blob);
    const replica = replicaEnv(version, uploaded, azurite.connectionString, routerLimitBytes);
    if (isPythonEntryScript(version.entryScript)) {
      const needs = environmentNeeds(version.environment, opts.repoRoot);
      const choice = chooseInterpreter(needs.modules, { configured: version.environment.python, install: needs.install });
      if ("error" in choice) cannotStart.set(unit, choice.error);
      else Object.assign(replica, scoringEnv({ python: choice.python }));
    }
    // Application Insights (appInsightsEnabled, default off): the developer's connection string
    // when set, else the records go to a file; other services get none, whatever the environment holds.
    const connectionString = process.env[SCORING_ENV.appInsightsConnectionString];
    if (!version.appInsightsEnabled) replica[SCORING_ENV.appInsightsConnectionString] = "";
    else if (!connectionString) replica[TELEMETRY_FILE_ENV] = path.join(dir, "telemetry", `${unit}.jsonl`);
    env.set(unit, replica);
  }
  // Configured keys (a migrated v1 service's) from the stack's secrets, else generated ones; a
  // service whose keys cannot be read fails alone.
  const stackFile = stackFilePath(opts.stack, opts.repoRoot);
  const configured = configuredKeys(cfg.services, { name: opts.stack, text: opts.config || !existsSync(stackFile) ? undefined : readFileSync(stackFile, "utf8") }, process.env);
  for (const svc of cfg.services.filter((s) => s.authMode === "key")) {
    const keys = configured.get(svc.name);
    if (keys && "error" in keys) for (const { unit } of unitsOf(svc)) cannotStart.set(unit, keys.error);
    else ensureKeyFile(path.join(keysDir, `${svc.name}.json`), keys);
  }
  const signingFile = path.join(dir, "token-signing.key");
  let signingKey: string | undefined;
  if (cfg.services.some((s) => s.authMode === "token")) {
    if (!existsSync(signingFile)) writeFileSync(signingFile, randomBytes(32).toString("base64url"), { mode: 0o600 });
    signingKey = readFileSync(signingFile, "utf8").trim();
  }

  const discovery = new LocalDiscovery();
  for (const { svc, version } of units) discovery.upsertService(routingSettings(svc, version, undefined, routerLimitBytes));
  // This run's secret: replicas answer only the router and the supervisor, which send it.
  const replicaToken = randomBytes(32).toString("base64url");
  const supervisor = new Supervisor({ discovery, env: (s) => env.get(s) ?? {}, repoRoot: opts.repoRoot, stateDir: dir, log, replicaToken, replicaOutput: replicaLinePrinter(logFormat, (text) => process.stderr.write(text)) });
  for (const [service, reason] of cannotStart) supervisor.fail(service, reason);
  const router = await startRouter({
    discovery,
    keys: new FileKeyStore(keysDir),
    scaler: new CallbackScaler((service, n) => supervisor.setReplicas(service, n)),
    tokenIssuer: signingKey ? { type: "builtin", signingKey: () => signingKey } : undefined,
    port: opts.port,
    maxBodyBytes: routerLimitBytes,
    replicaToken,
    replicaRestarts: (unit) => restartSummary(supervisor.status(unit).replicas),
    autoscale: opts.autoscale,
    logger: log.child({ component: "router" }),
  });
  for (const { unit, version } of units) void supervisor.setReplicas(unit, version.initialReplicas);

  const adminToken = randomBytes(24).toString("base64url");
  const admin = await startAdmin({
    token: adminToken,
    services,
    supervisor,
    discovery,
    routerUrl: router.url,
    keyFile: (s) => path.join(keysDir, `${s}.json`),
    signingKey,
    tokenTtlSeconds: cfg.tokenIssuer.ttlSeconds,
  });
  const state: LocalState = { pid: process.pid, stack: opts.stack, routerUrl: router.url, routerAdminUrl: router.adminUrl, adminUrl: admin.url, adminToken, services: [...services.keys()] };
  writeFileSync(stateFile(dir), JSON.stringify(state, null, 2), { mode: 0o600 });
  chmodSync(stateFile(dir), 0o600);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info("stopping: router drains, replicas finish in-flight requests and flush collected data");
      supervisor.shutdown();
      await router.close();
      await supervisor.stopAll();
      await admin.close();
      await azurite.stop();
      rmSync(stateFile(dir), { force: true });
    })());
  return { router, state, status: (service) => supervisor.status(service), stop };
}

/** The example body the banner's curl sends: the project's `sample-request.json`, else a default per handler. */
function sampleRequest(svc: ModelServiceConfig, repoRoot: string): string {
  const file = svc.sourceDirectory ? path.resolve(repoRoot, svc.sourceDirectory, "sample-request.json") : undefined;
  if (file && existsSync(file)) return JSON.stringify(JSON.parse(readFileSync(file, "utf8")));
  return svc.entryScript ? `{"message": "hello"}` : `{"data": [[1, 2, 3, 4]]}`;
}

function banner(mode: LocalMode, cfg: StackConfig, dir: string, repoRoot: string): string {
  const lines = [`aks-inference local mode: stack '${mode.state.stack}', router at ${mode.router.url}`, `  status page: ${mode.router.adminUrl}/`, ""];
  for (const svc of cfg.services) {
    const uri = `${mode.router.url}/api/v1/service/${svc.name}/score`;
    const example = sampleRequest(svc, repoRoot);
    // Printed to be pasted into a POSIX shell as is: inside "$(...)" the single-quoted script
    // keeps its double quotes (npm test runs these lines through sh).
    const keyFile = path.join(dir, "keys", `${svc.name}.json`);
    const auth =
      svc.authMode === "key"
        ? ` -H "Authorization: Bearer $(node -p 'require("${path.isAbsolute(keyFile) ? keyFile : `./${keyFile}`}").primaryKey')"`
        : svc.authMode === "token"
          ? ` -H "Authorization: Bearer $(npx aks-inference token ${svc.name}${dir === DEFAULT_LOCAL_DIR ? "" : ` --local-dir ${dir}`} --json | node -p 'JSON.parse(require("fs").readFileSync(0)).accessToken')"`
          : "";
    lines.push(`  ${svc.name} (${svc.authMode} auth): ${uri}`);
    lines.push(`    curl -s ${uri}${auth} -H "Content-Type: application/json" -d '${example}'`);
  }
  lines.push("", "  npx aks-inference state <service> | logs <service> | keys <service> | wait <service>", "  Ctrl-C stops everything.");
  return lines.join("\n");
}

async function main(): Promise<void> {
  const program = new Command()
    .name("npm start --")
    .description("Run a stack's model services on this machine: router, scoring replicas and Azurite, no cloud needed.")
    .option("--stack <name>", "stack whose services to run (Pulumi.<name>.yaml)", "dev")
    .option("--port <port>", "router port (0: any free port)", "8080")
    .option("--dir <dir>", "where local state (keys, logs, storage) is kept", DEFAULT_LOCAL_DIR)
    .addOption(new Option("--log-format <format>", "log lines on stderr (default: pretty on a terminal, else json)").choices(LOG_FORMATS).default(defaultLogFormat(process.stderr.isTTY)))
    .parse();
  const o = program.opts<{ stack: string; port: string; dir: string; logFormat: LogFormat }>();
  const repoRoot = path.resolve(__dirname, "..");
  let mode: LocalMode;
  try {
    mode = await startLocal({ stack: o.stack, port: Number(o.port), dir: o.dir, repoRoot, logFormat: o.logFormat });
  } catch (err) {
    if (err instanceof ConfigError) console.error(`Pulumi.${o.stack}.yaml: ${err.message}`);
    else if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") console.error(`port ${o.port} is in use: pass --port <free port> (or 0)`);
    else console.error(`local mode failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
  console.log(banner(mode, loadStack(o.stack, repoRoot), o.dir, repoRoot));
  const onSignal = () => {
    mode.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`stop failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  // Ctrl-C reaches the whole process group (and tsx relays signals): stop once, ignore repeats
  // so a second signal cannot cut the orderly shutdown short.
  let signalled = false;
  const once = () => {
    if (signalled) return;
    signalled = true;
    onSignal();
  };
  process.on("SIGINT", once);
  process.on("SIGTERM", once);
}

if (require.main === module) void main();
