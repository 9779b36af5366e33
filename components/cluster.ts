/**
 * The AKS cluster: system pool inline (other pools are separate AgentPool resources, because
 * editing inline pools forces whole-cluster updates), managed identities, RBAC, Defender,
 * purpose-dependent defaults, and a Kubernetes provider built from the *user* kubeconfig.
 */
import * as pulumi from "@pulumi/pulumi";
import * as containerservice from "@pulumi/azure-native/containerservice";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import * as k8s from "@pulumi/kubernetes";
import type { NetworkPlugin, StackConfig } from "../core/config";
import { assignRole } from "./roles";
import type { PurposeProfile } from "../core/config/purpose";
import { withKubeloginLogin } from "../core/azure/kubeconfig";
import type { DeployerPrincipalType } from "../core/azure/identity";
import { FORMER_TYPES, token, withFormerType } from "./legacy";

export interface ClusterArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  subscriptionId: pulumi.Input<string>;
  clusterName: string;
  /** What the cluster purpose decides for the cluster (core/config/purpose.ts, resolved once per environment). */
  profile: Pick<PurposeProfile, "zones" | "disableLocalAccounts" | "aksTier">;
  kubernetesVersion?: pulumi.Input<string | undefined>;
  networkPlugin: NetworkPlugin;
  nodeSubnetId: pulumi.Input<string>;
  /** Pod range: kubenet, and Azure CNI Overlay (the mode CNI clusters use here). */
  podCidr: string;
  serviceCidr: string;
  dnsServiceIp: string;
  /** `userDefinedRouting` when egress goes through a firewall (the route table must exist first). */
  outboundType: "loadBalancer" | "userDefinedRouting";
  /**
   * What the control-plane identity manages, each granted Network Contributor on exactly that
   * resource (the subnet, the route table, the endpoint's public IP), keyed by a stable name.
   */
  networkScopes: { key: string; scope: pulumi.Input<string> }[];
  systemPool: { vmSize: string; count: number; minCount?: number; maxCount?: number };
  /** Microsoft Defender for Containers (creates a Log Analytics workspace). */
  defender: boolean;
  /**
   * Azure Monitor (config `monitoring`; components/monitoring.ts creates what the add-ons report
   * to): the managed Prometheus metrics add-on, Container Insights' agent, and whether
   * Application Insights (some service's `appInsightsEnabled`) writes to the Log Analytics
   * workspace. Container Insights and Application Insights create the workspace, as Defender does:
   * one per environment.
   */
  monitoring: { prometheus: boolean; containerInsights: boolean; appInsights: boolean };
  /** The AKS Key Vault secrets provider add-on (Secrets Store CSI driver), for a TLS certificate in Key Vault. */
  keyVaultSecretsProvider: boolean;
  /** Auto-upgrade and node OS upgrade channels, and their weekly maintenance window (config `upgrades`). */
  upgrades: StackConfig["upgrades"];
  /** Who may reach the API server (config `apiServer`); unset ranges and not private: public, unrestricted. */
  apiServer?: StackConfig["apiServer"];
  /** Entra tenant the cluster signs users in with (the deployer's, which is the subscription's). */
  tenantId: pulumi.Input<string>;
  /** Who runs `pulumi up`: granted AKS RBAC Cluster Admin, so it can create the Kubernetes objects. */
  deployer: { objectId: pulumi.Input<string>; principalType: pulumi.Input<DeployerPrincipalType> };
  /** Config `access.onCallGroupObjectId`: AKS RBAC Writer on `namespace` and Cluster User Role. */
  onCallGroupObjectId?: string;
  /** The namespace the router and model services run in (the on-call group's scope). */
  namespace: string;
  tags: Record<string, string>;
  /** Resources that must exist before the cluster (e.g. firewall rules and default route for UDR). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}


/**
 * kubenet stays available (the stack creates its own VNet), with this warning in every preview and
 * update: Microsoft's "AKS Legacy Container Networking Interfaces (CNI)" announces kubenet's
 * retirement, and "Update Azure CNI IPAM mode and data plane technology for AKS clusters" the
 * migration from kubenet to Azure CNI Overlay.
 */
