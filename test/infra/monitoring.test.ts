/**
 * Azure Monitor, as the shipped stacks plan it offline: the production stack gets managed
 * Prometheus (Azure Monitor workspace, data collection endpoint, rule and association as
 * Microsoft's template creates them, the metrics add-on), Container Insights with ContainerLogV2
 * into the one Log Analytics workspace, the alert rules of monitoring/alerts.yaml as Prometheus
 * rule groups, and Application Insights whose connection string reaches only the services with
 * appInsightsEnabled, as a Secret reference; the dev stack gets none of it unless configured.
 */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { CONTAINER_INSIGHTS_STREAMS, monitoringNames } from "../../components/monitoring";
import { ConfigError } from "../../core/config";
import { roleAssignmentNameFor } from "../../core/azure/rules";
import { ALERT_RULES_FILE, azureRuleGroups } from "../../core/azure/monitoring";
import { APP_INSIGHTS_SECRET, LABELS, SCORING_ENV } from "../../core/contracts/naming";
import type { PlannedResource } from "../../scripts/offline";
import { Plan, REPO_ROOT, input, rawStack, stackConfig } from "../support/stacks";

const T = {
  cluster: "azure-native:containerservice:ManagedCluster",
  logAnalytics: "azure-native:operationalinsights:Workspace",
  amw: "azure-native:monitor:AzureMonitorWorkspace",
  dce: "azure-native:monitor:DataCollectionEndpoint",
  dcr: "azure-native:monitor:DataCollectionRule",
  dcra: "azure-native:monitor:DataCollectionRuleAssociation",
  ruleGroup: "azure-native:alertsmanagement:PrometheusRuleGroup",
  appInsights: "azure-native:applicationinsights:Component",
  grafana: "azure-native:dashboard:Grafana",
  role: "azure-native:authorization:RoleAssignment",
  secret: "kubernetes:core/v1:Secret",
  deployment: "kubernetes:apps/v1:Deployment",
};

/** Resource types only Azure Monitor brings. */
const MONITORING_TYPES = [T.amw, T.dce, T.dcr, T.dcra, T.ruleGroup, T.appInsights, T.grafana, "aks-inference:index:Monitoring"];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

/** The connection-string variable of each model Deployment, by service. */
function connectionStringVars(plan: Plan): Record<string, EnvVar | undefined> {
  const models = plan.all(T.deployment).filter((d) => input(d, "metadata", "labels", LABELS.role) === "model");
  return Object.fromEntries(
    models.map((d) => [
      String(input(d, "metadata", "labels", LABELS.service)),
      (input(d, "spec", "template", "spec", "containers", 0, "env") as EnvVar[]).find((e) => e.name === SCORING_ENV.appInsightsConnectionString),
    ]),
  );
}

const byName = (plan: Plan, type: string, azureName: string, key: string): PlannedResource => {
  const found = plan.all(type).filter((r) => input(r, key) === azureName);
  assert.equal(found.length, 1, `${type} '${azureName}': ${found.length}`);
  return found[0];
};

