/**
 * One inference environment: network and egress first, then the cluster, registry and storage,
 * then what runs in the cluster (images, router, model services), in the order Azure ML v1's
 * connectivity chronology demands. Its args are a stack's config (core/environmentArgs.ts), its
 * outputs what the stack exports; this repository's program (index.ts) builds one per stack,
 * and other programs, in any Pulumi language, build as many as they need.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as resources from "@pulumi/azure-native/resources";
import { endpointDnsLabel, keyVaultName, keyVaultOf, scoringHost, tlsEnabled, versionsOf, type StackConfig } from "../core/config";
import { routerPayloadLimitBytes } from "../core/payloadLimit";
import { EnvironmentArgsError, deferredArgPaths, parseEnvironmentArgs, type InferenceEnvironmentArgs } from "../core/environmentArgs";
import { purposeProfile } from "../core/purpose";
import { principalTypeFromToken } from "../core/identity";
import { DEFAULT_SCORING_TIMEOUT_MS, MODEL_SERVICE_ACCOUNT, ROUTER_NAME, TAGS } from "../core/naming";
import { aksNetworkRules, requiredHostsFor } from "../core/requiredHosts";
import { Cluster } from "./cluster";
import { Endpoint, PrivateDns } from "./dns";
import { Firewall } from "./firewall";
import { GpuPool, NvidiaDevicePlugin } from "./gpuPool";
import { GpuPoolVerification } from "./k8s/gpuVerification";
import { Network, SubscriptionProviders } from "./network";
import { Registry } from "./registry";
import { assignRole } from "./roles";
import { WorkloadIdentity } from "./workloadIdentity";
import { Storage } from "./storage";
import { Images, acrPassword } from "./k8s/images";
import { armGet } from "./localFunction";
import { ModelService } from "./k8s/modelService";
import { Monitoring } from "./monitoring";
import { NetworkPolicies } from "./k8s/networkPolicy";
import { PrometheusScrape } from "./k8s/prometheusScrape";
import { Router, type RouterTls } from "./k8s/routerDeployment";
import { FORMER_TYPES, token } from "./legacy";
import { KUBERNETES_VERSIONS_API, checkKubernetesVersion, type KubernetesVersionList } from "../core/azureRules";
import { missingServiceFiles } from "../packaging/project";

export type { InferenceEnvironmentArgs } from "../core/environmentArgs";

/** Azure tags on every resource; the policy pack reads them back from the cluster. */
function environmentTags(cfg: StackConfig): Record<string, string> {
  const tokenRegion = cfg.services.some((s) => s.authMode === "token") ? cfg.tokenIssuer.region : undefined;
  return {
    [TAGS.stack]: cfg.stack,
    [TAGS.purpose]: cfg.clusterPurpose,
    [TAGS.networkPlugin]: cfg.network.plugin,
    ...(tokenRegion ? { [TAGS.tokenRegion]: tokenRegion } : {}),
  };
}

/** What a program in TypeScript may add; other languages get the defaults. */
export interface InferenceEnvironmentOptions extends pulumi.ComponentResourceOptions {
  /**
   * This environment takes over a stack deployed before the component existed, whose resources
   * were registered under the stack itself with bare names ("rg", "aks", ...) and the former
   * tokens (`aks-inference:cluster:Cluster`, ...): its children keep those names (instead of
   * `<name>-rg`, ...) and get an alias to where they were, so nothing is replaced. One
   * environment per stack at most (two resources may not claim one alias).
   */
  formerStackLayout?: boolean;
}

/** A model service's endpoints. */
export interface ServiceEndpoint {
  scoringUri: string;
  swaggerUri: string;
  /** Kubernetes Deployment serving it (a service without versions). */
  deployment?: string;
  /** The Deployment of each version, by version (a service with versions). */
  deployments?: Record<string, string>;
}

/** A key-auth service's keys. */
export interface ServiceKeys {
  primaryKey: string;
  secondaryKey: string;
}

