import * as assert from "node:assert/strict";
import { PHASE_ORDER, fqdnCovers, requiredHosts, uncoveredHosts, type RequiredHostsInput } from "../../core/requiredHosts";

const base: RequiredHostsInput = {
  clusterName: "aksinf-dev",
  region: "westeurope",
  registryName: "myAcr01",
  storageAccountName: "mystore01",
  tokenAuth: false,
  gpu: false,
};
const names = (input: RequiredHostsInput) => requiredHosts(input).map((h) => h.host);

describe("required hosts", () => {
  it("lists the seed's table for a stack", () => {
    const hosts = names(base);
    for (const h of [
      "*.hcp.westeurope.azmk8s.io",
      "mcr.microsoft.com",
      "myacr01.azurecr.io",
      "mystore01.table.core.windows.net",
      "mystore01.blob.core.windows.net",
      "ingest-viennawesteurope.kusto.windows.net",
      "aksinf-dev.westeurope.cloudapp.azure.com",
    ]) {
      assert.ok(hosts.includes(h), `${h} missing from ${hosts.join(", ")}`);
    }
  });

  it("needs api.azureml.ms only with token auth", () => {
    assert.ok(!names(base).includes("api.azureml.ms"));
    assert.ok(names({ ...base, tokenAuth: true }).includes("api.azureml.ms"));
  });

  it("needs no cloudapp.azure.com name with a custom domain", () => {
    assert.ok(!names({ ...base, customDomain: "ml.contoso.com" }).some((h) => h.endsWith("cloudapp.azure.com")));
    assert.ok(names({ ...base, dnsLabel: "scoring" }).includes("scoring.westeurope.cloudapp.azure.com"));
  });

  it("adds the NVIDIA and Docker package hosts only with GPU pools", () => {
    const gpuHosts = ["nvidia.github.io", "us.download.nvidia.com", "download.docker.com"];
    assert.ok(gpuHosts.every((h) => !names(base).includes(h)));
    assert.ok(gpuHosts.every((h) => names({ ...base, gpu: true }).includes(h)));
  });

  it("includes what AKS itself needs behind a firewall", () => {
    assert.ok(names(base).includes("packages.aks.azure.com"));
  });

  it("is ordered by the seed's connectivity chronology", () => {
    const phases = requiredHosts({ ...base, tokenAuth: true, gpu: true }).map((h) => PHASE_ORDER.indexOf(h.phase));
    assert.deepEqual(phases, [...phases].sort((a, b) => a - b));
    const byHost = new Map(requiredHosts(base).map((h) => [h.host, h.phase]));
    assert.equal(byHost.get("mcr.microsoft.com"), "router-deploy", "router images come from MCR before the router deploys");
    assert.equal(byHost.get("myacr01.azurecr.io"), "model-deploy");
  });

  it("matches wildcards the way Azure Firewall does", () => {
    assert.ok(fqdnCovers("*.hcp.westeurope.azmk8s.io", "abc-123.hcp.westeurope.azmk8s.io"));
    assert.ok(fqdnCovers("*.azmk8s.io", "*.hcp.westeurope.azmk8s.io"));
    assert.ok(!fqdnCovers("*.hcp.westeurope.azmk8s.io", "hcp.westeurope.azmk8s.io.evil.com"));
    assert.ok(!fqdnCovers("mcr.microsoft.com", "*.data.mcr.microsoft.com"));
  });

  it("reports what a firewall does not cover", () => {
    const hosts = requiredHosts(base);
    const seed = hosts.filter((h) => h.source === "seed").map((h) => h.host);
    assert.deepEqual(uncoveredHosts(hosts, seed, ["AzureKubernetesService"]), []);
    const missing = uncoveredHosts(hosts, seed.filter((h) => h !== "myacr01.azurecr.io"), ["AzureKubernetesService"]);
    assert.deepEqual(missing.map((h) => h.host), ["myacr01.azurecr.io"]);
    assert.ok(uncoveredHosts(hosts, seed, []).some((h) => h.host === "packages.aks.azure.com"), "without the FQDN tag AKS hosts are missing");
  });
});
