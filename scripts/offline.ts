/**
 * Evaluates the stack with no cloud and no Pulumi CLI: `createStack` runs under Pulumi's mocks,
 * and every resource registration is captured as the engine would see it (type, name, parent,
 * dependencies, provider, inputs with secrets masked). `npm run plan`, the tests, the policy
 * check of the example stacks and the stack-scale benchmark all use this one runner.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../core/config";
import type { KubernetesVersionList } from "../core/azure/rules";
import { createStack } from "../program";

export interface PlannedResource {
  urn: string;
  type: string;
  name: string;
  /** URN of the parent (component or stack); undefined for the stack itself. */
  parentUrn?: string;
  /** URNs this resource depends on: explicit `dependsOn` and data dependencies of its inputs. */
  dependencies: string[];
  /** URN (with `::id`) of the explicit provider, e.g. the cluster's Kubernetes provider. */
  provider?: string;
  /** Custom (provider-managed) resource, or a component. */
  custom: boolean;
  /** Inputs as sent to the engine: secrets as "[secret]", values unknown before apply as "[unknown]". */
  inputs: Record<string, unknown>;
  /** With `resolveAliases`: the URNs its aliases stand for (the engine adopts a resource found under any). */
  aliases: string[];
  /** Outputs the engine stores encrypted whatever the provider marks (`additionalSecretOutputs`): mocks do not apply them, so they are read from the request. */
  secretOutputs: string[];
}

export interface OfflineOptions {
  /**
   * true: as `pulumi preview` — provider-computed outputs (kubeconfig, IPs, IDs) stay unknown.
   * false: as `pulumi up` — the mocks invent plausible values for them.
   */
  preview: boolean;
  /** Receives the token and arguments of every function the program invokes (e.g. to prove it never lists storage keys). */
  onInvoke?: (token: string, args: Record<string, unknown>) => void;
  /** Azure's "list Kubernetes versions" answer for the stack's region. Default: OFFLINE_KUBERNETES_VERSIONS. */
  kubernetesVersions?: KubernetesVersionList;
  /**
   * What Azure answers about resources the stack does not own (the preflight's read-only
   * lookups of an existing subnet, route table and VNet). Default: `documentedNetwork(cfg)`.
   */
  existing?: ExistingNetwork;
  /**
   * Resolve each resource's aliases to URNs (`PlannedResource.aliases`). The SDK does that itself,
   * with the rules the engine applies (an alias's name, type and parent; aliases inherited from
   * the parent's), when the engine takes no structured aliases: the run says so to the SDK.
   * Otherwise mocks pass aliases on unresolved, as specs.
   */
  resolveAliases?: boolean;
}

/**
 * Azure's "list Kubernetes versions" answer offline runs get for any region, shaped as the API
 * answers it ("Managed Clusters - List Kubernetes Versions", 2024-02-01). The versions follow
 * AKS's release calendar as this repository knows it for December 2026 (1.34 past community
 * support, Long-Term Support only; 1.35 to 1.37 generally available, 1.36 the default; 1.38 in
 * preview); a real preview reads the region's own list.
 */
export const OFFLINE_KUBERNETES_VERSIONS: KubernetesVersionList = {
  values: [
    { version: "1.34", capabilities: { supportPlan: ["AKSLongTermSupport"] } },
    { version: "1.35", capabilities: { supportPlan: ["KubernetesOfficial", "AKSLongTermSupport"] } },
    { version: "1.36", isDefault: true, capabilities: { supportPlan: ["KubernetesOfficial", "AKSLongTermSupport"] } },
    { version: "1.37", capabilities: { supportPlan: ["KubernetesOfficial"] } },
    { version: "1.38", isPreview: true, capabilities: { supportPlan: ["KubernetesOfficial"] } },
  ],
};

export interface ExistingRoute {
  name: string;
  addressPrefix: string;
  nextHopType: string;
  nextHopIpAddress?: string;
}

/** Existing network resources by resource ID (case-insensitive), as Azure would return them. */
export interface ExistingNetwork {
  subnets: Record<string, { addressPrefix: string; routeTableId?: string }>;
  routeTables: Record<string, { routes: ExistingRoute[] }>;
  /** DNS servers (empty: Azure-provided), address space, and each peering's remote ranges. */
  virtualNetworks: Record<string, { dnsServers: string[]; addressPrefixes: string[]; peerings: { name: string; addressPrefixes: string[] }[] }>;
  /** The hub: firewall policies with the firewalls using them, those firewalls' addresses, public IPs. */
  firewallPolicies: Record<string, { firewallIds: string[] }>;
  azureFirewalls: Record<string, { privateIp: string; publicIpIds: string[] }>;
  publicIps: Record<string, { address: string }>;
}

