/**
 * Everything that depends on the cluster purpose, in one place: DevTest clusters are small and
 * cheap (one zone, free AKS tier, one router pod without self-scaling, no Defender, locally
 * redundant storage), FastProd and DenseProd are sized for production. Config defaults, the
 * components and the host list read it here.
 */
import type { ClusterPurpose } from "./config";

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
      };
}
