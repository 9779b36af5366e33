import * as assert from "node:assert/strict";
import { PHASE_ORDER, fqdnCovers, requiredHosts, requiredHostsFor, uncoveredHosts, type RequiredHostsInput } from "../../core/azure/requiredHosts";
import { withheldAzureMlHosts } from "../../scripts/hosts";
import { stackConfig } from "../support/stacks";

const base: RequiredHostsInput = {
  clusterName: "aksinf-dev",
  region: "westeurope",
  registryName: "myAcr01",
  storageAccountName: "mystore01",
  registryDataEndpoint: false,
  tokenAuth: false,
  defender: false,
  azureMlCompat: false,
  gpu: false,
};
/** Prod: Premium ACR (data endpoint), Defender, GPU pool, custom domain, Entra token issuer, Key Vault TLS. */
const PROD_HOSTS = [
  "mcr-0001.mcr-msedge.net",
  "management.azure.com",
  "packages.microsoft.com",
  "acs-mirror.azureedge.net",
  "packages.aks.azure.com",
  "*.ods.opinsights.azure.com",
  "*.oms.opinsights.azure.com",
  "*.cloud.defender.microsoft.com",
  "nvidia.github.io",
  "us.download.nvidia.com",
  "download.docker.com",
  "dc.services.visualstudio.com",
  "*.monitoring.azure.com",
  "global.handler.control.monitor.azure.com",
  "westeurope.handler.control.monitor.azure.com",
  "westeurope.ingest.monitor.azure.com",
  "*.hcp.westeurope.azmk8s.io",
  "mcr.microsoft.com",
  "*.data.mcr.microsoft.com",
  "kv-contoso-certs.vault.azure.net",
  "aksinfprodst.table.core.windows.net",
  "login.microsoftonline.com", // the JWKS host of the Entra token issuer
  "aksinfprodacr.azurecr.io",
  "aksinfprodacr.westeurope.data.azurecr.io",
  "aksinfprodst.blob.core.windows.net",
  "westeurope.in.applicationinsights.azure.com", // the regressor service sends to Application Insights
  "westeurope.livediagnostics.monitor.azure.com",
];
const names = (input: RequiredHostsInput) => requiredHosts(input).map((h) => h.host);