/**
 * The existing network as the network team is asked to provide it for this config (docs/hub-firewall.md,
 * "Deploying behind a hub firewall"): the subnet associated with `network.routeTableId`, whose
 * 0.0.0.0/0 leads to the hub firewall (a stack-created firewall adds that route itself), with a
 * range holding `endpoint.internalIp`, in a spoke VNet (its /16) peered with the hub (the /16
 * holding `firewall.privateIp`, e.g. 10.0.0.0/16 with the firewall at 10.0.1.4). A real preview
 * reads Azure instead.
 */
export function documentedNetwork(cfg: StackConfig): ExistingNetwork {
  const out: ExistingNetwork = { subnets: {}, routeTables: {}, virtualNetworks: {}, firewallPolicies: {}, azureFirewalls: {}, publicIps: {} };
  const { subnetId, routeTableId, firewallSubnetId } = cfg.network;
  if (!subnetId) return out;
  const ip = cfg.endpoint.internalIp?.split(".");
  const addressPrefix = ip ? `${ip[0]}.${ip[1]}.${ip[2]}.0/24` : "10.240.0.0/24";
  out.subnets[subnetId.toLowerCase()] = { addressPrefix, routeTableId };
  const hub = cfg.firewall?.kind === "hub" ? cfg.firewall : undefined;
  if (hub) {
    const group = hub.policyId.replace(/\/providers\/.*$/, "");
    const firewallId = `${group}/providers/Microsoft.Network/azureFirewalls/fw-hub`;
    const pipId = `${group}/providers/Microsoft.Network/publicIPAddresses/pip-fw-hub`;
    out.firewallPolicies[hub.policyId.toLowerCase()] = { firewallIds: [firewallId] };
    out.azureFirewalls[firewallId.toLowerCase()] = { privateIp: hub.privateIp, publicIpIds: [pipId] };
    out.publicIps[pipId.toLowerCase()] = { address: hub.publicIp };
  }
  if (routeTableId) {
    out.routeTables[routeTableId.toLowerCase()] = {
      routes: hub ? [{ name: "default-to-hub-firewall", addressPrefix: "0.0.0.0/0", nextHopType: "VirtualAppliance", nextHopIpAddress: hub.privateIp }] : [],
    };
  }
  if (firewallSubnetId) out.subnets[firewallSubnetId.toLowerCase()] = { addressPrefix: "10.225.0.0/26" };
  const vnetId = subnetId.replace(/\/subnets\/[^/]+$/i, "");
  const sixteen = (a: string) => `${a.split(".").slice(0, 2).join(".")}.0.0/16`;
  const sameVnet = firewallSubnetId?.toLowerCase().startsWith(`${vnetId.toLowerCase()}/subnets/`);
  out.virtualNetworks[vnetId.toLowerCase()] = {
    dnsServers: hub ? [hub.privateIp] : firewallSubnetId ? ["10.225.0.4"] : [],
    addressPrefixes: [sixteen(addressPrefix), ...(sameVnet ? ["10.225.0.0/26"] : [])],
    peerings: hub ? [{ name: `peer-${vnetId.split("/").pop()}-to-hub`, addressPrefixes: [sixteen(hub.privateIp)] }] : [],
  };
  return out;
}

/** The entry whose resource ID ends with `tail` (the subscription is the deployer's). */
function find<T>(entries: Record<string, T>, tail: string): [string, T | undefined] {
  const key = Object.keys(entries).find((k) => k.endsWith(tail.toLowerCase()));
  return key ? [key, entries[key]] : [tail, undefined];
}

/** The error Azure answers a GET of a resource that does not exist with. */
function notFound(kind: string, id: string): Error {
  return new Error(`ResourceNotFound: the ${kind} '${id}' was not found`);
}

export const SECRET = "[secret]";
export const UNKNOWN = "[unknown]";

// Wire-format markers of Pulumi's RPC layer (see @pulumi/pulumi runtime/rpc).
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270";
const SIG_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e";
const SIG_ASSET = "c44067f5952c0a294b673a41bacd8c17";
const SIG_ARCHIVE = "0def7320c3a5731c473e5ecbe6d01bc7";
const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

