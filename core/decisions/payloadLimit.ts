/**
 * The request body a service can take without its replica running out of memory. Answering a JSON
 * body costs a replica many times the body's size (the bytes, the text, the parsed values, the
 * tensor or the script's own copies, the answer), and how many depends on what answers it: the
 * built-in ONNX handler, a JavaScript entry script, or a Python one. A body a replica cannot hold
 * is an OOM kill (of every request it runs), so the router refuses (413) what the service's
 * memory cannot hold, before anything is forwarded.
 */

import { MAX_PAYLOAD_MB, isPythonEntryScript, type ModelVersionConfig } from "../config";

const MiB = 1024 * 1024;

/** The largest request body anywhere (router, replica, policy): Azure ML's 100 MB, in bytes. */
export const MAX_PAYLOAD_BYTES = MAX_PAYLOAD_MB * MiB;

/** The router's body limit in bytes: `router.payloadLimitMb`, never above Azure ML's 100 MB. */
export function routerPayloadLimitBytes(payloadLimitMb: number): number {
  return Math.floor(Math.min(payloadLimitMb, MAX_PAYLOAD_MB) * MiB);
}

/** What answers a service's requests: the built-in ONNX handler, a JavaScript entry script, or a Python one. */
export type HandlerKind = "onnx" | "javascript" | "python";

/** The handler a service's replicas run, as scoring/main.ts picks it: by the entry script's extension, ONNX without one. */
export function handlerKindOf(entryScript: string | undefined): HandlerKind {
  if (!entryScript) return "onnx";
  return isPythonEntryScript(entryScript) ? "python" : "javascript";
}

/**
 * Memory of a replica per handler, from `npm run bench -- replica-memory` (bench/replica-memory.ts:
 * a fresh replica per body of 5, 10 and 20 MB, peak RSS of its process tree over its idle RSS).
 * Bodies are rows of 4 numbers; the worst shape sets the factor: one-digit values for ONNX and
 * JavaScript (the most values and arrays per MB), short floats such as 0.5 for Python (a Python
 * float object each). Measured (Node 20, 2 cores):
 *
 * - onnx: idle 98 MB; 33.4–35.6 MB per MB of one-digit rows, 8.6–11 of 9-decimal floats. The JSON
 *   values, the tensor, and an answer of nested arrays (one per row) as big again as the body.
 * - javascript (`run(input)` counting rows): idle 79 MB; 14.0–15.6 MB per MB.
 * - python (`np.array(json.loads(raw_data)["data"])`): idle 112 MB (numpy loaded); 16.2–16.6 MB per MB.
 *
 * The factors are rounded up for headroom; the baseline is the idle replica plus 50 MB for the
 * model and the script's own state.
 */
export const HANDLER_MEMORY: Readonly<Record<HandlerKind, { baselineMb: number; factor: number }>> = {
  onnx: { baselineMb: 150, factor: 40 },
  javascript: { baselineMb: 130, factor: 18 },
  python: { baselineMb: 170, factor: 18 },
};

/**
 * The body limit of a service in bytes: what its memory holds after its handler's baseline, at its
 * handler's factor; never above the router's limit, and never below 1 MiB (a replica that small
 * is refused nothing it could ever have served).
 */
export function servicePayloadLimitBytes(memoryGb: number, kind: HandlerKind, routerLimitBytes: number): number {
  const { baselineMb, factor } = HANDLER_MEMORY[kind];
  const fits = Math.floor(((memoryGb * 1024 - baselineMb) / factor) * MiB);
  return Math.min(routerLimitBytes, Math.max(MiB, fits));
}

/**
 * The body limit of one service version: its memory, at the factor of the handler its entry
 * script picks. The router announces it (core/contracts/routingSettings.ts) and the replica guards it
 * (core/contracts/scoringEnv.ts): both read it here, so they cannot disagree.
 */
export function versionPayloadLimitBytes(v: Pick<ModelVersionConfig, "memoryGb" | "entryScript">, routerLimitBytes: number): number {
  return servicePayloadLimitBytes(v.memoryGb, handlerKindOf(v.entryScript), routerLimitBytes);
}
