/**
 * Everything that depends on the cluster purpose, in one place: DevTest clusters are small and
 * cheap (one zone, free AKS tier, one router pod without self-scaling, no Defender, locally
 * redundant storage), FastProd and DenseProd are sized for production. The config's defaults are
 * applied from it in one place (`withPurposeDefaults`, core/config/derived.ts); the components and
 * the host list read the sizing that is not config (zones, SKUs, tiers) here.
 */
import type { ClusterPurpose, NodeOsUpgradeChannel, UpgradeChannel } from "./enums";

export interface PurposeProfile {
  systemVmSize: string;
  systemCount: number;
  routerReplicas: number;
  /** Router self-scaling (CPU up, then pods out). */
  selfScaling: boolean;
  /** Microsoft Defender for Containers. */
  defender: boolean;
  /**
   * Public IPs of a firewall the stack creates: Microsoft's AKS firewall guide sets 20 as the
   * production minimum against SNAT port exhaustion; a dev-test cluster's few flows fit one.
   */
  firewallPublicIps: number;
  /**
   * ACR SKU: Premium outside DevTest, for its dedicated data endpoint (image layers from
   * `<registry>.<region>.data.azurecr.io` instead of any `*.blob.core.windows.net`).
   */
  registrySku: "Standard" | "Premium";
  storageSku: "Standard_LRS" | "Standard_ZRS";
  /** Availability zones of the node pools (and of a created firewall). */
  zones: string[];
  /** AKS pricing tier: Standard carries the API server SLA. */
  aksTier: "Free" | "Standard";
  /** Requests and limits of a router pod. */
  routerResources: { requests: Record<string, string>; limits: Record<string, string> };
  /**
   * AKS auto-upgrade channel (`upgrades.channel`). `patch` for every purpose: Microsoft's
   * "Automatically upgrade an Azure Kubernetes Service (AKS) cluster" has `patch` move the cluster
   * to the latest supported patch of its minor version, while `stable` / `rapid` also move the
   * minor version (to N-1 / N). Minor versions here move with `kubernetesVersion`, reviewed in a
   * pull request and checked by `pulumi preview` (docs/deploying.md, "Upgrading AKS"); a channel that moves
   * them behind the stack's back would leave the config naming an older version than the cluster
   * runs. Patch releases are security and bug fixes, wanted in DevTest and production alike.
   */
  upgradeChannel: UpgradeChannel;
  /**
   * Node OS upgrade channel (`upgrades.nodeOsChannel`). `NodeImage` for every purpose: Microsoft's
   * "Auto-upgrade node OS images" has AKS roll nodes onto its weekly patched image (security and
   * bug fixes) at no extra cost, and makes it the default of new clusters; `SecurityPatch` costs
   * the hosting of its own images and is not supported by Azure Linux (the system pool's OS) on
   * GPU VMs. Both respect the maintenance window and surge settings.
   */
  nodeOsUpgradeChannel: NodeOsUpgradeChannel;
  /**
   * Local accounts off (`disableLocalAccounts`): FastProd and DenseProd. Every purpose signs in
   * with Microsoft Entra ID and is authorized by Azure RBAC (Microsoft: "Use Azure role-based
   * access control for Kubernetes Authorization"); Microsoft's "Manage local accounts with
   * AKS-managed Microsoft Entra integration" then disables the static cluster-admin certificate,
   * which bypasses Entra and every role assignment and is never revoked by removing a person. A
   * DevTest cluster keeps it as a break-glass credential (`az aks get-credentials --admin`).
   */
  disableLocalAccounts: boolean;
  /**
   * Azure Monitor managed service for Prometheus (`monitoring.prometheus`): FastProd and DenseProd.
   * Microsoft's "Best practices for monitoring Kubernetes with Azure Monitor" recommends managed
   * Prometheus for a production cluster's metrics and alerts; a DevTest cluster's few pods are
   * watched with `kubectl` and the router's own /metrics, without an Azure Monitor workspace to pay for.
   */
  prometheus: boolean;
  /**
   * Container Insights with ContainerLogV2 (`monitoring.containerInsights`): FastProd and DenseProd,
   * so a crashed or replaced pod's logs stay queryable (Microsoft: "Enable monitoring for
   * Kubernetes clusters"). Off for DevTest: its Log Analytics ingestion is billed per GB.
   */
  containerInsights: boolean;
}

export function purposeProfile(purpose: ClusterPurpose): PurposeProfile {
  return purpose === "DevTest"
    ? {
        systemVmSize: "Standard_D2s_v5",
        systemCount: 1,
        routerReplicas: 1,
        selfScaling: false,
        defender: false,
        firewallPublicIps: 1,
        registrySku: "Standard",
        storageSku: "Standard_LRS",
        zones: [],
        aksTier: "Free",
        routerResources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "250m", memory: "512Mi" } },
        upgradeChannel: "patch",
        nodeOsUpgradeChannel: "NodeImage",
        disableLocalAccounts: false,
        prometheus: false,
        containerInsights: false,
      }
    : {
        systemVmSize: "Standard_D4s_v5",
        systemCount: 3,
        routerReplicas: 3,
        selfScaling: true,
        defender: true,
        firewallPublicIps: 20,
        registrySku: "Premium",
        storageSku: "Standard_ZRS",
        zones: ["1", "2", "3"],
        aksTier: "Standard",
        routerResources: { requests: { cpu: "1", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
        upgradeChannel: "patch",
        nodeOsUpgradeChannel: "NodeImage",
        disableLocalAccounts: true,
        prometheus: true,
        containerInsights: true,
      };
}
