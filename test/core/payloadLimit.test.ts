/** A service's body limit follows from its memory (measured factor), never above the router's. */
import * as assert from "node:assert/strict";
import { parseStackConfig, versionsOf } from "../../core/config";
import { BODY_MEMORY_FACTOR, REPLICA_BASELINE_MB, servicePayloadLimitBytes } from "../../core/payloadLimit";
import { routingSettings } from "../../core/routingSettings";

const MiB = 1024 * 1024;

describe("payload limit from a service's memory", () => {
  it("gives what the memory holds after the baseline, at the measured factor", () => {
    assert.equal(REPLICA_BASELINE_MB, 150);
    assert.equal(BODY_MEMORY_FACTOR, 8);
    assert.equal(servicePayloadLimitBytes(0.5, 100 * MiB), Math.floor(((512 - 150) / 8) * MiB), "0.5 GB: about 45 MB, not the 100 MB that killed it");
    assert.equal(servicePayloadLimitBytes(0.25, 100 * MiB), Math.floor(((256 - 150) / 8) * MiB));
  });

  it("never exceeds the router's limit nor goes below 1 MiB", () => {
    assert.equal(servicePayloadLimitBytes(4, 100 * MiB), 100 * MiB);
    assert.equal(servicePayloadLimitBytes(2, 20 * MiB), 20 * MiB);
    assert.equal(servicePayloadLimitBytes(0.1, 100 * MiB), MiB);
  });

  it("reaches the router through the service's routing settings", () => {
    const cfg = parseStackConfig({ "azure-native:location": "westeurope", "aks-inference:services": [{ name: "small", models: ["m.onnx"], memoryGb: 0.25 }, { name: "big", models: ["m.onnx"], memoryGb: 8 }] }, "t");
    assert.equal(routingSettings(cfg.services[0], versionsOf(cfg.services[0])[0]).maxBodyBytes, Math.floor(((256 - 150) / 8) * MiB));
    assert.equal(routingSettings(cfg.services[1], versionsOf(cfg.services[1])[0]).maxBodyBytes, 100 * MiB);
  });
});