describe("required hosts", () => {
  it("lists Azure ML v1's table for a stack", () => {
    const hosts = names(base);
    for (const h of [
      "*.hcp.westeurope.azmk8s.io",
      "mcr.microsoft.com",
      "myacr01.azurecr.io",
      "mystore01.table.core.windows.net",
      "mystore01.blob.core.windows.net",
      "aksinf-dev.westeurope.cloudapp.azure.com",
    ]) {
      assert.ok(hosts.includes(h), `${h} missing from ${hosts.join(", ")}`);
    }
  });

  it("allows azureml-fe's own hosts (api.azureml.ms, Kusto telemetry) only with requiredHosts.azureMlCompat", () => {
    const compatHosts = ["api.azureml.ms", "ingest-viennawesteurope.kusto.windows.net"];
    assert.deepEqual(names({ ...base, tokenAuth: true }).filter((h) => compatHosts.includes(h)), [], "this router calls neither");
    assert.deepEqual(names({ ...base, tokenAuth: true, azureMlCompat: true }).filter((h) => compatHosts.includes(h)), compatHosts);
    assert.deepEqual(names({ ...base, azureMlCompat: true }).filter((h) => compatHosts.includes(h)), ["ingest-viennawesteurope.kusto.windows.net"], "api.azureml.ms only served token auth");
    const why = requiredHosts({ ...base, tokenAuth: true, azureMlCompat: true }).find((h) => h.host === "api.azureml.ms")!;
    assert.equal(why.source, "azureml");
    assert.match(why.why, /azureml-fe.*this project's router does not/);
    // `npm run hosts` names what it leaves out and why.
    assert.deepEqual(withheldAzureMlHosts({ ...base, tokenAuth: true }).map((h) => h.host), compatHosts);
    assert.deepEqual(withheldAzureMlHosts({ ...base, tokenAuth: true, azureMlCompat: true }), []);
  });

  it("takes ACR layers from the registry's data endpoint when it has one, else from any blob account", () => {
    assert.ok(names({ ...base, registryDataEndpoint: true }).includes("myacr01.westeurope.data.azurecr.io"));
    assert.ok(!names({ ...base, registryDataEndpoint: true }).includes("*.blob.core.windows.net"), "a data endpoint narrows the wildcard away");
    assert.ok(names(base).includes("*.blob.core.windows.net"));
    assert.ok(!names(base).some((h) => h.endsWith(".data.azurecr.io")));
  });

  it("adds Defender's Log Analytics hosts only when Defender is on", () => {
    const defenderHosts = ["*.ods.opinsights.azure.com", "*.oms.opinsights.azure.com"];
    assert.ok(defenderHosts.every((h) => !names(base).includes(h)));
    assert.ok(defenderHosts.every((h) => names({ ...base, defender: true }).includes(h)));
  });

  it("with Defender on, requires every FQDN of the Defender for Containers section of Microsoft's outbound rules, each once", () => {
    // "Outbound network and FQDN rules for Azure Kubernetes Service (AKS) clusters", AKS add-ons >
    // Microsoft Defender for Containers > required FQDN / application rules (Azure Global).
    const doc = ["login.microsoftonline.com", "*.ods.opinsights.azure.com", "*.oms.opinsights.azure.com", "*.cloud.defender.microsoft.com"];
    const on = names({ ...base, defender: true });
    for (const h of doc) assert.equal(on.filter((x) => x === h).length, 1, `${h} in ${on.join(", ")}`);
    assert.ok(!names(base).includes("*.cloud.defender.microsoft.com"), "Defender off: not its sensor's endpoint");
    const sensor = requiredHosts({ ...base, defender: true }).find((h) => h.host === "*.cloud.defender.microsoft.com")!;
    assert.deepEqual([sensor.usedBy, sensor.phase, sensor.source, sensor.protocol, sensor.port], ["Microsoft Defender for Containers", "cluster", "addon", "Https", 443]);
  });

  it("with managed Prometheus or Container Insights on, requires every host of Microsoft's firewall table for monitoring Kubernetes, each once; none when off", () => {
    // Microsoft, "Network firewall requirements for monitoring Kubernetes cluster" (Azure public cloud).
    const doc = ["*.ods.opinsights.azure.com", "*.oms.opinsights.azure.com", "dc.services.visualstudio.com", "*.monitoring.azure.com", "login.microsoftonline.com", "global.handler.control.monitor.azure.com", "westeurope.ingest.monitor.azure.com", "westeurope.handler.control.monitor.azure.com"];
    const off = { prometheus: false, containerInsights: false, appInsights: false };
    for (const monitoring of [{ ...off, prometheus: true }, { ...off, containerInsights: true }]) {
      const on = names({ ...base, tokenAuth: true, monitoring });
      for (const h of doc) assert.equal(on.filter((x) => x === h).length, 1, `${h} in ${on.join(", ")}`);
    }
    const both = requiredHosts({ ...base, defender: true, monitoring: { ...off, prometheus: true, containerInsights: true } });
    assert.equal(both.filter((h) => h.host === "*.ods.opinsights.azure.com").length, 1, "shared with Defender: listed once");
    assert.equal(both.find((h) => h.host === "*.ods.opinsights.azure.com")!.usedBy, "Microsoft Defender for Containers, managed Prometheus (ama-metrics), Container Insights (ama-logs)");
    assert.ok(!names({ ...base, monitoring: off }).some((h) => h.includes("monitor.azure.com") || h.includes("opinsights")));
  });

  it("adds the region's Application Insights ingestion and live-metrics hosts, for the model pods, only when a service sends there", () => {
    const off = { prometheus: false, containerInsights: false, appInsights: false };
    const ai = requiredHosts({ ...base, monitoring: { ...off, appInsights: true } }).filter((h) => h.host.includes("applicationinsights") || h.host.includes("livediagnostics"));
    assert.deepEqual(ai.map((h) => [h.host, h.source, h.phase]), [
      ["westeurope.in.applicationinsights.azure.com", "inference", "model-deploy"],
      ["westeurope.livediagnostics.monitor.azure.com", "inference", "model-deploy"],
    ]);
    assert.ok(!names({ ...base, monitoring: off }).some((h) => h.includes("applicationinsights")));
  });

  it("adds the OIDC issuer's JWKS host with token auth, and the Key Vault the TLS certificate comes from", () => {
    const oidc = { ...base, tokenAuth: true, jwksUri: "https://Keys.Example.org/tenant/discovery/v2.0/keys" };
    assert.ok(names(oidc).includes("keys.example.org"));
    assert.ok(!names({ ...oidc, tokenAuth: false }).includes("keys.example.org"), "no token auth, no key fetch");
    assert.ok(names({ ...base, keyVaultName: "kv-Certs" }).includes("kv-certs.vault.azure.net"));
  });

  it("lists exactly these hosts for the shipped dev and prod stacks", () => {
    assert.deepEqual(requiredHostsFor(stackConfig("dev")).map((h) => h.host), [
      "mcr-0001.mcr-msedge.net",
      "management.azure.com",
      "login.microsoftonline.com",
      "packages.microsoft.com",
      "acs-mirror.azureedge.net",
      "packages.aks.azure.com",
      "*.hcp.westeurope.azmk8s.io",
      "mcr.microsoft.com",
      "*.data.mcr.microsoft.com",
      "aksinfdevst.table.core.windows.net",
      "aksinf-dev.westeurope.cloudapp.azure.com",
      "aksinfdevacr.azurecr.io",
      "*.blob.core.windows.net",
      "aksinfdevst.blob.core.windows.net",
    ]);
    assert.deepEqual(requiredHostsFor(stackConfig("prod")).map((h) => h.host), PROD_HOSTS);
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

  it("is ordered by Azure ML v1's connectivity chronology", () => {
    const phases = requiredHosts({ ...base, tokenAuth: true, gpu: true, defender: true, azureMlCompat: true, keyVaultName: "kv", jwksUri: "https://k.example.org/keys" }).map((h) => PHASE_ORDER.indexOf(h.phase));
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
    const inferenceHosts = hosts.filter((h) => h.source === "inference").map((h) => h.host);
    assert.deepEqual(uncoveredHosts(hosts, inferenceHosts, ["AzureKubernetesService"]), []);
    const missing = uncoveredHosts(hosts, inferenceHosts.filter((h) => h !== "myacr01.azurecr.io"), ["AzureKubernetesService"]);
    assert.deepEqual(missing.map((h) => h.host), ["myacr01.azurecr.io"]);
    assert.ok(uncoveredHosts(hosts, inferenceHosts, []).some((h) => h.host === "packages.aks.azure.com"), "without the FQDN tag AKS hosts are missing");
  });
});