/**
 * The API server's access profile: authorized IP ranges (Microsoft: "Secure access to the API
 * server using authorized IP address ranges in Azure Kubernetes Service (AKS)") or a private
 * cluster (Microsoft: "Create a private Azure Kubernetes Service (AKS) cluster"); none by default,
 * so clusters without `apiServer` keep their plan.
 */
export function apiServerAccessProfile(a: StackConfig["apiServer"] | undefined): containerservice.ManagedClusterArgs["apiServerAccessProfile"] {
  if (a?.private) return { enablePrivateCluster: true };
  if (a?.authorizedIpRanges) return { authorizedIPRanges: a.authorizedIpRanges };
  return undefined;
}

export function kubenetRetirementWarning(clusterName: string): string {
  return (
    `AKS cluster '${clusterName}' uses kubenet (network.plugin 'kubenet'): Microsoft retires kubenet networking for AKS on 31 March 2028, ` +
    `after which kubenet clusters are no longer supported. Move to Azure CNI Overlay before then: network.plugin 'azure' on a subnet ` +
    `(network.subnetId) with network.serviceCidr and network.dnsServiceIp (docs/deploying.md, "Moving from kubenet to Azure CNI Overlay").`
  );
}

/**
 * The cluster's add-ons: the Key Vault secrets provider (rotation re-reads a renewed certificate
 * into mounted volumes, every 2 minutes by default), and Container Insights' agent (`omsagent`)
 * writing to `containerInsightsWorkspaceId` with its managed identity (`useAADAuth`, as Microsoft's
 * "Enable monitoring for Kubernetes clusters" template sets it; its data collection rule is in
 * components/monitoring.ts). None: undefined, so clusters without add-ons keep their plan.
 */
export function addonProfiles(keyVaultSecretsProvider: boolean, containerInsightsWorkspaceId: pulumi.Input<string> | undefined): containerservice.ManagedClusterArgs["addonProfiles"] {
  const addons = {
    ...(keyVaultSecretsProvider ? { azureKeyvaultSecretsProvider: { enabled: true, config: { enableSecretRotation: "true" } } } : {}),
    ...(containerInsightsWorkspaceId ? { omsagent: { enabled: true, config: { logAnalyticsWorkspaceResourceID: containerInsightsWorkspaceId, useAADAuth: "true" } } } : {}),
  };
  return Object.keys(addons).length > 0 ? addons : undefined;
}

