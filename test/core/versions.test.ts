import * as assert from "node:assert/strict";
import { MAX_MIRRORED_BODY_BYTES, MAX_MIRROR_PERCENT, SINGLE_VERSION, VERSION_HEADER, mirrors, parseTrafficArgs, parseUnit, pickVersion, sharesOf, splitOf, splitProblems, unitOf, type TrafficSplit } from "../../core/decisions/versions";
import { combineVersions, type VersionStatus } from "../../core/decisions/serviceState";

/** A random source that returns the given values in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length];
};

describe("versions: traffic split and mirror", () => {
  describe("splitProblems", () => {
    it("accepts shares summing to 100 and one mirror version without live traffic", () => {
      assert.deepEqual(splitProblems("fraud", [{ name: "blue", traffic: 90 }, { name: "green", traffic: 10 }, { name: "shadow", mirrorPercent: 50 }]), []);
    });

    it("names the service and the sum when the shares do not sum to 100", () => {
      assert.deepEqual(splitProblems("fraud", [{ name: "blue", traffic: 80 }, { name: "green", traffic: 10 }]), [[[1, "traffic"], "versions of 'fraud' must sum to 100, got 90"]]);
      assert.deepEqual(splitProblems("fraud", [{ name: "blue", traffic: 60 }, { name: "green", traffic: 50 }]), [[[1, "traffic"], "versions of 'fraud' must sum to 100, got 110"]]);
    });

    it("refuses a mirror version that also takes live traffic, and a second mirror", () => {
      assert.deepEqual(splitProblems("fraud", [{ name: "blue", traffic: 90 }, { name: "green", traffic: 10, mirrorPercent: 10 }]), [
        [[1, "mirrorPercent"], "version 'green' takes live traffic (10 %): a mirror version takes none"],
      ]);
      assert.deepEqual(splitProblems("fraud", [{ name: "blue", traffic: 100 }, { name: "a", mirrorPercent: 5 }, { name: "b", mirrorPercent: 5 }]), [
        [[2, "mirrorPercent"], "service 'fraud' can mirror to one version only"],
      ]);
    });

    it("bounds the shares: integers, traffic 0–100, mirror 0–50", () => {
      assert.deepEqual(splitProblems("s", [{ name: "a", traffic: 100 }, { name: "b", mirrorPercent: MAX_MIRROR_PERCENT + 1 }]), [[[1, "mirrorPercent"], "must be an integer percent from 0 to 50, got 51"]]);
      assert.deepEqual(splitProblems("s", [{ name: "a", traffic: 100 }, { name: "b", mirrorPercent: MAX_MIRROR_PERCENT }]), []);
      assert.deepEqual(splitProblems("s", [{ name: "a", traffic: 99.5 }, { name: "b", traffic: 0.5 }]), [
        [[0, "traffic"], "must be an integer percent from 0 to 100, got 99.5"],
        [[1, "traffic"], "must be an integer percent from 0 to 100, got 0.5"],
      ]);
      assert.deepEqual(splitProblems("s", [{ name: "a", traffic: 101 }, { name: "b", traffic: -1 }]), [
        [[0, "traffic"], "must be an integer percent from 0 to 100, got 101"],
        [[1, "traffic"], "must be an integer percent from 0 to 100, got -1"],
      ]);
      assert.deepEqual(splitProblems("s", [{ name: "a", traffic: 100 }, { name: "b", mirrorPercent: -1 }]), [[[1, "mirrorPercent"], "must be an integer percent from 0 to 50, got -1"]]);
    });

    it("refuses names that cannot be part of a Kubernetes name or a header, and names used twice", () => {
      assert.deepEqual(splitProblems("s", [{ name: "Blue", traffic: 50 }, { name: "blue", traffic: 50 }]), [
        [[0, "name"], "'Blue' is not a version name: lower-case letters, digits and '-', starting with a letter, at most 16 characters"],
      ]);
      assert.deepEqual(splitProblems("s", [{ name: "blue", traffic: 50 }, { name: "blue", traffic: 50 }]), [[[1, "name"], "'blue' is used twice in service 's'"]]);
      assert.deepEqual(splitProblems("s", [{ name: "a-very-long-name-x", traffic: 100 }]).map(([p]) => p), [[0, "name"]]);
      assert.deepEqual(splitProblems("s", [{ name: "ends-", traffic: 100 }]).map(([p]) => p), [[0, "name"]]);
      assert.deepEqual(splitProblems("s", [{ name: "v2", traffic: 100 }, { name: "x", traffic: 0 }]), []);
      assert.deepEqual(splitProblems("s", [{ name: "default", traffic: 100 }]), [[[0, "name"], "'default' names the one version of a service without versions; choose another name"]]);
    });

    it("refuses an empty list", () => {
      assert.deepEqual(splitProblems("s", []), [[[], "service 's' declares versions: give at least one"]]);
    });
  });

  it("splitOf keeps the live versions and the mirror", () => {
    assert.deepEqual(splitOf([{ name: "blue", traffic: 90 }, { name: "idle" }, { name: "green", traffic: 10 }, { name: "shadow", mirrorPercent: 20 }]), {
      versions: [{ name: "blue", traffic: 90 }, { name: "green", traffic: 10 }],
      mirror: { name: "shadow", percent: 20 },
    });
    assert.deepEqual(splitOf([{ name: "blue", traffic: 100 }]), { versions: [{ name: "blue", traffic: 100 }] });
  });

  describe("pickVersion", () => {
    const split: TrafficSplit = { versions: [{ name: "blue", traffic: 90 }, { name: "green", traffic: 10 }] };
    it("gives each version the share of [0, 1) its weight says", () => {
      assert.equal(pickVersion(split, () => 0), "blue");
      assert.equal(pickVersion(split, () => 0.8999), "blue");
      assert.equal(pickVersion(split, () => 0.9), "green");
      assert.equal(pickVersion(split, () => 0.99999), "green");
      assert.equal(pickVersion(SINGLE_VERSION, () => 0.5), "default");
    });
    it("lands within ±2 points of 90/10 over 10,000 requests of a seeded source", () => {
      // A small LCG: deterministic, and spread well enough for counting shares.
      let x = 42;
      const lcg = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      let green = 0;
      for (let i = 0; i < 10_000; i++) if (pickVersion(split, lcg) === "green") green++;
      assert.ok(Math.abs(green / 100 - 10) <= 2, `green got ${green / 100} %`);
    });
  });

  it("mirrors the configured share of requests, and none without a mirror", () => {
    const split: TrafficSplit = { versions: [{ name: "blue", traffic: 100 }], mirror: { name: "shadow", percent: 10 } };
    assert.equal(mirrors(split, () => 0.0999), true);
    assert.equal(mirrors(split, () => 0.1), false);
    assert.equal(mirrors(SINGLE_VERSION, () => 0), false);
    const random = sequence(0.05, 0.5, 0.95, 0.01);
    assert.deepEqual([1, 2, 3, 4].map(() => mirrors(split, random)), [true, false, false, true]);
  });

  describe("parseTrafficArgs (aks-inference traffic)", () => {
    const known = ["blue", "green"];
    it("reads version=percent pairs, versions left out getting 0, and --mirror", () => {
      assert.deepEqual(parseTrafficArgs("fraud", known, ["blue=90", "green=10"]), { versions: [{ name: "blue", traffic: 90 }, { name: "green", traffic: 10 }] });
      assert.deepEqual(parseTrafficArgs("fraud", known, ["blue=100"], "green=10"), { versions: [{ name: "blue", traffic: 100 }], mirror: { name: "green", percent: 10 } });
    });
    it("refuses what the stack's config would refuse, naming the problem", () => {
      assert.throws(() => parseTrafficArgs("fraud", known, ["blue=90"]), /^Error: versions of 'fraud' must sum to 100, got 90$/);
      assert.throws(() => parseTrafficArgs("fraud", known, ["blue=90", "red=10"]), /^Error: service 'fraud' has no version 'red' \(it has 'blue', 'green'\)$/);
      assert.throws(() => parseTrafficArgs("fraud", known, ["blue:90"]), /^Error: share 'blue:90' is not <version>=<percent>$/);
      assert.throws(() => parseTrafficArgs("fraud", known, ["blue=50", "blue=50"]), /^Error: version 'blue' is given twice$/);
      assert.throws(() => parseTrafficArgs("fraud", known, ["blue=90", "green=10"], "green=10"), /a mirror version takes none/);
      assert.throws(() => parseTrafficArgs("fraud", known, ["blue=100"], "green"), /^Error: --mirror 'green' is not <version>=<percent>$/);
    });
  });
});

describe("versions: unit keys", () => {
  it("keys a service's implicit version by the service alone, a declared one as service.version", () => {
    assert.equal(unitOf("fraud"), "fraud");
    assert.equal(unitOf("fraud", "blue"), "fraud.blue");
    assert.deepEqual(parseUnit("fraud"), { service: "fraud" });
    assert.deepEqual(parseUnit("fraud.blue"), { service: "fraud", version: "blue" });
    assert.deepEqual(parseUnit(unitOf("fraud-x", "v-2")), { service: "fraud-x", version: "v-2" });
  });
});

describe("versions: a version's shares and a service's state", () => {
  it("sharesOf: what a version's settings carry under a split", () => {
    const split: TrafficSplit = { versions: [{ name: "blue", traffic: 90 }, { name: "green", traffic: 10 }], mirror: { name: "shadow", percent: 5 } };
    assert.deepEqual(sharesOf(split, "blue"), { traffic: 90, mirrorPercent: 0 });
    assert.deepEqual(sharesOf(split, "shadow"), { traffic: 0, mirrorPercent: 5 });
    assert.deepEqual(sharesOf(split, "gone"), { traffic: 0, mirrorPercent: 0 });
  });

  it("combineVersions: counts together, the worst state with its version named", () => {
    const v = (version: string, state: VersionStatus["state"], ready: number, reason?: string): VersionStatus => ({ name: "fraud", version, traffic: 50, mirrorPercent: 0, state, desired: 2, ready, replicas: [], ...(reason ? { reason } : {}) });
    const healthy = combineVersions("fraud", [v("blue", "Healthy", 2), v("green", "Healthy", 2)]);
    assert.deepEqual([healthy.state, healthy.desired, healthy.ready, healthy.reason], ["Healthy", 4, 4, undefined]);
    const mixed = combineVersions("fraud", [v("blue", "Healthy", 2), v("green", "Failed", 0, "init() raised"), v("red", "Transitioning", 1, "1/2 replicas ready")]);
    assert.deepEqual([mixed.state, mixed.ready, mixed.reason], ["Failed", 3, "version 'green': init() raised"]);
    assert.equal(combineVersions("fraud", [v("blue", "Unhealthy", 1), v("green", "Transitioning", 1)]).reason, "version 'blue': Unhealthy");
  });

  describe("edges", () => {
    it("picks by cumulative weight over three versions, and the last live one for a draw of exactly 1", () => {
      const split = { versions: [{ name: "a", traffic: 50 }, { name: "b", traffic: 30 }, { name: "c", traffic: 20 }] };
      assert.deepEqual([0, 0.499, 0.5, 0.799, 0.8, 0.999].map((x) => pickVersion(split, () => x)), ["a", "a", "b", "b", "c", "c"]);
      assert.equal(pickVersion(split, () => 1), "c");
    });

    it("reads a share only as a whole <version>=<percent>", () => {
      const known = ["blue", "green"];
      assert.throws(() => parseTrafficArgs("fraud", known, ["x=blue=100"]), { message: "share 'x=blue=100' is not <version>=<percent>" });
      assert.throws(() => parseTrafficArgs("fraud", known, ["blue=100x"]), { message: "share 'blue=100x' is not <version>=<percent>" });
    });

    it("lists every problem of a split, separated by '; '", () => {
      assert.throws(() => parseTrafficArgs("fraud", ["blue", "green"], ["blue=90"], "green=60"), {
        message: "must be an integer percent from 0 to 50, got 60; versions of 'fraud' must sum to 100, got 90",
      });
    });

    it("pins the version header and the mirrored body limit", () => {
      assert.equal(VERSION_HEADER, "azureml-model-deployment");
      assert.equal(MAX_MIRRORED_BODY_BYTES, 1_048_576);
    });
  });
});
