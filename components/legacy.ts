/**
 * Type tokens and aliases. Every component's token is `aks-inference:index:<Type>`: a source-based
 * component package exposes one module, `index`. Stacks deployed before that registered the same
 * components as `aks-inference:<module>:<Type>`, parented to the stack: the aliases here let the
 * engine find those resources under their new tokens and parents instead of replacing them. They
 * are declared here only: each component adds its former token (`withFormerType`), and an
 * environment places its children (`placement`).
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

export type FormerComponent = keyof typeof FORMER_TYPES;

/** `opts` plus an alias from the component's former token (same name, same parent). */
export function withFormerType(formerType: string, opts?: pulumi.ComponentResourceOptions): pulumi.ComponentResourceOptions {
  return { ...opts, aliases: [{ type: formerType }, ...(opts?.aliases ?? [])] };
}

/** How an environment names and places its children (components/environment/). */
export interface Placement {
  /** A child's resource name: `<environment>-<bare>`, or the bare name a former stack used. */
  child(bare: string): string;
  /**
   * A child's options: parented to the environment. In the former stack layout, also an alias to
   * where the stack registered it: under the stack itself, as `component`'s former token when it
   * is a component. Its own children follow through Pulumi's alias inheritance from their parent's alias.
   */
  at(component?: FormerComponent): pulumi.CustomResourceOptions;
}

/**
 * Placement of the children of `environment` (named `name`). With `formerStackLayout` the
 * environment takes over a stack deployed before the component existed: its children keep that
 * stack's bare names and are aliased to where they were, so the engine adopts each instead of
 * replacing it. Otherwise children are named after the environment, so two environments in one
 * program never collide, and claim no alias.
 */
export function placement(environment: pulumi.Resource, name: string, formerStackLayout: boolean): Placement {
  return {
    child: (bare) => (formerStackLayout ? bare : `${name}-${bare}`),
    at: (component) => ({
      parent: environment,
      aliases: formerStackLayout ? [{ ...(component ? { type: FORMER_TYPES[component] } : {}), parent: pulumi.rootStackResource }] : [],
    }),
  };
}
