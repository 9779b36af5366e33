import * as assert from "node:assert/strict";
import { MAX_JSON_DEPTH, jsonDeeperThan } from "../../core/decisions/jsonDepth";

describe("JSON nesting depth", () => {
  const nested = (n: number) => Buffer.from(`${"[".repeat(n)}1${"]".repeat(n)}`);

  it("finds nesting beyond the limit, across chunk boundaries", () => {
    assert.equal(jsonDeeperThan([nested(MAX_JSON_DEPTH)]), false);
    assert.equal(jsonDeeperThan([nested(MAX_JSON_DEPTH + 1)]), true);
    const deep = nested(600);
    assert.equal(jsonDeeperThan([deep.subarray(0, 300), deep.subarray(300)]), true);
  });

  it("does not count brackets inside strings, escaped quotes included", () => {
    const text = `{"a": "${"[".repeat(1000)}\\"${"{".repeat(1000)}", "b": [[1]]}`;
    assert.equal(jsonDeeperThan([Buffer.from(text)], 3), false);
    assert.equal(jsonDeeperThan([Buffer.from(text)], 2), true);
  });
});

describe("JSON nesting depth: what counts", () => {
  it("allows 512 levels by default", () => {
    assert.equal(MAX_JSON_DEPTH, 512);
    assert.equal(jsonDeeperThan([Buffer.from(`${"[".repeat(512)}${"]".repeat(512)}`)]), false);
    assert.equal(jsonDeeperThan([Buffer.from("[".repeat(513))]), true);
  });

  it("counts depth, not the number of brackets: closed arrays and objects give their level back", () => {
    const siblings = `[${Array(50).fill('[1, {"a": 2}]').join(", ")}]`;
    assert.equal(jsonDeeperThan([Buffer.from(siblings)], 3), false);
    assert.equal(jsonDeeperThan([Buffer.from(siblings)], 2), true);
    assert.equal(jsonDeeperThan([Buffer.from('{"a": {"b": {"c": 1}}, "d": {"e": 1}}')], 3), false);
    assert.equal(jsonDeeperThan([Buffer.from('{"a": {"b": {"c": 1}}}')], 2), true, "objects count like arrays");
    assert.equal(jsonDeeperThan([Buffer.from('{"a": [{"b": 1}], "c": [[{"d": 1}]]}')], 3), true, "] and } each close one level");
  });

  it("ends a string at an unescaped quote, even after an escaped backslash", () => {
    // "\\" is a one-backslash string: the quote after it ends the string, so the brackets count.
    assert.equal(jsonDeeperThan([Buffer.from('["\\\\", [[1]]]')], 2), true);
    assert.equal(jsonDeeperThan([Buffer.from('["\\\\", [[1]]]')], 3), false);
    // A string split across chunks, with its escape at the chunk boundary.
    assert.equal(jsonDeeperThan([Buffer.from('["a\\'), Buffer.from('"[[[[", 1]')], 1), false);
    assert.equal(jsonDeeperThan([Buffer.from("[]")], 0), true);
    assert.equal(jsonDeeperThan([Buffer.from('"[[["')], 0), false);
  });
});
