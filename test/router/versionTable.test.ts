import * as assert from "node:assert/strict";
import { VersionTable, type VersionChoice } from "../../router/versionTable";
import { settings } from "../support/upstream";

const version = (name: string, traffic: number, mirrorPercent = 0) => settings("fraud", { version: { name, traffic, mirrorPercent } });
const chosen = (c: VersionChoice | { error: string }): VersionChoice => {
  assert.ok(!("error" in c), "error" in c ? c.error : "");
  return c;
};

describe("router: version table", () => {
  it("a service without versions has its one implicit version under its own unit key", () => {
    const t = new VersionTable();
    t.rebuild([settings("regressor")]);
    assert.deepEqual(t.choose("regressor", undefined, () => 0.99), { version: "default", unit: "regressor" });
    assert.deepEqual(t.unitsOf("regressor"), ["regressor"]);
  });

  it("picks by weight, honours a pinned version, and names what a service does not have", () => {
    const t = new VersionTable();
    t.rebuild([version("blue", 90), version("green", 10), settings("regressor")]);
    assert.equal(chosen(t.choose("fraud", undefined, () => 0.5)).unit, "fraud.blue");
    assert.equal(chosen(t.choose("fraud", undefined, () => 0.95)).unit, "fraud.green");
    assert.equal(chosen(t.choose("fraud", "green", () => 0)).unit, "fraud.green", "the header wins over the split");
    assert.deepEqual(t.choose("fraud", "red", () => 0), { error: "service 'fraud' has no version 'red' (it has 'blue', 'green')" });
    assert.deepEqual(t.choose("nope", undefined, () => 0), { error: "service 'nope' does not exist" });
    assert.deepEqual(t.unitsOf("fraud"), ["fraud.blue", "fraud.green"]);
  });

  it("treats shares as weights while a split is half-changed (they may not sum to 100)", () => {
    const t = new VersionTable();
    t.rebuild([version("blue", 90), version("green", 90)]);
    assert.equal(chosen(t.choose("fraud", undefined, () => 0.49)).version, "blue");
    assert.equal(chosen(t.choose("fraud", undefined, () => 0.51)).version, "green");
    t.rebuild([version("blue", 0), version("green", 0)]);
    assert.deepEqual(t.choose("fraud", undefined, () => 0.5), { error: "service 'fraud' has no version taking live traffic" });
  });

  it("marks the configured share of requests for the mirror, never a request pinned to the mirror itself", () => {
    const t = new VersionTable();
    t.rebuild([version("blue", 100), version("shadow", 0, 10)]);
    assert.deepEqual(t.splitOf("fraud"), { versions: [{ name: "blue", traffic: 100 }], mirror: { name: "shadow", percent: 10 } });
    // The first random number picks the version, the second decides the mirror.
    const seq = (...v: number[]) => () => v.shift()!;
    assert.deepEqual(t.choose("fraud", undefined, seq(0.3, 0.05)), { version: "blue", unit: "fraud.blue", mirrorUnit: "fraud.shadow" });
    assert.deepEqual(t.choose("fraud", undefined, seq(0.3, 0.5)), { version: "blue", unit: "fraud.blue" });
    assert.deepEqual(t.choose("fraud", "shadow", seq(0.05)), { version: "shadow", unit: "fraud.shadow" });
  });

  it("forgets a service that went away", () => {
    const t = new VersionTable();
    t.rebuild([version("blue", 100)]);
    t.rebuild([]);
    assert.equal(t.has("fraud"), false);
  });
});
