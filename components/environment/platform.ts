/**
 * Phase 2 of an environment: the platform in Azure once egress exists. The AKS cluster (its
 * version checked against the region's list during preview), its network grants, GPU pools and
 * the NVIDIA device plugin, the registry, blob storage, and private DNS.
 */
import * as pulumi from "@pulumi/pulumi";
import { KUBERNETES_VERSIONS_API, checkKubernetesVersion, type KubernetesVersionList } from "../../core/azure/rules";
import { Cluster } from "../cluster";
import { PrivateDns } from "../dns";
import { GpuPool, NvidiaDevicePlugin } from "../gpuPool";
import { armGet } from "../localFunction";
import { Registry } from "../registry";
import { Storage } from "../storage";
import type { EnvironmentContext } from "./context";
import type { NetworkPhase } from "./network";

export interface PlatformPhase {
  cluster: Cluster;
  registry: Registry;
  storage: Storage;
  /** With GPU pools. */
  devicePlugin?: NvidiaDevicePlugin;
  /** Application Insights serves the services with appInsightsEnabled (one resource per environment). */
  appInsights: boolean;
}

export function createPlatform(ctx: EnvironmentContext, network: NetworkPhase): PlatformPhase {
  const { cfg, child, at, location, tags, subscriptionId } = ctx;
  const { net, firewall, endpoint } = network;
  const resourceGroupName = ctx.group.name;

  // Network Contributor on exactly what the control plane manages: the node subnet (load
  // balancers, the internal load balancer's IP), the route table (kubenet's pod routes; AKS
  // reads it with user-defined routing) and, for the public IP its load balancer binds, that
  // IP's resource group: the cloud provider finds the IP by listing the group's public IPs,
  // which a grant on the IP alone does not allow (rule network-contributor-on-public-ip-group).
  // The group is this environment's own and holds only its resources.
  const networkScopes: { key: string; scope: pulumi.Input<string> }[] = [{ key: "subnet", scope: net.nodeSubnetId }];
  if (net.routeTable) networkScopes.push({ key: "route-table", scope: net.routeTable.id });
  // (Its key names the IP, as before: the assignment keeps its URN.)
  if (!firewall && endpoint.publicIp) networkScopes.push({ key: "endpoint-ip", scope: ctx.group.id });

  // The version Azure offers for new clusters in the region, from its own list (read-only,
  // during preview as during up); unset, AKS's default for the region. The cluster and its GPU
  // pools wait for the answer, and a refused version fails the preview with what is offered.
  const kubernetesVersions = armGet(pulumi.interpolate`/subscriptions/${subscriptionId}/providers/Microsoft.ContainerService/locations/${location}/kubernetesVersions?api-version=${KUBERNETES_VERSIONS_API}`, ctx.armToken, ctx.environment);
  const kubernetesVersion = kubernetesVersions.apply((list) => {
    const problems = list === undefined ? [] : checkKubernetesVersion({ location, configured: cfg.kubernetesVersion, longTermSupport: false, list: list as KubernetesVersionList });
    if (problems.length > 0) throw new Error(problems.join("\n"));
    return cfg.kubernetesVersion;
  });

  const appInsights = cfg.services.some((s) => s.appInsightsEnabled);
  const cluster = new Cluster(
    child("aks"),
    {
      resourceGroupName,
      location,
      subscriptionId,
      clusterName: cfg.clusterName,
      profile: ctx.profile,
      kubernetesVersion,
      networkPlugin: cfg.network.plugin,
      // For an existing subnet behind a firewall this resolves only after the preview lookups passed.
      nodeSubnetId: net.nodeSubnetId,
      podCidr: cfg.network.podCidr,
      serviceCidr: cfg.network.serviceCidr,
      dnsServiceIp: cfg.network.dnsServiceIp,
      outboundType: firewall ? "userDefinedRouting" : "loadBalancer",
      networkScopes,
      systemPool: cfg.systemPool,
      defender: cfg.defender,
      monitoring: { ...cfg.monitoring, appInsights },
      keyVaultSecretsProvider: cfg.endpoint.tls?.keyVault !== undefined,
      upgrades: cfg.upgrades,
      apiServer: cfg.apiServer,
      tenantId: ctx.tenantId,
      deployer: ctx.deployer,
      onCallGroupObjectId: cfg.access.onCallGroupObjectId,
      namespace: cfg.namespace,
      tags,
      // Behind a firewall, nodes can only join once the rules and the default route exist.
      dependsOn: firewall ? firewall.egressReady : [],
    },
    at("Cluster"),
  );

  const registry = new Registry(
    child("acr"),
    { resourceGroupName, location, subscriptionId, registryName: cfg.registryName, sku: ctx.profile.registrySku, kubeletObjectId: cluster.kubeletObjectId, tags },
    at("Registry"),
  );

  const storage = new Storage(
    child("storage"),
    { resourceGroupName, location, subscriptionId, accountName: cfg.storageAccountName, sku: ctx.profile.storageSku, deployer: ctx.deployer, tags },
    at("Storage"),
  );

  const gpuPools = cfg.gpuPools.map(
    (p) =>
      new GpuPool(
        child(`gpu-${p.name}`),
        {
          resourceGroupName,
          clusterName: cluster.name,
          poolName: p.name,
          vmSize: p.vmSize,
          count: p.count,
          minCount: p.minCount,
          maxCount: p.maxCount,
          labels: p.labels,
          vnetSubnetId: net.nodeSubnetId,
          kubernetesVersion,
          tags,
        },
        at("GpuPool"),
      ),
  );
  const devicePlugin = gpuPools.length > 0 ? new NvidiaDevicePlugin(child("nvidia-device-plugin"), { provider: cluster.provider, dependsOn: gpuPools.map((p) => p.pool) }, at("NvidiaDevicePlugin")) : undefined;

  if (cfg.dns.privateZones.length > 0) {
    // Linked where the VNet's DNS servers resolve: the resolver's VNet when given (issue 26).
    new PrivateDns(child("private-dns"), { resourceGroupName, vnetId: cfg.dns.resolverVnetId ?? net.vnetId, zones: cfg.dns.privateZones, records: cfg.dns.records, tags }, at("PrivateDns"));
  }
  return { cluster, registry, storage, devicePlugin, appInsights };
}
