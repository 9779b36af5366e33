/**
 * The hosts an inference cluster must resolve and reach: the seed's table, in its chronology,
 * plus what AKS itself and the GPU pools need behind a firewall. One source of truth: the
 * firewall rules, `npm run hosts`, the docs and the policy pack all read it.
 */
import type { StackConfig } from "./config";

/** When in the seed's connectivity chronology a host is first needed. */
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
  source: "seed" | "aks" | "gpu";
}

export interface RequiredHostsInput {
  clusterName: string;
  region: string;
  registryName: string;
  storageAccountName: string;
  /** Some service uses token auth (then `api.azureml.ms` is needed). */
  tokenAuth: boolean;
  /** With a custom domain no `cloudapp.azure.com` name is needed. */
  customDomain?: string;
  dnsLabel?: string;
  /** The cluster has GPU pools (NVIDIA driver and device plugin hosts). */
  gpu: boolean;
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
  /** Service tag or address; `AzureCloud.<region>` for the API server tunnel. */
  destination: string;
  ports: string[];
  why: string;
}

/** Network rules AKS needs behind a firewall (tunnel to the API server, NTP, API over 443). */
export function aksNetworkRules(region: string): NetworkRule[] {
  return [
    { name: "aks-tunnel-udp", protocols: ["UDP"], destination: `AzureCloud.${region}`, ports: ["1194"], why: "tunnelled node-to-API-server traffic (konnectivity/OpenVPN)" },
    { name: "aks-tunnel-tcp", protocols: ["TCP"], destination: `AzureCloud.${region}`, ports: ["9000"], why: "tunnelled node-to-API-server traffic (tunnelfront)" },
    { name: "aks-apiserver", protocols: ["TCP"], destination: `AzureCloud.${region}`, ports: ["443"], why: "API server for pods that reach it by IP" },
    { name: "ntp", protocols: ["UDP"], destination: "*", ports: ["123"], why: "node time synchronisation (NTP)" },
  ];
}

/** The required hosts of one stack, in chronological order. */
export function requiredHosts(input: RequiredHostsInput): RequiredHost[] {
  const region = input.region.toLowerCase().replace(/\s+/g, "");
  const https = { protocol: "Https" as const, port: 443 };
  const hosts: RequiredHost[] = [
    {
      host: `*.hcp.${region}.azmk8s.io`,
      usedBy: "AKS API server",
      phase: "router-deploy",
      why: `the API server is <dnsPrefix>-<random>.hcp.${region}.azmk8s.io (prefix '${input.clusterName}'); the random part forces a wildcard`,
      source: "seed",
      ...https,
    },
    { host: "mcr.microsoft.com", usedBy: "Microsoft Container Registry (MCR)", phase: "router-deploy", why: "router and system images", source: "seed", ...https },
    { host: "*.data.mcr.microsoft.com", usedBy: "MCR content delivery", phase: "router-deploy", why: "MCR serves image layers from its data endpoints", source: "seed", ...https },
    {
      host: `${input.storageAccountName}.table.core.windows.net`,
      usedBy: "Azure Storage (table)",
      phase: "router-running",
      why: "the router's dynamic configuration",
      source: "seed",
      ...https,
    },
  ];
  if (input.tokenAuth) {
    hosts.push({ host: "api.azureml.ms", usedBy: "Microsoft Entra authentication", phase: "router-running", why: "a service uses token auth", source: "seed", ...https });
  }
  hosts.push({
    host: `ingest-vienna${region}.kusto.windows.net`,
    usedBy: "Kusto telemetry ingestion",
    phase: "router-running",
    why: "telemetry upload (as azureml-fe)",
    source: "seed",
    ...https,
  });
  if (!input.customDomain) {
    hosts.push({
      host: `${input.dnsLabel ?? input.clusterName}.${region}.cloudapp.azure.com`,
      usedBy: "scoring endpoint domain name",
      phase: "router-running",
      why: "auto-generated endpoint name (not needed with a custom domain)",
      source: "seed",
      ...https,
    });
  }
  hosts.push(
    { host: `${input.registryName.toLowerCase()}.azurecr.io`, usedBy: "Azure Container Registry (ACR)", phase: "model-deploy", why: "model environment images", source: "seed", ...https },
    { host: `${input.storageAccountName}.blob.core.windows.net`, usedBy: "Azure Storage (blob)", phase: "model-deploy", why: "project packages and models; model data collection", source: "seed", ...https },
  );
  for (const host of AKS_HOSTS.filter((h) => !hosts.some((x) => x.host === h))) {
    hosts.push({ host, usedBy: "AKS", phase: "cluster", why: `covered by the ${AKS_FQDN_TAG} FQDN tag`, source: "aks", ...https });
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
  return hosts.sort((a, b) => PHASE_ORDER.indexOf(a.phase) - PHASE_ORDER.indexOf(b.phase));
}

/** The input for a validated stack config. */
export function requiredHostsInputFor(cfg: StackConfig): RequiredHostsInput {
  return {
    clusterName: cfg.clusterName,
    region: cfg.location,
    registryName: cfg.registryName,
    storageAccountName: cfg.storageAccountName,
    tokenAuth: cfg.services.some((s) => s.authMode === "token"),
    customDomain: cfg.endpoint.customDomain,
    dnsLabel: cfg.endpoint.dnsLabel,
    gpu: cfg.gpuPools.length > 0,
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
