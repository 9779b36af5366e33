/**
 * Managed Prometheus collecting the router's metrics: the `ama-metrics-prometheus-config`
 * ConfigMap in kube-system, whose scrape jobs the cluster's metrics add-on (`ama-metrics`, on with
 * `azureMonitorProfile.metrics`) runs from its replica pods (Microsoft: "Create custom Prometheus
 * scrape jobs from your Kubernetes cluster using ConfigMap"). Its one job scrapes the admin port's
 * /metrics of every router pod (core/azure/monitoring.ts); the router's NetworkPolicy admits those pods
 * (components/k8s/networkPolicy.ts, `prometheusScrape`). The add-on picks the ConfigMap up and
 * restarts within a few minutes. It reads one ConfigMap of that name, which the stack owns: on a
 * cluster that already has one, creating it fails until that one is deleted.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { AMA_METRICS_CONFIG_MAP, amaMetricsPrometheusConfig } from "../../core/azure/monitoring";
import { LABELS, MANAGED_BY } from "../../core/contracts/naming";
import { token } from "../legacy";

export interface PrometheusScrapeArgs {
  provider: k8s.Provider;
  /** The namespace of the router pods to scrape. */
  namespace: pulumi.Input<string>;
}

export class PrometheusScrape extends pulumi.ComponentResource {
  readonly configMap: k8s.core.v1.ConfigMap;

  constructor(name: string, args: PrometheusScrapeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("PrometheusScrape"), name, {}, opts);
    this.configMap = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { name: AMA_METRICS_CONFIG_MAP.name, namespace: AMA_METRICS_CONFIG_MAP.namespace, labels: { [LABELS.managedBy]: MANAGED_BY } },
        data: { [AMA_METRICS_CONFIG_MAP.key]: pulumi.output(args.namespace).apply(amaMetricsPrometheusConfig) },
      },
      { parent: this, provider: args.provider },
    );
    this.registerOutputs({});
  }
}
