/**
 * The whole environment of one stack, composed from the components in the order Azure ML v1's
 * connectivity chronology demands: network and egress first, then the cluster, registry and
 * storage, then what runs in the cluster. `index.ts` calls this with the stack's validated
 * config; tests and `npm run plan` call it under mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as resources from "@pulumi/azure-native/resources";
import { MAX_PAYLOAD_MB, endpointDnsLabel, scoringHost, tlsEnabled, type StackConfig } from "./core/config";
import { purposeProfile } from "./core/purpose";
import { deployerPrincipalType } from "./core/identity";
import { MODEL_SERVICE_ACCOUNT, ROUTER_NAME, TAGS } from "./core/naming";
import { aksNetworkRules, requiredHostsFor } from "./core/requiredHosts";
import { Cluster } from "./components/cluster";
import { Endpoint, PrivateDns } from "./components/dns";
import { Firewall } from "./components/firewall";
import { GpuPool, NvidiaDevicePlugin } from "./components/gpuPool";
import { GpuPoolVerification } from "./components/k8s/gpuVerification";
import { Network, SubscriptionProviders } from "./components/network";
import { Registry } from "./components/registry";
import { assignRole } from "./components/roles";
import { WorkloadIdentity } from "./components/workloadIdentity";
import { Storage } from "./components/storage";
import { Images, exchangeAcrToken, type AcrTokenExchange } from "./components/k8s/images";
import { ModelService } from "./components/k8s/modelService";
import { NetworkPolicies } from "./components/k8s/networkPolicy";
import { Router, type RouterTls } from "./components/k8s/router";

export interface StackDeps {
  /** Folder with the project folders, models and Dockerfiles (default: this repository). */
  repoRoot?: string;
  /** How image pushes get an ACR password (default: the Entra token exchange). */
  acrToken?: AcrTokenExchange;
}

/** Azure tags on every resource; the policy pack reads them back from the cluster. */
export function stackTags(cfg: StackConfig): Record<string, string> {
  const tokenRegion = cfg.services.some((s) => s.authMode === "token") ? cfg.tokenIssuer.region : undefined;
  return {
    [TAGS.stack]: cfg.stack,
    [TAGS.purpose]: cfg.clusterPurpose,
    [TAGS.networkPlugin]: cfg.network.plugin,
    ...(tokenRegion ? { [TAGS.tokenRegion]: tokenRegion } : {}),
  };
}

