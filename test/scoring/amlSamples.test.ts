/**
 * Azure ML v1 entry-script samples (test/fixtures/aml/<name>/, each with SOURCE.md naming the
 * upstream script) served through the scoring server and the Python bridge, with their models
 * trained by the fixture's train.py and laid out as Azure ML lays them out. Every answer is compared
 * with what Microsoft's scoring server (azureml-inference-server-http 1.5.x) answers for the same
 * request; test/fixtures/aml/EXPECTED.md gives the reasoning for each expected answer.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import pino from "pino";
import { parseStackConfig } from "../../core/config";
import { readStackFile, stackFilePath } from "../../core/config/stackFile";
import { startLocal, type LocalMode } from "../../local/main";
import { MODELS_ROOT, azuremlModelDir } from "../../scoring/bootstrap";
import { PythonHandler } from "../../scoring/pythonHandler";
import { startScoringServer, type ScoringServer } from "../../scoring/server";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";

const PYTHON = "/usr/bin/python3";
const FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "aml");
const log = pino({ level: "silent" });

interface CaseRequest {
  method: string;
  /** Default `/score`; `${key}` is replaced by the URL-encoded JSON of the trained inputs' `key`. */
  path?: string;
  headers?: Record<string, string>;
  /** Body text; `${key}` is replaced by the JSON of the trained inputs' `key`. */
  body?: string;
  bodyBase64?: string;
  /** A file train.py wrote, sent as the body. */
  bodyFile?: string;
  /** A multipart/form-data upload of a file train.py wrote. */
  multipart?: { field: string; file: string; contentType: string };
}

interface CaseExpect {
  status: number;
  /** Exact body text. */
  body?: string;
  /** Exact body text, from the expected.json train.py wrote (computed with the trained model). */
  bodyExpected?: string;
  bodyBase64?: string;
  /** The JSON body contains this (objects compared key by key, arrays and scalars exactly). */
  jsonSubset?: unknown;
  /** Top-level JSON values matching these patterns. */
  jsonPatterns?: Record<string, string>;
  /** Exact header values (names case-insensitive). */
  headers?: Record<string, string>;
  headerPatterns?: Record<string, string>;
  headersPresent?: string[];
  headersAbsent?: string[];
  /** Lines the script printed for this request (its stdout reaches the replica log). */
  logIncludes?: string[];
}

interface Fixture {
  name: string;
  dir: string;
  skip?: string;
  models: { name: string; version: number }[];
  /** The replica must fail in init(), with a reason containing this text. */
  initFailure?: string;
  /** Python modules the sample imports beyond scikit-learn, joblib, numpy and pandas. */
  python?: string[];
  cases: { name: string; request: CaseRequest; expect: CaseExpect }[];
}

function fixtures(): Fixture[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => ({ name: d.name, dir: path.join(FIXTURES, d.name), ...(JSON.parse(readFileSync(path.join(FIXTURES, d.name, "cases.json"), "utf8")) as Omit<Fixture, "name" | "dir">) }));
}

/** Every sample needs these; a fixture's `cases.json` names what else it imports (`python`). */
const BASE_MODULES = ["sklearn", "joblib", "numpy", "pandas"];
/** The Debian package of each module a fixture may need, for the skip reason. */
const DEBIAN_PACKAGE: Record<string, string> = { sklearn: "python3-sklearn", joblib: "python3-joblib", numpy: "python3-numpy", pandas: "python3-pandas", PIL: "python3-pil" };

const probed = new Map<string, string | undefined>();

/** What the Debian interpreter lacks for a sample, or undefined when it has everything. */
function missingPython(extra: readonly string[] = []): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is not installed`;
  const modules = [...BASE_MODULES, ...extra];
  const key = modules.join(", ");
  if (!probed.has(key)) {
    const probe = spawnSync(PYTHON, ["-c", `import ${key}`], { encoding: "utf8" });
    const reason = `${PYTHON} cannot import the sample's packages (apt-get install ${modules.map((m) => DEBIAN_PACKAGE[m] ?? m).join(" ")}): ${probe.stderr.trim().split("\n").pop()}`;
    probed.set(key, probe.status === 0 ? undefined : reason);
  }
  return probed.get(key);
}

/** Where a fixture's cases are sent, and what its train.py produced. */
interface Target {
  /** The scoring server, or the router's `/api/v1/service/<name>` (cases add `/score`). */
  url: string;
  /** Sent with every case (the service key, through the router). */
  headers?: Record<string, string>;
  trained: string;
  inputs: Record<string, unknown>;
  expected: Record<string, string>;
  /** The replica log's messages so far. */
  logs(): string[];
}

interface Served extends Target {
  server: ScoringServer;
  initError?: Error;
}