function readable(value: unknown): unknown {
  if (value === UNKNOWN_VALUE) return UNKNOWN;
  if (Array.isArray(value)) return value.map(readable);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    switch (obj[SIG_KEY]) {
      case SIG_SECRET:
        return SECRET;
      case SIG_RESOURCE:
        return obj.urn;
      case SIG_ASSET:
      case SIG_ARCHIVE:
        return obj.path ?? obj.text ?? "[asset]";
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, readable(v)]));
  }
  return value;
}

/** A base64 kubeconfig like AKS returns, pointing nowhere. */
function fakeKubeconfig(cluster: string): string {
  const yaml = [
    "apiVersion: v1",
    "kind: Config",
    `clusters: [{ name: ${cluster}, cluster: { server: "https://${cluster}-00000000.hcp.westeurope.azmk8s.io:443" } }]`,
    `contexts: [{ name: ${cluster}, context: { cluster: ${cluster}, user: clusterUser } }]`,
    `current-context: ${cluster}`,
    "users: [{ name: clusterUser, user: { token: offline } }]",
  ].join("\n");
  return Buffer.from(yaml).toString("base64");
}

/**
 * The input that names a resource of each kind, most specific first (a blob container has both
 * `containerName` and its account's `accountName`; a resource group alone is named by `resourceGroupName`).
 */
const NAME_INPUTS = ["containerName", "tableName", "agentPoolName", "subnetName", "relativeRecordSetName", "registryName", "resourceName", "workspaceName", "accountName", "privateZoneName"];

class OfflineMocks implements pulumi.runtime.Mocks {
  private ip = 10;