export function createStack(cfg: StackConfig, deps: StackDeps = {}) {
  const repoRoot = deps.repoRoot ?? __dirname;
  const tags = stackTags(cfg);
  const location = cfg.location;
  const { subscriptionId, tenantId, objectId: deployerObjectId, clientId: deployerClientId } = authorization.getClientConfigOutput();

  const group = new resources.ResourceGroup("rg", { resourceGroupName: cfg.resourceGroupName, location, tags });
  const resourceGroupName = group.name;

  const zones = purposeProfile(cfg.clusterPurpose).zones;
  const defaultRouteName = `${cfg.clusterName}-to-firewall`;
  // The network team's subnet, route table and firewall policy may be in other subscriptions.
  const networkProviders = new SubscriptionProviders();
  const net = new Network("network", {
    resourceGroupName,
    location,
    plugin: cfg.network.plugin,
    vnetAddressSpace: cfg.network.vnetAddressSpace,
    nodeSubnetPrefix: cfg.network.nodeSubnetPrefix,
    firewallSubnetPrefix: cfg.network.firewallSubnetPrefix,
    podCidr: cfg.network.podCidr,
    subnetId: cfg.network.subnetId,
    firewallSubnetId: cfg.network.firewallSubnetId,
    routeTableId: cfg.network.routeTableId,
    firewall: cfg.firewall,
    internalIp: cfg.endpoint.internalIp,
    defaultRouteName,
    providers: networkProviders,
    tags,
  });

  const hosts = requiredHostsFor(cfg);
  const tls = tlsEnabled(cfg);
  const firewall = cfg.firewall
    ? new Firewall("egress", {
        config: cfg.firewall,
        location,
        ruleCollectionGroupName: `aks-inference-${cfg.clusterName}`,
        hosts,
        networkRules: aksNetworkRules(location),
        sourceAddresses: net.nodeAddressPrefix.apply((p) => [p]),
        // 443 with TLS at the router, else 80 (a plain-HTTP endpoint is DevTest only).
        dnat: { internalIp: cfg.endpoint.internalIp ?? "", ports: [tls ? 443 : 80] },
        providers: networkProviders,
        resourceGroupName: net.firewallResourceGroupName,
        provider: net.firewallProvider,
        subnetId: net.firewallSubnetId,
        expectedPrivateIp: net.expectedFirewallPrivateIp,
        routeTable: net.routeTable,
        defaultRouteName,
        zones,
        dnsLabel: endpointDnsLabel(cfg),
        endpointHost: scoringHost(cfg),
        tags,
      })
    : undefined;

  const endpoint = new Endpoint("endpoint", {
    resourceGroupName,
    location,
    entry: firewall
      ? { kind: "firewall", address: firewall.publicIp, publicIp: firewall.publicIpResource }
      : { kind: "publicIp", dnsLabel: endpointDnsLabel(cfg) },
    customDomain: cfg.endpoint.customDomain,
    dnsZone: cfg.endpoint.dnsZone,
    tags,
  });

  // The name clients call: the custom domain or an explicit label as configured; the default
  // tenant-scoped label only as Azure assigned it (with its hash).
  const host: pulumi.Output<string> = endpointDnsLabel(cfg)?.scope ? endpoint.fqdn : pulumi.output(scoringHost(cfg));

  // Network Contributor on exactly what the control plane manages: the node subnet (load
  // balancers, the internal load balancer's IP), the route table (kubenet's pod routes; AKS
  // reads it with user-defined routing) and the public IP its load balancer binds to.
  const networkScopes: { key: string; scope: pulumi.Input<string> }[] = [{ key: "subnet", scope: net.nodeSubnetId }];
  if (net.routeTable) networkScopes.push({ key: "route-table", scope: net.routeTable.id });
  if (!firewall && endpoint.publicIp) networkScopes.push({ key: "endpoint-ip", scope: endpoint.publicIp.id });

  const cluster = new Cluster("aks", {
    resourceGroupName,
    location,
    subscriptionId,
    clusterName: cfg.clusterName,
    purpose: cfg.clusterPurpose,
    kubernetesVersion: cfg.kubernetesVersion,
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
    keyVaultSecretsProvider: cfg.endpoint.tls?.keyVault !== undefined,
    tags,
    // Behind a firewall, nodes can only join once the rules and the default route exist.
    dependsOn: firewall ? firewall.egressReady : [],
  });

  const registry = new Registry("acr", {
    resourceGroupName,
    location,
    subscriptionId,
    registryName: cfg.registryName,
    sku: purposeProfile(cfg.clusterPurpose).registrySku,
    kubeletObjectId: cluster.kubeletObjectId,
    tags,
  });

  const storage = new Storage("storage", {
    resourceGroupName,
    location,
    subscriptionId,
    accountName: cfg.storageAccountName,
    sku: purposeProfile(cfg.clusterPurpose).storageSku,
    deployer: { objectId: deployerObjectId, principalType: deployerClientId.apply(deployerPrincipalType) },
    tags,
  });

  const gpuPools = cfg.gpuPools.map(
    (p) =>
      new GpuPool(`gpu-${p.name}`, {
        resourceGroupName,
        clusterName: cluster.name,
        poolName: p.name,
        vmSize: p.vmSize,
        count: p.count,
        minCount: p.minCount,
        maxCount: p.maxCount,
        labels: p.labels,
        vnetSubnetId: net.nodeSubnetId,
        kubernetesVersion: cfg.kubernetesVersion,
        tags,
      }),
  );
  const devicePlugin = gpuPools.length > 0 ? new NvidiaDevicePlugin("nvidia-device-plugin", { provider: cluster.provider, dependsOn: gpuPools.map((p) => p.pool) }) : undefined;

  if (cfg.dns.privateZones.length > 0) {
    new PrivateDns("private-dns", { resourceGroupName, vnetId: net.vnetId, zones: cfg.dns.privateZones, records: cfg.dns.records, tags });
  }

  // ---- In the cluster: images, the router, then the model services (Azure ML v1's chronology). ----
  const armToken = authorization.getClientTokenOutput().token;
  const exchange = deps.acrToken ?? exchangeAcrToken;
  const images = new Images("images", {
    repoRoot,
    loginServer: registry.loginServer,
    registryPassword: pulumi.secret(pulumi.all([registry.loginServer, tenantId, armToken]).apply(([server, tenant, token]) => exchange(server, tenant, token))),
    routerImage: cfg.router.image,
  });
  // TLS: from secret config (the router stores it in a Secret), or a Key Vault certificate the
  // router's own workload identity may read, and nothing else in that vault.
  const tlsConfig = cfg.endpoint.tls;
  let routerTls: RouterTls | undefined;
  const routerTlsAccess: pulumi.Resource[] = [];
  if (tlsConfig?.keyVault) {
    const vault = tlsConfig.keyVault;
    const identity = new WorkloadIdentity("router-identity", { resourceGroupName, location, tags, oidcIssuerUrl: cluster.oidcIssuerUrl, namespace: cfg.namespace, serviceAccount: ROUTER_NAME });
    const certificateSecret = pulumi.interpolate`/subscriptions/${subscriptionId}/resourceGroups/${vault.resourceGroupName}/providers/Microsoft.KeyVault/vaults/${vault.name}/secrets/${vault.certificateName}`;
    routerTlsAccess.push(
      identity.federatedCredential,
      assignRole("router-identity-certificate", { subscriptionId, role: "keyVaultSecretsUser", principalId: identity.principalId, scope: certificateSecret }, {}),
    );
    routerTls = { source: "keyVault", vaultName: vault.name, certificateName: vault.certificateName, tenantId, clientId: identity.clientId };
  } else if (tlsConfig?.certificate && tlsConfig.privateKey) {
    routerTls = { source: "config", certificate: pulumi.secret(tlsConfig.certificate), privateKey: pulumi.secret(tlsConfig.privateKey) };
  }
  const usesToken = cfg.services.some((s) => s.authMode === "token");
  const router = new Router(
    "router",
    {
      provider: cluster.provider,
      namespace: cfg.namespace,
      image: images.routerImage,
      purpose: cfg.clusterPurpose,
      replicas: cfg.router.replicas,
      maxBodyBytes: Math.floor(Math.min(cfg.router.payloadLimitMb, MAX_PAYLOAD_MB) * 1024 * 1024),
      selfScaling: cfg.router.selfScaling,
      selfScalingLatencyMs: cfg.router.selfScalingLatencyThresholdMs,
      frontDoor: { maxConnections: cfg.router.maxConnections, maxTokenLifetimeSeconds: cfg.tokenIssuer.maxLifetimeSeconds, trustForwardedFor: cfg.router.trustForwardedFor },
      longestScoringTimeoutMs: Math.max(60_000, ...cfg.services.map((s) => s.scoringTimeoutMs)),
      host,
      exposure:
        firewall || !endpoint.ipName
          ? { kind: "internal", ip: cfg.endpoint.internalIp ?? "" }
          : { kind: "public", publicIpName: endpoint.ipName, resourceGroup: endpoint.resourceGroupName },
      tls: routerTls,
      token: !usesToken
        ? undefined
        : cfg.tokenIssuer.type === "oidc"
          ? { type: "oidc", issuer: cfg.tokenIssuer.issuer ?? "", jwksUri: cfg.tokenIssuer.jwksUri ?? "" }
          : { type: "builtin" },
      // Egress to the API server, MCR and ACR must exist before the router deploys, the AcrPull
      // grant before any image is pulled, and the certificate's federation and grant before the
      // CSI driver mounts it.
      dependsOn: [...(firewall?.egressReady ?? []), registry.acrPull, ...routerTlsAccess],
    },
  );
  // Model pods reach blob storage as one workload identity: read packages and models, write
  // collected data, each grant on its container only. No account key exists to hand out.
  const modelIdentity = new WorkloadIdentity("model-identity", {
    resourceGroupName,
    location,
    tags,
    oidcIssuerUrl: cluster.oidcIssuerUrl,
    namespace: cfg.namespace,
    serviceAccount: MODEL_SERVICE_ACCOUNT,
    kubernetes: { provider: cluster.provider, namespace: router.namespace },
  });
  // Only router pods may open a model pod's scoring port (and the router's admin port); model
  // pods start only once that is in force.
  const networkPolicies = new NetworkPolicies("network-policies", { provider: cluster.provider, namespace: router.namespace });
  const modelBlobAccess = storage.grantBlobData("model-identity", modelIdentity.principalId, { packages: "read", models: "read", modelData: "write" });
  // Each GPU pool proves it can run a GPU container (device plugin, driver) before its services.
  const verifications = new Map(
    (devicePlugin ? cfg.gpuPools.filter((p) => p.verifyOnDeploy) : []).map((p) => [
      p.name,
      new GpuPoolVerification(`gpu-verify-${p.name}`, { provider: cluster.provider, namespace: router.namespace, poolName: p.name, vmSize: p.vmSize, count: p.count, minCount: p.minCount, dependsOn: devicePlugin ? [devicePlugin.daemonSet] : [] }),
    ]),
  );
  const services = cfg.services.map(
    (svc) =>
      new ModelService(`svc-${svc.name}`, {
        service: svc,
        stack: cfg,
        provider: cluster.provider,
        namespace: router.namespace,
        image: images.environmentImage(svc),
        repoRoot,
        storage,
        serviceAccountName: modelIdentity.serviceAccount!.metadata.name,
        host,
        // Model pods need ACR and blob egress (covered by the firewall rules the router waits
        // for) and their identity's federation and blob roles, and are only reachable once the
        // router watches for them.
        dependsOn: [router.deployment, modelIdentity.federatedCredential, ...modelBlobAccess, ...networkPolicies.policies, ...(svc.gpuPool && verifications.has(svc.gpuPool) ? [verifications.get(svc.gpuPool)!.job] : [])],
      }),
  );

  return {
    resourceGroupName,
    clusterName: cluster.name,
    kubeconfig: cluster.kubeconfig,
    registryLoginServer: registry.loginServer,
    storageAccountName: storage.accountName,
    storageBlobEndpoint: storage.blobEndpoint,
    endpointIp: endpoint.ipAddress,
    endpointFqdn: endpoint.fqdn,
    scoringHost: host,
    requiredHosts: hosts.map((h) => h.host),
    firewallPrivateIp: firewall?.privateIp,
    firewallPublicIp: firewall?.publicIp,
    routerImage: images.routerImage,
    // `deployment` for a service's one Deployment; one per version, by version, for a service with versions.
    services: Object.fromEntries(
      services.map((s) => [s.serviceName, { scoringUri: s.scoringUri, swaggerUri: s.swaggerUri, ...(s.deployments ? { deployments: s.deployments } : { deployment: s.deploymentNames[0] }) }]),
    ),
    serviceKeys: pulumi.secret(pulumi.all(Object.fromEntries(services.filter((s) => s.keys).map((s) => [s.serviceName, s.keys!])))),
  };
}

export type StackOutputs = ReturnType<typeof createStack>;
