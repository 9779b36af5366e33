/**
 * The firewall facts derived from the host list: AKS's network rules, which allowed FQDN patterns
 * cover which hosts, what the AKS FQDN tag covers, and the input a stack config gives.
 */
import * as assert from "node:assert/strict";
import { AKS_FQDN_TAG, OUTBOUND_RULES_DOC, aksNetworkRules, fqdnCovers, requiredHosts, requiredHostsInputFor, uncoveredHosts, type RequiredHost } from "../../core/azure/requiredHosts";
import { stackConfig } from "../support/stacks";

const host = (h: string, source: RequiredHost["source"] = "inference"): RequiredHost => ({ host: h, usedBy: "x", phase: "cluster", why: "y", protocol: "Https", port: 443, source });

describe("required hosts: firewall rules and coverage", () => {
  it("AKS's network rules: none. No UDP 1194 / TCP 9000 to AzureCloud.<region> (konnectivity goes over *.hcp.<region>.azmk8s.io:443), no UDP 123 (nodes since March 2021)", () => {
    // "Outbound network and FQDN rules for Azure Kubernetes Service (AKS) clusters", Azure Global
    // required network rules: 1194/9000 "isn't required for private clusters, or for clusters with
    // the konnectivity-agent enabled"; NTP "isn't required for nodes provisioned after March 2021".
    assert.deepEqual(aksNetworkRules("westeurope"), []);
    assert.deepEqual(aksNetworkRules("northeurope"), [], "in any region");
    assert.equal(OUTBOUND_RULES_DOC, "Outbound network and FQDN rules for Azure Kubernetes Service (AKS) clusters");
  });

  it("an allowed pattern covers the same name in any case, everything for '*', and subdomains for '*.suffix' only", () => {
    assert.equal(fqdnCovers("MCR.microsoft.com", "mcr.MICROSOFT.com"), true);
    assert.equal(fqdnCovers("*", "anything.example"), true);
    assert.equal(fqdnCovers("*.blob.core.windows.net", "acct.blob.core.windows.net"), true);
    assert.equal(fqdnCovers("*.blob.core.windows.net", "blob.core.windows.net"), false, "the wildcard needs a label before the suffix");
    assert.equal(fqdnCovers("*.core.windows.net", "*.blob.core.windows.net"), true, "a wider wildcard covers a narrower one");
    assert.equal(fqdnCovers("*.blob.core.windows.net", "*.core.windows.net"), false);
    assert.equal(fqdnCovers("acct.blob.core.windows.net", "*.blob.core.windows.net"), false, "a name never covers a wildcard");
    assert.equal(fqdnCovers("example.com", "evilexample.com"), false);
    assert.equal(fqdnCovers("*.example.com", "evilexample.com"), false);
    assert.equal(fqdnCovers("x*.example.com", "xa.example.com"), false, "only a leading '*.' is a wildcard");
  });

  it("the AKS FQDN tag (any case) covers the aks hosts and MCR, not the inference hosts", () => {
    const req = [host("packages.aks.azure.com", "aks"), host("mcr.microsoft.com"), host("myacr.azurecr.io")];
    assert.deepEqual(uncoveredHosts(req, [], [AKS_FQDN_TAG.toUpperCase()]).map((h) => h.host), ["myacr.azurecr.io"]);
    assert.deepEqual(uncoveredHosts(req, [], ["AppServiceEnvironment"]).map((h) => h.host), ["packages.aks.azure.com", "mcr.microsoft.com", "myacr.azurecr.io"]);
    assert.deepEqual(uncoveredHosts(req, ["*.azurecr.io"], []).map((h) => h.host), ["packages.aks.azure.com", "mcr.microsoft.com"]);
  });

  it("takes token auth and the OIDC keys from the stack config", () => {
    const dev = requiredHostsInputFor(stackConfig("dev"));
    assert.equal(dev.tokenAuth, false);
    assert.equal(dev.jwksUri, undefined);
    const prod = requiredHostsInputFor(stackConfig("prod"));
    assert.equal(prod.tokenAuth, true);
    assert.match(prod.jwksUri ?? "", /^https:\/\/login\.microsoftonline\.com\//);
  });

  it("normalises the region: lower case, no spaces", () => {
    const hosts = requiredHosts({ clusterName: "c", region: "West  Europe", registryName: "R", storageAccountName: "s", registryDataEndpoint: true, tokenAuth: false, defender: false, azureMlCompat: false, gpu: false });
    assert.ok(hosts.some((h) => h.host === "*.hcp.westeurope.azmk8s.io"));
    assert.ok(hosts.some((h) => h.host === "r.westeurope.data.azurecr.io"));
  });

  it("names who needs each host and when, in the order a cluster comes up (what `npm run hosts` prints)", () => {
    const all = requiredHosts({
      clusterName: "aksinf-prod",
      region: "westeurope",
      registryName: "prodacr",
      storageAccountName: "prodst",
      registryDataEndpoint: false,
      tokenAuth: true,
      jwksUri: "https://login.microsoftonline.com/t/discovery/v2.0/keys",
      defender: true,
      keyVaultName: "kv-certs",
      azureMlCompat: true,
      dnsLabel: "fraud",
      gpu: true,
    });
    assert.deepEqual(all.map((h) => [h.host, h.usedBy, h.phase, h.source]), [
      ["mcr-0001.mcr-msedge.net","AKS","cluster","aks"],
      ["management.azure.com","AKS","cluster","aks"],
      ["packages.microsoft.com","AKS","cluster","aks"],
      ["acs-mirror.azureedge.net","AKS","cluster","aks"],
      ["packages.aks.azure.com","AKS","cluster","aks"],
      ["*.ods.opinsights.azure.com","Microsoft Defender for Containers","cluster","addon"],
      ["*.oms.opinsights.azure.com","Microsoft Defender for Containers","cluster","addon"],
      ["*.cloud.defender.microsoft.com","Microsoft Defender for Containers","cluster","addon"],
      ["nvidia.github.io","GPU node pools","cluster","gpu"],
      ["us.download.nvidia.com","GPU node pools","cluster","gpu"],
      ["download.docker.com","GPU node pools","cluster","gpu"],
      ["*.hcp.westeurope.azmk8s.io","AKS API server","router-deploy","inference"],
      ["mcr.microsoft.com","Microsoft Container Registry (MCR)","router-deploy","inference"],
      ["*.data.mcr.microsoft.com","MCR content delivery","router-deploy","inference"],
      ["kv-certs.vault.azure.net","Azure Key Vault (TLS certificate)","router-deploy","inference"],
      ["prodst.table.core.windows.net","Azure Storage (table)","router-running","inference"],
      ["login.microsoftonline.com","token issuer (JWKS)","router-running","inference"],
      ["api.azureml.ms","Azure Machine Learning token service","router-running","azureml"],
      ["ingest-viennawesteurope.kusto.windows.net","Kusto telemetry ingestion","router-running","azureml"],
      ["fraud.westeurope.cloudapp.azure.com","scoring endpoint domain name","router-running","inference"],
      ["prodacr.azurecr.io","Azure Container Registry (ACR)","model-deploy","inference"],
      ["*.blob.core.windows.net","ACR layer storage","model-deploy","inference"],
      ["prodst.blob.core.windows.net","Azure Storage (blob)","model-deploy","inference"],
    ]);
    assert.ok(all.every((h) => h.why.length > 0), "every host says why");
    assert.match(all.find((h) => h.host === "*.hcp.westeurope.azmk8s.io")!.why, /prefix 'aksinf-prod'/);
  });
});
