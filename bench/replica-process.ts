/**
 * A scoring replica as its own process for benchmarks, serving an entry script from a folder with
 * no models: `node replica-process.js --dir <folder> --script score.js|score.py [--python <path>]`.
 * Prints `READY <url>` once init() has run.
 */
import * as path from "node:path";
import { Command } from "commander";
import pino from "pino";
import { EntryScriptHandler, type HttpHandler, type ScoringHandler } from "../scoring/handlers";
import { PythonHandler } from "../scoring/pythonHandler";
import { startScoringServer } from "../scoring/server";

const o = new Command().requiredOption("--dir <dir>").requiredOption("--script <file>").option("--python <path>", "interpreter", "python3").parse().opts<{ dir: string; script: string; python: string }>();
const log = pino({ level: "warn" });
const models = { modelDir: o.dir, models: {} };
const handler: ScoringHandler | HttpHandler = o.script.endsWith(".py")
  ? new PythonHandler({ python: o.python, appRoot: o.dir, entryScript: o.script, models, modelsRoot: path.join(o.dir, "azureml-models"), service: "bench", workers: 1, scoringTimeoutMs: 300_000, log })
  : new EntryScriptHandler(path.join(o.dir, o.script), models);
startScoringServer({ service: "bench", replica: "r1", handler, log }).then(async (server) => {
  await server.initialize();
  console.log(`READY ${server.url}`);
  process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
});
