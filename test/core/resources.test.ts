/** A model service's size as Kubernetes requests and limits (Guaranteed QoS: requests = limits). */
import * as assert from "node:assert/strict";
import { containerResources } from "../../core/decisions/resources";

describe("model container resources", () => {
  it("turns cores into millicores and GB into MiB, requests equal to limits", () => {
    const r = containerResources({ cpuCores: 0.1, memoryGb: 0.5, gpuCores: 0 });
    assert.deepEqual(r, { requests: { cpu: "100m", memory: "512Mi" }, limits: { cpu: "100m", memory: "512Mi" } });
  });

  it("rounds to whole millicores and MiB", () => {
    assert.deepEqual(containerResources({ cpuCores: 1.2345, memoryGb: 1.0001, gpuCores: 0 }).requests, { cpu: "1235m", memory: "1024Mi" });
  });

  it("asks for nvidia.com/gpu only when the service has GPU cores", () => {
    const r = containerResources({ cpuCores: 4, memoryGb: 16, gpuCores: 1 });
    assert.deepEqual(r.requests, { cpu: "4000m", memory: "16384Mi", "nvidia.com/gpu": "1" });
    assert.deepEqual(r.limits, r.requests);
    assert.equal("nvidia.com/gpu" in containerResources({ cpuCores: 1, memoryGb: 1, gpuCores: 0 }).limits, false);
  });
});