/** A copy of the fixture's project folder (nothing is written into the repository) and its trained models. */
function train(f: Fixture): { work: string; appRoot: string; trained: string } {
  const work = tempDir(`aml-${f.name}`);
  const appRoot = path.join(work, "project");
  cpSync(f.dir, appRoot, { recursive: true });
  const trained = path.join(work, "trained");
  mkdirSync(trained);
  if (existsSync(path.join(appRoot, "train.py"))) {
    const run = spawnSync(PYTHON, ["train.py", trained], { cwd: appRoot, encoding: "utf8", env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } });
    assert.equal(run.status, 0, `${f.name}/train.py failed:\n${run.stderr}`);
  }
  return { work, appRoot, trained };
}

/** A log line's message (the replica logs pino JSON; anything else is kept as it is). */
function logMessage(line: string): string {
  try {
    return String((JSON.parse(line) as { msg?: unknown }).msg ?? line);
  } catch {
    return line;
  }
}

const readTrained = (trained: string, file: string) => (existsSync(path.join(trained, file)) ? (JSON.parse(readFileSync(path.join(trained, file), "utf8")) as Record<string, never>) : {});

/**
 * The fixture as Azure ML runs it: the project folder (a copy, so nothing is written into the
 * repository) as AML_APP_ROOT, each model at azureml-models/<name>/<version>/<file or folder>.
 */
async function serve(f: Fixture): Promise<Served> {
  const { work, appRoot, trained } = train(f);
  const models: Record<string, string> = {};
  for (const m of f.models) {
    const target = path.join(work, MODELS_ROOT, m.name, String(m.version));
    mkdirSync(target, { recursive: true });
    const entries = readdirSync(path.join(trained, m.name));
    for (const e of entries) renameSync(path.join(trained, m.name, e), path.join(target, e));
    models[m.name] = path.join(target, entries[0]);
  }
  mkdirSync(path.join(work, MODELS_ROOT), { recursive: true });
  const messages: string[] = [];
  const replicaLog = pino({ level: "info" }, { write: (line: string) => void messages.push(logMessage(line)) });
  const handler = new PythonHandler({
    python: PYTHON,
    appRoot,
    entryScript: "score.py",
    models: { modelDir: azuremlModelDir(work, f.models), models },
    modelsRoot: path.join(work, MODELS_ROOT),
    service: f.name,
    workers: 1,
    scoringTimeoutMs: 30_000,
    log: replicaLog,
  });
  const server = await startScoringServer({ service: f.name, replica: "r1", handler, log });
  const served: Served = { url: server.url, server, trained, inputs: readTrained(trained, "inputs.json"), expected: readTrained(trained, "expected.json"), logs: () => messages };
  try {
    await server.initialize();
  } catch (err) {
    served.initError = err as Error;
  }
  return served;
}

function fill(template: string, inputs: Record<string, unknown>, encode: (s: string) => string): string {
  return template.replace(/\$\{(\w+)\}/g, (_, key: string) => {
    if (!(key in inputs)) throw new Error(`no trained input '${key}'`);
    return encode(JSON.stringify(inputs[key]));
  });
}

async function send(s: Target, r: CaseRequest): Promise<Response> {
  const url = `${s.url}${fill(r.path ?? "/score", s.inputs, encodeURIComponent)}`;
  let body: RequestInit["body"];
  if (r.body !== undefined) body = fill(r.body, s.inputs, (x) => x);
  else if (r.bodyBase64 !== undefined) body = Buffer.from(r.bodyBase64, "base64");
  else if (r.bodyFile) body = readFileSync(path.join(s.trained, r.bodyFile));
  else if (r.multipart) {
    const form = new FormData();
    form.append(r.multipart.field, new Blob([readFileSync(path.join(s.trained, r.multipart.file))], { type: r.multipart.contentType }), r.multipart.file);
    body = form;
  }
  return fetch(url, { method: r.method, headers: { ...s.headers, ...r.headers }, body });
}

/** `actual` holds everything in `expected` (objects key by key; arrays and scalars exactly). */
function contains(actual: unknown, expected: unknown): boolean {
  if (expected && typeof expected === "object" && !Array.isArray(expected)) {
    if (!actual || typeof actual !== "object" || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([k, v]) => contains((actual as Record<string, unknown>)[k], v));
  }
  return isDeepStrictEqual(actual, expected);
}

