import * as assert from "node:assert/strict";
import { MAX_JSON_DEPTH, jsonDeeperThan } from "../../core/jsonDepth";

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
