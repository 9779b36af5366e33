/** The NVIDIA device plugin image: the reference Microsoft publishes on MCR, pinned, from a host the firewall allows. */
import * as assert from "node:assert/strict";
import { NVIDIA_DEVICE_PLUGIN_IMAGE } from "../../components/gpuPool";
import { requiredHostsFor, uncoveredHosts, AKS_HOSTS } from "../../core/azure/requiredHosts";
import { registryHost, rules, type Res } from "../../policies/rules";
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

    // Offline check: behind the firewall, every image must come from an allowed registry.
    const resources = plan.resources.filter((r) => r.custom).map((r): Res => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs }));
    const check = rules.find((r) => r.name === "images-pulled-through-the-firewall")!;
    assert.deepEqual(check.stack!(resources).map((v) => v.message), []);
    const withNvcr = resources.map((r) =>
      r.type === "kubernetes:apps/v1:DaemonSet" ? { ...r, props: JSON.parse(JSON.stringify(r.props).replace(NVIDIA_DEVICE_PLUGIN_IMAGE, "nvcr.io/nvidia/k8s-device-plugin:v0.18.0")) as Record<string, unknown> } : r,
    );
    const [message] = check.stack!(withNvcr).map((v) => v.message);
    assert.match(message, /DaemonSet 'nvidia-device-plugin' runs 'nvcr\.io\/nvidia\/k8s-device-plugin:v0\.18\.0' from nvcr\.io, which the firewall's application rules do not allow/);
    assert.match(message, /Microsoft: "Outbound network and FQDN rules for Azure Kubernetes Service \(AKS\) clusters"/);
  });

  it("reads the registry of an image reference", () => {
    assert.equal(registryHost(NVIDIA_DEVICE_PLUGIN_IMAGE), "mcr.microsoft.com");
    assert.equal(registryHost("aksinfprodacr.azurecr.io/aks-inference-router:0123"), "aksinfprodacr.azurecr.io");
    assert.equal(registryHost("nginx:1.27"), "docker.io");
    assert.equal(registryHost("library/nginx"), "docker.io");
    assert.equal(registryHost("localhost:5000/x"), "localhost:5000");
  });
});