export class InferenceEnvironment extends pulumi.ComponentResource {
  readonly resourceGroupName: pulumi.Output<string>;
  readonly clusterName: pulumi.Output<string>;
  /** Cluster user kubeconfig (secret). */
  readonly kubeconfig: pulumi.Output<string>;
  readonly registryLoginServer: pulumi.Output<string>;
  readonly storageAccountName: pulumi.Output<string>;
  readonly storageBlobEndpoint: pulumi.Output<string>;
  /** Public IP clients reach the router on. */
  readonly endpointIp: pulumi.Output<string>;
  readonly endpointFqdn: pulumi.Output<string>;
  /** Host name of the scoring URIs. */
  readonly scoringHost: pulumi.Output<string>;
  /** Hosts the cluster must resolve and reach. */
  readonly requiredHosts: pulumi.Output<string[]>;
  /** With firewall egress. */
  readonly firewallPrivateIp: pulumi.Output<string | undefined>;
  /** With firewall egress. */
  readonly firewallPublicIp: pulumi.Output<string | undefined>;
  readonly routerImage: pulumi.Output<string>;
  /** Per service: scoring URI, swagger URI, Deployment name. */
  readonly services: pulumi.Output<Record<string, ServiceEndpoint>>;
  /** Per key-auth service: primary and secondary key (secret). */
  readonly serviceKeys: pulumi.Output<Record<string, ServiceKeys>>;

