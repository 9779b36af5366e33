/**
 * The hosts an inference cluster must resolve and reach: Azure ML v1's table, in its chronology,
 * plus what AKS itself and the GPU pools need behind a firewall. One source of truth: the
 * firewall rules, `npm run hosts`, the docs and the policy pack all read it.
 */
import { keyVaultName, type StackConfig } from "../config";
import { purposeProfile } from "../config/purpose";

/** When in Azure ML v1's connectivity chronology a host is first needed. */
export type Phase =
  | "cluster" // AKS itself: nodes joining, images of system pods, node OS packages
  | "router-deploy" // before the router can be deployed: DNS + egress to API server and MCR
  | "router-start" // the router finds its peers through the API server
  | "router-running" // dynamic config from storage, Entra for token auth, telemetry
  | "model-deploy"; // model images from ACR, packages and models from blob storage

export const PHASE_ORDER: readonly Phase[] = ["cluster", "router-deploy", "router-start", "router-running", "model-deploy"];

export interface RequiredHost {
  /** FQDN, or a wildcard `*.suffix` where the name has a random part. */
  host: string;
  usedBy: string;
  phase: Phase;
  why: string;
  /** Application protocol and port a firewall must allow. */
  protocol: "Https" | "Http";
  port: number;
  /**
   * inference: what the inference services themselves call; aks: what the AzureKubernetesService FQDN
   * tag covers; gpu: GPU node setup; addon: cluster add-ons this stack turns on (Defender);
   * azureml: calls of Microsoft's azureml-fe, allowed only with `requiredHosts.azureMlCompat`.
   */
  source: "inference" | "aks" | "gpu" | "addon" | "azureml";
}

export interface RequiredHostsInput {
  clusterName: string;
  region: string;
  registryName: string;
  storageAccountName: string;
  /**
   * Premium registry with `dataEndpointEnabled`: layers come from its own data endpoint
   * `<registry>.<region>.data.azurecr.io`. Otherwise from ACR's storage accounts, whose names are
   * not known in advance (`*.blob.core.windows.net`).
   */
  registryDataEndpoint: boolean;
  /** Some service uses token auth. */
  tokenAuth: boolean;
  /** With token auth by an OIDC issuer: where the router fetches the signing keys. */
  jwksUri?: string;
  /** Microsoft Defender for Containers is on (its sensor reports to Log Analytics and Defender for Cloud). */
  defender: boolean;
  /** TLS certificate read from this Key Vault by the Secrets Store CSI driver. */
  keyVaultName?: string;
  /** Also the hosts Microsoft's azureml-fe calls (`requiredHosts.azureMlCompat`). */
  azureMlCompat: boolean;
  /** With a custom domain no `cloudapp.azure.com` name is needed. */
  customDomain?: string;
  dnsLabel?: string;
  /** The cluster has GPU pools (NVIDIA driver and device plugin hosts). */
  gpu: boolean;
  /** Azure Monitor agents this stack turns on (`monitoring`), and services sending to Application Insights. */
  monitoring?: { prometheus: boolean; containerInsights: boolean; appInsights: boolean };
}

/** FQDN tag of Azure Firewall that covers the hosts AKS itself needs. */
export const AKS_FQDN_TAG = "AzureKubernetesService";

/**
 * What the AKS FQDN tag stands for (AKS docs, "Outbound network and FQDN rules"), listed so a
 * firewall without FQDN tags, a custom DNS server or a reviewer can see it.
 */
export const AKS_HOSTS: readonly string[] = [
  "mcr.microsoft.com",
  "*.data.mcr.microsoft.com",
  "mcr-0001.mcr-msedge.net",
  "management.azure.com",
  "login.microsoftonline.com",
  "packages.microsoft.com",
  "acs-mirror.azureedge.net",
  "packages.aks.azure.com",
];

export interface NetworkRule {
  name: string;
  protocols: ("TCP" | "UDP")[];
  /** Service tag or address. */
  destination: string;
  ports: string[];
  why: string;
}

