/**
 * The cluster side of managed Prometheus, as the stack renders it: the `ama-metrics-prometheus-config`
 * ConfigMap whose job finds the router pods the stack deploys, the router's admin port opened to
 * the add-on's scraper and nobody else, both valid Kubernetes objects; and none of it when
 * `monitoring.prometheus` is off.
 */
import * as assert from "node:assert/strict";
import { parse } from "yaml";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { amaMetricsPrometheusConfig, type ScrapeJob } from "../../core/azure/monitoring";
import { LABELS, ROLE_ROUTER, ROUTER_NAME, ROUTER_PORTS } from "../../core/contracts/naming";
import { Plan, input, stackConfig } from "../support/stacks";

const CM = "kubernetes:core/v1:ConfigMap";
const NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

const configMaps = (p: Plan) => p.all(CM).filter((r) => input(r, "metadata", "name") === "ama-metrics-prometheus-config");
const adminPolicy = (p: Plan) => p.all(NP).find((r) => input(r, "metadata", "name") === "router-admin-from-router-only")!;

describe("monitoring: managed Prometheus in the cluster", function () {
  this.timeout(60_000);
  let on: Plan;
  let off: Plan;
  const prod = stackConfig("prod");
  before(async () => {
    assert.equal(prod.monitoring.prometheus, true, "FastProd turns managed Prometheus on");
    on = await Plan.shared(prod);
    off = await Plan.shared(stackConfig("prod", { "aks-inference:monitoring": { prometheus: false } }));
  });

  it("creates ama-metrics-prometheus-config in kube-system with the router's job, a valid ConfigMap", () => {
    const [cm] = configMaps(on);
    assert.ok(cm, "no ama-metrics-prometheus-config");
    assert.equal(configMaps(on).length, 1);
    assert.equal(input(cm, "metadata", "namespace"), "kube-system", "the add-on reads it from kube-system only");
    assert.deepEqual(Object.keys(input(cm, "data") as object), ["prometheus-config"]);
    assert.equal(input(cm, "data", "prometheus-config"), amaMetricsPrometheusConfig(prod.namespace));
    new ConfigMap(structuredClone(cm.inputs) as ConstructorParameters<typeof ConfigMap>[0]).validate();
  });

  it("its job selects exactly the pods and port the router Deployment runs, in the router's namespace", () => {
    const job = (parse(String(input(configMaps(on)[0], "data", "prometheus-config"))) as { scrape_configs: ScrapeJob[] }).scrape_configs[0];
    const router = on.all("kubernetes:apps/v1:Deployment").find((d) => input(d, "metadata", "name") === ROUTER_NAME)!;
    assert.deepEqual(job.kubernetes_sd_configs, [{ role: "pod", namespaces: { names: [input(router, "metadata", "namespace")] } }]);
    const template = input(router, "spec", "template") as { metadata: { labels: Record<string, string> }; spec: { containers: { ports?: { containerPort: number }[] }[] } };
    // Pod discovery turns label `aks-inference/role` into this meta label; the job keeps its value.
    const keepRole = job.relabel_configs.find((r) => r.source_labels[0] === "__meta_kubernetes_pod_label_aks_inference_role")!;
    assert.equal(template.metadata.labels[LABELS.role], keepRole.regex);
    const keepPort = job.relabel_configs.find((r) => r.source_labels[0] === "__meta_kubernetes_pod_container_port_number")!;
    assert.ok(
      template.spec.containers.some((c) => (c.ports ?? []).some((p) => String(p.containerPort) === keepPort.regex)),
      "the router container declares the admin port (pod discovery only offers declared ports)",
    );
    assert.equal(job.metrics_path, "/metrics");
  });

  it("admits the add-on's replica pods in kube-system to the router's admin port, and to nothing else", () => {
    const policy = adminPolicy(on);
    const ingress = input(policy, "spec", "ingress") as { from?: Record<string, unknown>[]; ports: unknown[] }[];
    const routerPods = { podSelector: { matchLabels: { [LABELS.role]: ROLE_ROUTER } } };
    const admin = [{ protocol: "TCP", port: ROUTER_PORTS.admin }];
    assert.deepEqual(ingress, [
      { ports: [{ protocol: "TCP", port: ROUTER_PORTS.http }, { protocol: "TCP", port: ROUTER_PORTS.https }] },
      { from: [routerPods], ports: admin },
      // One source with both selectors: pods of kube-system that are the add-on's replicas (two
      // sources would admit every pod of kube-system, and every rsName: ama-metrics pod anywhere).
      { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { rsName: "ama-metrics" } } }], ports: admin },
    ]);
    const modelPolicy = on.all(NP).find((r) => input(r, "metadata", "name") === "model-pods-from-router-only")!;
    assert.ok(!JSON.stringify(input(modelPolicy, "spec")).includes("ama-metrics"), "model pods stay reachable from router pods only");
    new NetworkPolicy(structuredClone(policy.inputs) as ConstructorParameters<typeof NetworkPolicy>[0]).validate();
  });

  it("with monitoring.prometheus off: no ConfigMap, and the admin port admits router pods only", () => {
    assert.deepEqual(configMaps(off), []);
    const ingress = input(adminPolicy(off), "spec", "ingress") as unknown[];
    assert.equal(ingress.length, 2);
    assert.ok(!JSON.stringify(ingress).includes("ama-metrics"));
  });
});
