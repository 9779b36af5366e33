/**
 * The answers of Azure ML's scoring server (azureml-inference-server-http 1.5.x) that the Node
 * scoring server gives itself for Python services, without a worker: error bodies, routing
 * errors, swagger lookup, request-id headers. Pure functions; the worker answers the rest.
 */

/** A whole HTTP answer, sent as is. */
export interface FullResponse {
  status: number;
  /** In order; a name may repeat. */
  headers: [string, string][];
  body: Buffer[];
}

/** Werkzeug's descriptions of its routing errors, which that server returns as `{"message": ...}`. */
export const NOT_FOUND_MESSAGE = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";
export const METHOD_NOT_ALLOWED_MESSAGE = "The method is not allowed for the requested URL.";
export const INTERNAL_ERROR_MESSAGE = "An unexpected internal error occurred. Check the logs for more info.";

/** `ErrorResponse(status, message, run_function_failed)`: `{"message": ...}` as json.dumps writes it. */
export function amlErrorResponse(status: number, message: string, runFunctionFailed = false): FullResponse {
  return amlJsonResponse(status, { message }, runFunctionFailed);
}

/** Werkzeug's 405 for a route, with the methods it does allow. */
export function methodNotAllowed(allow: readonly string[]): FullResponse {
  const answer = amlErrorResponse(405, METHOD_NOT_ALLOWED_MESSAGE);
  answer.headers.push(["Allow", allow.join(", ")]);
  return answer;
}

/** `AMLResponse(obj, status, json_str=True)`: Python's json.dumps separators (", " and ": "). */
export function amlJsonResponse(status: number, obj: unknown, runFunctionFailed = false): FullResponse {
  return {
    status,
    headers: [
      ["Content-Type", "application/json"],
      ["x-ms-run-function-failed", runFunctionFailed ? "True" : "False"],
    ],
    body: [Buffer.from(pythonJson(obj), "utf8")],
  };
}

/** JSON as Python's `json.dumps` writes it by default (spaces after separators, non-ASCII escaped). */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  if (typeof value === "object") return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${asciiString(k)}: ${pythonJson(v)}`).join(", ")}}`;
  if (typeof value === "string") return asciiString(value);
  return JSON.stringify(value);
}

function asciiString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Swagger documents a worker generated (or read from the project) per version alias. */
export interface SwaggerDocs {
  /** Serialised by the worker with json.dumps, so numbers keep Python's spelling (1.0, not 1). */
  docs: Record<string, string>;
  /** Versions available for the script, e.g. ["2", "3", "3.1"]. */
  supported: string[];
}

const SWAGGER_VERSIONS = new Set(["2", "2.0", "3", "3.0", "3.1"]);

/** `GET /swagger.json?version=v` (default 2): the document, or that server's 404 messages. */
export function swaggerAnswer(swagger: SwaggerDocs, version: string | undefined): FullResponse {
  const v = version ?? "2";
  const list = [...swagger.supported].sort().join(", ");
  if (!SWAGGER_VERSIONS.has(v)) return amlErrorResponse(404, `Swagger version [${v}] is not valid. Supported versions: [${list}].`);
  const doc = swagger.docs[v];
  if (!doc) return amlErrorResponse(404, `Swagger version [${v}] is not supported for the scoring script. Supported swagger versions: [${list}].`);
  return { status: 200, headers: [["Content-Type", "application/json"], ["x-ms-run-function-failed", "False"]], body: [Buffer.from(doc, "utf8")] };
}

/** Longest request-id header value that server accepts (it answers 431 beyond). */
export const REQUEST_ID_LIMIT = 100;

/**
 * The request-id headers that server puts on every answer: `x-request-id` (the caller's or a new
 * UUID), `x-ms-request-id` (deprecated: the caller's, else the client request id, else the request
 * id) and `x-ms-client-request-id` (the caller's, or the caller's x-ms-request-id). An id longer
 * than 100 characters is refused with 431. A `TraceId` header (Office services' tracing field) is
 * echoed.
 */
export function requestIdHeaders(get: (name: string) => string | undefined, newId: () => string): { headers: [string, string][]; error?: FullResponse } {
  const traceId = get("traceid");
  const trace: [string, string][] = traceId === undefined ? [] : [["TraceId", traceId]];
  const requestId = get("x-request-id") ?? newId();
  if (requestId.length > REQUEST_ID_LIMIT) return { headers: trace, error: amlErrorResponse(431, `x-request-id must not exceed ${REQUEST_ID_LIMIT} characters`) };
  let legacy = get("x-ms-request-id") ?? "";
  let client = get("x-ms-client-request-id") ?? "";
  if (legacy) client ||= legacy;
  else legacy = client || requestId;
  if (legacy.length > REQUEST_ID_LIMIT || client.length > REQUEST_ID_LIMIT) {
    return { headers: [["x-request-id", requestId], ...trace], error: amlErrorResponse(431, `x-ms-request-id and x-ms-client-request-id must not exceed ${REQUEST_ID_LIMIT} characters`) };
  }
  const headers: [string, string][] = [["x-request-id", requestId], ["x-ms-request-id", legacy]];
  if (client) headers.push(["x-ms-client-request-id", client]);
  return { headers: [...headers, ...trace] };
}