  constructor(
    private readonly preview: boolean,
    private readonly existing: ExistingNetwork,
    private readonly kubernetesVersions: KubernetesVersionList,
  ) {}

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, unknown> } {
    // A first preview knows none of a new resource's outputs (names, IDs, IPs, kubeconfig):
    // returning none makes them unknown, so the program is exercised as `pulumi preview` would.
    if (this.preview) return { id: undefined, state: {} };
    const inputs = args.inputs as Record<string, unknown>;
    const nameInputs = args.type === "azure-native:resources:ResourceGroup" ? ["resourceGroupName"] : NAME_INPUTS;
    const name = nameInputs.map((k) => inputs[k]).find((v): v is string => typeof v === "string") ?? args.name;
    const state: Record<string, unknown> = { ...inputs, name };
    switch (args.type) {
      case "azure-native:containerregistry:Registry":
        state.loginServer = `${String(inputs.registryName).toLowerCase()}.azurecr.io`;
        break;
      case "azure-native:containerservice:ManagedCluster":
        state.identityProfile = { kubeletidentity: { objectId: "00000000-0000-0000-0000-00000000cafe", clientId: "00000000-0000-0000-0000-00000000c1ed" } };
        state.fqdn = `${String(inputs.dnsPrefix)}-00000000.hcp.${String(inputs.location)}.azmk8s.io`;
        if ((inputs.oidcIssuerProfile as { enabled?: boolean } | undefined)?.enabled) {
          state.oidcIssuerProfile = { enabled: true, issuerURL: `https://${String(inputs.location)}.oic.prod-aks.azure.com/00000000-0000-0000-0000-0000000000aa/00000000-0000-0000-0000-00000000001c/` };
        }
        // Its ARM resource ID, as Azure gives it: the Kubernetes provider's clusterIdentifier.
        return { id: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${String(inputs.resourceGroupName)}/providers/Microsoft.ContainerService/managedClusters/${name}`, state };
      case "azure-native:resources:ResourceGroup":
        // Its ARM resource ID, as Azure gives it: role assignments on the group are scoped by it.
        return { id: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${name}`, state };
      case "azure-native:managedidentity:UserAssignedIdentity":
        state.principalId = `00000000-0000-0000-0000-${String(this.ip++).padStart(12, "0")}`;
        state.clientId = `00000000-0000-0000-0001-${String(this.ip++).padStart(12, "0")}`;
        break;
      case "azure-native:network:AzureFirewall":
        state.ipConfigurations = (inputs.ipConfigurations as Record<string, unknown>[] | undefined)?.map((c) => ({ ...c, privateIPAddress: "10.225.0.4" }));
        break;
      case "azure-native:applicationinsights:Component": {
        // The shape Azure gives a workspace-based resource's connection string (a made-up key).
        state.instrumentationKey = "00000000-0000-0000-0000-0000000a9915";
        state.connectionString = `InstrumentationKey=${String(state.instrumentationKey)};IngestionEndpoint=https://${String(inputs.location)}-0.in.applicationinsights.azure.com/;LiveEndpoint=https://${String(inputs.location)}.livediagnostics.monitor.azure.com/`;
        break;
      }
      case "azure-native:dashboard:Grafana":
        // Its system-assigned identity (granted Monitoring Data Reader) and its URL.
        state.identity = { type: "SystemAssigned", principalId: `00000000-0000-0000-0000-${String(this.ip++).padStart(12, "0")}` };
        state.properties = { ...(inputs.properties as Record<string, unknown> | undefined), endpoint: `https://${String(inputs.workspaceName)}-0000.${String(inputs.location)}.grafana.azure.com` };
        break;
      case "docker-build:index:Image": {
        // What a push answers: the first tag pinned to the pushed digest.
        const tag = String((inputs.tags as string[] | undefined)?.[0]);
        state.digest = `sha256:${createHash("sha256").update(tag).digest("hex")}`;
        state.ref = `${tag}@${String(state.digest)}`;
        break;
      }
      case "azure-native:network:PublicIPAddress": {
        state.ipAddress = `20.50.0.${this.ip++}`;
        const dns = inputs.dnsSettings as { domainNameLabel?: string; domainNameLabelScope?: string } | undefined;
        if (dns?.domainNameLabel) {
          // A scoped label gets a hash appended by Azure (`<label>-<hash>`); any stable one does here.
          const hashed = dns.domainNameLabelScope ? `${dns.domainNameLabel}-${createHash("sha256").update(`${dns.domainNameLabelScope}/${dns.domainNameLabel}`).digest("hex").slice(0, 16)}` : dns.domainNameLabel;
          state.dnsSettings = { ...dns, fqdn: `${hashed}.${String(inputs.location)}.cloudapp.azure.com` };
        }
        break;
      }
    }
    return { id: `${args.type.split(":").pop()}-${name}-id`, state };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    const inputs = args.inputs as Record<string, unknown>;
    switch (args.token) {
      case "azure-native:authorization:getClientConfig":
        return { subscriptionId: "00000000-0000-0000-0000-000000000000", tenantId: "00000000-0000-0000-0000-0000000000aa", clientId: "offline", objectId: "offline" };
      case "azure-native:containerservice:listManagedClusterUserCredentials":
        return { kubeconfigs: [{ name: "clusterUser", value: fakeKubeconfig(String(inputs.resourceName)) }] };
      case "azure-native:authorization:getClientToken":
        return { token: "offline-token" };
      // The provider functions of components/localFunction.ts: the ACR token exchange and Azure
      // Resource Manager lookups (the region's Kubernetes versions).
      case "command:local:run": {
        const env = (inputs.environment ?? {}) as Record<string, string>;
        if (env.ACR_LOGIN_SERVER) return { stdout: "offline-acr-token", stderr: "" };
        if (/\/locations\/[^/]+\/kubernetesVersions\?/.test(env.ARM_PATH ?? "")) return { stdout: JSON.stringify(this.kubernetesVersions), stderr: "" };
        throw new Error(`no offline answer for command:local:run with ${JSON.stringify(Object.keys(env))}`);
      }
      case "azure-native:network:getSubnet": {
        const [id, subnet] = find(this.existing.subnets, `/resourceGroups/${String(inputs.resourceGroupName)}/providers/Microsoft.Network/virtualNetworks/${String(inputs.virtualNetworkName)}/subnets/${String(inputs.subnetName)}`);
        if (!subnet) throw notFound("subnet", id);
        return { id, name: inputs.subnetName, addressPrefix: subnet.addressPrefix, routeTable: subnet.routeTableId ? { id: subnet.routeTableId } : undefined };
      }
      case "azure-native:network:getRouteTable": {
        const [id, table] = find(this.existing.routeTables, `/resourceGroups/${String(inputs.resourceGroupName)}/providers/Microsoft.Network/routeTables/${String(inputs.routeTableName)}`);
        if (!table) throw notFound("route table", id);
        return { id, name: inputs.routeTableName, routes: table.routes };
      }
      case "azure-native:network:getFirewallPolicy": {
        const [id, policy] = find(this.existing.firewallPolicies, `/resourceGroups/${String(inputs.resourceGroupName)}/providers/Microsoft.Network/firewallPolicies/${String(inputs.firewallPolicyName)}`);
        if (!policy) throw notFound("firewall policy", id);
        return { id, name: inputs.firewallPolicyName, firewalls: policy.firewallIds.map((f) => ({ id: f })) };
      }
      case "azure-native:network:getAzureFirewall": {
        const [id, firewall] = find(this.existing.azureFirewalls, `/resourceGroups/${String(inputs.resourceGroupName)}/providers/Microsoft.Network/azureFirewalls/${String(inputs.azureFirewallName)}`);
        if (!firewall) throw notFound("firewall", id);
        return {
          id,
          name: inputs.azureFirewallName,
          ipConfigurations: firewall.publicIpIds.map((pip, i) => ({ name: `ipconfig${i}`, privateIPAddress: firewall.privateIp, publicIPAddress: { id: pip } })),
        };
      }
      case "azure-native:network:getPublicIPAddress": {
        const [id, pip] = find(this.existing.publicIps, `/resourceGroups/${String(inputs.resourceGroupName)}/providers/Microsoft.Network/publicIPAddresses/${String(inputs.publicIpAddressName)}`);
        if (!pip) throw notFound("public IP address", id);
        return { id, name: inputs.publicIpAddressName, ipAddress: pip.address };
      }
      case "azure-native:network:getVirtualNetwork": {
        const [id, vnet] = find(this.existing.virtualNetworks, `/resourceGroups/${String(inputs.resourceGroupName)}/providers/Microsoft.Network/virtualNetworks/${String(inputs.virtualNetworkName)}`);
        if (!vnet) throw notFound("virtual network", id);
        return {
          id,
          name: inputs.virtualNetworkName,
          dhcpOptions: { dnsServers: vnet.dnsServers },
          addressSpace: { addressPrefixes: vnet.addressPrefixes },
          // Both as Azure reports them: the peered part of the remote space, and the remote VNet's whole space.
          virtualNetworkPeerings: vnet.peerings.map((p) => ({ name: p.name, remoteAddressSpace: { addressPrefixes: p.addressPrefixes }, remoteVirtualNetworkAddressSpace: { addressPrefixes: p.addressPrefixes } })),
        };
      }
      default:
        return inputs;
    }
  }
}

