/**
 * The arguments of the `InferenceEnvironment` component: the stack config of `Pulumi.<stack>.yaml`
 * as typed arguments, so a program in any Pulumi language can build an environment.
 *
 * The shapes follow Pulumi's component schema inference: named interfaces, `as const` objects for
 * enumerations, plain paths for models and project folders. Validation is not repeated here: the
 * arguments become the raw config that `parseStackConfig` checks (core/config/parse.ts), and its
 * problems are reported under the argument's own path (`services[0].cpuCores`).
 */
import { CONFIG_NAMESPACE, ConfigError, LOCATION_KEY, parseStackConfig, type StackConfig } from ".";
import { ClusterPurpose, DeployerPrincipalType, DnsRecordType, EgressMode, NetworkPlugin, NodeOsUpgradeChannel, TokenIssuerType, UpgradeChannel, WeekDay } from "./enums";

// The enumerations are the config's own (enums.ts), declared once.
export { ClusterPurpose, DeployerPrincipalType, DnsRecordType, EgressMode, NetworkPlugin, NodeOsUpgradeChannel, TokenIssuerType, UpgradeChannel, WeekDay };

export interface EnvironmentNetwork {
  /** Default kubenet. */
  plugin?: NetworkPlugin;
  /** kubenet: address space of the VNet the environment creates (default 10.224.0.0/12). */
  vnetAddressSpace?: string;
  /** kubenet: node subnet prefix (default 10.224.0.0/16). */
  nodeSubnetPrefix?: string;
  /** kubenet with firewall egress: prefix of AzureFirewallSubnet (default 10.225.0.0/26). */
  firewallSubnetPrefix?: string;
  /** azure (CNI), required: resource ID of the existing node subnet. */
  subnetId?: string;
  /** azure (CNI) with a firewall the environment creates: the existing AzureFirewallSubnet. */
  firewallSubnetId?: string;
  /** azure (CNI) with firewall egress, required: the route table associated with subnetId. */
  routeTableId?: string;
  podCidr?: string;
  /** Kubernetes Service range; azure (CNI), required (the kubenet default 10.0.0.0/16 overlaps typical hub ranges). */
  serviceCidr?: string;
  /** Cluster DNS address inside serviceCidr; azure (CNI), required. */
  dnsServiceIp?: string;
}

export interface EnvironmentFirewall {
  /** The hub firewall's policy (resource ID); the environment adds its rule collection group. */
  policyId?: string;
  /** The hub firewall's private IP. */
  privateIp?: string;
  /** The hub firewall's public IP (DNAT to the router). */
  publicIp?: string;
  /** Rule collection group priority, 100-65000 (default 400). */
  priority?: number;
  /** A firewall the environment creates: number of public IPs. */
  publicIpCount?: number;
}

export interface EnvironmentNodePool {
  vmSize?: string;
  count?: number;
  minCount?: number;
  maxCount?: number;
}

export interface EnvironmentGpuPool {
  /** AKS pool name: 1-12 lowercase letters and digits. */
  name: string;
  /** An N-series VM size, e.g. Standard_NC4as_T4_v3. */
  vmSize: string;
  count?: number;
  minCount?: number;
  maxCount?: number;
  gpusPerNode?: number;
  /** Prove the pool runs a GPU container during deployment (default true). */
  verifyOnDeploy?: boolean;
  labels?: Record<string, string>;
}

export interface EnvironmentDnsZone {
  resourceGroupName: string;
  zoneName: string;
}

export interface EnvironmentKeyVaultCertificate {
  /** Resource ID of the vault, in any subscription of the tenant. */
  id?: string;
  /** Older form (a vault in the environment's subscription), with resourceGroupName; prefer id. */
  name?: string;
  resourceGroupName?: string;
  certificateName: string;
}

export interface EnvironmentTls {
  /** PEM certificate (pass it as a secret). */
  certificate?: string;
  /** PEM private key (pass it as a secret). */
  privateKey?: string;
  /** Or: a certificate in Azure Key Vault the router reads with its own workload identity. */
  keyVault?: EnvironmentKeyVaultCertificate;
}

