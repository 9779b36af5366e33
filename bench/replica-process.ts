/**
 * A scoring replica as its own process for benchmarks, serving an entry script from a folder with
 * no models, or an ONNX model with the built-in handler:
 * `node replica-process.js --dir <folder> (--script score.js|score.py [--python <path>] | --onnx <model.onnx>)`.
 * Prints `READY <url>` once init() has run.
 */
import * as path from "node:path";
import { Command } from "commander";
import pino from "pino";
import { EntryScriptHandler, OnnxHandler, type HttpHandler, type ModelContext, type ScoringHandler } from "../scoring/handlers";
import { PythonHandler } from "../scoring/pythonHandler";
import { startScoringServer } from "../scoring/server";

const o = new Command()
  .requiredOption("--dir <dir>")
  .option("--script <file>")
  .option("--onnx <file>", "model served by the built-in ONNX handler (instead of --script)")
  .option("--python <path>", "interpreter", "python3")
  .parse()
  .opts<{ dir: string; script?: string; onnx?: string; python: string }>();
const log = pino({ level: "warn" });
const models: ModelContext = { modelDir: o.dir, models: o.onnx ? { model: path.resolve(o.onnx) } : {} };
const script = o.script ?? "";
const handler: ScoringHandler | HttpHandler = o.onnx
  ? new OnnxHandler(models)
  : script.endsWith(".py")
    ? new PythonHandler({ python: o.python, appRoot: o.dir, entryScript: script, models, modelsRoot: path.join(o.dir, "azureml-models"), service: "bench", workers: 1, scoringTimeoutMs: 300_000, log })
    : new EntryScriptHandler(path.join(o.dir, script), models);
startScoringServer({ service: "bench", replica: "r1", handler, log }).then(async (server) => {
  await server.initialize();
  console.log(`READY ${server.url}`);
  process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
});
