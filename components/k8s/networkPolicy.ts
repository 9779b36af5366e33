/**
 * Nothing but the router reaches a model pod: NetworkPolicies in the service namespace that let
 * only router pods open the scoring port of model pods, and only router pods (the autoscaling
 * leader reading its peers' load) open the router's admin port — and, with managed Prometheus,
 * the metrics add-on's replica pods, which scrape its /metrics there. The router's public ports
 * stay open to anyone (its Service is the front door). Enforced by the cluster's network policy
 * engine (Azure CNI with Azure or Calico network policy; kubenet only with Calico), which the
 * Cluster component turns on; without one these objects are stored and ignored.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { AMA_METRICS_CONFIG_MAP, AMA_METRICS_POD_LABELS } from "../../core/azure/monitoring";
import { LABELS, MANAGED_BY, ROLE_MODEL, ROLE_ROUTER, ROUTER_PORTS, SCORING_PORT } from "../../core/contracts/naming";
import { FORMER_TYPES, token, withFormerType } from "../legacy";

export interface NetworkPoliciesArgs {
  provider: k8s.Provider;
  namespace: pulumi.Input<string>;
  /** Managed Prometheus scrapes the router (components/k8s/prometheusScrape.ts): admit its pods to the admin port. Default false. */
  prometheusScrape?: boolean;
}

/**
 * The pods that run the jobs of `ama-metrics-prometheus-config`: the metrics add-on's replicas in
 * kube-system, and no other pod there (both selectors in one source: both must match). Its per-node
 * DaemonSet (`dsName: ama-metrics-node`) runs only node targets and is not admitted.
 */
const AMA_METRICS_PODS = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": AMA_METRICS_CONFIG_MAP.namespace } },
  podSelector: { matchLabels: { ...AMA_METRICS_POD_LABELS } },
};

/** The policies' specs, pure: the policy pack and tests read the same shapes the stack renders. */
export function networkPolicySpecs(opts: { prometheusScrape?: boolean } = {}): { name: string; spec: k8s.types.input.networking.v1.NetworkPolicySpec }[] {
  const routerPods = { podSelector: { matchLabels: { [LABELS.role]: ROLE_ROUTER } } };
  const admin = [{ protocol: "TCP", port: ROUTER_PORTS.admin }];
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
          { from: [routerPods], ports: admin },
          ...(opts.prometheusScrape ? [{ from: [AMA_METRICS_PODS], ports: admin }] : []),
        ],
      },
    },
  ];
}

export class NetworkPolicies extends pulumi.ComponentResource {
  readonly policies: k8s.networking.v1.NetworkPolicy[];

  constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("NetworkPolicies"), name, {}, withFormerType(FORMER_TYPES.NetworkPolicies, opts));
    this.policies = networkPolicySpecs({ prometheusScrape: args.prometheusScrape }).map(
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
