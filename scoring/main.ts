/**
 * A scoring replica as it runs in its container (or as a local-mode process): reads
 * `SCORING_ENV`, downloads and unpacks package and models, runs `init()`, serves.
 * An `init()` failure is final: the reason goes to the log and to the termination message
 * (Kubernetes shows it as the container's last state), and the process exits with code 3.
 */
import { writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { gpuRequestFromEnv, pythonComputeReport } from "../core/gpu";
import { BLOB_CONTAINERS, INIT_FAILED_EXIT_CODE, SCORING_ENV, SCORING_PORT, logLevel, type ModelBlobs } from "../core/naming";
import { MODELS_ROOT, bootstrap } from "./bootstrap";
import { DataCollector } from "./collector";
import { EntryScriptHandler, OnnxHandler, listGpus, type HttpHandler, type ScoringHandler } from "./handlers";
import { PythonHandler, pythonSettings } from "./pythonHandler";
import { startScoringServer } from "./server";
import { blobServiceClient, storageAccess } from "./storage";

function required(key: keyof typeof SCORING_ENV): string {
  const v = process.env[SCORING_ENV[key]];
  if (!v) throw new Error(`${SCORING_ENV[key]} is not set`);
  return v;
}

async function main(): Promise<void> {
  const service = required("service");
  const replica = process.env[SCORING_ENV.replicaId] || os.hostname();
  const log = pino({ name: "aks-inference-scoring", base: { service, replica }, level: logLevel(process.env) });
  const storage = storageAccess({ connectionString: process.env[SCORING_ENV.storageConnectionString], accountUrl: process.env[SCORING_ENV.storageAccountUrl] });
  const workDir = process.env[SCORING_ENV.workDir] || path.join(os.tmpdir(), `aks-inference-${service}-${replica}`);
  let models: ModelBlobs[];
  try {
    models = JSON.parse(process.env[SCORING_ENV.modelBlobs] || "[]") as ModelBlobs[];
  } catch {
    throw new Error(`${SCORING_ENV.modelBlobs} is not valid JSON`);
  }
  const entryScript = process.env[SCORING_ENV.entryScript] || "";
  const collector =
    process.env[SCORING_ENV.collectModelData] === "true"
      ? new DataCollector(blobServiceClient(storage).getContainerClient(BLOB_CONTAINERS.modelData), log)
      : undefined;

  let server: Awaited<ReturnType<typeof startScoringServer>> | undefined;
  const fail = (err: Error) => {
    const message = `init() failed: ${err.message}`;
    log.fatal({ err: err.message }, message);
    try {
      writeFileSync(process.env.TERMINATION_LOG ?? "/dev/termination-log", message);
    } catch {
      // Not on Kubernetes: the log line above carries the reason.
    }
    process.exit(INIT_FAILED_EXIT_CODE);
  };

  try {
    const t = Date.now();
    const ctx = await bootstrap({ storage, packageBlob: process.env[SCORING_ENV.packageBlob] || "", models, workDir });
    log.info({ ms: Date.now() - t, models: Object.keys(ctx.models), workDir }, "package and models downloaded");
    process.env.AZUREML_MODEL_DIR = ctx.modelDir;
    const gpu = gpuRequestFromEnv(process.env);
    // A Python GPU service's replica reports whether its container sees a GPU (the ONNX handler reports its own provider).
    const compute = entryScript.endsWith(".py") && gpu.gpuCores > 0 ? pythonComputeReport(await listGpus(), gpu.pool) : undefined;
    // A Python entry script is served by Python workers with Azure ML's scoring contract.
    const handler: ScoringHandler | HttpHandler = entryScript.endsWith(".py")
      ? new PythonHandler({ ...pythonSettings(process.env), appRoot: ctx.projectDir, entryScript, models: ctx, modelsRoot: path.join(workDir, MODELS_ROOT), service, log, onFatal: fail })
      : entryScript
        ? new EntryScriptHandler(path.join(ctx.projectDir, entryScript), ctx)
        : new OnnxHandler(ctx, { gpu });
    // The replica's own limit (replicaMaxConcurrentRequests): router pods each enforce it, so
    // several of them together could exceed it without this.
    const maxConcurrentRequests = pythonSettings(process.env).workers;
    server = await startScoringServer({ service, replica, handler, log, collector, maxConcurrentRequests, compute, host: process.env.HOST ?? "0.0.0.0", port: Number(process.env[SCORING_ENV.port] || SCORING_PORT) });
    log.info({ port: server.port }, "listening (not ready until init() finishes)");
    await server.initialize();
  } catch (err) {
    return fail(err as Error);
  }

  const stop = (signal: string) => {
    log.info({ signal }, "draining");
    server!.close().then(() => process.exit(0), () => process.exit(1));
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
