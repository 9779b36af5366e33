/**
 * Request ids: the one rule the router and both kinds of replica (Python, JavaScript/ONNX) apply,
 * Azure ML's scoring server's (azureml-inference-server-http `server/routes.py` `_init_headers`
 * and `populate_response_headers`), so that a Python service answers as it did in Azure ML and the
 * router never forwards an id a replica would refuse.
 *
 * - Headers: `x-request-id` (the request's id), `x-ms-request-id` (deprecated upstream, the one v1
 *   clients read) and `x-ms-client-request-id` (the caller's own id).
 * - Precedence: `x-request-id` is the caller's, else a new UUID; `x-ms-request-id` is the caller's,
 *   else its client request id, else the request id; the client request id is the caller's, else
 *   its `x-ms-request-id`, else none.
 * - Limit: REQUEST_ID_LIMIT characters in each of the three, else 431 with Azure ML's message.
 * - Characters: whatever an HTTP field value may hold; Node's parser refuses the rest (CR, LF, NUL
 *   and other controls) before any of this runs, an echo therefore cannot split a header, and logs
 *   are JSON. Nothing is filtered or replaced: Azure ML echoed ids as sent.
 * - An empty header counts as absent (upstream would keep an empty request id and echo none; an
 *   empty id identifies nothing).
 * - Echoed on every answer: `x-request-id`, `x-ms-request-id`, `x-ms-client-request-id` when there
 *   is one, and a `TraceId` request header (Office services' tracing field) as sent.
 */

/** Longest id Azure ML's scoring server accepts in any of the three headers. */
export const REQUEST_ID_LIMIT = 100;

const TOO_LONG_REQUEST_ID = `x-request-id must not exceed ${REQUEST_ID_LIMIT} characters`;
const TOO_LONG_CLIENT_ID = `x-ms-request-id and x-ms-client-request-id must not exceed ${REQUEST_ID_LIMIT} characters`;

export interface RequestIds {
  /** `x-request-id`. */
  requestId: string;
  /** `x-ms-request-id`: the id the router logs and forwards. */
  msRequestId: string;
  /** `x-ms-client-request-id`; "" when the caller sent neither it nor `x-ms-request-id`. */
  clientRequestId: string;
  traceId?: string;
}

export type RequestIdOutcome =
  | { ids: RequestIds }
  /** 431: what was too long, in Azure ML's words, and the request id when it was not the one (upstream still echoes it). */
  | { tooLong: string; requestId?: string; traceId?: string };

/** Reads a request's ids through `get` (a header by lower-case name); `newId` makes a UUID. */
export function readRequestIds(get: (name: string) => string | undefined, newId: () => string): RequestIdOutcome {
  // `||`: an empty header counts as absent.
  const requestId = get("x-request-id") || newId();
  const traceId = get("traceid");
  if (requestId.length > REQUEST_ID_LIMIT) return traceId === undefined ? { tooLong: TOO_LONG_REQUEST_ID } : { tooLong: TOO_LONG_REQUEST_ID, traceId };
  const legacy = get("x-ms-request-id") || undefined;
  const client = get("x-ms-client-request-id") || legacy || "";
  const msRequestId = legacy ?? (client || requestId);
  if (msRequestId.length > REQUEST_ID_LIMIT || client.length > REQUEST_ID_LIMIT) {
    return traceId === undefined ? { tooLong: TOO_LONG_CLIENT_ID, requestId } : { tooLong: TOO_LONG_CLIENT_ID, requestId, traceId };
  }
  return { ids: traceId === undefined ? { requestId, msRequestId, clientRequestId: client } : { requestId, msRequestId, clientRequestId: client, traceId } };
}

/** The id headers an answer carries, in Azure ML's order. */
export function echoHeaders(ids: RequestIds): [string, string][] {
  const out: [string, string][] = [
    ["x-request-id", ids.requestId],
    ["x-ms-request-id", ids.msRequestId],
  ];
  if (ids.clientRequestId) out.push(["x-ms-client-request-id", ids.clientRequestId]);
  if (ids.traceId !== undefined) out.push(["TraceId", ids.traceId]);
  return out;
}

/**
 * The ids a replica reads from what the router forwards it: the router's id (`msRequestId`) as
 * both `x-ms-request-id` and `x-request-id`, the caller's `x-ms-client-request-id` and `TraceId`
 * as sent (router/proxy.ts). The router echoes these on its own answers too, so that an answer
 * carries the same ids whether the router or the replica gave it.
 */
export function idsBehindRouter(ids: RequestIds): RequestIds {
  return { ...ids, requestId: ids.msRequestId, clientRequestId: ids.clientRequestId || ids.msRequestId };
}

/** A `get` for readRequestIds over Node's parsed headers (repeats joined as Node joins them). */
export function headerReader(headers: Readonly<Record<string, string | string[] | undefined>>): (name: string) => string | undefined {
  return (name) => {
    const v = headers[name];
    return Array.isArray(v) ? v.join(", ") : v;
  };
}
