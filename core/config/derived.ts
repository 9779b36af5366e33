/**
 * Values computed from the config: the purpose's defaults (resolved here, and nowhere else in
 * config), Azure resource names derived from the prefix and the stack's name, a service's
 * versions, and the endpoint's host, scoring URIs and TLS vault.
 */
import { parseResourceId, parseTopLevelId } from "../azure/rules";
import { purposeProfile } from "./purpose";
import { IMPLICIT_VERSION, unitOf } from "../decisions/versions";
import type { Problem } from "./problems";
import { clusterNameSchema, firewallSchema, type FirewallConfig, type ModelServiceConfig, type ModelVersionConfig, type ParsedStack, type StackConfig } from "./schema";

/**
 * The keys a cluster purpose defaults (core/config/purpose.ts), each given or the purpose's: Defender,
 * system pool, router, upgrade channels, Azure Monitor, and a created firewall's public IPs.
 */
export function withPurposeDefaults(c: ParsedStack): Pick<StackConfig, "defender" | "systemPool" | "router" | "upgrades" | "monitoring"> & { firewall: FirewallConfig | undefined } {
  const d = purposeProfile(c.clusterPurpose);
  const pool = c.systemPool;
  return {
    defender: c.defender ?? d.defender,
    firewall: resolveFirewall(c, d.firewallPublicIps),
    systemPool: { ...pool, vmSize: pool.vmSize ?? d.systemVmSize, count: pool.count ?? pool.minCount ?? d.systemCount },
    router: { ...c.router, replicas: c.router.replicas ?? d.routerReplicas, selfScaling: c.router.selfScaling ?? d.selfScaling },
    upgrades: { ...c.upgrades, channel: c.upgrades.channel ?? d.upgradeChannel, nodeOsChannel: c.upgrades.nodeOsChannel ?? d.nodeOsUpgradeChannel },
    monitoring: { prometheus: c.monitoring.prometheus ?? d.prometheus, containerInsights: c.monitoring.containerInsights ?? d.containerInsights, grafana: c.monitoring.grafana },
  };
}

/** With egress 'firewall': the hub's when its policy and both IPs are given, else one the stack creates. */
function resolveFirewall(c: ParsedStack, defaultPublicIps: number): FirewallConfig | undefined {
  if (c.egress !== "firewall") return undefined;
  const f = c.firewall ?? firewallSchema.parse({});
  if (f.policyId && f.privateIp && f.publicIp) return { kind: "hub", policyId: f.policyId, privateIp: f.privateIp, publicIp: f.publicIp, priority: f.priority };
  return { kind: "created", publicIpCount: f.publicIpCount ?? defaultPublicIps, priority: f.priority };
}

/**
 * The Azure names of the stack's resources: given, or derived from `namePrefix` and the stack's
 * name (an environment's name in another program). Registry and storage names are cut and padded
 * to their rules; a derived cluster name that breaks its rules is a problem of `clusterName`,
 * reported with where it came from (the key was never written).
 */
export function resourceNames(c: ParsedStack, stack: string, problem: Problem): Pick<StackConfig, "clusterName" | "resourceGroupName" | "registryName" | "storageAccountName"> {
  const clusterName = c.clusterName ?? `${c.namePrefix}-${stack}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
  if (c.clusterName === undefined && !clusterNameSchema.safeParse(clusterName).success) {
    problem(
      ["clusterName"],
      `is required: the name derived from namePrefix '${c.namePrefix}' and the stack's name '${stack}', '${clusterName}', is not 3-40 lowercase letters, digits and '-' starting with a letter and ending with a letter or digit; set clusterName, or use a shorter stack name`,
    );
  }
  const compact = `${c.namePrefix}${stack}`.toLowerCase().replace(/[^a-z0-9]/g, "");
  return {
    clusterName,
    resourceGroupName: c.resourceGroupName ?? `rg-${clusterName}`,
    registryName: c.registryName ?? `${compact}acr`.slice(0, 50).padEnd(5, "0"),
    storageAccountName: c.storageAccountName ?? `${compact}st`.slice(0, 24).padEnd(3, "0"),
  };
}

/** A model's registered name when only its path is given: the file or folder name, extension dropped. */
export function modelName(path: string): string {
  const base = path.replace(/\/+$/, "").split("/").pop() ?? path;
  return base.replace(/\.[^.]+$/, "").toLowerCase().replace(/[^a-z0-9-]/g, "-");
}