/**
 * Network (IP) rules AKS needs behind a firewall: none. Everything a cluster of this stack needs
 * goes through FQDN application rules.
 *
 * Microsoft, "Outbound network and FQDN rules for Azure Kubernetes Service (AKS) clusters"
 * (https://learn.microsoft.com/azure/aks/outbound-rules-control-egress), "Azure Global required
 * network rules":
 *  - UDP 1194 and TCP 9000 to `AzureCloud.<region>` ("For tunneled secure communication between
 *    the nodes and the control plane"): "This isn't required for private clusters, or for clusters
 *    with the konnectivity-agent enabled." Konnectivity is AKS's tunnel ("The current main tunnel
 *    that AKS uses is Konnectivity", AKS FAQ, "How does the managed control plane communicate with
 *    my nodes?"), and it runs over `*.hcp.<region>.azmk8s.io:443`, an application rule here.
 *  - UDP 123 (NTP): "This isn't required for nodes provisioned after March 2021." Every node of
 *    this stack is provisioned by it, on a current node image.
 * The doc still lists both for clusters without konnectivity and nodes older than March 2021
 * (and unconditionally for the 21Vianet and US Government clouds, which this stack's host list,
 * Azure Global's, does not serve). No cluster this stack creates is one of them, so there is no
 * option to add them back: each would be an IP rule to every Azure address of the region.
 * No TCP 443 to `AzureCloud.<region>` either: network rules match before application rules, so
 * it would open every Azure IP of the region past the FQDN allow-list; pods reach the API server
 * by its `*.hcp.<region>.azmk8s.io` name instead (core/azure/rules.ts).
 */
export function aksNetworkRules(_region: string): NetworkRule[] {
  return [];
}

/** Hosts of Microsoft's azureml-fe that this project's router never calls (kept only for `azureMlCompat`). */
export const AZUREML_FE_ONLY =
  "Only Microsoft's router (azureml-fe) calls these; this project's router does not: it validates tokens itself and sends no telemetry to Microsoft";

/** Microsoft docs the hosts come from, named in messages. */
export const OUTBOUND_RULES_DOC = "Outbound network and FQDN rules for Azure Kubernetes Service (AKS) clusters";