describe("Azure Monitor", function () {
  this.timeout(120_000);

  describe("prod (FastProd: on by default)", () => {
    let plan: Plan;
    const names = monitoringNames("aksinf-prod", "westeurope");
    before(async () => {
      plan = await Plan.of(stackConfig("prod"));
    });
    const cluster = () => plan.one(T.cluster);
    const clusterId = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aksinf-prod/providers/Microsoft.ContainerService/managedClusters/aksinf-prod";

    it("turns on the metrics add-on and sends it through an endpoint, rule and association to an Azure Monitor workspace, as Microsoft's template does", () => {
      assert.deepEqual(input(cluster(), "azureMonitorProfile"), { metrics: { enabled: true } });
      const amw = byName(plan, T.amw, "amw-aksinf-prod", "azureMonitorWorkspaceName");
      assert.equal(input(amw, "location"), "westeurope");
      const dce = byName(plan, T.dce, "MSProm-westeurope-aksinf-prod", "dataCollectionEndpointName");
      assert.equal(input(dce, "kind"), "Linux");
      const dcr = byName(plan, T.dcr, "MSProm-westeurope-aksinf-prod", "dataCollectionRuleName");
      assert.equal(input(dcr, "kind"), "Linux");
      assert.deepEqual(input(dcr, "dataSources"), { prometheusForwarder: [{ name: "PrometheusDataSource", streams: ["Microsoft-PrometheusMetrics"], labelIncludeFilter: {} }] });
      assert.deepEqual(input(dcr, "dataFlows"), [{ streams: ["Microsoft-PrometheusMetrics"], destinations: ["MonitoringAccount1"] }]);
      assert.equal(input(dcr, "destinations", "monitoringAccounts", 0, "name"), "MonitoringAccount1");
      assert.ok(plan.dependsOn(dcr, amw) && plan.dependsOn(dcr, dce), "the rule names the endpoint and the workspace");
      assert.ok(String(input(dcr, "destinations", "monitoringAccounts", 0, "accountResourceId")).includes("monitoring-prometheus"), "the destination is the workspace");
      const dcra = byName(plan, T.dcra, "MSProm-westeurope-aksinf-prod", "associationName");
      assert.equal(input(dcra, "resourceUri"), clusterId, "associated with the cluster");
      assert.ok(plan.dependsOn(dcra, dcr));
    });

    it("collects container logs as ContainerLogV2 into the one Log Analytics workspace Defender uses", () => {
      const workspace = plan.one(T.logAnalytics);
      const workspaceId = input(cluster(), "securityProfile", "defender", "logAnalyticsWorkspaceResourceId");
      assert.deepEqual(input(cluster(), "addonProfiles", "omsagent"), { enabled: true, config: { logAnalyticsWorkspaceResourceID: workspaceId, useAADAuth: "true" } });
      const dcr = byName(plan, T.dcr, names.containerInsightsRule, "dataCollectionRuleName");
      const extension = input(dcr, "dataSources", "extensions", 0) as { extensionName: string; streams: string[]; extensionSettings: { dataCollectionSettings: { enableContainerLogV2: boolean } } };
      assert.equal(extension.extensionName, "ContainerInsights");
      assert.ok(extension.streams.includes("Microsoft-ContainerLogV2"));
      assert.equal(extension.extensionSettings.dataCollectionSettings.enableContainerLogV2, true);
      assert.deepEqual(input(dcr, "destinations", "logAnalytics"), [{ name: "ciworkspace", workspaceResourceId: workspaceId }]);
      assert.deepEqual(input(dcr, "dataFlows"), [{ streams: [...CONTAINER_INSIGHTS_STREAMS], destinations: ["ciworkspace"] }]);
      assert.ok(plan.dependsOn(dcr, workspace));
      const dcra = byName(plan, T.dcra, "ContainerInsightsExtension", "associationName");
      assert.equal(input(dcra, "resourceUri"), clusterId);
    });

    it("creates one rule group per group of the rules file, its rules as core/azure/monitoring.ts renders them, limited to this cluster", () => {
      const groups = azureRuleGroups(readFileSync(path.join(REPO_ROOT, ALERT_RULES_FILE), "utf8"));
      assert.ok(groups.length > 0);
      assert.equal(plan.all(T.ruleGroup).length, groups.length);
      const amw = plan.one(T.amw);
      for (const g of groups) {
        const group = byName(plan, T.ruleGroup, `${g.name}-aksinf-prod`, "ruleGroupName");
        assert.deepEqual(input(group, "rules"), g.rules, g.name);
        assert.equal(input(group, "interval"), g.interval);
        assert.equal(input(group, "clusterName"), "aksinf-prod");
        const scopes = input(group, "scopes") as string[];
        assert.equal(scopes[1], clusterId, "the cluster's scope limits the rules to its series");
        assert.ok(plan.dependsOn(group, amw), "scoped to the Azure Monitor workspace");
        assert.equal(input(group, "location"), "westeurope");
      }
    });

    it("gives the connection string of one workspace-based Application Insights only to services with appInsightsEnabled, as a Secret reference", () => {
      const component = byName(plan, T.appInsights, "appi-aksinf-prod", "resourceName");
      assert.equal(input(component, "ingestionMode"), "LogAnalytics");
      assert.equal(input(component, "workspaceResourceId"), input(cluster(), "securityProfile", "defender", "logAnalyticsWorkspaceResourceId"), "the environment's one workspace");
      const secret = plan.all(T.secret).find((s) => input(s, "metadata", "name") === APP_INSIGHTS_SECRET.name)!;
      assert.equal(input(secret, "metadata", "namespace"), "aks-inference");
      assert.equal(input(secret, "stringData"), "[secret]");
      assert.deepEqual(connectionStringVars(plan), {
        regressor: { name: SCORING_ENV.appInsightsConnectionString, valueFrom: { secretKeyRef: { name: APP_INSIGHTS_SECRET.name, key: APP_INSIGHTS_SECRET.key } } },
        "regressor-gpu": undefined,
        echo: undefined,
      });
      const deployment = plan.all(T.deployment).find((d) => d.name === "svc-regressor-deployment")!;
      assert.ok(plan.dependsOn(deployment, secret), "pods start once the Secret exists");
    });

    it("keeps the connection string out of plain state: a secret output of the resource, and nowhere in plain text", () => {
      const component = plan.one(T.appInsights);
      assert.deepEqual([...component.secretOutputs].sort(), ["connectionString", "instrumentationKey"]);
      const everything = JSON.stringify(plan.resources.map((r) => r.inputs));
      assert.ok(!everything.includes("InstrumentationKey="), "no input holds the connection string in plain text");
    });

    it("creates no Grafana unless asked", () => assert.equal(plan.all(T.grafana).length, 0));
  });

  describe("dev (DevTest: off by default)", () => {
    it("plans no Azure Monitor resource, no workspace and no add-on", async () => {
      const plan = await Plan.of(stackConfig("dev"));
      for (const type of [...MONITORING_TYPES, T.logAnalytics]) assert.equal(plan.all(type).length, 0, type);
      const cluster = plan.one(T.cluster);
      assert.equal(input(cluster, "azureMonitorProfile"), undefined);
      assert.equal(input(cluster, "addonProfiles"), undefined);
      assert.ok(Object.values(connectionStringVars(plan)).every((v) => v === undefined));
      assert.ok(!plan.all(T.secret).some((s) => input(s, "metadata", "name") === APP_INSIGHTS_SECRET.name));
    });

    it("plans what is configured: managed Prometheus with Grafana, and Application Insights for one service", async () => {
      const services = (rawStack("dev")["aks-inference:services"] as Record<string, unknown>[]).map((s) => (s.name === "diabetes" ? { ...s, appInsightsEnabled: true } : s));
      const plan = await Plan.of(stackConfig("dev", { "aks-inference:monitoring": { prometheus: true, grafana: true }, "aks-inference:services": services }));
      const cluster = plan.one(T.cluster);
      assert.deepEqual(input(cluster, "azureMonitorProfile"), { metrics: { enabled: true } });
      assert.equal(input(cluster, "addonProfiles"), undefined, "no Container Insights agent on DevTest unless asked");
      assert.equal(input(cluster, "securityProfile", "defender"), undefined, "Application Insights' workspace brings no Defender");
      assert.equal(plan.all(T.dcr).length, 1, "only managed Prometheus's rule");
      const workspace = plan.one(T.logAnalytics);
      assert.ok(plan.dependsOn(plan.one(T.appInsights), workspace));
      assert.deepEqual(Object.keys(connectionStringVars(plan)).filter((s) => connectionStringVars(plan)[s]), ["diabetes"]);

      // Microsoft's AddonTerraformTemplate: Grafana on the Azure Monitor workspace, reading it as Monitoring Data Reader.
      const amw = plan.one(T.amw);
      const grafana = byName(plan, T.grafana, "amg-aksinf-dev", "workspaceName");
      assert.equal(input(grafana, "identity", "type"), "SystemAssigned");
      assert.ok(plan.dependsOn(grafana, amw), "integrated with the Azure Monitor workspace");
      const reader = plan.all(T.role).find((r) => String(input(r, "roleDefinitionId")).endsWith("/b0d8363b-8ddd-447d-831f-62ca05bff136"))!;
      assert.ok(reader, "Monitoring Data Reader");
      assert.ok(plan.dependsOn(reader, grafana) && plan.dependsOn(reader, amw));
      assert.equal(input(reader, "principalType"), "ServicePrincipal");
      assert.equal(input(reader, "roleAssignmentName"), roleAssignmentNameFor(String(input(reader, "scope")), String(input(reader, "roleDefinitionId")), String(input(reader, "principalId"))));
    });
  });

  describe("config", () => {
    it("defaults by purpose, and each key can turn it on or off", () => {
      assert.deepEqual(stackConfig("dev").monitoring, { prometheus: false, containerInsights: false, grafana: false });
      assert.deepEqual(stackConfig("prod").monitoring, { prometheus: true, containerInsights: true, grafana: false });
      assert.deepEqual(stackConfig("prod", { "aks-inference:clusterPurpose": "DenseProd" }).monitoring, { prometheus: true, containerInsights: true, grafana: false });
      assert.deepEqual(stackConfig("prod", { "aks-inference:monitoring": { prometheus: false, containerInsights: false } }).monitoring, { prometheus: false, containerInsights: false, grafana: false });
      assert.equal(stackConfig("dev").services.every((s) => !s.appInsightsEnabled), true, "appInsightsEnabled is off unless set, as in Azure ML v1");
    });

    it("refuses Grafana without managed Prometheus, and unknown or mistyped keys, naming the key", () => {
      const problems = (overrides: Record<string, unknown>): string[] => {
        try {
          stackConfig("dev", overrides);
        } catch (err) {
          assert.ok(err instanceof ConfigError, String(err));
          return err.problems;
        }
        return [];
      };
      assert.deepEqual(problems({ "aks-inference:monitoring": { grafana: true } }), [
        "aks-inference:monitoring.grafana: needs monitoring.prometheus: Grafana reads the Azure Monitor workspace that managed Prometheus creates",
      ]);
      assert.deepEqual(problems({ "aks-inference:monitoring": { promethus: true } }), ["aks-inference:monitoring.promethus: unknown key (check its spelling against the config reference)"]);
      assert.match(problems({ "aks-inference:monitoring": { prometheus: "yes" } }).join("\n"), /^aks-inference:monitoring\.prometheus: /);
      const services = (rawStack("dev")["aks-inference:services"] as Record<string, unknown>[]).map((s) => ({ ...s, appInsightsEnabled: "on" }));
      assert.match(problems({ "aks-inference:services": services }).join("\n"), /aks-inference:services\[0\]\.appInsightsEnabled: /);
    });
  });

  describe("names", () => {
    it("are Microsoft's, cut to Azure's lengths without a trailing hyphen", () => {
      assert.deepEqual(
        { ...monitoringNames("aksinf-prod", "westeurope"), ruleGroup: undefined },
        {
          azureMonitorWorkspace: "amw-aksinf-prod",
          prometheusEndpoint: "MSProm-westeurope-aksinf-prod",
          prometheusRule: "MSProm-westeurope-aksinf-prod",
          prometheusAssociation: "MSProm-westeurope-aksinf-prod",
          containerInsightsRule: "MSCI-westeurope-aksinf-prod",
          containerInsightsAssociation: "ContainerInsightsExtension",
          applicationInsights: "appi-aksinf-prod",
          grafana: "amg-aksinf-prod",
          ruleGroup: undefined,
        },
      );
      // 18 + 25 characters, then a hyphen at the 44th: the endpoint's name is cut before it.
      const cluster = `${"a".repeat(25)}-${"b".repeat(14)}`;
      const n = monitoringNames(cluster, "westeurope");
      assert.equal(n.prometheusEndpoint, `MSProm-westeurope-${"a".repeat(25)}`);
      assert.equal(n.prometheusRule, `MSProm-westeurope-${cluster}`);
      assert.ok(n.azureMonitorWorkspace.length <= 44);
      assert.ok(n.grafana.length <= 23 && /^[a-z][a-z0-9-]*[a-z0-9]$/.test(n.grafana), n.grafana);
      assert.ok(monitoringNames("x".repeat(40), "germanywestcentral").containerInsightsRule.length <= 64);
    });
  });
});
