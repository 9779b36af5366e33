/**
 * Monitoring of an environment in Azure Monitor managed Prometheus: the alert rules' one source
 * (`monitoring/alerts.yaml`, Prometheus rule-group format, which `promtool` tests as it is) read
 * into the shape Azure's PrometheusRuleGroup resources take, and the scrape job that collects the
 * router's admin `/metrics` from every router pod (the `ama-metrics-prometheus-config` ConfigMap
 * of the `ama-metrics` add-on).
 */
import { parse, stringify } from "yaml";
import { z } from "zod";
import { LABELS, ROLE_ROUTER, ROUTER_PORTS } from "../contracts/naming";

/** The rules file and the Grafana dashboard, relative to the package root. */
export const ALERT_RULES_FILE = "monitoring/alerts.yaml";
export const DASHBOARD_FILE = "monitoring/dashboard.json";

/** `job` label of the router's series: the alert rules and the dashboard select on it. */
export const ROUTER_SCRAPE_JOB = "aks-inference-router";
/** The add-on reads custom scrape jobs from this ConfigMap, in kube-system, under this key (Microsoft: "Create custom Prometheus scrape jobs"). */
export const AMA_METRICS_CONFIG_MAP = { name: "ama-metrics-prometheus-config", namespace: "kube-system", key: "prometheus-config" } as const;
/** Labels of the add-on's replica pods, which run the jobs of that ConfigMap (its per-node DaemonSet does not). */
export const AMA_METRICS_POD_LABELS = { rsName: "ama-metrics" } as const;

/**
 * Azure's alert severities, by the `severity` label a rule carries in the rules file: Sev0 to
 * Sev4 ("Azure Monitor alerts: severity").
 */
export const SEVERITIES = { critical: 0, error: 1, warning: 2, informational: 3, verbose: 4 } as const;
export type Severity = keyof typeof SEVERITIES;

/** One alert rule as `Microsoft.AlertsManagement/prometheusRuleGroups` takes it (2023-03-01). */
export interface AzureAlertRule {
  alert: string;
  expression: string;
  /** ISO 8601, e.g. PT5M; absent: fires on the first evaluation that matches. */
  for?: string;
  severity: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  enabled: boolean;
}

export interface AzureRuleGroup {
  name: string;
  /** ISO 8601; Azure evaluates a group every 1 to 15 minutes. */
  interval: string;
  rules: AzureAlertRule[];
}

export class AlertRulesError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid alert rules (${ALERT_RULES_FILE}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "AlertRulesError";
  }
}

const PROMETHEUS_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const duration = z.string().regex(PROMETHEUS_DURATION, { message: "must be a Prometheus duration such as '5m' or '1h30m'" }).refine((d) => d !== "", { message: "must not be empty" });
const stringMap = z.record(z.string(), z.string());