/** Every difference between the answer and the upstream one, so a failure lists them all. */
async function differences(res: Response, e: CaseExpect, t: Target): Promise<string[]> {
  const expected = t.expected;
  const diffs: string[] = [];
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString("utf8");
  if (res.status !== e.status) diffs.push(`status ${res.status}, upstream ${e.status}`);
  const body = e.bodyExpected !== undefined ? expected[e.bodyExpected] : e.body;
  if (body !== undefined && text !== body) diffs.push(`body ${JSON.stringify(text)}, upstream ${JSON.stringify(body)}`);
  if (e.bodyBase64 !== undefined && !bytes.equals(Buffer.from(e.bodyBase64, "base64"))) diffs.push(`body (base64) ${bytes.toString("base64")}, upstream ${e.bodyBase64}`);
  if (e.jsonSubset !== undefined || e.jsonPatterns) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      diffs.push(`body is not JSON: ${text.slice(0, 200)}`);
    }
    if (json !== undefined && e.jsonSubset !== undefined && !contains(json, e.jsonSubset)) diffs.push(`JSON body ${text.slice(0, 600)} lacks ${JSON.stringify(e.jsonSubset)}`);
    for (const [k, p] of Object.entries(e.jsonPatterns ?? {})) {
      const v = (json as Record<string, unknown> | undefined)?.[k];
      if (!new RegExp(p).test(String(v))) diffs.push(`JSON ${k}=${JSON.stringify(v)}, upstream matches /${p}/`);
    }
  }
  for (const [h, v] of Object.entries(e.headers ?? {})) if (res.headers.get(h) !== v) diffs.push(`header ${h}: ${JSON.stringify(res.headers.get(h))}, upstream ${JSON.stringify(v)}`);
  for (const [h, p] of Object.entries(e.headerPatterns ?? {})) if (!new RegExp(p).test(res.headers.get(h) ?? "")) diffs.push(`header ${h}: ${JSON.stringify(res.headers.get(h))}, upstream matches /${p}/`);
  for (const h of e.headersPresent ?? []) if (!res.headers.has(h)) diffs.push(`header ${h} missing, upstream sends it`);
  for (const h of e.headersAbsent ?? []) if (res.headers.has(h)) diffs.push(`header ${h}: ${JSON.stringify(res.headers.get(h))}, upstream sends none`);
  for (const line of e.logIncludes ?? []) {
    // stdout is a pipe of its own: the printed line may arrive just after the answer.
    const deadline = Date.now() + 5_000;
    while (!t.logs().some((m) => m.includes(line)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (!t.logs().some((m) => m.includes(line))) diffs.push(`the replica log lacks the script's line ${JSON.stringify(line)}`);
  }
  return diffs;
}

describe("Azure ML v1 entry-script samples answer as Azure ML's scoring server does", function () {
  this.timeout(120_000);

  for (const f of fixtures()) {
    describe(f.name, () => {
      const skip = f.skip ?? missingPython(f.python);
      if (skip) {
        // Visible in the report as a pending test carrying its reason.
        it(`skipped: ${skip}`, function () {
          this.skip();
        });
        return;
      }
      let served: Served;
      before(async () => {
        served = await serve(f);
      });
      after(async () => {
        await served?.server.close();
      });

      if (f.initFailure) {
        it("fails init() with the Python traceback as the replica's reason", () => {
          assert.ok(served.initError, "init() succeeded");
          assert.match(served.initError.message, /Traceback \(most recent call last\)/);
          assert.ok(served.initError.message.includes(f.initFailure!), served.initError.message);
          assert.equal(served.server.state(), "failed");
        });
      } else {
        it("runs init() and reports ready", async () => {
          assert.equal(served.initError, undefined, served.initError?.message);
          assert.equal((await fetch(`${served.server.url}/readyz`)).status, 200);
        });
      }

      for (const c of f.cases) {
        it(c.name, async () => {
          const res = await send(served, c.request);
          const diffs = await differences(res, c.expect, served);
          if (diffs.length) assert.fail(`${c.request.method} ${c.request.path ?? "/score"} differs from upstream:\n  ${diffs.join("\n  ")}`);
        });
      }
    });
  }
});

/**
 * What a case expects behind the router. The router gives every request its id (the caller's
 * x-ms-request-id or x-request-id, else a new UUID) and forwards it as both, so the container's
 * fallback of x-ms-request-id to x-ms-client-request-id cannot show through it.
 */
function routedExpect(c: Fixture["cases"][number]): CaseExpect {
  const sent = Object.keys(c.request.headers ?? {}).map((h) => h.toLowerCase());
  if (sent.includes("x-ms-request-id") || sent.includes("x-request-id")) return c.expect;
  const drop = <T>(o: Record<string, T> | undefined) => (o ? Object.fromEntries(Object.entries(o).filter(([h]) => !["x-ms-request-id", "x-request-id"].includes(h.toLowerCase()))) : o);
  return { ...c.expect, headers: drop(c.expect.headers), headerPatterns: drop(c.expect.headerPatterns) };
}

describe("Azure ML v1 samples through local mode: router, key auth, models from the stack config", function () {
  this.timeout(180_000);
  const missing = missingPython();
  if (missing) {
    it(`skipped: ${missing}`, function () {
      this.skip();
    });
    return;
  }
  // Every sample that runs here: a file model, a folder model, two models (one at version 2),
  // @rawhttp scripts and a script whose import fails, each a service of one stack.
  const picked = fixtures().filter((f) => !f.skip && !missingPython(f.python));
  let local: LocalMode | undefined;
  const targets = new Map<string, Target>();
  let stateDir: string;
  const logLevel = process.env.LOG_LEVEL;
  const restoreLogLevel = () => {
    if (logLevel === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = logLevel;
  };

  before(async () => {
    const services = picked.map((f) => {
      const { appRoot, trained } = train(f);
      // The stack config names the project folder and each model's file or folder, relative to
      // the repository as a stack file does; bootstrap lays them out as azureml-models/<name>/<version>/.
      const rel = (p: string) => path.relative(REPO_ROOT, p);
      const models = f.models.map((m) => ({ name: m.name, version: m.version, path: rel(path.join(trained, m.name, readdirSync(path.join(trained, m.name))[0])) }));
      const logFile = () => path.join(stateDir, "logs", `${f.name}.log`);
      const logs = () => (existsSync(logFile()) ? readFileSync(logFile(), "utf8").split("\n").map(logMessage) : []);
      targets.set(f.name, { url: "", trained, inputs: readTrained(trained, "inputs.json"), expected: readTrained(trained, "expected.json"), logs });
      return { name: f.name, sourceDirectory: rel(appRoot), entryScript: "score.py", environment: { python: PYTHON }, models, cpuCores: 0.1, memoryGb: 0.5, numReplicas: 1 };
    });
    const config = parseStackConfig({ ...readStackFile(stackFilePath("dev", REPO_ROOT)), "aks-inference:services": services }, "amlsamples");
    stateDir = tempDir("aml-local");
    // Local mode's own log (every 4xx/5xx it routes) would flood the test output: its logger is
    // made, synchronously, as startLocal begins. The replicas start later and keep LOG_LEVEL as it
    // was, so what the scripts print still reaches their log files.
    process.env.LOG_LEVEL = "fatal";
    const starting = startLocal({ stack: "amlsamples", port: 0, dir: stateDir, repoRoot: REPO_ROOT, config, logLevel: "silent" });
    restoreLogLevel();
    local = await starting;
    for (const f of picked) {
      const deadline = Date.now() + 120_000;
      const settled = (s: ReturnType<LocalMode["status"]>) => (f.initFailure ? s.state === "Failed" : s.ready >= 1);
      for (let s = local.status(f.name); !settled(s); s = local.status(f.name)) {
        if ((!f.initFailure && s.state === "Failed") || Date.now() > deadline) throw new Error(`${f.name} did not become ${f.initFailure ? "Failed" : "ready"}: ${s.state} ${s.reason ?? ""}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const { primaryKey } = JSON.parse(readFileSync(path.join(stateDir, "keys", `${f.name}.json`), "utf8")) as { primaryKey: string };
      Object.assign(targets.get(f.name)!, { url: `${local.router.url}/api/v1/service/${f.name}`, headers: { authorization: `Bearer ${primaryKey}` } });
    }
  });
  after(async () => {
    await local?.stop();
  });

  for (const f of picked) {
    describe(f.name, () => {
      if (f.initFailure) {
        it("is Failed with the Python traceback in its state and its log", () => {
          const s = local!.status(f.name);
          assert.equal(s.state, "Failed");
          assert.ok(s.reason?.includes(f.initFailure!), `state reason: ${s.reason}`);
          assert.match(s.reason ?? "", /Traceback \(most recent call last\)/);
          const log = readFileSync(path.join(stateDir, "logs", `${f.name}.log`), "utf8");
          assert.ok(log.includes(f.initFailure!), `log:\n${log.slice(-2000)}`);
        });
      }
      it("refuses a request without the service key (401)", async () => {
        const t = targets.get(f.name)!;
        const res = await fetch(`${t.url}/score`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        assert.equal(res.status, 401);
      });
      // azureml-fe routes GET and POST of the scoring URI to the container; other methods and
      // paths are the router's own business.
      const routed = (r: CaseRequest) => ["GET", "POST"].includes(r.method) && /^\/score(\?|$)/.test(r.path ?? "/score");
      for (const c of f.cases.filter((c) => routed(c.request))) {
        it(`${c.name} (through the router)`, async () => {
          const res = await send(targets.get(f.name)!, c.request);
          const diffs = await differences(res, routedExpect(c), targets.get(f.name)!);
          if (diffs.length) assert.fail(`${c.request.method} ${c.request.path ?? "/score"} through the router differs from upstream:\n  ${diffs.join("\n  ")}`);
        });
      }
    });
  }
});