/**
 * The parts of the gRPC RegisterResourceRequest the capture reads. Why the monitor is wrapped
 * instead of using only the documented `Mocks.newResource`: its arguments carry type, name and
 * inputs but not the parent, the dependencies (explicit `dependsOn` and those of inputs) or the
 * provider reference, and the tests and `npm run plan` are about exactly those (what waits for
 * what). `pulumi.runtime.getMonitor()` is public; the request's getters are the gRPC message's.
 * If an upgrade changes them, every stack test fails at its first plan, and
 * test/infra/offline.test.ts says so by name.
 */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProvider(): string;
  getDependenciesList(): string[];
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getAliasurnsList(): string[];
  getAdditionalsecretoutputsList(): string[];
}
type Callback = (err: unknown, response: { getUrn(): string } | undefined) => void;
interface Monitor {
  registerResource(req: RegisterRequest, cb: Callback): void;
  invoke(req: { getTok(): string; getArgs(): { toJavaScript(): unknown } | undefined }, cb: (err: unknown, response: unknown) => void): void;
}

/** The program failed while computing a resource's inputs, as `pulumi preview` would; `registered` is what got through before. */
export class OfflineRunFailed extends Error {
  constructor(
    readonly cause: unknown,
    readonly registered: PlannedResource[],
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = "OfflineRunFailed";
  }
}

// Pulumi's runtime state is global: runs must not overlap.
let running: Promise<unknown> = Promise.resolve();

/**
 * Runs `createStack(cfg)` under mocks and returns every resource it registers, in registration
 * order. Safe to call many times in one process (runs are serialized).
 */
export function runOffline(cfg: StackConfig, opts: OfflineOptions): Promise<PlannedResource[]> {
  return runOfflineProgram(cfg.stack, () => createStack(cfg), { ...opts, existing: opts.existing ?? documentedNetwork(cfg) });
}

/** As `runOffline`, for any program (e.g. one building several environments) of the stack `stack`; `existing` defaults to none. */
export function runOfflineProgram(stack: string, program: () => unknown, opts: OfflineOptions): Promise<PlannedResource[]> {
  const run = running.then(() => evaluate(stack, program, opts));
  running = run.catch(() => undefined);
  return run;
}