/** Whether a service's entry script is Python (served through Python workers). */
export function isPythonEntryScript(entryScript: string | undefined): boolean {
  return entryScript !== undefined && entryScript.endsWith(".py");
}

/** The conda file's `python=3.x` pin, if any (`- python=3.8`, `- python==3.8.10`, `- python 3.8`). */
export function condaPythonVersion(condaYaml: string): string | undefined {
  return /^\s*-\s*python\s*(?:={1,2}|\s)\s*(3\.\d{1,2}(?:\.\d{1,2})?)/m.exec(condaYaml)?.[1];
}

/** A service's versions: the declared ones, or its one implicit version taking all traffic. */
export function versionsOf(svc: ModelServiceConfig): ModelVersionConfig[] {
  if (svc.versions) return svc.versions;
  const { versions: _none, ...settings } = svc;
  return [{ ...settings, version: IMPLICIT_VERSION, traffic: 100, mirrorPercent: 0 }];
}

/** Each version of a service with its unit key (core/decisions/versions.ts), as the router and local mode key them. */
export function unitsOf(svc: ModelServiceConfig): { unit: string; version: ModelVersionConfig }[] {
  return versionsOf(svc).map((version) => ({ unit: unitOf(svc.name, svc.versions ? version.version : undefined), version }));
}

/**
 * The `cloudapp.azure.com` label of the endpoint's public IP, none with a custom domain. The
 * default label is tenant-scoped (`domainNameLabelScope: TenantReuse`): Azure adds a hash, and
 * the FQDN is only known from the IP once it exists (the stack's `scoringHost` output).
 */
export function endpointDnsLabel(c: Pick<StackConfig, "endpoint" | "clusterName">): { label: string; scope?: "TenantReuse" } | undefined {
  if (c.endpoint.customDomain) return undefined;
  return c.endpoint.dnsLabel ? { label: c.endpoint.dnsLabel } : { label: c.clusterName, scope: "TenantReuse" };
}

/**
 * The DNS name clients call, as far as config knows it: the custom domain, else
 * `<label>.<region>.cloudapp.azure.com`. With the default tenant-scoped label Azure inserts a
 * hash after the label; the deployed stack reports the real name (`scoringHost` output).
 */
export function scoringHost(c: Pick<StackConfig, "endpoint" | "clusterName" | "location">): string {
  return c.endpoint.customDomain ?? `${c.endpoint.dnsLabel ?? c.clusterName}.${c.location}.cloudapp.azure.com`;
}

/** The TLS Key Vault certificate, resolved: the vault's resource ID parsed, or the older name and group in the stack's subscription. */
export interface KeyVaultCertificate {
  id: string;
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
  certificateName: string;
}

type KeyVaultConfig = NonNullable<NonNullable<StackConfig["endpoint"]["tls"]>["keyVault"]>;

/** The vault's name, from its resource ID (or the older name key). */
export function keyVaultName(keyVault: KeyVaultConfig): string {
  return keyVault.id ? parseTopLevelId(keyVault.id, "vaults").name : keyVault.name!;
}

/** `keyVault` of a validated config; `stackSubscriptionId` only serves the older name/resourceGroupName form. */
export function keyVaultOf(keyVault: KeyVaultConfig, stackSubscriptionId: string): KeyVaultCertificate {
  const { certificateName } = keyVault;
  if (keyVault.id) {
    const p = parseResourceId(keyVault.id)!;
    return { id: keyVault.id, subscriptionId: p.subscriptionId, resourceGroupName: p.resourceGroupName, name: p.path[1], certificateName };
  }
  const { name, resourceGroupName } = keyVault as { name: string; resourceGroupName: string };
  return { id: `/subscriptions/${stackSubscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.KeyVault/vaults/${name}`, subscriptionId: stackSubscriptionId, resourceGroupName, name, certificateName };
}

/** Whether the router terminates TLS (then the scoring URI is https). */
export function tlsEnabled(c: Pick<StackConfig, "endpoint">): boolean {
  return c.endpoint.tls !== undefined;
}

/** The v1 scoring URI of a service, as existing AML clients call it. */
export function scoringUri(c: Pick<StackConfig, "endpoint" | "clusterName" | "location">, service: string): string {
  return `${tlsEnabled(c) ? "https" : "http"}://${scoringHost(c)}/api/v1/service/${service}/score`;
}
