/** The routing settings a model service's Service carries for the router, and how they are read back. */
import * as assert from "node:assert/strict";
import { parseStackConfig, versionsOf, type ModelServiceConfig } from "../../core/config";
import { MAX_PAYLOAD_BYTES } from "../../core/decisions/payloadLimit";
import { parseRoutingSettings, routingSettings, type ServiceRoutingSettings } from "../../core/contracts/routingSettings";

const MiB = 1024 * 1024;

/** The settings of a service's first (for these services: only) version. */
const settingsOf = (svc: ModelServiceConfig, audience?: string, routerLimit = MAX_PAYLOAD_BYTES) => routingSettings(svc, versionsOf(svc)[0], audience, routerLimit);

function service(over: Record<string, unknown>) {
  return parseStackConfig({ "azure-native:location": "westeurope", "aks-inference:services": [{ name: "fraud", models: ["m.onnx"], ...over }] }, "t").services[0];
}

describe("routing settings", () => {
  it("carry the service's auth, limits and timeouts, the service name as token audience by default", () => {
    const svc = service({ memoryGb: 0.5, replicaMaxConcurrentRequests: 3, maxRequestWaitTimeMs: 700, scoringTimeoutMs: 9_000, autoscaleEnabled: true, autoscaleMinReplicas: 2, autoscaleMaxReplicas: 7, autoscaleTargetUtilization: 55 });
    assert.deepEqual(settingsOf(svc), {
      name: "fraud",
      authMode: "key",
      tokenAudience: "fraud",
      autoscale: { enabled: true, minReplicas: 2, maxReplicas: 7, targetUtilization: 55 },
      maxConcurrentRequestsPerReplica: 3,
      maxQueueWaitMs: 700,
      scoringTimeoutMs: 9_000,
      maxBodyBytes: Math.floor(((512 - 150) / 40) * MiB),
    });
    assert.equal(settingsOf(svc, "api://scoring").tokenAudience, "api://scoring");
    assert.equal(settingsOf(service({ memoryGb: 16 }), undefined, 10 * MiB).maxBodyBytes, 10 * MiB, "never above the router's limit");
    assert.equal(settingsOf(service({ memoryGb: 16 })).maxBodyBytes, MAX_PAYLOAD_BYTES);
  });

  it("without autoscaling, min and max are the fixed replica count", () => {
    const s = settingsOf(service({ autoscaleEnabled: false, numReplicas: 4 }));
    assert.deepEqual(s.autoscale, { enabled: false, minReplicas: 4, maxReplicas: 4, targetUtilization: s.autoscale.targetUtilization });
  });

  it("a declared version's carry its own settings and shares; the implicit one's carry no version", () => {
    const svc = service({ cpuCores: 0.5, versions: [{ name: "blue", traffic: 90 }, { name: "green", traffic: 10, scoringTimeoutMs: 5_000, memoryGb: 16 }] });
    const [blue, green] = versionsOf(svc).map((v) => routingSettings(svc, v, undefined, MAX_PAYLOAD_BYTES));
    assert.deepEqual(blue.version, { name: "blue", traffic: 90, mirrorPercent: 0 });
    assert.deepEqual([green.version, green.scoringTimeoutMs, green.maxBodyBytes], [{ name: "green", traffic: 10, mirrorPercent: 0 }, 5_000, MAX_PAYLOAD_BYTES]);
    assert.equal(blue.scoringTimeoutMs, 60_000);
    assert.equal("version" in settingsOf(service({})), false, "a service without versions keeps the annotation it always had");
  });

  describe("read back from the annotation", () => {
    const good = (): ServiceRoutingSettings => settingsOf(service({}));
    const raw = (over: Partial<ServiceRoutingSettings> | Record<string, unknown> = {}) => JSON.stringify({ ...good(), ...over });

    it("returns a valid document as is", () => {
      assert.deepEqual(parseRoutingSettings(raw(), "fraud", "Service x"), good());
      for (const authMode of ["key", "token", "none"]) assert.equal(parseRoutingSettings(raw({ authMode }), "fraud", "x").authMode, authMode);
      assert.equal(parseRoutingSettings(raw({ maxBodyBytes: undefined }), "fraud", "x").maxBodyBytes, undefined, "no limit of its own: the router's");
      assert.equal(parseRoutingSettings(raw({ maxBodyBytes: 1 }), "fraud", "x").maxBodyBytes, 1);
    });

    it("names the owner when the annotation or the service label is missing", () => {
      for (const [r, name] of [[undefined, "fraud"], ["", "fraud"], [raw(), undefined], [raw(), ""]] as const) {
        assert.throws(() => parseRoutingSettings(r, name, "Service inference/model-fraud"), { message: "Service inference/model-fraud lacks the routing settings annotation or the service label" });
      }
    });

    it("refuses text that is not JSON", () => {
      assert.throws(() => parseRoutingSettings("{name:", "fraud", "Service x"), { message: "Service x: the routing settings annotation is not JSON" });
    });

    it("refuses a document for another service, with an unknown auth mode, without autoscale limits or with a bad body limit", () => {
      const invalid = { message: "Service x: the routing settings annotation is not a valid settings document" };
      assert.throws(() => parseRoutingSettings(raw(), "churn", "Service x"), invalid);
      assert.throws(() => parseRoutingSettings(raw({ authMode: "aad" }), "fraud", "Service x"), invalid);
      assert.throws(() => parseRoutingSettings(raw({ autoscale: undefined }), "fraud", "Service x"), invalid);
      assert.throws(() => parseRoutingSettings(raw({ autoscale: { maxReplicas: "3" } }), "fraud", "Service x"), invalid);
      for (const maxBodyBytes of [0, -1, 1.5, "1024", null]) {
        assert.throws(() => parseRoutingSettings(raw({ maxBodyBytes }), "fraud", "Service x"), invalid, `maxBodyBytes ${JSON.stringify(maxBodyBytes)}`);
      }
      assert.throws(() => parseRoutingSettings("null", "fraud", "Service x"), TypeError, "null is JSON but no document");
    });
  });

  describe("a version's share in the annotation", () => {
    const raw = (version: unknown) => JSON.stringify({ ...settingsOf(service({})), version });
    const invalid = { message: "Service x: the routing settings annotation is not a valid settings document" };
    it("is read when it names the version with whole-number shares", () => {
      assert.deepEqual(parseRoutingSettings(raw({ name: "blue", traffic: 90, mirrorPercent: 0 }), "fraud", "Service x").version, { name: "blue", traffic: 90, mirrorPercent: 0 });
    });
    it("is refused when it is not an object, has no name, or fractional or missing shares", () => {
      for (const version of ["blue", null, 3, { traffic: 90, mirrorPercent: 0 }, { name: 1, traffic: 90, mirrorPercent: 0 }, { name: "blue", traffic: 9.5, mirrorPercent: 0 }, { name: "blue", traffic: 90 }, { name: "blue", mirrorPercent: 0 }]) {
        assert.throws(() => parseRoutingSettings(raw(version), "fraud", "Service x"), invalid, JSON.stringify(version));
      }
    });
  });
});