const rulesFileSchema = z
  .object({
    groups: z
      .array(
        z
          .object({
            name: z.string().min(1),
            interval: duration,
            rules: z
              .array(
                z
                  .object({
                    alert: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, { message: "must be a name of letters, digits and '_'" }),
                    expr: z.string().min(1),
                    for: duration.optional(),
                    labels: stringMap.refine((l) => Object.hasOwn(SEVERITIES, l.severity), { message: `must have a severity label: one of ${Object.keys(SEVERITIES).join(", ")}` }),
                    annotations: stringMap.default({}),
                  })
                  // Recording rules and keep_firing_for have no use here yet: refused rather than dropped.
                  .strict(),
              )
              .min(1),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

/** Seconds in a Prometheus duration (`5m`, `1h30m`); milliseconds are refused (Azure's durations are whole seconds). */
function seconds(d: string, at: string): number {
  const m = PROMETHEUS_DURATION.exec(d);
  if (!m) throw new AlertRulesError([`${at}: '${d}' is not a Prometheus duration`]);
  const [y, w, days, h, min, s, ms] = m.slice(1).map((x) => Number(x ?? 0));
  if (ms !== 0) throw new AlertRulesError([`${at}: '${d}' has milliseconds; Azure takes whole seconds`]);
  return (((y * 365 + w * 7 + days) * 24 + h) * 60 + min) * 60 + s;
}

/** A Prometheus duration as ISO 8601 (`5m` → `PT5M`, `1d2h` → `P1DT2H`, `0s` → `PT0S`). */
export function isoDuration(d: string, at = "duration"): string {
  let rest = seconds(d, at);
  const days = Math.floor(rest / 86_400);
  rest -= days * 86_400;
  const parts: [number, string][] = [
    [Math.floor(rest / 3600), "H"],
    [Math.floor((rest % 3600) / 60), "M"],
    [rest % 60, "S"],
  ];
  const time = parts.filter(([n]) => n > 0).map(([n, unit]) => `${n}${unit}`).join("");
  if (days > 0) return `P${days}D${time ? `T${time}` : ""}`;
  return `PT${time || "0S"}`;
}

/**
 * The rule groups of the rules file (its text) as Azure takes them: `expr` becomes `expression`,
 * `for` and the group's `interval` ISO 8601, the `severity` label Azure's severity (and no
 * longer a label). Throws an AlertRulesError naming each problem's place in the file.
 */
export function azureRuleGroups(text: string): AzureRuleGroup[] {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new AlertRulesError([`not YAML: ${(err as Error).message}`]);
  }
  const parsed = rulesFileSchema.safeParse(raw);
  if (!parsed.success) throw new AlertRulesError(parsed.error.issues.map((i) => `${i.path.join(".") || "(file)"}: ${i.message}`));
  const problems: string[] = [];
  const seen = new Set<string>();
  const groups = parsed.data.groups.map((g, gi) => {
    const interval = seconds(g.interval, `groups.${gi}.interval`);
    if (interval < 60 || interval > 900 || interval % 60 !== 0) problems.push(`groups.${gi}.interval: '${g.interval}' must be whole minutes from 1m to 15m (Azure evaluates a rule group every 1 to 15 minutes)`);
    return {
      name: g.name,
      interval: isoDuration(g.interval),
      rules: g.rules.map((r, ri): AzureAlertRule => {
        // The runbook has one section per alert name: two rules of one name would share it.
        if (seen.has(r.alert)) problems.push(`groups.${gi}.rules.${ri}.alert: '${r.alert}' is used twice`);
        seen.add(r.alert);
        const { severity, ...labels } = r.labels;
        return {
          alert: r.alert,
          expression: r.expr,
          ...(r.for === undefined ? {} : { for: isoDuration(r.for, `groups.${gi}.rules.${ri}.for`) }),
          severity: SEVERITIES[severity as Severity],
          labels,
          annotations: r.annotations,
          enabled: true,
        };
      }),
    };
  });
  if (problems.length > 0) throw new AlertRulesError(problems);
  return groups;
}

/** One Prometheus scrape job (`scrape_configs` entry), as far as this module writes one. */
export interface ScrapeJob {
  job_name: string;
  scrape_interval: string;
  metrics_path: string;
  scheme: "http";
  kubernetes_sd_configs: { role: "pod"; namespaces: { names: string[] } }[];
  relabel_configs: { source_labels: string[]; action: "keep" | "replace"; regex?: string; target_label?: string }[];
}

/** The label Kubernetes pod discovery gives a pod label (non-alphanumerics become `_`). */
export function podLabel(name: string): string {
  return `__meta_kubernetes_pod_label_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/**
 * The router's scrape job: every running router pod of `namespace` (pod discovery, then only pods
 * with the router role label, only the admin port), `/metrics` over plain HTTP (the admin port
 * serves no TLS and answers only to the pod's own address, which is what pod discovery targets),
 * with the pod's namespace and name as labels.
 */
export function routerScrapeJob(namespace: string, scrapeInterval = "30s"): ScrapeJob {
  return {
    job_name: ROUTER_SCRAPE_JOB,
    // No scrape_timeout: Prometheus takes the global one (10 s), or the interval when that is shorter.
    scrape_interval: scrapeInterval,
    metrics_path: "/metrics",
    scheme: "http",
    kubernetes_sd_configs: [{ role: "pod", namespaces: { names: [namespace] } }],
    relabel_configs: [
      { source_labels: [podLabel(LABELS.role)], action: "keep", regex: ROLE_ROUTER },
      { source_labels: ["__meta_kubernetes_pod_container_port_number"], action: "keep", regex: String(ROUTER_PORTS.admin) },
      // A pod that failed or finished may keep its address; only running ones are scraped.
      { source_labels: ["__meta_kubernetes_pod_phase"], action: "keep", regex: "Running" },
      { source_labels: ["__meta_kubernetes_namespace"], action: "replace", target_label: "namespace" },
      { source_labels: ["__meta_kubernetes_pod_name"], action: "replace", target_label: "pod" },
    ],
  };
}

/** The `prometheus-config` document of the `ama-metrics-prometheus-config` ConfigMap: the router's job, for the router pods of `namespace`. */
export function amaMetricsPrometheusConfig(namespace: string): string {
  return stringify({ scrape_configs: [routerScrapeJob(namespace)] });
}
