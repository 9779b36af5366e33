/** A service's body limit follows from its memory and its handler's measured factor, never above the router's. */
import * as assert from "node:assert/strict";
import { parseStackConfig, versionsOf } from "../../core/config";
import { HANDLER_MEMORY, MAX_PAYLOAD_BYTES, handlerKindOf, routerPayloadLimitBytes, servicePayloadLimitBytes } from "../../core/decisions/payloadLimit";
import { routingSettings } from "../../core/contracts/routingSettings";

const MiB = 1024 * 1024;

describe("payload limit from a service's memory", () => {
  it("gives what the memory holds after the handler's baseline, at the handler's factor (bench/replica-memory.ts)", () => {
    assert.deepEqual(HANDLER_MEMORY, { onnx: { baselineMb: 150, factor: 40 }, javascript: { baselineMb: 130, factor: 18 }, python: { baselineMb: 170, factor: 18 } });
    // 0.5 GB: about 9 MB for ONNX, 21 for JavaScript, 19 for Python, not the 45 MB of one
    // factor for all that let a 20 MB ONNX batch take a 0.5 GB replica to 807 MB.
    assert.equal(servicePayloadLimitBytes(0.5, "onnx", 100 * MiB), Math.floor(((512 - 150) / 40) * MiB));
    assert.equal(servicePayloadLimitBytes(0.5, "javascript", 100 * MiB), Math.floor(((512 - 130) / 18) * MiB));
    assert.equal(servicePayloadLimitBytes(0.5, "python", 100 * MiB), Math.floor(((512 - 170) / 18) * MiB));
    // A 1 GB Python service: 47 MB, where a 99 MB batch took its worker to 1,153 MB.
    assert.equal(servicePayloadLimitBytes(1, "python", 100 * MiB), Math.floor(((1024 - 170) / 18) * MiB));
  });

  it("never exceeds the router's limit nor goes below 1 MiB", () => {
    assert.equal(servicePayloadLimitBytes(4.1, "python", 100 * MiB), 100 * MiB);
    assert.equal(servicePayloadLimitBytes(4, "onnx", 100 * MiB), Math.floor(((4096 - 150) / 40) * MiB), "ONNX needs more than 4 GB for 100 MB");
    assert.equal(servicePayloadLimitBytes(2, "javascript", 20 * MiB), 20 * MiB);
    assert.equal(servicePayloadLimitBytes(0.1, "javascript", 100 * MiB), MiB);
    assert.equal(servicePayloadLimitBytes(0.15, "onnx", 100 * MiB), MiB, "less memory than the baseline still takes 1 MiB");
  });

  it("knows the handler by the entry script, as the replica picks it", () => {
    assert.equal(handlerKindOf(undefined), "onnx");
    assert.equal(handlerKindOf("score.py"), "python");
    assert.equal(handlerKindOf("src/score.js"), "javascript");
    assert.equal(handlerKindOf("score.mjs"), "javascript");
  });

  it("clamps the router's own limit to Azure ML's 100 MB, in whole bytes", () => {
    assert.equal(routerPayloadLimitBytes(100), MAX_PAYLOAD_BYTES);
    assert.equal(routerPayloadLimitBytes(250), MAX_PAYLOAD_BYTES);
    assert.equal(routerPayloadLimitBytes(0.5), 512 * 1024);
    assert.equal(routerPayloadLimitBytes(1.0000001), MiB);
  });

  it("reaches the router through each version's routing settings, by that version's handler and memory", () => {
    const cfg = parseStackConfig(
      {
        "azure-native:location": "westeurope",
        "aks-inference:services": [
          { name: "small", models: ["m.onnx"], memoryGb: 0.25 },
          { name: "big", models: ["m.onnx"], memoryGb: 8 },
          { name: "pysvc", sourceDirectory: "p", entryScript: "score.py", memoryGb: 1, versions: [{ name: "a", traffic: 100 }, { name: "b", traffic: 0, memoryGb: 1.5 }] },
        ],
      },
      "t",
    );
    const limits = cfg.services.flatMap((s) => versionsOf(s).map((v) => routingSettings(s, v, undefined, 100 * MiB).maxBodyBytes));
    assert.deepEqual(limits, [Math.floor(((256 - 150) / 40) * MiB), 100 * MiB, Math.floor(((1024 - 170) / 18) * MiB), Math.floor(((1536 - 170) / 18) * MiB)]);
    assert.equal(routingSettings(cfg.services[1], versionsOf(cfg.services[1])[0], undefined, 10 * MiB).maxBodyBytes, 10 * MiB, "the router's lower limit wins");
  });
});