const NO_NETWORK: ExistingNetwork = { subnets: {}, routeTables: {}, virtualNetworks: {}, firewallPolicies: {}, azureFirewalls: {}, publicIps: {} };

async function evaluate(stack: string, program: () => unknown, opts: OfflineOptions): Promise<PlannedResource[]> {
  // Pulumi records each resource's source position from a whole stack trace (Resource.callsites),
  // and with source maps on (tsx turns them on) mapping every frame of every trace was a third of
  // a plan's CPU. A plan records no source positions: the run maps none, and the caller's setting
  // is back when it ends.
  const sourceMaps = process.sourceMapsEnabled;
  process.setSourceMapsEnabled(false);
  try {
    return await evaluateUnmapped(stack, program, opts);
  } finally {
    process.setSourceMapsEnabled(sourceMaps);
  }
}

async function evaluateUnmapped(stack: string, program: () => unknown, opts: OfflineOptions): Promise<PlannedResource[]> {
  await pulumi.runtime.setMocks(new OfflineMocks(opts.preview, opts.existing ?? NO_NETWORK, opts.kubernetesVersions ?? OFFLINE_KUBERNETES_VERSIONS), "aks-inference", stack, opts.preview);
  // The runtime's own switch, in the store a mocked run uses (the global one; setMocks turns
  // structured aliases on, so the next run's turns them back on).
  if (opts.resolveAliases) (globalThis as unknown as { globalStore: { supportsAliasSpecs: boolean } }).globalStore.supportsAliasSpecs = false;
  const monitor = pulumi.runtime.getMonitor() as unknown as Monitor;
  const original = monitor.registerResource.bind(monitor);
  if (opts.onInvoke) {
    const onInvoke = opts.onInvoke;
    const invoke = monitor.invoke.bind(monitor);
    monitor.invoke = (req, cb) => {
      onInvoke(req.getTok(), (req.getArgs()?.toJavaScript() ?? {}) as Record<string, unknown>);
      invoke(req, cb);
    };
  }
  const planned: PlannedResource[] = [];
  const pending: Promise<void>[] = [];
  monitor.registerResource = (req, cb) => {
    pending.push(
      new Promise<void>((resolve) => {
        original(req, (err, res) => {
          if (!err && res) {
            planned.push({
              urn: res.getUrn(),
              type: req.getType(),
              name: req.getName(),
              parentUrn: req.getParent() || undefined,
              dependencies: req.getDependenciesList(),
              provider: req.getProvider() || undefined,
              custom: req.getCustom(),
              inputs: readable(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
              aliases: req.getAliasurnsList(),
              secretOutputs: req.getAdditionalsecretoutputsList(),
            });
          }
          resolve();
          cb(err, res);
        });
      }),
    );
  };

  // A value that fails while a resource's inputs are computed (the preflight's refusal of an
  // existing subnet, say) fails `pulumi preview` with its message; here it fails the run.
  const failures: unknown[] = [];
  let failed: () => void = () => undefined;
  const firstFailure = new Promise<void>((resolve) => (failed = resolve));
  const onRejection = (reason: unknown) => {
    failures.push(reason);
    failed();
  };
  process.on("unhandledRejection", onRejection);
  let outputs: unknown;
  try {
    outputs = program();
    // Registration is asynchronous, and a resource whose inputs wait on real I/O (a package zip
    // being written) registers late: `disconnect` waits until every resource operation the
    // program started has finished (the runtime's own RPC queue), then every registration seen
    // is awaited. The next run's setMocks connects a new mock monitor.
    // A failure (a refused preflight) leaves the resources that wait on it unregistered for
    // ever: then the run ends with that failure instead.
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the offline run did not settle within 60 s")), 60_000);
    });
    try {
      await Promise.race([pulumi.runtime.disconnect(), firstFailure, stuck]);
    } finally {
      clearTimeout(timer);
    }
    await Promise.all(pending);
  } finally {
    process.off("unhandledRejection", onRejection);
  }
  if (failures.length > 0) throw new OfflineRunFailed(failures[0], planned);
  if (!opts.preview) {
    // Surface errors raised while computing outputs (e.g. a missing kubeconfig) as failures.
    // `promise()` is the runtime's own accessor (public `apply` would swallow the rejection).
    const all = pulumi.output(outputs as unknown as pulumi.Input<object>) as unknown as { promise(): Promise<unknown> };
    await all.promise();
  }
  return planned;
}
