/** The NVIDIA device plugin image: the reference Microsoft publishes on MCR, pinned, from a host the firewall allows. */
import * as assert from "node:assert/strict";
import { NVIDIA_DEVICE_PLUGIN_IMAGE } from "../../components/gpuPool";
import { requiredHostsFor, uncoveredHosts, AKS_HOSTS } from "../../core/requiredHosts";
import { Plan, input, stackConfig } from "../support/stacks";

describe("NVIDIA device plugin", function () {
  this.timeout(60_000);

  it("pins the MCR v2 path and tag (v0.17+ live under oss/v2/nvidia), or that tag by digest", () => {
    assert.match(NVIDIA_DEVICE_PLUGIN_IMAGE, /^mcr\.microsoft\.com\/oss\/v2\/nvidia\/k8s-device-plugin:v0\.18\.2(@sha256:[0-9a-f]{64})?$/);
  });

  it("runs that image in the prod stack, from a registry its firewall allows", async () => {
    const cfg = stackConfig("prod");
    const plan = await Plan.of(cfg);
    const ds = plan.one("kubernetes:apps/v1:DaemonSet");
    assert.equal(input(ds, "spec", "template", "spec", "containers", 0, "image"), NVIDIA_DEVICE_PLUGIN_IMAGE);
    const host = NVIDIA_DEVICE_PLUGIN_IMAGE.split("/")[0];
    assert.ok(AKS_HOSTS.includes(host), `${host} is not among the hosts the AKS FQDN tag covers`);
    assert.deepEqual(uncoveredHosts(requiredHostsFor(cfg), [], ["AzureKubernetesService"]).filter((h) => h.host === host), []);
  });
});
