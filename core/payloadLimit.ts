/**
 * The request body a service can take without its replica running out of memory. Parsing a JSON
 * body costs a replica several times the body's size (the bytes, the text, the parsed values, and
 * in Python the objects json.loads makes): measured by `npm run bench` ("replica memory per MB of
 * body") at 3.8-4.8 MB per MB for a JavaScript script and 6.6-6.7 for a Python one. A 99 MB body
 * sent to a 0.5 GB replica is an OOM kill, so the router refuses (413) what the service's memory
 * cannot hold, before anything is forwarded.
 */

import { MAX_PAYLOAD_MB } from "./config";

/** The largest request body anywhere (router, replica, policy): Azure ML's 100 MB, in bytes. */
export const MAX_PAYLOAD_BYTES = MAX_PAYLOAD_MB * 1024 * 1024;

/** Memory a replica uses before any request: Node, the scoring server, a Python worker, the model. */
export const REPLICA_BASELINE_MB = 150;
/** Memory per MB of body, rounded up from the measured factors (Python's 6.7) for headroom. */
export const BODY_MEMORY_FACTOR = 8;

/**
 * The body limit of a service in bytes: what its memory holds after the baseline at the factor,
 * never above the router's limit, and never below 1 MiB (a replica that small is refused nothing
 * it could ever have served).
 */
export function servicePayloadLimitBytes(memoryGb: number, routerLimitBytes: number): number {
  const fits = Math.floor(((memoryGb * 1024 - REPLICA_BASELINE_MB) / BODY_MEMORY_FACTOR) * 1024 * 1024);
  return Math.min(routerLimitBytes, Math.max(1024 * 1024, fits));
}