/** The required hosts of one stack, in chronological order. */
export function requiredHosts(input: RequiredHostsInput): RequiredHost[] {
  const region = input.region.toLowerCase().replace(/\s+/g, "");
  const registry = input.registryName.toLowerCase();
  const https = { protocol: "Https" as const, port: 443 };
  const hosts: RequiredHost[] = [
    {
      host: `*.hcp.${region}.azmk8s.io`,
      usedBy: "AKS API server",
      phase: "router-deploy",
      why: `the API server is <dnsPrefix>-<random>.hcp.${region}.azmk8s.io (prefix '${input.clusterName}'); the random part forces a wildcard`,
      source: "inference",
      ...https,
    },
    { host: "mcr.microsoft.com", usedBy: "Microsoft Container Registry (MCR)", phase: "router-deploy", why: "router and system images", source: "inference", ...https },
    { host: "*.data.mcr.microsoft.com", usedBy: "MCR content delivery", phase: "router-deploy", why: "MCR serves image layers from its data endpoints", source: "inference", ...https },
    {
      host: `${input.storageAccountName}.table.core.windows.net`,
      usedBy: "Azure Storage (table)",
      phase: "router-running",
      why: "the router's dynamic configuration",
      source: "inference",
      ...https,
    },
  ];
  if (input.keyVaultName) {
    hosts.push({
      host: `${input.keyVaultName.toLowerCase()}.vault.azure.net`,
      usedBy: "Azure Key Vault (TLS certificate)",
      phase: "router-deploy",
      why: "the Secrets Store CSI driver reads the router's certificate before the router pods start",
      source: "inference",
      ...https,
    });
  }
  if (input.tokenAuth && input.jwksUri) {
    hosts.push({
      host: new URL(input.jwksUri).hostname.toLowerCase(),
      usedBy: "token issuer (JWKS)",
      phase: "router-running",
      why: "the router fetches the issuer's signing keys to validate tokens (it never calls the issuer URL itself: `iss` is compared, not fetched)",
      source: "inference",
      ...https,
    });
  }
  if (input.azureMlCompat) {
    if (input.tokenAuth) hosts.push({ host: "api.azureml.ms", usedBy: "Azure Machine Learning token service", phase: "router-running", why: AZUREML_FE_ONLY, source: "azureml", ...https });
    hosts.push({ host: `ingest-vienna${region}.kusto.windows.net`, usedBy: "Kusto telemetry ingestion", phase: "router-running", why: AZUREML_FE_ONLY, source: "azureml", ...https });
  }
  if (!input.customDomain) {
    hosts.push({
      host: `${input.dnsLabel ?? input.clusterName}.${region}.cloudapp.azure.com`,
      usedBy: "scoring endpoint domain name",
      phase: "router-running",
      why: "auto-generated endpoint name (not needed with a custom domain)",
      source: "inference",
      ...https,
    });
  }
  hosts.push({ host: `${registry}.azurecr.io`, usedBy: "Azure Container Registry (ACR)", phase: "model-deploy", why: "model environment images (registry API)", source: "inference", ...https });
  hosts.push(
    input.registryDataEndpoint
      ? { host: `${registry}.${region}.data.azurecr.io`, usedBy: "ACR data endpoint", phase: "model-deploy", why: "image layers, from the registry's dedicated data endpoint (Premium, dataEndpointEnabled)", source: "inference", ...https }
      : {
          host: "*.blob.core.windows.net",
          usedBy: "ACR layer storage",
          phase: "model-deploy",
          why: "image layers of a registry without a dedicated data endpoint come from ACR-owned storage accounts with unpredictable names (a Premium registry narrows this to <registry>.<region>.data.azurecr.io)",
          source: "inference",
          ...https,
        },
  );
  hosts.push({ host: `${input.storageAccountName}.blob.core.windows.net`, usedBy: "Azure Storage (blob)", phase: "model-deploy", why: "project packages and models; model data collection", source: "inference", ...https });
  for (const host of AKS_HOSTS.filter((h) => !hosts.some((x) => x.host === h))) {
    hosts.push({ host, usedBy: "AKS", phase: "cluster", why: `covered by the ${AKS_FQDN_TAG} FQDN tag`, source: "aks", ...https });
  }
  if (input.defender) {
    // Microsoft, "Outbound network and FQDN rules for Azure Kubernetes Service (AKS) clusters",
    // "Microsoft Defender for Containers required FQDN / application rules" (Azure Global):
    // login.microsoftonline.com (already listed: an AKS host, or the token issuer's), and these.
    for (const [host, why] of [
      ["*.ods.opinsights.azure.com", "Defender uploads security events to Log Analytics"],
      ["*.oms.opinsights.azure.com", "Defender authenticates with the Log Analytics workspace"],
      ["*.cloud.defender.microsoft.com", "the Defender sensor uploads security events to Microsoft Defender for Cloud"],
    ] as const) {
      hosts.push({ host, usedBy: "Microsoft Defender for Containers", phase: "cluster", why, source: "addon", ...https });
    }
  }
  if (input.gpu) {
    for (const [host, why] of [
      ["nvidia.github.io", "NVIDIA container toolkit packages"],
      ["us.download.nvidia.com", "NVIDIA GPU drivers"],
      ["download.docker.com", "container runtime packages the NVIDIA toolkit depends on"],
    ] as const) {
      hosts.push({ host, usedBy: "GPU node pools", phase: "cluster", why, source: "gpu", ...https });
    }
  }
  const m = input.monitoring;
  if (m && (m.prometheus || m.containerInsights)) {
    // Microsoft, "Network firewall requirements for monitoring Kubernetes cluster" (Azure public
    // cloud): what the ama-metrics and ama-logs agents reach (login.microsoftonline.com is an AKS host).
    const agents = [m.prometheus && "managed Prometheus (ama-metrics)", m.containerInsights && "Container Insights (ama-logs)"].filter(Boolean).join(", ");
    for (const [host, why] of [
      ["*.ods.opinsights.azure.com", "Azure Monitor agents upload data"],
      ["*.oms.opinsights.azure.com", "Azure Monitor agent onboarding"],
      ["dc.services.visualstudio.com", "the agents' own telemetry"],
      ["*.monitoring.azure.com", "metrics sent to Azure Monitor"],
      ["global.handler.control.monitor.azure.com", "Azure Monitor's access control service"],
      [`${input.region}.handler.control.monitor.azure.com`, "the agents fetch this cluster's data collection rules"],
      [`${input.region}.ingest.monitor.azure.com`, "the data collection endpoint's ingestion (Prometheus metrics, ContainerLogV2)"],
    ] as const) {
      const listed = hosts.find((h) => h.host === host);
      if (listed) listed.usedBy += `, ${agents}`;
      else hosts.push({ host, usedBy: agents, phase: "cluster", why, source: "addon", ...https });
    }
  }
  if (m?.appInsights) {
    // Microsoft, "IP addresses used by Azure Monitor" / Application Insights connection strings:
    // the regional ingestion and live-metrics endpoints a connection string names.
    for (const [host, why] of [
      [`${input.region}.in.applicationinsights.azure.com`, "model services send request, trace and exception records to Application Insights"],
      [`${input.region}.livediagnostics.monitor.azure.com`, "Application Insights live metrics"],
    ] as const) {
      hosts.push({ host, usedBy: "model services with appInsightsEnabled", phase: "model-deploy", why, source: "inference", ...https });
    }
  }
  return hosts.sort((a, b) => PHASE_ORDER.indexOf(a.phase) - PHASE_ORDER.indexOf(b.phase));
}

