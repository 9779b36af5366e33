/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and `tracestate`
 * headers as the router and the replicas read and write them. Pure string checks, no
 * OpenTelemetry: the router runs this on every request.
 *
 * - `traceparent`: `<version>-<trace id: 32 hex>-<parent id: 16 hex>-<flags: 2 hex>`, lower-case;
 *   all-zero ids and version `ff` are invalid. Version 00 is exactly 55 characters; a later
 *   version may append fields after a `-` (read as 00, as the specification asks).
 * - `tracestate`: at most 32 `key=value` members, kept only beside a valid `traceparent`.
 * - A mirrored copy (router/mirror.ts) is a span of its own in the same trace; plain HTTP has no
 *   way to say "linked to", so the copy's `tracestate` names the original's span under
 *   MIRROR_OF_KEY, and the replica turns that into a span link.
 */

export interface TraceParent {
  traceId: string;
  /** The caller's span id. */
  parentId: string;
  flags: string;
}

/** The trace context the router forwards for one request: the caller's (or a new one), and the span id it names as parent. */
export interface RouterTrace {
  traceId: string;
  spanId: string;
  flags: string;
  /** The caller's span id, when it sent a valid traceparent. */
  parentId?: string;
  tracestate?: string;
}

/** The tracestate key a mirrored copy carries: the span id of the request it copies. */
export const MIRROR_OF_KEY = "aksinf-mirror-of";
/** Flags of a trace the router starts: sampled, so the replicas record it. */
const SAMPLED = "01";
const MAX_TRACESTATE_MEMBERS = 32;

const HEX = /^[0-9a-f]+$/;
const isHex = (s: string, length: number): boolean => s.length === length && HEX.test(s);
const allZeros = (s: string): boolean => /^0+$/.test(s);

/** A valid `traceparent`'s fields; undefined for anything else (missing, malformed, all-zero ids, version ff). */
export function parseTraceparent(value: string | undefined): TraceParent | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v.length < 55) return undefined;
  const version = v.slice(0, 2);
  if (!isHex(version, 2) || version === "ff") return undefined;
  // Version 00 has exactly four fields; a later one may append more after a dash.
  if (version === "00" ? v.length !== 55 : v.length > 55 && v[55] !== "-") return undefined;
  if (v[2] !== "-" || v[35] !== "-" || v[52] !== "-") return undefined;
  const traceId = v.slice(3, 35);
  const parentId = v.slice(36, 52);
  const flags = v.slice(53, 55);
  if (!isHex(traceId, 32) || !isHex(parentId, 16) || !isHex(flags, 2) || allZeros(traceId) || allZeros(parentId)) return undefined;
  return { traceId, parentId, flags };
}

export function formatTraceparent(traceId: string, spanId: string, flags: string): string {
  return `00-${traceId}-${spanId}-${flags}`;
}

// A key: simple (`a-z` then up to 255 of a-z 0-9 _ - * /) or multi-tenant (`tenant@system`).
const KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
// A value: 1-256 printable ASCII characters except `,` and `=`, not ending in a space.
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** The members of a valid `tracestate` (empty members dropped); undefined when any member is invalid or there are too many. */
function tracestateMembers(value: string): string[] | undefined {
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of value.split(",")) {
    const member = raw.trim();
    if (member === "") continue;
    const eq = member.indexOf("=");
    if (eq < 0) return undefined;
    const key = member.slice(0, eq);
    if (!KEY.test(key) || !VALUE.test(member.slice(eq + 1)) || keys.has(key)) return undefined;
    keys.add(key);
    members.push(member);
  }
  return members.length > MAX_TRACESTATE_MEMBERS ? undefined : members;
}

/** A valid `tracestate` as a comma-separated list; undefined when absent, empty or invalid (it is then dropped, not repaired). */
export function validTracestate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const members = tracestateMembers(value);
  return members && members.length > 0 ? members.join(",") : undefined;
}

/**
 * The trace context a request goes on with. A caller's valid `traceparent` passes unchanged (its
 * `tracestate` too when valid): the router records no span of its own, so a parent id of its own
 * would point the replica's request record at a span no record carries, and a script that reads
 * the header (Azure ML samples print it) sees what the caller sent, as without the router.
 * Without a valid one the router starts a sampled trace, with a new trace id and parent id.
 * `randomHex(n)` gives n random hex characters.
 */
export function routerTrace(traceparent: string | undefined, tracestate: string | undefined, randomHex: (chars: number) => string): RouterTrace {
  const parent = parseTraceparent(traceparent);
  if (!parent) {
    const spanId = nonZero(randomHex, 16);
    return { traceId: nonZero(randomHex, 32), spanId, flags: SAMPLED };
  }
  const state = validTracestate(tracestate);
  return { traceId: parent.traceId, spanId: parent.parentId, flags: parent.flags, parentId: parent.parentId, ...(state === undefined ? {} : { tracestate: state }) };
}

/** An id of `chars` random hex characters that is not all zeros (an all-zero id is invalid). */
function nonZero(randomHex: (chars: number) => string, chars: number): string {
  for (;;) {
    const id = randomHex(chars);
    if (!allZeros(id)) return id;
  }
}

/** A new span id for a copy of a request (a mirrored one). */
export function newSpanId(randomHex: (chars: number) => string): string {
  return nonZero(randomHex, 16);
}

/**
 * The `tracestate` of a mirrored copy: MIRROR_OF_KEY naming the original's span first (the
 * newest member leads, per the specification), then the caller's members, at most 32 in all.
 */
export function mirrorTracestate(tracestate: string | undefined, originalSpanId: string): string {
  const others = (validTracestate(tracestate)?.split(",") ?? []).filter((m) => !m.startsWith(`${MIRROR_OF_KEY}=`));
  return [`${MIRROR_OF_KEY}=${originalSpanId}`, ...others].slice(0, MAX_TRACESTATE_MEMBERS).join(",");
}

/** The span id a mirrored copy's `tracestate` names as its original; undefined for anything else. */
export function mirroredFrom(tracestate: string | undefined): string | undefined {
  const member = validTracestate(tracestate)
    ?.split(",")
    .find((m) => m.startsWith(`${MIRROR_OF_KEY}=`));
  const id = member?.slice(MIRROR_OF_KEY.length + 1);
  return id !== undefined && isHex(id, 16) && !allZeros(id) ? id : undefined;
}
