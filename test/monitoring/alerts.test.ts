/**
 * monitoring/alerts.yaml under the real `promtool` (Debian's `prometheus` package): it loads, and
 * its unit tests (test/monitoring/fixtures/alerts.test.yaml) pass — each alert fires on its
 * condition next to healthy series that stay quiet (promtool compares the alerts that fire
 * exactly, so a healthy series that alerted would fail). Every alert has such a test, a runbook
 * section and a dashboard panel; and a rules file with a changed threshold fails the tests.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ALERT_RULES_FILE, DASHBOARD_FILE } from "../../core/azure/monitoring";
import { tempDir } from "../support/tmp";

const REPO = path.join(__dirname, "..", "..");
const RULES = path.join(REPO, ALERT_RULES_FILE);
const TESTS = path.join(__dirname, "fixtures", "alerts.test.yaml");

interface RulesFile {
  groups: { rules: { alert: string; annotations: Record<string, string> }[] }[];
}
interface PromtoolTests {
  rule_files: string[];
  tests: { input_series: { series: string }[]; alert_rule_test: { alertname: string; exp_alerts: { exp_labels: Record<string, string> }[] }[] }[];
}

const alerts = (parse(readFileSync(RULES, "utf8")) as RulesFile).groups.flatMap((g) => g.rules);

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync("promtool", args, { encoding: "utf8", timeout: 20_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The labels of a promtool series selector, `name{a="1",b="2"}`. */
function seriesLabels(selector: string): Record<string, string> {
  return Object.fromEntries([...selector.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

/** GitHub's anchor of a Markdown heading. */
const anchor = (heading: string) => heading.toLowerCase().replace(/[^\w\- ]/g, "").replace(/ /g, "-");

describe("monitoring: alert rules under promtool", function () {
  this.timeout(30_000);
  before(function () {
    if (spawnSync("promtool", ["--version"]).error) {
      console.log("      (skipped: no promtool on PATH; install Debian's `prometheus` package, as .ci/run does: `apt-get install -y prometheus`)");
      this.skip();
    }
  });

  it("the rules file passes promtool's check", () => {
    const { status, output } = promtool("check", "rules", RULES);
    assert.equal(status, 0, output);
    assert.match(output, new RegExp(`SUCCESS: ${alerts.length} rules found`));
  });

  it("every alert fires on its condition and stays quiet on the healthy series beside it", () => {
    const { status, output } = promtool("test", "rules", TESTS);
    assert.equal(status, 0, output);
    assert.match(output, /SUCCESS/);
  });

  it("tests every alert, firing, with a healthy neighbour in the same series", () => {
    const tests = parse(readFileSync(TESTS, "utf8")) as PromtoolTests;
    assert.deepEqual(tests.rule_files.map((f) => path.resolve(path.dirname(TESTS), f)), [RULES]);
    for (const { alert } of alerts) {
      const covering = tests.tests.filter((t) => t.alert_rule_test.some((a) => a.alertname === alert && a.exp_alerts.length > 0));
      assert.ok(covering.length > 0, `${alert}: no test where it fires`);
      // A series whose service, pod or cluster is none of the alerts': promtool's exact comparison proves it quiet.
      const quiet = covering.some((t) => {
        const fired = t.alert_rule_test.filter((a) => a.alertname === alert).flatMap((a) => a.exp_alerts.map((e) => e.exp_labels));
        return t.input_series.some((s) => {
          const labels = seriesLabels(s.series);
          return fired.every((f) => ["cluster", "service", "pod"].some((k) => k in f && labels[k] !== undefined && labels[k] !== f[k]));
        });
      });
      assert.ok(quiet, `${alert}: no healthy series next to the firing one`);
    }
  });

  it("fails the tests when a threshold changes (they pin the rules, not just run)", () => {
    const dir = tempDir("alert-rules");
    const fixtures = path.join(dir, "test", "monitoring", "fixtures");
    mkdirSync(fixtures, { recursive: true });
    mkdirSync(path.join(dir, "monitoring"));
    copyFileSync(TESTS, path.join(fixtures, "alerts.test.yaml"));
    const rules = readFileSync(RULES, "utf8");
    assert.ok(rules.includes("> 0.05\n"));
    writeFileSync(path.join(dir, ALERT_RULES_FILE), rules.replace("> 0.05\n", "> 0.07\n"));
    const { status, output } = promtool("test", "rules", path.join(fixtures, "alerts.test.yaml"));
    assert.notEqual(status, 0);
    assert.match(output, /alertname: AksInferenceServerErrors, time: 10m/);
  });

});

describe("monitoring: the runbook and the dashboard cover every alert", () => {
  it("each alert links its section of docs/runbook.md, which names a command for each of its first three checks", () => {
    const runbook = readFileSync(path.join(REPO, "docs", "runbook.md"), "utf8");
    const sections = new Map(runbook.split(/^## /m).slice(1).map((s) => [s.slice(0, s.indexOf("\n")).trim(), s]));
    for (const { alert, annotations } of alerts) {
      assert.equal(annotations.runbook, `docs/runbook.md#${anchor(alert)}`, alert);
      const section = sections.get(alert);
      assert.ok(section, `docs/runbook.md has no section '## ${alert}'`);
      assert.match(section, /\*\*Means:\*\*/, alert);
      const checks = section.split(/^\d\. /m).slice(1);
      assert.equal(checks.length, 3, `${alert}: ${checks.length} checks`);
      checks.forEach((c, i) => assert.match(c, /`(npx aks-inference|kubectl|curl|pulumi) [^`]+`/, `${alert}, check ${i + 1} names no command`));
    }
    assert.deepEqual([...sections.keys()], alerts.map((a) => a.alert), "one section per alert, in the file's order");
  });

  it("the dashboard is an importable Grafana dashboard with a panel for what each alert watches", () => {
    const dashboard = JSON.parse(readFileSync(path.join(REPO, DASHBOARD_FILE), "utf8")) as {
      uid: string;
      templating: { list: { name: string; type: string }[] };
      panels: { id: number; type: string; title: string; datasource?: { uid: string }; targets?: { refId: string; expr: string }[]; gridPos: { w: number; x: number } }[];
    };
    assert.equal(dashboard.uid, "aks-inference");
    assert.deepEqual(dashboard.templating.list.map((v) => [v.name, v.type]), [["datasource", "datasource"], ["cluster", "query"], ["service", "query"]]);
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
    for (const p of dashboard.panels.filter((x) => x.type !== "row")) {
      assert.equal(p.datasource?.uid, "${datasource}", `${p.title}: not on the chosen data source`);
      assert.ok(p.targets && p.targets.length > 0 && p.targets.every((t) => t.expr && t.refId), p.title);
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title}: wider than the dashboard`);
    }
    const titles = dashboard.panels.map((p) => p.title).join("\n");
    for (const { alert } of alerts) assert.ok(titles.includes(alert), `no panel shows what ${alert} watches`);
  });
});
