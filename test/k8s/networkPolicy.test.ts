/**
 * Nothing but the router reaches a model pod: the stack renders NetworkPolicies that admit only
 * router pods to model pods' scoring port and to the router's admin port, turns on a policy engine
 * in the cluster, starts model pods only after the policies, and the policy pack refuses a stack
 * that leaves model pods open.
 */
import * as assert from "node:assert/strict";
import { LABELS, ROUTER_PORTS, SCORING_PORT } from "../../core/contracts/naming";
import { rules, type Res } from "../../policies/rules";
import { Plan, asRes, input, stackConfig } from "../support/stacks";

const NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const violations = (all: Res[]) => rules.find((r) => r.name === "model-pods-reachable-only-from-the-router")!.stack!(all).map((v) => v.message);

describe("network policies: only the router reaches model pods", function () {
  this.timeout(60_000);
  let dev: Plan;
  let prod: Plan;
  before(async () => {
    dev = await Plan.of(stackConfig("dev"));
    prod = await Plan.of(stackConfig("prod"));
  });

  it("admits only router pods to the scoring port of model pods, and to the router's admin port router pods and (with managed Prometheus, prod) the ama-metrics scraper", () => {
    for (const [p, scraped] of [
      [dev, false],
      [prod, true],
    ] as const) {
      const byName = Object.fromEntries(p.all(NP).map((r) => [String(input(r, "metadata", "name")), input(r, "spec")]));
      assert.deepEqual(byName["model-pods-from-router-only"], {
        podSelector: { matchLabels: { [LABELS.role]: "model" } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: { matchLabels: { [LABELS.role]: "router" } } }], ports: [{ protocol: "TCP", port: SCORING_PORT }] }],
      });
      assert.deepEqual(byName["router-admin-from-router-only"], {
        podSelector: { matchLabels: { [LABELS.role]: "router" } },
        policyTypes: ["Ingress"],
        ingress: [
          { ports: [{ protocol: "TCP", port: ROUTER_PORTS.http }, { protocol: "TCP", port: ROUTER_PORTS.https }] },
          { from: [{ podSelector: { matchLabels: { [LABELS.role]: "router" } } }], ports: [{ protocol: "TCP", port: ROUTER_PORTS.admin }] },
          ...(scraped
            ? [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { rsName: "ama-metrics" } } }], ports: [{ protocol: "TCP", port: ROUTER_PORTS.admin }] }]
            : []),
        ],
      });
    }
  });

  it("turns on the engine that enforces them: Calico with kubenet, Cilium (the Cilium dataplane) with Azure CNI", () => {
    assert.equal(input(dev.one("azure-native:containerservice:ManagedCluster"), "networkProfile", "networkPolicy"), "calico");
    assert.equal(input(prod.one("azure-native:containerservice:ManagedCluster"), "networkProfile", "networkPolicy"), "cilium");
    assert.equal(input(prod.one("azure-native:containerservice:ManagedCluster"), "networkProfile", "networkDataplane"), "cilium");
  });

  it("starts model pods only once the policies exist", () => {
    for (const p of [dev, prod]) {
      const models = p.all("kubernetes:apps/v1:Deployment").filter((d) => input(d, "metadata", "labels", LABELS.role) === "model");
      assert.ok(models.length > 0);
      for (const d of models) for (const np of p.all(NP)) assert.ok(p.dependsOn(d, np), `${d.name} does not wait for ${np.name}`);
    }
  });

  it("policy pack: the shipped stacks pass; without the policy, with one open to any pod, or without an engine, they are refused", () => {
    for (const p of [dev, prod]) assert.deepEqual(violations(asRes(p.resources)), []);
    const without = asRes(prod.resources).filter((r) => r.type !== NP);
    const missing = violations(without);
    assert.ok(missing.length >= 1 && missing.every((m) => /has no NetworkPolicy in its namespace letting only router pods/.test(m) && /Secure traffic between pods by using network policies/.test(m)), missing.join("\n"));
    const open = asRes(prod.resources).map((r) => (r.type === NP && (r.props.metadata as { name: string }).name === "model-pods-from-router-only" ? { ...r, props: { ...r.props, spec: { ...(r.props.spec as object), ingress: [{ ports: [{ port: SCORING_PORT }] }] } } } : r));
    assert.ok(violations(open).length >= 1, "an ingress rule without sources admits every pod");
    const noEngine = asRes(prod.resources).map((r) => (r.type === "azure-native:containerservice:ManagedCluster" ? { ...r, props: { ...r.props, networkProfile: { ...(r.props.networkProfile as object), networkPolicy: undefined } } } : r));
    assert.match(violations(noEngine).join("\n"), /has no network policy engine/);
  });
});