export class Cluster extends pulumi.ComponentResource {
  readonly cluster: containerservice.ManagedCluster;
  readonly name: pulumi.Output<string>;
  /** Object ID of the kubelet identity (ACR pull). */
  readonly kubeletObjectId: pulumi.Output<string>;
  /** Principal ID of the control-plane identity. */
  readonly controlPlanePrincipalId: pulumi.Output<string>;
  /** OIDC issuer of the cluster's ServiceAccount tokens: workload identities federate with it. */
  readonly oidcIssuerUrl: pulumi.Output<string>;
  /** User kubeconfig (secret). */
  readonly kubeconfig: pulumi.Output<string>;
  /** Provider for everything deployed into the cluster. */
  readonly provider: k8s.Provider;
  /** Role assignments the cluster needs before it creates load balancers / routes. */
  readonly networkRoleAssignments: pulumi.Resource[];
  /** Kubernetes API access by Azure RBAC at the cluster's scope: the deployer's, then the on-call group's. */
  readonly accessRoleAssignments: pulumi.Resource[];
  /** Availability zones of the node pools (none for DevTest). */
  readonly zones: string[];
  /** The environment's Log Analytics workspace, with Defender, Container Insights or Application Insights. */
  readonly logAnalyticsWorkspaceId?: pulumi.Output<string>;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("Cluster"), name, {}, withFormerType(FORMER_TYPES.Cluster, opts));
    const common = { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags };
    // Prod spreads nodes over zones; DevTest stays small and single-zone.
    this.zones = args.profile.zones;

    // A user-assigned control-plane identity can be granted rights on the route table and
    // subnet BEFORE the cluster exists; kubenet behind a firewall (UDR) requires exactly that.
    const identity = new managedidentity.UserAssignedIdentity(`${name}-identity`, { ...common }, { parent: this });
    this.controlPlanePrincipalId = identity.principalId;
    this.networkRoleAssignments = args.networkScopes.map(({ key, scope }) =>
      assignRole(`${name}-network-${key}`, { subscriptionId: args.subscriptionId, role: "networkContributor", principalId: identity.principalId, scope }, { parent: this }),
    );

    let workspaceId: pulumi.Output<string> | undefined;
    // One workspace for all of them (its logical name predates the others: Defender's).
    if (args.defender || args.monitoring.containerInsights || args.monitoring.appInsights) {
      const workspace = new operationalinsights.Workspace(
        `${name}-logs`,
        { ...common, sku: { name: "PerGB2018" }, retentionInDays: 30 },
        { parent: this },
      );
      workspaceId = workspace.id;
    }
    this.logAnalyticsWorkspaceId = workspaceId;

    if (args.networkPlugin === "kubenet") void pulumi.log.warn(kubenetRetirementWarning(args.clusterName), this);
    const pool = args.systemPool;
    const autoscale = pool.minCount !== undefined && pool.maxCount !== undefined;
    this.cluster = new containerservice.ManagedCluster(
      name,
      {
        ...common,
        resourceName: args.clusterName,
        dnsPrefix: args.clusterName,
        kubernetesVersion: args.kubernetesVersion,
        enableRBAC: true,
        // Microsoft Entra ID signs users in, Azure RBAC authorizes them (Microsoft: "Use Azure
        // role-based access control for Kubernetes Authorization"): who may do what in the
        // cluster is a role assignment at the cluster's (or a namespace's) scope, granted below.
        aadProfile: { managed: true, enableAzureRBAC: true, tenantID: args.tenantId },
        // FastProd / DenseProd: no static admin certificate (Microsoft: "Manage local accounts
        // with AKS-managed Microsoft Entra integration"); core/config/purpose.ts says why.
        disableLocalAccounts: args.profile.disableLocalAccounts,
        identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
        sku: { name: "Base", tier: args.profile.aksTier },
        apiServerAccessProfile: apiServerAccessProfile(args.apiServer),
        agentPoolProfiles: [
          {
            name: "system",
            mode: "System",
            type: "VirtualMachineScaleSets",
            osType: "Linux",
            osSKU: "AzureLinux",
            vmSize: pool.vmSize,
            count: pool.count,
            enableAutoScaling: autoscale,
            minCount: autoscale ? pool.minCount : undefined,
            maxCount: autoscale ? pool.maxCount : undefined,
            vnetSubnetID: args.nodeSubnetId,
            availabilityZones: this.zones.length > 0 ? this.zones : undefined,
          },
        ],
        networkProfile: {
          networkPlugin: args.networkPlugin,
          // CNI runs as Azure CNI Overlay: pods take addresses from podCidr, not from the
          // network team's subnet (which then only needs room for nodes and the internal load
          // balancer), and their egress leaves with the node's IP, the firewall rules' source.
          // Classic CNI would also refuse podCidr, which the SDK fills in when it is omitted.
          networkPluginMode: args.networkPlugin === "azure" ? "overlay" : undefined,
          podCidr: args.podCidr,
          serviceCidr: args.serviceCidr,
          dnsServiceIP: args.dnsServiceIp,
          loadBalancerSku: "standard",
          outboundType: args.outboundType,
          // Enforces the NetworkPolicies that let only the router reach model pods ("Secure traffic
          // between pods by using network policies in AKS"). CNI: Azure CNI Powered by Cilium, whose
          // dataplane enforces them itself; Microsoft's "Configure Azure CNI Powered by Cilium in
          // AKS" pairs networkDataplane cilium with networkPolicy cilium (no separate engine), on
          // Overlay or a pod subnet. Azure Network Policy Manager on Linux is being retired in its
          // favour. An existing cluster changes dataplane in place (docs/deploying.md, "Moving to Cilium").
          // kubenet supports only Calico, and no Cilium dataplane.
          networkDataplane: args.networkPlugin === "azure" ? "cilium" : undefined,
          networkPolicy: args.networkPlugin === "azure" ? "cilium" : "calico",
        },
        // Workload identity: pods get Entra tokens for their ServiceAccount's managed identity
        // (blob storage, Key Vault) from the cluster's OIDC issuer, with no keys or secrets.
        oidcIssuerProfile: { enabled: true },
        securityProfile: {
          workloadIdentity: { enabled: true },
          ...(args.defender && workspaceId ? { defender: { logAnalyticsWorkspaceResourceId: workspaceId, securityMonitoring: { enabled: true } } } : {}),
        },
        addonProfiles: addonProfiles(args.keyVaultSecretsProvider, args.monitoring.containerInsights ? workspaceId : undefined),
        // Managed Prometheus's metrics add-on (Microsoft: "Enable Prometheus and Grafana"): it
        // finds its Azure Monitor workspace through the cluster's data collection rule association
        // (components/monitoring.ts). Left unset when off, so clusters without it keep their plan.
        azureMonitorProfile: args.monitoring.prometheus ? { metrics: { enabled: true } } : undefined,
        // Defaults by purpose (core/config/purpose.ts, with Microsoft's reasons there).
        autoUpgradeProfile: { upgradeChannel: args.upgrades.channel, nodeOSUpgradeChannel: args.upgrades.nodeOsChannel },
      },
      {
        parent: this,
        // Without the network rights (and, behind a firewall, the rules and default route) the
        // cluster's creation fails or its nodes cannot join. Role assignments take a few minutes
        // to propagate and no wait resource is available here: AKS's cloud provider retries its
        // route and load balancer writes until the grant is effective, and if the cluster's own
        // creation meets a not-yet-propagated grant (LinkedAuthorizationFailed), re-running
        // `pulumi up` resumes from the cluster (docs/hub-firewall.md, "Deploying behind a hub firewall").
        dependsOn: [...this.networkRoleAssignments, ...(args.dependsOn ?? [])],
        // The system pool's node count is the node autoscaler's business once it runs.
        ignoreChanges: autoscale ? ["agentPoolProfiles[0].count"] : [],
      },
    );
    this.name = this.cluster.name;

    // Planned maintenance (Microsoft's "Use Planned Maintenance to schedule and control upgrades
    // for your AKS cluster"): AKS reads the auto-upgrade and node OS upgrade windows by these exact
    // names, so they are fixed, and each is created only when its channel is on (a window of a
    // channel that is off governs nothing; Unmanaged patches on the OS's own schedule). Both
    // take the one weekly window; nodes are drained with surge, one at a time, honouring the
    // PodDisruptionBudgets of the router and of multi-replica model services.
    const w = args.upgrades.maintenanceWindow;
    const maintenanceWindow = {
      schedule: { weekly: { dayOfWeek: w.dayOfWeek, intervalWeeks: 1 } },
      startTime: w.startTime,
      durationHours: w.durationHours,
      utcOffset: w.utcOffset,
    };
    const schedules: [string, string, boolean][] = [
      ["auto-upgrade-schedule", "aksManagedAutoUpgradeSchedule", args.upgrades.channel !== "none"],
      ["node-os-upgrade-schedule", "aksManagedNodeOSUpgradeSchedule", args.upgrades.nodeOsChannel === "NodeImage" || args.upgrades.nodeOsChannel === "SecurityPatch"],
    ];
    for (const [suffix, configName, on] of schedules) {
      if (!on) continue;
      new containerservice.MaintenanceConfiguration(
        `${name}-${suffix}`,
        { resourceGroupName: args.resourceGroupName, resourceName: this.cluster.name, configName, maintenanceWindow },
        { parent: this },
      );
    }
    this.oidcIssuerUrl = this.cluster.oidcIssuerProfile.apply((p) => {
      if (!p?.issuerURL) throw new Error(`AKS cluster '${args.clusterName}' reported no OIDC issuer URL`);
      return p.issuerURL;
    });
    this.kubeletObjectId = this.cluster.identityProfile.apply((p) => {
      const objectId = p?.["kubeletidentity"]?.objectId;
      if (!objectId) throw new Error(`AKS cluster '${args.clusterName}' reported no kubelet identity`);
      return objectId;
    });

    // Kubernetes API access by Azure RBAC (names: components/roles.ts). The deployer creates every
    // Kubernetes object of the stack: RBAC Cluster Admin at the cluster's scope. The on-call group
    // does what Azure ML v1's on-call did (state, logs, keys, key rotation, scale): RBAC Writer on
    // the inference namespace only (Secrets included, no roles), and Cluster User Role at the
    // cluster's scope to fetch the kubeconfig.
    const onCall = args.onCallGroupObjectId;
    const deployerAccess = assignRole(
      `${name}-deployer-rbac-cluster-admin`,
      { subscriptionId: args.subscriptionId, role: "aksRbacClusterAdmin", principalId: args.deployer.objectId, principalType: args.deployer.principalType, scope: this.cluster.id },
      { parent: this },
    );
    const group = (suffix: string, role: "aksRbacWriter" | "aksClusterUser", scope: pulumi.Input<string>) =>
      assignRole(`${name}-oncall-${suffix}`, { subscriptionId: args.subscriptionId, role, principalId: onCall!, principalType: "Group", scope }, { parent: this });
    this.accessRoleAssignments = [
      deployerAccess,
      ...(onCall
        ? [group("rbac-writer", "aksRbacWriter", pulumi.interpolate`${this.cluster.id}/namespaces/${args.namespace}`), group("cluster-user", "aksClusterUser", this.cluster.id)]
        : []),
    ];

    // The *user* credentials: admin credentials fail on clusters with local accounts disabled.
    // `exec`: the user runs kubelogin (the Entra sign-in), rewritten from device code to the
    // Azure CLI's signed-in context (core/azure/kubeconfig.ts): `az login` on a laptop, azure/login
    // in CI. Wherever `pulumi` runs therefore needs kubelogin and az on its PATH (docs/deploying.md, "Sign-in with kubelogin").
    const creds = containerservice.listManagedClusterUserCredentialsOutput(
      { resourceGroupName: args.resourceGroupName, resourceName: this.cluster.name, format: "exec" },
      { parent: this },
    );
    this.kubeconfig = pulumi.secret(
      creds.kubeconfigs.apply((k) => {
        const value = k?.[0]?.value;
        if (!value) throw new Error(`AKS cluster '${args.clusterName}' returned no kubeconfig`);
        return withKubeloginLogin(Buffer.from(value, "base64").toString("utf8"), "azurecli");
      }),
    );
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      {
        kubeconfig: this.kubeconfig,
        // The provider (and with it every Kubernetes object) is replaced only when this changes:
        // a rotated or not-yet-known kubeconfig of the same cluster is an update, a new cluster
        // (new resource ID) is a replacement. Adding it to an existing provider replaces nothing.
        clusterIdentifier: this.cluster.id,
        // A destroyed or unreachable cluster must not wedge `pulumi destroy` of its objects.
        deleteUnreachable: true,
        enableServerSideApply: true,
      },
      // Every Kubernetes object uses this provider, so none is created before the deployer may
      // create it. Azure RBAC takes up to five minutes to honour a new assignment (Microsoft: "Use
      // Azure role-based access control for Kubernetes Authorization"): a first `pulumi up` that
      // meets a Forbidden from the API server succeeds when run again.
      { parent: this, dependsOn: [deployerAccess] },
    );
    this.registerOutputs({ name: this.name, kubeletObjectId: this.kubeletObjectId, kubeconfig: this.kubeconfig });
  }
}