  constructor(name: string, args: InferenceEnvironmentArgs, opts: InferenceEnvironmentOptions = {}) {
    // Checked before anything is registered. The name stands in for the stack name: derived
    // Azure names and the `stack` tag come from it.
    // Through `construct` (another language's program) a secret arrives as an output at the top
    // level and as the wire's secret wrapper further down.
    const deferred = deferredArgPaths(args, (v) => pulumi.Output.isInstance(v) || v instanceof Promise || pulumi.runtime.isRpcSecret(v));
    if (deferred.length > 0) throw new EnvironmentArgsError(name, deferred.map((p) => `${p}: must be a plain value known when the program starts (an output, secret or promise was given)`));
    const cfg = parseEnvironmentArgs(args, name);
    super(token("InferenceEnvironment"), name, {}, opts);
    // The program's files (models, project folders, environment files) are relative to it; the
    // package's own (Dockerfiles, the router's and server's sources) are found by the package.
    const projectRoot = path.resolve(args.projectRoot ?? process.cwd());
    const missing = missingServiceFiles(cfg.services, projectRoot);
    if (missing.length > 0) throw new EnvironmentArgsError(name, missing);
    const tags = environmentTags(cfg);
    const formerLayout = opts.formerStackLayout === true;
    // Children are named after the environment, so two environments in one program never
    // collide; the environment that adopts a former stack keeps that stack's bare names.
    const child = (bare: string) => (formerLayout ? bare : `${name}-${bare}`);
    // A former stack registered each of these under the stack itself (components with their
    // former token): the alias lets the engine adopt it under this environment. Their own
    // children follow through Pulumi's alias inheritance from their parent's alias.
    const at = (formerType?: string): pulumi.CustomResourceOptions => ({
      parent: this,
      aliases: formerLayout ? [{ ...(formerType ? { type: formerType } : {}), parent: pulumi.rootStackResource }] : [],
    });
    const location = cfg.location;
    const { subscriptionId, tenantId, objectId: deployerObjectId } = authorization.getClientConfigOutput();

    const group = new resources.ResourceGroup(child("rg"), { resourceGroupName: cfg.resourceGroupName, location, tags }, at());
    const resourceGroupName = group.name;

    const zones = purposeProfile(cfg.clusterPurpose).zones;
    const defaultRouteName = `${cfg.clusterName}-to-firewall`;
    // The network team's subnet, route table and firewall policy may be in other subscriptions.
    const networkProviders = new SubscriptionProviders(child, () => at());
    const net = new Network(
      child("network"),
      {
        resourceGroupName,
        location,
        plugin: cfg.network.plugin,
        vnetAddressSpace: cfg.network.vnetAddressSpace,
        nodeSubnetPrefix: cfg.network.nodeSubnetPrefix,
        firewallSubnetPrefix: cfg.network.firewallSubnetPrefix,
        podCidr: cfg.network.podCidr,
        serviceCidr: cfg.network.serviceCidr,
        privateDnsZones: cfg.dns.privateZones,
        dnsResolverVnetId: cfg.dns.resolverVnetId,
        subnetId: cfg.network.subnetId,
        firewallSubnetId: cfg.network.firewallSubnetId,
        routeTableId: cfg.network.routeTableId,
        firewall: cfg.firewall,
        internalIp: cfg.endpoint.internalIp,
        defaultRouteName,
        providers: networkProviders,
        tags,
      },
      at(FORMER_TYPES.Network),
    );

    const hosts = requiredHostsFor(cfg);
    const tls = tlsEnabled(cfg);
    const firewall = cfg.firewall
      ? new Firewall(
          child("egress"),
          {
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
          },
          at(FORMER_TYPES.Firewall),
        )
      : undefined;

    const endpoint = new Endpoint(
      child("endpoint"),
      {
        resourceGroupName,
        location,
        entry: firewall ? { kind: "firewall", address: firewall.publicIp, publicIp: firewall.publicIpResource } : { kind: "publicIp", dnsLabel: endpointDnsLabel(cfg) },
        customDomain: cfg.endpoint.customDomain,
        dnsZone: cfg.endpoint.dnsZone,
        tags,
      },
      at(FORMER_TYPES.Endpoint),
    );

    // The name clients call: the custom domain or an explicit label as configured; the default
    // tenant-scoped label only as Azure assigned it (with its hash).
    const host: pulumi.Output<string> = endpointDnsLabel(cfg)?.scope ? endpoint.fqdn : pulumi.output(scoringHost(cfg));

    // Network Contributor on exactly what the control plane manages: the node subnet (load
    // balancers, the internal load balancer's IP), the route table (kubenet's pod routes; AKS
    // reads it with user-defined routing) and, for the public IP its load balancer binds, that
    // IP's resource group: the cloud provider finds the IP by listing the group's public IPs,
    // which a grant on the IP alone does not allow (rule network-contributor-on-public-ip-group).
    // The group is this environment's own and holds only its resources.
    const networkScopes: { key: string; scope: pulumi.Input<string> }[] = [{ key: "subnet", scope: net.nodeSubnetId }];
    if (net.routeTable) networkScopes.push({ key: "route-table", scope: net.routeTable.id });
    // (Its key names the IP, as before: the assignment keeps its URN.)
    if (!firewall && endpoint.publicIp) networkScopes.push({ key: "endpoint-ip", scope: group.id });

    // The version Azure offers for new clusters in the region, from its own list (read-only,
    // during preview as during up); unset, AKS's default for the region. The cluster and its GPU
    // pools wait for the answer, and a refused version fails the preview with what is offered.
    const armToken = authorization.getClientTokenOutput().token;
    const kubernetesVersions = armGet(pulumi.interpolate`/subscriptions/${subscriptionId}/providers/Microsoft.ContainerService/locations/${location}/kubernetesVersions?api-version=${KUBERNETES_VERSIONS_API}`, armToken, this);
    const kubernetesVersion = kubernetesVersions.apply((list) => {
      const problems = list === undefined ? [] : checkKubernetesVersion({ location, configured: cfg.kubernetesVersion, longTermSupport: false, list: list as KubernetesVersionList });
      if (problems.length > 0) throw new Error(problems.join("\n"));
      return cfg.kubernetesVersion;
    });

    // Application Insights serves the services with appInsightsEnabled (one resource per environment).
    const appInsights = cfg.services.some((s) => s.appInsightsEnabled);
    const cluster = new Cluster(
      child("aks"),
      {
        resourceGroupName,
        location,
        subscriptionId,
        clusterName: cfg.clusterName,
        purpose: cfg.clusterPurpose,
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
        tenantId,
        deployer: { objectId: deployerObjectId, principalType: cfg.deployer.principalType ?? armToken.apply(principalTypeFromToken) },
        onCallGroupObjectId: cfg.access.onCallGroupObjectId,
        namespace: cfg.namespace,
        tags,
        // Behind a firewall, nodes can only join once the rules and the default route exist.
        dependsOn: firewall ? firewall.egressReady : [],
      },
      at(FORMER_TYPES.Cluster),
    );

    const registry = new Registry(
      child("acr"),
      {
        resourceGroupName,
        location,
        subscriptionId,
        registryName: cfg.registryName,
        sku: purposeProfile(cfg.clusterPurpose).registrySku,
        kubeletObjectId: cluster.kubeletObjectId,
        tags,
      },
      at(FORMER_TYPES.Registry),
    );

    const storage = new Storage(
      child("storage"),
      {
        resourceGroupName,
        location,
        subscriptionId,
        accountName: cfg.storageAccountName,
        sku: purposeProfile(cfg.clusterPurpose).storageSku,
        deployer: { objectId: deployerObjectId, principalType: cfg.deployer.principalType ?? armToken.apply(principalTypeFromToken) },
        tags,
      },
      at(FORMER_TYPES.Storage),
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
          at(FORMER_TYPES.GpuPool),
        ),
    );
    const devicePlugin =
      gpuPools.length > 0
        ? new NvidiaDevicePlugin(child("nvidia-device-plugin"), { provider: cluster.provider, dependsOn: gpuPools.map((p) => p.pool) }, at(FORMER_TYPES.NvidiaDevicePlugin))
        : undefined;

