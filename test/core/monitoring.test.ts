/**
 * core/azure/monitoring.ts: the rules file read into Azure's PrometheusRuleGroup shape (what the stack
 * deploys must be what promtool tested), its refusals, and the router's scrape job.
 */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ALERT_RULES_FILE, AlertRulesError, amaMetricsPrometheusConfig, azureRuleGroups, isoDuration, podLabel, routerScrapeJob } from "../../core/azure/monitoring";

const RULES = readFileSync(path.join(__dirname, "..", "..", ALERT_RULES_FILE), "utf8");

/** A rules file of one group with `rule` (and the group's `interval`). */
const file = (rule: Record<string, unknown>, interval = "1m") => JSON.stringify({ groups: [{ name: "g", interval, rules: [rule] }] });
const ok = { alert: "A", expr: "up == 0", for: "5m", labels: { severity: "warning" } };

function problems(text: string): string[] {
  try {
    azureRuleGroups(text);
  } catch (err) {
    assert.ok(err instanceof AlertRulesError, String(err));
    assert.match(err.message, /^Invalid alert rules \(monitoring\/alerts\.yaml\):\n {2}- /);
    return err.problems;
  }
  assert.fail("accepted");
}

describe("core/azure/monitoring: alert rules for Azure", () => {
  it("turns every rule of monitoring/alerts.yaml into Azure's shape, expressions unchanged", () => {
    const source = parse(RULES) as { groups: { name: string; interval: string; rules: { alert: string; expr: string; for: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] };
    const groups = azureRuleGroups(RULES);
    assert.deepEqual(
      groups.map((g) => [g.name, g.interval, g.rules.length]),
      source.groups.map((g) => [g.name, "PT1M", g.rules.length]),
    );
    const rules = groups.flatMap((g) => g.rules);
    const sourceRules = source.groups.flatMap((g) => g.rules);
    rules.forEach((r, i) => {
      const s = sourceRules[i];
      assert.equal(r.alert, s.alert);
      assert.equal(r.expression, s.expr, "the expression Azure evaluates is the one promtool tested");
      assert.equal(r.for, isoDuration(s.for));
      assert.deepEqual(r.annotations, s.annotations);
      assert.equal(r.enabled, true);
      assert.equal(r.labels.severity, undefined, "severity is Azure's field, not a label");
    });
    const errors = rules.find((r) => r.alert === "AksInferenceServerErrors")!;
    assert.deepEqual({ for: errors.for, severity: errors.severity }, { for: "PT5M", severity: 0 });
    assert.equal(rules.find((r) => r.alert === "AksInferenceAtMaxReplicas")!.severity, 2);
    assert.equal(rules.find((r) => r.alert === "AksInferenceReplicasNotReady")!.severity, 1);
  });

  it("maps each severity label to Azure's Sev0-Sev4 and keeps the other labels", () => {
    const severities = ["critical", "error", "warning", "informational", "verbose"].map((severity) => azureRuleGroups(file({ ...ok, labels: { severity, team: "ml" } }))[0].rules[0]);
    assert.deepEqual(
      severities.map((r) => [r.severity, r.labels]),
      [0, 1, 2, 3, 4].map((n) => [n, { team: "ml" }]),
    );
  });

  it("writes Prometheus durations as ISO 8601", () => {
    const cases: [string, string][] = [
      ["5m", "PT5M"],
      ["90s", "PT1M30S"],
      ["1h30m", "PT1H30M"],
      ["1h0m5s", "PT1H5S"],
      ["2h", "PT2H"],
      ["1d", "P1D"],
      ["1d2h", "P1DT2H"],
      ["2w", "P14D"],
      ["1y", "P365D"],
      ["0s", "PT0S"],
      ["3600s", "PT1H"],
      ["86401s", "P1DT1S"],
    ];
    assert.deepEqual(
      cases.map(([d]) => isoDuration(d)),
      cases.map(([, iso]) => iso),
    );
    assert.throws(() => isoDuration("500ms", "groups.0.rules.0.for"), /groups\.0\.rules\.0\.for: '500ms' has milliseconds; Azure takes whole seconds/);
    assert.throws(() => isoDuration("5 minutes"), /'5 minutes' is not a Prometheus duration/);
    assert.deepEqual(azureRuleGroups(file({ alert: "A", expr: "up == 0", labels: { severity: "error" } }))[0].rules[0].for, undefined, "no `for`: none");
  });

  it("refuses what Azure or the runbook cannot take, naming the place in the file", () => {
    assert.deepEqual(problems(file({ ...ok, labels: {} })), ["groups.0.rules.0.labels: must have a severity label: one of critical, error, warning, informational, verbose"]);
    for (const severity of ["page", "toString", "Critical"]) {
      assert.deepEqual(problems(file({ ...ok, labels: { severity } })), ["groups.0.rules.0.labels: must have a severity label: one of critical, error, warning, informational, verbose"], severity);
    }
    assert.deepEqual(problems(file({ ...ok, for: "5 min" })), ["groups.0.rules.0.for: must be a Prometheus duration such as '5m' or '1h30m'"]);
    assert.deepEqual(problems(file({ ...ok, for: "" })), ["groups.0.rules.0.for: must not be empty"]);
    assert.deepEqual(problems(file({ ...ok, for: "1500ms" })), ["groups.0.rules.0.for: '1500ms' has milliseconds; Azure takes whole seconds"]);
    for (const interval of ["30s", "16m", "90s"]) {
      assert.deepEqual(problems(file(ok, interval)), [`groups.0.interval: '${interval}' must be whole minutes from 1m to 15m (Azure evaluates a rule group every 1 to 15 minutes)`]);
    }
    assert.equal(azureRuleGroups(file(ok, "15m"))[0].interval, "PT15M");
    assert.deepEqual(problems(file({ ...ok, alert: "high errors" })), ["groups.0.rules.0.alert: must be a name of letters, digits and '_'"]);
    assert.match(problems(file({ record: "job:x:rate5m", expr: "rate(x[5m])", labels: { severity: "warning" } })).join("\n"), /groups\.0\.rules\.0: Unrecognized key.*record/, "recording rules are refused");
    assert.match(problems(file({ ...ok, keep_firing_for: "5m" })).join("\n"), /groups\.0\.rules\.0: Unrecognized key.*keep_firing_for/);
    assert.match(problems(file({ ...ok, expr: "" })).join("\n"), /groups\.0\.rules\.0\.expr/);
    const twice = JSON.stringify({ groups: [{ name: "a", interval: "1m", rules: [ok] }, { name: "b", interval: "1m", rules: [ok] }] });
    assert.deepEqual(problems(twice), ["groups.1.rules.0.alert: 'A' is used twice"]);
    assert.match(problems(JSON.stringify({ groups: [] })).join("\n"), /^groups: /);
    assert.match(problems("groups: [").join("\n"), /^not YAML: /);
    assert.match(problems("{}").join("\n"), /^groups: /);
  });
});

describe("core/azure/monitoring: the router's scrape job", () => {
  it("discovers router pods of the namespace and keeps only their admin port, running ones, labelled with namespace and pod", () => {
    assert.deepEqual(routerScrapeJob("ml"), {
      job_name: "aks-inference-router",
      scrape_interval: "30s",
      metrics_path: "/metrics",
      scheme: "http",
      kubernetes_sd_configs: [{ role: "pod", namespaces: { names: ["ml"] } }],
      relabel_configs: [
        { source_labels: ["__meta_kubernetes_pod_label_aks_inference_role"], action: "keep", regex: "router" },
        { source_labels: ["__meta_kubernetes_pod_container_port_number"], action: "keep", regex: "8081" },
        { source_labels: ["__meta_kubernetes_pod_phase"], action: "keep", regex: "Running" },
        { source_labels: ["__meta_kubernetes_namespace"], action: "replace", target_label: "namespace" },
        { source_labels: ["__meta_kubernetes_pod_name"], action: "replace", target_label: "pod" },
      ],
    });
    assert.equal(routerScrapeJob("ml", "1s").scrape_interval, "1s");
    assert.equal(podLabel("app.kubernetes.io/managed-by"), "__meta_kubernetes_pod_label_app_kubernetes_io_managed_by");
  });

  it("is the ama-metrics add-on's prometheus-config document", () => {
    assert.deepEqual(parse(amaMetricsPrometheusConfig("aks-inference")), { scrape_configs: [routerScrapeJob("aks-inference")] });
  });
});
