/**
 * Type tokens and aliases. Every component's token is `aks-inference:index:<Type>`: a source-based
 * component package exposes one module, `index`. Stacks deployed before that registered the same
 * components as `aks-inference:<module>:<Type>`, parented to the stack: the aliases here let the
 * engine find those resources under their new tokens and parents instead of replacing them.
 */
import * as pulumi from "@pulumi/pulumi";

export const PACKAGE = "aks-inference";

/** `aks-inference:index:<Type>`. */
export const token = (type: string): string => `${PACKAGE}:index:${type}`;

/** The token each component had before it moved to `index`. */
export const FORMER_TYPES = {
  Network: "aks-inference:network:Network",
  Firewall: "aks-inference:egress:Firewall",
  Endpoint: "aks-inference:dns:Endpoint",
  Cluster: "aks-inference:cluster:Cluster",
  Registry: "aks-inference:registry:Registry",
  Storage: "aks-inference:storage:Storage",
  GpuPool: "aks-inference:cluster:GpuPool",
  NvidiaDevicePlugin: "aks-inference:cluster:NvidiaDevicePlugin",
  PrivateDns: "aks-inference:dns:PrivateDns",
  Images: "aks-inference:k8s:Images",
  WorkloadIdentity: "aks-inference:identity:WorkloadIdentity",
  Router: "aks-inference:k8s:Router",
  NetworkPolicies: "aks-inference:k8s:NetworkPolicies",
  GpuPoolVerification: "aks-inference:cluster:GpuPoolVerification",
  ModelService: "aks-inference:k8s:ModelService",
} as const;

/** `opts` plus an alias from the component's former token (same name, same parent). */
export function withFormerType(formerType: string, opts?: pulumi.ComponentResourceOptions): pulumi.ComponentResourceOptions {
  return { ...opts, aliases: [{ type: formerType }, ...(opts?.aliases ?? [])] };
}