    if (cfg.dns.privateZones.length > 0) {
      // Linked where the VNet's DNS servers resolve: the resolver's VNet when given (issue 26).
      new PrivateDns(child("private-dns"), { resourceGroupName, vnetId: cfg.dns.resolverVnetId ?? net.vnetId, zones: cfg.dns.privateZones, records: cfg.dns.records, tags }, at(FORMER_TYPES.PrivateDns));
    }

    // ---- In the cluster: images, the router, then the model services (Azure ML v1's chronology). ----
    const images = new Images(
      child("images"),
      {
        projectRoot,
        loginServer: registry.loginServer,
        registryPassword: acrPassword(registry.loginServer, tenantId, armToken, this),
        routerImage: cfg.router.image,
      },
      at(FORMER_TYPES.Images),
    );
    // TLS: from secret config (the router stores it in a Secret), or a Key Vault certificate the
    // router's own workload identity may read, and nothing else in that vault.
    const tlsConfig = cfg.endpoint.tls;
    let routerTls: RouterTls | undefined;
    const routerTlsAccess: pulumi.Resource[] = [];
    if (tlsConfig?.keyVault) {
      const vault = tlsConfig.keyVault;
      const identity = new WorkloadIdentity(
        child("router-identity"),
        { resourceGroupName, location, tags, oidcIssuerUrl: cluster.oidcIssuerUrl, namespace: cfg.namespace, serviceAccount: ROUTER_NAME },
        at(FORMER_TYPES.WorkloadIdentity),
      );
      // The vault by its resource ID, in whichever subscription the platform team keeps it (the
      // older name/resourceGroupName form: the stack's). The role is defined in that subscription.
      const vaultRef = subscriptionId.apply((s) => keyVaultOf(vault, s));
      const certificateSecret = pulumi.interpolate`${vaultRef.id}/secrets/${vault.certificateName}`;
      routerTlsAccess.push(
        identity.federatedCredential,
        assignRole(child("router-identity-certificate"), { subscriptionId: vaultRef.subscriptionId, role: "keyVaultSecretsUser", principalId: identity.principalId, scope: certificateSecret }, at()),
      );
      // The CSI driver's SecretProviderClass names the vault and the tenant (the deployer's: a
      // subscription of another tenant cannot hold a vault the cluster's identities sign in to).
      routerTls = { source: "keyVault", vaultName: keyVaultName(vault), certificateName: vault.certificateName, tenantId, clientId: identity.clientId };
    } else if (tlsConfig?.certificate && tlsConfig.privateKey) {
      routerTls = { source: "config", certificate: pulumi.secret(tlsConfig.certificate), privateKey: pulumi.secret(tlsConfig.privateKey) };
    }
    const usesToken = cfg.services.some((s) => s.authMode === "token");
    const router = new Router(
      child("router"),
      {
        provider: cluster.provider,
        namespace: cfg.namespace,
        image: images.routerImage,
        purpose: cfg.clusterPurpose,
        replicas: cfg.router.replicas,
        maxBodyBytes: routerPayloadLimitBytes(cfg.router.payloadLimitMb),
        selfScaling: cfg.router.selfScaling,
        selfScalingLatencyMs: cfg.router.selfScalingLatencyThresholdMs,
        frontDoor: { maxConnections: cfg.router.maxConnections, maxTokenLifetimeSeconds: cfg.tokenIssuer.maxLifetimeSeconds, trustForwardedFor: cfg.router.trustForwardedFor },
        longestScoringTimeoutMs: Math.max(DEFAULT_SCORING_TIMEOUT_MS, ...cfg.services.map((s) => s.scoringTimeoutMs)),
        host,
        exposure: firewall || !endpoint.ipName ? { kind: "internal", ip: cfg.endpoint.internalIp ?? "" } : { kind: "public", publicIpName: endpoint.ipName, resourceGroup: endpoint.resourceGroupName },
        tls: routerTls,
        token: !usesToken ? undefined : cfg.tokenIssuer.type === "oidc" ? { type: "oidc", issuer: cfg.tokenIssuer.issuer ?? "", jwksUri: cfg.tokenIssuer.jwksUri ?? "" } : { type: "builtin" },
        // Egress to the API server, MCR and ACR must exist before the router deploys, the AcrPull
        // grant before any image is pulled, and the certificate's federation and grant before the
        // CSI driver mounts it.
        dependsOn: [...(firewall?.egressReady ?? []), registry.acrPull, ...routerTlsAccess],
      },
      at(FORMER_TYPES.Router),
    );
    // Model pods reach blob storage as one workload identity: read packages and models, write
    // collected data, each grant on its container only. No account key exists to hand out.
    const modelIdentity = new WorkloadIdentity(
      child("model-identity"),
      {
        resourceGroupName,
        location,
        tags,
        oidcIssuerUrl: cluster.oidcIssuerUrl,
        namespace: cfg.namespace,
        serviceAccount: MODEL_SERVICE_ACCOUNT,
        kubernetes: { provider: cluster.provider, namespace: router.namespace },
      },
      at(FORMER_TYPES.WorkloadIdentity),
    );
    // Only router pods may open a model pod's scoring port (and the router's admin port); model
    // pods start only once that is in force.
    const networkPolicies = new NetworkPolicies(child("network-policies"), { provider: cluster.provider, namespace: router.namespace, prometheusScrape: cfg.monitoring.prometheus }, at(FORMER_TYPES.NetworkPolicies));
    // Managed Prometheus scrapes every router pod's admin /metrics (the policy above admits its scraper).
    if (cfg.monitoring.prometheus) new PrometheusScrape(child("prometheus-scrape"), { provider: cluster.provider, namespace: router.namespace }, { parent: this });
    const modelBlobAccess = storage.grantBlobData(child("model-identity"), modelIdentity.principalId, { packages: "read", models: "read", modelData: "write" });
    // Each GPU pool proves it can run a GPU container (device plugin, driver) before its services.
    const verifications = new Map(
      (devicePlugin ? cfg.gpuPools.filter((p) => p.verifyOnDeploy) : []).map((p) => [
        p.name,
        new GpuPoolVerification(
          child(`gpu-verify-${p.name}`),
          {
            provider: cluster.provider,
            namespace: router.namespace,
            poolName: p.name,
            vmSize: p.vmSize,
            count: p.count,
            minCount: p.minCount,
            dependsOn: devicePlugin ? [devicePlugin.daemonSet] : [],
          },
          at(FORMER_TYPES.GpuPoolVerification),
        ),
      ]),
    );
    // Azure Monitor (config `monitoring`, per service `appInsightsEnabled`): what the cluster's
    // add-ons report to, the alert rules, and Application Insights' connection string in a Secret
    // the model pods of those services read. Nothing when all of it is off.
    const monitoring =
      cfg.monitoring.prometheus || cfg.monitoring.containerInsights || appInsights
        ? new Monitoring(
            child("monitoring"),
            {
              resourceGroupName,
              location,
              subscriptionId,
              clusterName: cfg.clusterName,
              clusterId: cluster.cluster.id,
              prometheus: cfg.monitoring.prometheus,
              grafana: cfg.monitoring.grafana,
              containerInsights: cfg.monitoring.containerInsights ? { logAnalyticsWorkspaceId: cluster.logAnalyticsWorkspaceId! } : undefined,
              appInsights: appInsights ? { logAnalyticsWorkspaceId: cluster.logAnalyticsWorkspaceId!, provider: cluster.provider, namespace: router.namespace } : undefined,
              tags,
            },
            { parent: this },
          )
        : undefined;
    const services = cfg.services.map(
      (svc) =>
        new ModelService(
          child(`svc-${svc.name}`),
          {
            service: svc,
            stack: cfg,
            provider: cluster.provider,
            namespace: router.namespace,
            // One image per distinct environment: versions sharing one share it.
            images: Object.fromEntries(versionsOf(svc).map((v) => [v.version, images.environmentImage(v)])),
            projectRoot,
            storage,
            serviceAccountName: modelIdentity.serviceAccount!.metadata.name,
            appInsightsSecretName: svc.appInsightsEnabled ? monitoring?.appInsightsSecretName : undefined,
            host,
            // Model pods need ACR and blob egress (covered by the firewall rules the router waits
            // for) and their identity's federation and blob roles, and are only reachable once the
            // router watches for them.
            dependsOn: [
              router.deployment,
              modelIdentity.federatedCredential,
              ...modelBlobAccess,
              ...networkPolicies.policies,
              ...(svc.gpuPool && verifications.has(svc.gpuPool) ? [verifications.get(svc.gpuPool)!.job] : []),
            ],
          },
          at(FORMER_TYPES.ModelService),
        ),
    );