/** The input for a validated stack config. */
export function requiredHostsInputFor(cfg: StackConfig): RequiredHostsInput {
  return {
    clusterName: cfg.clusterName,
    region: cfg.location,
    registryName: cfg.registryName,
    storageAccountName: cfg.storageAccountName,
    registryDataEndpoint: purposeProfile(cfg.clusterPurpose).registrySku === "Premium",
    tokenAuth: cfg.services.some((s) => s.authMode === "token"),
    jwksUri: cfg.tokenIssuer.type === "oidc" ? cfg.tokenIssuer.jwksUri : undefined,
    defender: cfg.defender,
    keyVaultName: cfg.endpoint.tls?.keyVault ? keyVaultName(cfg.endpoint.tls.keyVault) : undefined,
    azureMlCompat: cfg.requiredHosts.azureMlCompat,
    customDomain: cfg.endpoint.customDomain,
    dnsLabel: cfg.endpoint.dnsLabel,
    gpu: cfg.gpuPools.length > 0,
    monitoring: { ...cfg.monitoring, appInsights: cfg.services.some((s) => s.appInsightsEnabled || (s.versions ?? []).some((v) => v.appInsightsEnabled)) },
  };
}

export function requiredHostsFor(cfg: StackConfig): RequiredHost[] {
  return requiredHosts(requiredHostsInputFor(cfg));
}

/** Whether an allowed FQDN pattern (exact or `*.suffix`) covers a required host (exact or wildcard). */
export function fqdnCovers(allowed: string, required: string): boolean {
  const a = allowed.toLowerCase();
  const r = required.toLowerCase();
  if (a === r || a === "*") return true;
  if (!a.startsWith("*.")) return false;
  const suffix = a.slice(1); // ".example.com"
  return r.startsWith("*.") ? r.slice(1).endsWith(suffix) : r.endsWith(suffix);
}

/**
 * Required hosts that a firewall allowing `fqdns` (and `fqdnTags`) does not cover. The AKS FQDN
 * tag covers the `aks` hosts (and MCR, which it includes).
 */
export function uncoveredHosts(required: RequiredHost[], fqdns: string[], fqdnTags: string[]): RequiredHost[] {
  const aksTag = fqdnTags.some((t) => t.toLowerCase() === AKS_FQDN_TAG.toLowerCase());
  return required.filter((h) => {
    if (aksTag && (h.source === "aks" || AKS_HOSTS.includes(h.host))) return false;
    return !fqdns.some((f) => fqdnCovers(f, h.host));
  });
}