export interface EnvironmentEndpoint {
  /** Host name clients call, e.g. ml.contoso.com. */
  customDomain?: string;
  /** cloudapp.azure.com label, used as given (default: the cluster name, tenant-scoped). */
  dnsLabel?: string;
  /** Azure DNS zone to create the custom domain's record in. */
  dnsZone?: EnvironmentDnsZone;
  /** With firewall egress, required: the router's internal load balancer IP. */
  internalIp?: string;
  tls?: EnvironmentTls;
}

export interface EnvironmentDnsRecord {
  zone: string;
  name: string;
  type: DnsRecordType;
  value: string;
}

export interface EnvironmentDns {
  privateZones?: string[];
  records?: EnvironmentDnsRecord[];
}

export interface EnvironmentTokenIssuer {
  type?: TokenIssuerType;
  issuer?: string;
  jwksUri?: string;
  audience?: string;
  region?: string;
  ttlSeconds?: number;
  maxLifetimeSeconds?: number;
}

export interface EnvironmentRouter {
  replicas?: number;
  payloadLimitMb?: number;
  selfScaling?: boolean;
  selfScalingLatencyThresholdMs?: number;
  /** A router image to run instead of building one. */
  image?: string;
  maxConnections?: number;
  trustForwardedFor?: boolean;
}

/** A model file or folder, relative to the project root. */
export interface EnvironmentModel {
  path: string;
  /** Registered model name (default: the file name without extension). */
  name?: string;
  /** Registered model version (default 1); needs name. */
  version?: number;
}

export interface EnvironmentServiceEnvironment {
  baseImage?: string;
  dependencies?: string;
  dockerfile?: string;
  condaFile?: string;
  pipRequirements?: string;
  pythonVersion?: string;
  python?: string;
}

export interface EnvironmentService {
  name: string;
  models?: EnvironmentModel[];
  /** Project folder (relative to the project root) zipped into the package. */
  sourceDirectory?: string;
  entryScript?: string;
  environment?: EnvironmentServiceEnvironment;
  cpuCores?: number;
  memoryGb?: number;
  gpuCores?: number;
  gpuPool?: string;
  gpuFallbackToCpu?: boolean;
  authEnabled?: boolean;
  tokenAuthEnabled?: boolean;
  autoscaleEnabled?: boolean;
  autoscaleMinReplicas?: number;
  autoscaleMaxReplicas?: number;
  autoscaleTargetUtilization?: number;
  numReplicas?: number;
  replicaMaxConcurrentRequests?: number;
  maxRequestWaitTimeMs?: number;
  scoringTimeoutMs?: number;
  collectModelData?: boolean;
  /** The environment's Application Insights connection string reaches the replicas (default false, as in Azure ML v1). */
  appInsightsEnabled?: boolean;
  /** Versions behind the service's one scoring URI; each defaults to the service's settings. */
  versions?: EnvironmentServiceVersion[];
}

/** One version of a service: its share of traffic and the settings it overrides. */
export interface EnvironmentServiceVersion {
  name: string;
  /** Percent of live requests (integers summing to 100 over the versions). */
  traffic?: number;
  /** Percent of requests copied to this version (one version at most, 0-50); it then takes no live traffic. */
  mirrorPercent?: number;
  models?: EnvironmentModel[];
  sourceDirectory?: string;
  entryScript?: string;
  environment?: EnvironmentServiceEnvironment;
  cpuCores?: number;
  memoryGb?: number;
  gpuCores?: number;
  gpuPool?: string;
  gpuFallbackToCpu?: boolean;
  autoscaleEnabled?: boolean;
  autoscaleMinReplicas?: number;
  autoscaleMaxReplicas?: number;
  autoscaleTargetUtilization?: number;
  numReplicas?: number;
  replicaMaxConcurrentRequests?: number;
  maxRequestWaitTimeMs?: number;
  scoringTimeoutMs?: number;
}

