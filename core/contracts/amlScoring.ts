/**
 * The answers of Azure ML's scoring server (azureml-inference-server-http 1.5.x) that the Node
 * scoring server gives itself for Python services, without a worker: error bodies, routing
 * errors, swagger lookup, request-id headers. Pure functions; the worker answers the rest.
 */
import { echoHeaders, readRequestIds } from "./requestId";

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

/**
 * The request-id headers that server puts on every answer, by the one rule (core/contracts/requestId.ts); an
 * id over the limit is refused with its 431, which carries the request id when that was not the
 * one too long, and the `TraceId`.
 */
export function requestIdHeaders(get: (name: string) => string | undefined, newId: () => string): { headers: [string, string][]; error?: FullResponse } {
  const read = readRequestIds(get, newId);
  if ("ids" in read) return { headers: echoHeaders(read.ids) };
  const headers: [string, string][] = [];
  if (read.requestId !== undefined) headers.push(["x-request-id", read.requestId]);
  if (read.traceId !== undefined) headers.push(["TraceId", read.traceId]);
  return { headers, error: amlErrorResponse(431, read.tooLong) };
}
