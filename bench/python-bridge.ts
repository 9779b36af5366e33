/**
 * The Python bridge's cost per call: a trivial `run()` answered through a worker (framing, the
 * fd 3/4 pipes, the worker's parsing and json.dumps, back) against the same function called
 * in-process in Python. The difference of the medians is the bridge's overhead per request.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { PythonHandler } from "../scoring/pythonHandler";
import type { BenchResult } from "./common";

const CALLS = 3000;
const WARMUP = 300;
const SCRIPT = "import json\ndef init():\n    pass\ndef run(raw_data):\n    return {'n': len(raw_data)}\n";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The interpreter the bench uses: AKS_INFERENCE_PYTHON, else Debian's, else the first on PATH. */
function python(): string {
  for (const p of [process.env.AKS_INFERENCE_PYTHON, "/usr/bin/python3", "python3"]) {
    if (p && spawnSync(p, ["-c", "pass"]).status === 0) return p;
  }
  throw new Error("no python3 to run the bridge benchmark with");
}

export async function pythonBridge(): Promise<BenchResult> {
  const py = python();
  const dir = path.join(os.tmpdir(), `aksinf-bench-python-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "score.py"), SCRIPT);

  // In-process: run(raw_data) and json.dumps of its result, as the worker does, timed per call.
  const inProc = spawnSync(
    py,
    [
      "-c",
      `import json, time, importlib.util, statistics
spec = importlib.util.spec_from_file_location("entry_module", "score.py"); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); m.init()
body = '{"data": [[1, 2, 3, 4]]}'.encode()
xs = []
for i in range(${CALLS + WARMUP}):
    t = time.perf_counter_ns(); json.dumps(m.run(str(body, "utf-8"))).encode(); xs.append(time.perf_counter_ns() - t)
print(statistics.median(xs[${WARMUP}:]) / 1e6)`,
    ],
    { cwd: dir, encoding: "utf8" },
  );
  if (inProc.status !== 0) throw new Error(`in-process timing failed: ${inProc.stderr}`);
  const inProcessMs = Number(inProc.stdout.trim());

  const handler = new PythonHandler({
    python: py,
    appRoot: dir,
    entryScript: "score.py",
    models: { modelDir: dir, models: {} },
    modelsRoot: path.join(dir, "azureml-models"),
    service: "bench",
    workers: 1,
    scoringTimeoutMs: 60_000,
    log: pino({ level: "warn" }),
  });
  await handler.init();
  const body = Buffer.from('{"data": [[1, 2, 3, 4]]}');
  const times: number[] = [];
  try {
    for (let i = 0; i < CALLS + WARMUP; i++) {
      const t = performance.now();
      const r = await handler.score({ method: "POST", path: "/score", query: "", headers: [["Content-Type", "application/json"]], body: [body], bodyLength: body.length });
      if (i >= WARMUP) times.push(performance.now() - t);
      if (r.status !== 200) throw new Error(`run() answered ${r.status}`);
    }
  } finally {
    await handler.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const bridgeMs = median(times);
  const sorted = [...times].sort((a, b) => a - b);
  const overhead = bridgeMs - inProcessMs;
  console.error(`python bridge: median per-call overhead ${(overhead * 1000).toFixed(0)} µs (bridge ${bridgeMs.toFixed(3)} ms, in-process ${inProcessMs.toFixed(4)} ms)`);
  return {
    name: "python bridge",
    rows: [
      { metric: "median per-call overhead (bridge − in-process)", value: overhead, unit: "ms" },
      { metric: "bridge: median per call", value: bridgeMs, unit: "ms" },
      { metric: "bridge: p99 per call", value: sorted[Math.floor(sorted.length * 0.99)], unit: "ms" },
      { metric: "in-process Python: median per call", value: inProcessMs, unit: "ms" },
    ],
    notes: [
      `${CALLS} sequential calls of a trivial run(raw_data) after ${WARMUP} warm-up calls, one worker under ${py}; the bridge figure is the scoring server's handler call (frame out on fd 3, worker parses and json.dumps, frame back on fd 4), without HTTP. Target: at most 0.5 ms median overhead.`,
    ],
  };
}

if (require.main === module) {
  pythonBridge().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