/** The weekly planned maintenance window of both auto-upgrade schedules. */
export interface EnvironmentMaintenanceWindow {
  /** Default Sunday. */
  dayOfWeek?: WeekDay;
  /** HH:mm in utcOffset (default 00:00). */
  startTime?: string;
  /** 4-24 (default 4). */
  durationHours?: number;
  /** e.g. +01:00 (default +00:00). */
  utcOffset?: string;
}

export interface EnvironmentUpgrades {
  /** Default by purpose: patch. */
  channel?: UpgradeChannel;
  /** Default by purpose: NodeImage. */
  nodeOsChannel?: NodeOsUpgradeChannel;
  maintenanceWindow?: EnvironmentMaintenanceWindow;
}

export interface EnvironmentDeployer {
  /** Default: from the deployer's ARM access token's claims. */
  principalType?: DeployerPrincipalType;
}

export interface EnvironmentApiServer {
  /** IPv4 CIDRs allowed to reach the public API server (at most 200). */
  authorizedIpRanges?: string[];
  /** A private API server; Azure CNI only, not with authorizedIpRanges (default false). */
  private?: boolean;
}

export interface EnvironmentAccess {
  /** Object ID (a GUID) of the on-call Entra group: AKS RBAC Writer on the stack's namespace and Cluster User Role on the cluster. */
  onCallGroupObjectId?: string;
}

/** Azure Monitor for the cluster. */
export interface EnvironmentMonitoring {
  /** Azure Monitor managed service for Prometheus and the stack's alert rules (default: on outside DevTest). */
  prometheus?: boolean;
  /** Container Insights: container logs (ContainerLogV2) and Kubernetes events in Log Analytics (default: on outside DevTest). */
  containerInsights?: boolean;
  /** An Azure Managed Grafana instance on the Azure Monitor workspace; needs prometheus (default false). */
  grafana?: boolean;
}

export interface EnvironmentRequiredHosts {
  azureMlCompat?: boolean;
}

/**
 * One environment: the keys of `Pulumi.<stack>.yaml` without their `aks-inference:` prefix, and
 * `location` for `azure-native:location`. Names that must be globally unique (cluster DNS prefix,
 * registry, storage account) are derived from `namePrefix` and the component's name unless given.
 */
export interface InferenceEnvironmentArgs {
  /** Azure region, e.g. westeurope. */
  location: string;
  namePrefix?: string;
  clusterName?: string;
  resourceGroupName?: string;
  clusterPurpose?: ClusterPurpose;
  kubernetesVersion?: string;
  network?: EnvironmentNetwork;
  egress?: EgressMode;
  firewall?: EnvironmentFirewall;
  systemPool?: EnvironmentNodePool;
  gpuPools?: EnvironmentGpuPool[];
  registryName?: string;
  storageAccountName?: string;
  defender?: boolean;
  namespace?: string;
  endpoint?: EnvironmentEndpoint;
  dns?: EnvironmentDns;
  tokenIssuer?: EnvironmentTokenIssuer;
  router?: EnvironmentRouter;
  services?: EnvironmentService[];
  requiredHosts?: EnvironmentRequiredHosts;
  /** Auto-upgrade channels and their maintenance window. */
  upgrades?: EnvironmentUpgrades;
  /** Who deploys, as role assignments name it. */
  deployer?: EnvironmentDeployer;
  /** Who may reach the cluster's API server. */
  apiServer?: EnvironmentApiServer;
  /** Who else reaches the Kubernetes API (Entra groups, Azure RBAC). */
  access?: EnvironmentAccess;
  /** Metrics, logs and alerts in Azure Monitor. */
  monitoring?: EnvironmentMonitoring;
  /** Folder the model, project-folder and environment paths are relative to (default: the working directory). */
  projectRoot?: string;
}

/** Keys of the args that are not stack config. */
const NOT_CONFIG = new Set(["location", "projectRoot"]);

/** Drops undefined members, as a YAML stack file would not have them. */
function defined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(defined);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, defined(v)]),
    );
  return value;
}

