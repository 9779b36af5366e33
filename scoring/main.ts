/**
 * A scoring replica as it runs in its container (or as a local-mode process): reads its settings
 * (core/contracts/scoringEnv.ts), downloads and unpacks package and models, runs `init()`, serves.
 * An `init()` failure is final: the reason goes to the log and to the termination message
 * (Kubernetes shows it as the container's last state), and the process exits with code 3.
 */
import { writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { pythonComputeReport } from "../core/decisions/gpu";
import { BLOB_CONTAINERS, INIT_FAILED_EXIT_CODE, logLevel } from "../core/contracts/naming";
import { readScoringEnv } from "../core/contracts/scoringEnv";
import { MODELS_ROOT, bootstrap } from "./bootstrap";
import { DataCollector } from "./collector";
import { EntryScriptHandler, OnnxHandler, listGpus, type HttpHandler, type ScoringHandler } from "./handlers";
import { PythonHandler } from "./pythonHandler";
import { startScoringServer } from "./server";
import { blobServiceClient, storageAccess } from "./storage";
import { Telemetry } from "./telemetry";
import { TELEMETRY_FILE_ENV } from "./telemetryEnv";

/** How long an ending replica waits for its last Application Insights records to be sent. */
const TELEMETRY_FLUSH_MS = 5_000;

async function main(): Promise<void> {
  const settings = readScoringEnv(process.env, { hostname: os.hostname(), tmpDir: os.tmpdir() });
  const { service, replicaId: replica, workDir, entryScript, maxBodyBytes } = settings;
  const log = pino({ name: "aks-inference-scoring", base: { service, replica }, level: logLevel(process.env) });
  const storage = storageAccess(settings.storage);
  // A service with appInsightsEnabled: the stack gives it the connection string; local mode a file.
  const telemetry = Telemetry.create({ service, replica, connectionString: settings.appInsightsConnectionString, file: process.env[TELEMETRY_FILE_ENV] || undefined });
  // The records still pending go out before the process ends (bounded: an unreachable endpoint does not hold the exit).
  const flushed = () => (telemetry ? Promise.race([telemetry.shutdown(), new Promise((r) => setTimeout(r, TELEMETRY_FLUSH_MS).unref())]) : Promise.resolve());
  const collector = settings.collectModelData ? new DataCollector(blobServiceClient(storage).getContainerClient(BLOB_CONTAINERS.modelData), log) : undefined;

  let server: Awaited<ReturnType<typeof startScoringServer>> | undefined;
  const fail = (err: Error) => {
    const message = `init() failed: ${err.message}`;
    log.fatal({ err: err.message }, message);
    telemetry?.initFailed(err);
    try {
      writeFileSync(settings.terminationLog, message);
    } catch {
      // Not on Kubernetes: the log line above carries the reason.
    }
    void flushed().then(() => process.exit(INIT_FAILED_EXIT_CODE));
  };

  try {
    const t = Date.now();
    const ctx = await bootstrap({ storage, packageBlob: settings.packageBlob, models: settings.models, workDir });
    log.info({ ms: Date.now() - t, models: Object.keys(ctx.models), workDir }, "package and models downloaded");
    process.env.AZUREML_MODEL_DIR = ctx.modelDir;
    const { gpu, maxConcurrentRequests, scoringTimeoutMs } = settings;
    // A Python GPU service's replica reports whether its container sees a GPU (the ONNX handler reports its own provider).
    const compute = entryScript.endsWith(".py") && gpu.gpuCores > 0 ? pythonComputeReport(await listGpus(), gpu.pool) : undefined;
    // A Python entry script is served by Python workers with Azure ML's scoring contract, one
    // worker per request the replica runs at once.
    const handler: ScoringHandler | HttpHandler = entryScript.endsWith(".py")
      ? new PythonHandler({ python: settings.python, workers: maxConcurrentRequests, scoringTimeoutMs, appRoot: ctx.projectDir, entryScript, models: ctx, modelsRoot: path.join(workDir, MODELS_ROOT), service, log, onFatal: fail, onOutput: telemetry && ((line, stream) => telemetry.trace(line, stream)) })
      : entryScript
        ? new EntryScriptHandler(path.join(ctx.projectDir, entryScript), ctx, maxBodyBytes)
        : new OnnxHandler(ctx, { gpu, maxBodyBytes });
    // The replica's own limits (replicaMaxConcurrentRequests, the service's body limit): router
    // pods each enforce them, so several of them together could exceed the first without this.
    const { host, port, replicaToken } = settings;
    // A JavaScript entry script prints with console.*.
    if (entryScript && !entryScript.endsWith(".py")) telemetry?.captureConsole();
    server = await startScoringServer({ service, replica, handler, log, collector, maxConcurrentRequests, maxBodyBytes, scoringTimeoutMs, compute, host, port, replicaToken, telemetry });
    log.info({ port: server.port }, "listening (not ready until init() finishes)");
    await server.initialize();
  } catch (err) {
    return fail(err as Error);
  }

  const stop = (signal: string) => {
    log.info({ signal }, "draining");
    server!.close().then(
      () => flushed().then(() => process.exit(0)),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(JSON.stringify({ level: 60, msg: "scoring server failed to start", err: (err as Error).message }));
    process.exit(1);
  });
}
