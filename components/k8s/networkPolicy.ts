/**
 * Nothing but the router reaches a model pod: NetworkPolicies in the service namespace that let
 * only router pods open the scoring port of model pods, and only router pods (the autoscaling
 * leader reading its peers' load) open the router's admin port. The router's public ports stay
 * open to anyone (its Service is the front door). Enforced by the cluster's network policy
 * engine (Azure CNI with Azure or Calico network policy; kubenet only with Calico), which the
 * Cluster component turns on; without one these objects are stored and ignored.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { LABELS, MANAGED_BY, ROLE_MODEL, ROLE_ROUTER, ROUTER_PORTS, SCORING_PORT } from "../../core/naming";
import { FORMER_TYPES, token, withFormerType } from "../legacy";

export interface NetworkPoliciesArgs {
  provider: k8s.Provider;
  namespace: pulumi.Input<string>;
}

/** The policies' specs, pure: the policy pack and tests read the same shapes the stack renders. */
export function networkPolicySpecs(): { name: string; spec: k8s.types.input.networking.v1.NetworkPolicySpec }[] {
  const routerPods = { podSelector: { matchLabels: { [LABELS.role]: ROLE_ROUTER } } };
  return [
    {
      name: "model-pods-from-router-only",
      spec: {
        podSelector: { matchLabels: { [LABELS.role]: ROLE_MODEL } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [routerPods], ports: [{ protocol: "TCP", port: SCORING_PORT }] }],
      },
    },
    {
      name: "router-admin-from-router-only",
      spec: {
        podSelector: { matchLabels: { [LABELS.role]: ROLE_ROUTER } },
        policyTypes: ["Ingress"],
        ingress: [
          { ports: [{ protocol: "TCP", port: ROUTER_PORTS.http }, { protocol: "TCP", port: ROUTER_PORTS.https }] },
          { from: [routerPods], ports: [{ protocol: "TCP", port: ROUTER_PORTS.admin }] },
        ],
      },
    },
  ];
}

export class NetworkPolicies extends pulumi.ComponentResource {
  readonly policies: k8s.networking.v1.NetworkPolicy[];

  constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("NetworkPolicies"), name, {}, withFormerType(FORMER_TYPES.NetworkPolicies, opts));
    this.policies = networkPolicySpecs().map(
      (p) =>
        new k8s.networking.v1.NetworkPolicy(
          `${name}-${p.name}`,
          { metadata: { name: p.name, namespace: args.namespace, labels: { [LABELS.managedBy]: MANAGED_BY } }, spec: p.spec },
          { parent: this, provider: args.provider },
        ),
    );
    this.registerOutputs({});
  }
}