    this.resourceGroupName = resourceGroupName;
    this.clusterName = cluster.name;
    this.kubeconfig = cluster.kubeconfig;
    this.registryLoginServer = registry.loginServer;
    this.storageAccountName = storage.accountName;
    this.storageBlobEndpoint = storage.blobEndpoint;
    this.endpointIp = endpoint.ipAddress;
    this.endpointFqdn = endpoint.fqdn;
    this.scoringHost = host;
    this.requiredHosts = pulumi.output(hosts.map((h) => h.host));
    this.firewallPrivateIp = pulumi.output(firewall?.privateIp);
    this.firewallPublicIp = pulumi.output(firewall?.publicIp);
    this.routerImage = images.routerImage;
    this.services = pulumi.output(
      Object.fromEntries(services.map((s) => [s.serviceName, { scoringUri: s.scoringUri, swaggerUri: s.swaggerUri, ...(s.deployments ? { deployments: s.deployments } : { deployment: s.deploymentNames[0] }) }])),
    );
    this.serviceKeys = pulumi.secret(pulumi.all(Object.fromEntries(services.filter((s) => s.keys).map((s) => [s.serviceName, s.keys!]))));
    this.registerOutputs({
      resourceGroupName: this.resourceGroupName,
      clusterName: this.clusterName,
      kubeconfig: this.kubeconfig,
      registryLoginServer: this.registryLoginServer,
      storageAccountName: this.storageAccountName,
      storageBlobEndpoint: this.storageBlobEndpoint,
      endpointIp: this.endpointIp,
      endpointFqdn: this.endpointFqdn,
      scoringHost: this.scoringHost,
      requiredHosts: this.requiredHosts,
      firewallPrivateIp: this.firewallPrivateIp,
      firewallPublicIp: this.firewallPublicIp,
      routerImage: this.routerImage,
      services: this.services,
      serviceKeys: this.serviceKeys,
    });
  }
}