/** The args as the raw stack config `parseStackConfig` reads (`aks-inference:<key>`, `azure-native:location`). */
export function argsToRawConfig(args: InferenceEnvironmentArgs): Record<string, unknown> {
  const raw: Record<string, unknown> = { [LOCATION_KEY]: args.location };
  for (const [key, value] of Object.entries(args)) {
    if (NOT_CONFIG.has(key) || value === undefined) continue;
    if (key === "services") {
      // A model given by path alone is the config's short form (its name derived from the file).
      const short = (models: EnvironmentModel[] | undefined) => models?.map((m) => (m.name === undefined && m.version === undefined ? m.path : m));
      raw[`${CONFIG_NAMESPACE}:services`] = (value as EnvironmentService[]).map((s) => defined({ ...s, models: short(s.models), versions: s.versions?.map((v) => ({ ...v, models: short(v.models) })) }));
    } else {
      raw[`${CONFIG_NAMESPACE}:${key}`] = defined(value);
    }
  }
  return raw;
}

/** The stack config as args: a stack file's values with the namespace dropped (short-form models become `{ path }`). */
export function rawConfigToArgs(raw: Record<string, unknown>): InferenceEnvironmentArgs {
  const args: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === LOCATION_KEY) args.location = value;
    else if (key.startsWith(`${CONFIG_NAMESPACE}:`)) args[key.slice(CONFIG_NAMESPACE.length + 1)] = value;
  }
  const long = <T extends Record<string, unknown>>(x: T): T => (Array.isArray(x?.models) ? { ...x, models: x.models.map((m: unknown) => (typeof m === "string" ? { path: m } : m)) } : x);
  if (Array.isArray(args.services)) {
    args.services = args.services.map((s: Record<string, unknown>) => long(Array.isArray(s?.versions) ? { ...s, versions: s.versions.map((v: Record<string, unknown>) => long(v)) } : s));
  }
  // Shapes are checked by parseStackConfig when the component reads them back.
  return args as unknown as InferenceEnvironmentArgs;
}

/** A config problem (`aks-inference:services[0].cpuCores: ...`) under the argument's path (`services[0].cpuCores: ...`). */
export function argProblem(problem: string): string {
  if (problem.startsWith(`${LOCATION_KEY}:`)) return `location:${problem.slice(LOCATION_KEY.length + 1)}`;
  if (problem.startsWith(`${CONFIG_NAMESPACE}:`)) return problem.slice(CONFIG_NAMESPACE.length + 1);
  return problem;
}

/** Invalid args of an InferenceEnvironment; each problem names the argument. */
export class EnvironmentArgsError extends Error {
  constructor(
    readonly environment: string,
    readonly problems: string[],
  ) {
    super(`InferenceEnvironment '${environment}': invalid args:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "EnvironmentArgsError";
  }
}

/**
 * Paths of the values in `args` that `isDeferred` (an output, a secret, a promise) says are not
 * plain: the environment's shape depends on every arg, so each must be known when it is built.
 */
export function deferredArgPaths(value: unknown, isDeferred: (v: unknown) => boolean, at = ""): string[] {
  if (isDeferred(value)) return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => deferredArgPaths(v, isDeferred, `${at}[${i}]`));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => deferredArgPaths(v, isDeferred, at ? `${at}.${k}` : k));
  return [];
}

/**
 * Validates and defaults the args of the environment `name` with the stack config's rules;
 * `name` takes the place of the stack name in derived names and tags.
 * @internal The package's declarations leave it out (tsconfig.build.json `stripInternal`): its
 * result type is zod's, whose declarations need `esModuleInterop` (core/config/enums.ts).
 */
export function parseEnvironmentArgs(args: InferenceEnvironmentArgs, name: string): StackConfig {
  try {
    return parseStackConfig(argsToRawConfig(args), name);
  } catch (err) {
    if (err instanceof ConfigError) throw new EnvironmentArgsError(name, err.problems.map(argProblem));
    throw err;
  }
}
