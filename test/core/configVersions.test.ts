/** Config of versions behind one scoring URI: each version checked whole, errors naming its key. */
import * as assert from "node:assert/strict";
import { ConfigError, parseStackConfig, versionsOf, type StackConfig } from "../../core/config";
import { rawStack } from "../support/stacks";

const fraud = (versions: Record<string, unknown>[], extra: Record<string, unknown> = {}) => ({
  name: "fraud",
  models: ["samples/models/regressor.onnx"],
  cpuCores: 0.5,
  autoscaleMaxReplicas: 4,
  ...extra,
  versions,
});

/** The dev stack with `services` added after its own three (fraud is then services[3]). */
function parse(...services: Record<string, unknown>[]): StackConfig {
  const raw = rawStack("dev");
  return parseStackConfig({ ...raw, "aks-inference:services": [...(raw["aks-inference:services"] as unknown[]), ...services] }, "dev");
}

function problems(...services: Record<string, unknown>[]): string[] {
  try {
    parse(...services);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail("config was accepted");
}

describe("stack config: versions of a service", () => {
  it("a service without versions has one implicit version taking all traffic, with its own settings", () => {
    const echo = parse().services.find((s) => s.name === "echo")!;
    assert.equal(echo.versions, undefined);
    const [only, ...rest] = versionsOf(echo);
    assert.deepEqual(rest, []);
    assert.deepEqual([only.version, only.traffic, only.mirrorPercent], ["default", 100, 0]);
    assert.deepEqual([only.entryScript, only.initialReplicas, only.memoryGb], [echo.entryScript, 1, 0.25]);
  });

  it("the dev stack's regressor has two versions, 90/10, the second with its own model", () => {
    const regressor = parse().services.find((s) => s.name === "regressor")!;
    const [v1, v2] = versionsOf(regressor);
    assert.deepEqual([v1.version, v1.traffic, v1.models[0].path], ["v1", 90, "samples/models/regressor.onnx"]);
    assert.deepEqual([v2.version, v2.traffic, v2.models[0].path, v2.models[0].version], ["v2", 10, "samples/models/regressor-v2.onnx", 2]);
    assert.equal(v2.autoscaleMaxReplicas, 4, "the rest is the service's");
  });

  it("each version takes the service's settings and overrides its own", () => {
    const c = parse(
      fraud([
        { name: "blue", traffic: 90 },
        { name: "green", traffic: 10, models: [{ name: "regressor", path: "samples/models/regressor.onnx", version: 2 }], cpuCores: 1, autoscaleMaxReplicas: 2 },
        { name: "shadow", mirrorPercent: 20, numReplicas: 1 },
      ]),
    );
    const [blue, green, shadow] = versionsOf(c.services[3]);
    assert.deepEqual([blue.version, blue.traffic, blue.cpuCores, blue.autoscaleMaxReplicas, blue.models[0].version], ["blue", 90, 0.5, 4, 1]);
    assert.deepEqual([green.version, green.traffic, green.cpuCores, green.autoscaleMaxReplicas, green.models[0].version], ["green", 10, 1, 2, 2]);
    assert.deepEqual([shadow.version, shadow.traffic, shadow.mirrorPercent, shadow.autoscaleEnabled, shadow.initialReplicas], ["shadow", 0, 20, false, 1]);
    assert.equal(blue.authMode, "key", "auth is the service's");
  });

  it("names the key when the shares do not sum to 100 (the issue's example)", () => {
    assert.deepEqual(problems(fraud([{ name: "blue", traffic: 80 }, { name: "green", traffic: 10 }])), ["aks-inference:services[3].versions[1].traffic: versions of 'fraud' must sum to 100, got 90"]);
  });

  it("refuses a mirror that takes live traffic, and a wrongly typed share", () => {
    assert.deepEqual(problems(fraud([{ name: "blue", traffic: 90 }, { name: "green", traffic: 10, mirrorPercent: 10 }])), [
      "aks-inference:services[3].versions[1].mirrorPercent: version 'green' takes live traffic (10 %): a mirror version takes none",
    ]);
    assert.deepEqual(
      problems(fraud([{ name: "blue", traffic: "100" }])).map((p) => p.split(":").slice(0, 2).join(":")),
      ["aks-inference:services[3].versions[0].traffic"],
    );
  });

  it("checks each version whole and reports the problem at the version that has it", () => {
    assert.deepEqual(problems(fraud([{ name: "blue", traffic: 100 }, { name: "green", cpuCores: -1 }])), ["aks-inference:services[3].versions[1].cpuCores: Too small: expected number to be >0"]);
    assert.deepEqual(problems(fraud([{ name: "blue", traffic: 100, entryScript: "score.py" }])), ["aks-inference:services[3].versions[0].entryScript: needs sourceDirectory (the project folder that contains it)"]);
    assert.deepEqual(problems(fraud([{ name: "blue", traffic: 100, autoscaleMinReplicas: 5 }])), ["aks-inference:services[3].versions[0].autoscaleMinReplicas: must be at most autoscaleMaxReplicas"]);
  });

  it("a value a version inherits is reported at the service", () => {
    assert.deepEqual(problems(fraud([{ name: "blue", traffic: 60 }, { name: "green", traffic: 40 }], { cpuCores: 0 })), ["aks-inference:services[3].cpuCores: Too small: expected number to be >0"]);
  });

  it("keeps auth and keys on the service: a version cannot set them", () => {
    assert.deepEqual(problems(fraud([{ name: "blue", traffic: 100, authEnabled: false }])), [
      "aks-inference:services[3].versions[0].authEnabled: belongs to the service, not to a version (a version sets models, sourceDirectory, entryScript, environment, cpuCores, memoryGb, gpuCores, gpuPool, gpuFallbackToCpu, autoscaleEnabled, autoscaleMinReplicas, autoscaleMaxReplicas, autoscaleTargetUtilization, numReplicas, replicaMaxConcurrentRequests, maxRequestWaitTimeMs, scoringTimeoutMs)",
    ]);
    assert.deepEqual(problems(fraud([{ name: "blue", traffic: 100, cpuCore: 1 }])), ["aks-inference:services[3].versions[0].cpuCore: unknown key (check its spelling against the config reference)"]);
  });

  it("refuses a version whose Kubernetes objects would be named like another service's", () => {
    assert.deepEqual(problems({ name: "fraud-blue", models: ["samples/models/regressor.onnx"] }, fraud([{ name: "blue", traffic: 100 }])), [
      "aks-inference:services[4].versions[0].name: the Deployment and Service of 'fraud' version 'blue' would be named 'model-fraud-blue', as those of service 'fraud-blue'",
    ]);
  });

  it("a service's own settings need not stand alone once versions give what is missing", () => {
    // No model and no entry script at the service level: each version brings its own.
    const c = parse({ name: "fraud", versions: [{ name: "blue", traffic: 100, models: ["samples/models/regressor.onnx"] }] });
    assert.equal(versionsOf(c.services[3])[0].models[0].name, "regressor");
  });
});
