/**
 * The answers the scoring server gives itself as Azure ML's scoring server does: Python's JSON
 * spelling, error bodies and headers, swagger lookup and the request-id headers with their limits.
 */
import * as assert from "node:assert/strict";
import {
  amlErrorResponse,
  amlJsonResponse,
  INTERNAL_ERROR_MESSAGE,
  METHOD_NOT_ALLOWED_MESSAGE,
  methodNotAllowed,
  NOT_FOUND_MESSAGE,
  pythonJson,
  requestIdHeaders,
  swaggerAnswer,
  type FullResponse,
} from "../../core/contracts/amlScoring";
import { REQUEST_ID_LIMIT } from "../../core/contracts/requestId";

const body = (r: FullResponse) => Buffer.concat(r.body).toString("utf8");
const headersOf = (h: Record<string, string>) => (name: string) => h[name];

describe("Azure ML scoring server answers", () => {
  it("writes JSON as Python's json.dumps: spaces after separators, non-ASCII escaped, null for missing", () => {
    assert.equal(pythonJson({ a: [1, "b", null, undefined, true], "é": { x: 1.5 } }), '{"a": [1, "b", null, null, true], "\\u00e9": {"x": 1.5}}');
    assert.equal(pythonJson("snow ☃ \u007f"), '"snow \\u2603 \\u007f"');
    assert.equal(pythonJson("plain ~"), '"plain ~"');
    assert.equal(pythonJson([]), "[]");
    assert.equal(pythonJson({}), "{}");
    assert.equal(pythonJson(null), "null");
    assert.equal(pythonJson(3), "3");
  });

  it("error bodies are {\"message\": ...} with the run-function-failed header", () => {
    assert.deepEqual(amlErrorResponse(500, INTERNAL_ERROR_MESSAGE, true), {
      status: 500,
      headers: [
        ["Content-Type", "application/json"],
        ["x-ms-run-function-failed", "True"],
      ],
      body: [Buffer.from('{"message": "An unexpected internal error occurred. Check the logs for more info."}')],
    });
    assert.deepEqual(amlJsonResponse(200, { ok: 1 }).headers, [
      ["Content-Type", "application/json"],
      ["x-ms-run-function-failed", "False"],
    ]);
    assert.equal(NOT_FOUND_MESSAGE, "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.");
  });

  it("405 lists the allowed methods", () => {
    const r = methodNotAllowed(["GET", "POST"]);
    assert.equal(r.status, 405);
    assert.deepEqual(r.headers.at(-1), ["Allow", "GET, POST"]);
    assert.equal(body(r), `{"message": "${METHOD_NOT_ALLOWED_MESSAGE}"}`);
    assert.equal(METHOD_NOT_ALLOWED_MESSAGE, "The method is not allowed for the requested URL.");
    assert.deepEqual(r.headers.slice(0, 2), [
      ["Content-Type", "application/json"],
      ["x-ms-run-function-failed", "False"],
    ], "a routing error is not the run function failing");
  });

  describe("swagger", () => {
    const swagger = { docs: { "2": '{"swagger": "2.0"}', "3": '{"openapi": "3.0.1"}' }, supported: ["3", "2"] };
    it("version 2 by default, the document as the worker wrote it", () => {
      const r = swaggerAnswer(swagger, undefined);
      assert.equal(r.status, 200);
      assert.equal(body(r), '{"swagger": "2.0"}');
      assert.deepEqual(r.headers, [
        ["Content-Type", "application/json"],
        ["x-ms-run-function-failed", "False"],
      ]);
      assert.equal(body(swaggerAnswer(swagger, "3")), '{"openapi": "3.0.1"}');
    });
    it("an unknown version and a version the script lacks get that server's two 404 messages, versions sorted", () => {
      const unknown = swaggerAnswer(swagger, "4");
      assert.equal(unknown.status, 404);
      assert.equal(body(unknown), '{"message": "Swagger version [4] is not valid. Supported versions: [2, 3]."}');
      const missing = swaggerAnswer(swagger, "3.1");
      assert.equal(missing.status, 404);
      assert.equal(body(missing), '{"message": "Swagger version [3.1] is not supported for the scoring script. Supported swagger versions: [2, 3]."}');
      for (const v of ["2.0", "3.0"]) assert.equal(swaggerAnswer(swagger, v).status, 404, `${v} is a valid version the script lacks`);
      assert.match(body(swaggerAnswer(swagger, "2.0")), /not supported for the scoring script/);
      assert.match(body(swaggerAnswer(swagger, "3.0")), /not supported for the scoring script/);
    });
  });

  describe("request ids", () => {
    it("a new x-request-id when the caller sends none, also as x-ms-request-id; no client id", () => {
      assert.deepEqual(requestIdHeaders(headersOf({}), () => "new"), { headers: [["x-request-id", "new"], ["x-ms-request-id", "new"]] });
    });
    it("the caller's x-ms-request-id also becomes the client request id", () => {
      assert.deepEqual(requestIdHeaders(headersOf({ "x-request-id": "r", "x-ms-request-id": "legacy" }), () => "new").headers, [
        ["x-request-id", "r"],
        ["x-ms-request-id", "legacy"],
        ["x-ms-client-request-id", "legacy"],
      ]);
    });
    it("the client request id becomes x-ms-request-id when that is absent; TraceId is echoed last", () => {
      assert.deepEqual(requestIdHeaders(headersOf({ "x-ms-client-request-id": "c", traceid: "t" }), () => "new").headers, [
        ["x-request-id", "new"],
        ["x-ms-request-id", "c"],
        ["x-ms-client-request-id", "c"],
        ["TraceId", "t"],
      ]);
      assert.deepEqual(requestIdHeaders(headersOf({ "x-ms-request-id": "l", "x-ms-client-request-id": "c" }), () => "n").headers, [
        ["x-request-id", "n"],
        ["x-ms-request-id", "l"],
        ["x-ms-client-request-id", "c"],
      ]);
    });
    it("refuses ids over 100 characters with 431 and the header's name; exactly 100 is fine", () => {
      assert.equal(REQUEST_ID_LIMIT, 100);
      const ok = "x".repeat(100);
      const long = "x".repeat(101);
      assert.equal(requestIdHeaders(headersOf({ "x-request-id": ok, "x-ms-request-id": ok, "x-ms-client-request-id": ok }), () => "n").error, undefined);
      const tooLong = requestIdHeaders(headersOf({ "x-request-id": long, traceid: "t" }), () => "n");
      assert.equal(tooLong.error?.status, 431);
      assert.equal(body(tooLong.error!), '{"message": "x-request-id must not exceed 100 characters"}');
      assert.deepEqual(tooLong.headers, [["TraceId", "t"]]);
      for (const h of ["x-ms-request-id", "x-ms-client-request-id"]) {
        const r = requestIdHeaders(headersOf({ "x-request-id": "r", [h]: long }), () => "n");
        assert.equal(r.error?.status, 431, h);
        assert.equal(body(r.error!), '{"message": "x-ms-request-id and x-ms-client-request-id must not exceed 100 characters"}');
        assert.deepEqual(r.headers, [["x-request-id", "r"]]);
      }
      const legacyLong = requestIdHeaders(headersOf({ "x-ms-request-id": long, "x-ms-client-request-id": "c" }), () => "n");
      assert.equal(legacyLong.error?.status, 431, "x-ms-request-id alone too long");
      const clientLong = requestIdHeaders(headersOf({ "x-ms-request-id": "l", "x-ms-client-request-id": long }), () => "n");
      assert.equal(clientLong.error?.status, 431, "x-ms-client-request-id alone too long");
    });
  });
});
