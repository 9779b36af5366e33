/**
 * Azure Monitor for one environment, as Microsoft's own templates set it up: managed Prometheus
 * (an Azure Monitor workspace, the data collection endpoint, rule and association the cluster's
 * metrics add-on reads, and the stack's Prometheus rule group), Container Insights (its data
 * collection rule into the environment's Log Analytics workspace, with ContainerLogV2), Azure ML
 * v1's per-service Application Insights (one workspace-based resource, its connection string in
 * a Secret the model pods read), and optionally Azure Managed Grafana on the Azure Monitor
 * workspace. The cluster side (the metrics and monitoring add-ons, the workspace) is set in
 * components/cluster.ts.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as alertsmanagement from "@pulumi/azure-native/alertsmanagement";
import * as applicationinsights from "@pulumi/azure-native/applicationinsights";
import * as authorization from "@pulumi/azure-native/authorization";
import * as dashboard from "@pulumi/azure-native/dashboard";
import * as monitor from "@pulumi/azure-native/monitor";
import * as k8s from "@pulumi/kubernetes";
import { roleAssignmentNameFor } from "../core/azure/rules";
import { ALERT_RULES_FILE, azureRuleGroups } from "../core/azure/monitoring";
import { APP_INSIGHTS_SECRET, LABELS, MANAGED_BY } from "../core/contracts/naming";
import { PACKAGE_ROOT } from "../packaging/packageRoot";
import { token } from "./legacy";

/**
 * Container Insights' streams: Microsoft's "Logs and events" cost preset ("Enable monitoring for
 * Kubernetes clusters"). Container stdout/stderr as ContainerLogV2, Kubernetes events and pod
 * inventory (which pod ran where, and why it was restarted); performance counters are left out,
 * managed Prometheus collects those.
 */
export const CONTAINER_INSIGHTS_STREAMS = ["Microsoft-ContainerLogV2", "Microsoft-KubeEvents", "Microsoft-KubePodInventory"] as const;

/** Azure's names of the environment's monitoring resources, derived from the cluster's name and region. */
export interface MonitoringNames {
  /** Azure Monitor workspace: 4-44 letters, digits and '-' (the cluster name is at most 40). */
  azureMonitorWorkspace: string;
  /** Managed Prometheus's data collection endpoint (at most 44 characters), rule (64) and the rule's association with the cluster. */
  prometheusEndpoint: string;
  prometheusRule: string;
  prometheusAssociation: string;
  /** Container Insights' data collection rule (64), and the association name Azure's own onboarding uses. */
  containerInsightsRule: string;
  containerInsightsAssociation: string;
  /** The Prometheus rule group made of the rules file's group `group` (as Microsoft's templates name theirs, `<group>-<cluster>`). */
  ruleGroup: (group: string) => string;
  applicationInsights: string;
  /** Azure Managed Grafana: 2-23 letters, digits and '-', starting with a letter and ending with a letter or digit. */
  grafana: string;
}

/** `name` cut to `max` characters, never ending with '-' (Azure refuses a trailing hyphen). */
function cut(name: string, max: number): string {
  return name.slice(0, max).replace(/-+$/, "");
}

/**
 * The names Microsoft's templates give these resources (`MSProm-<region>-<cluster>`,
 * `MSCI-<region>-<cluster>`, association `ContainerInsightsExtension`), so the portal and
 * `az aks` find and manage them as if Azure had onboarded the cluster itself; the rest follow
 * Microsoft's abbreviations (amw, appi, amg) and the cluster's name.
 */
export function monitoringNames(clusterName: string, location: string): MonitoringNames {
  const prom = `MSProm-${location}-${clusterName}`;
  return {
    azureMonitorWorkspace: `amw-${clusterName}`,
    prometheusEndpoint: cut(prom, 44),
    prometheusRule: cut(prom, 64),
    prometheusAssociation: prom,
    containerInsightsRule: cut(`MSCI-${location}-${clusterName}`, 64),
    containerInsightsAssociation: "ContainerInsightsExtension",
    ruleGroup: (group) => `${group}-${clusterName}`,
    applicationInsights: `appi-${clusterName}`,
    grafana: cut(`amg-${clusterName}`, 23),
  };
}

/** Azure's built-in role Grafana reads an Azure Monitor workspace with (Microsoft: "Azure built-in roles for Monitor"). */
const MONITORING_DATA_READER = "b0d8363b-8ddd-447d-831f-62ca05bff136";

export interface MonitoringArgs {
  resourceGroupName: pulumi.Input<string>;
  /** Region of the cluster: every resource here lives there. */
  location: string;
  subscriptionId: pulumi.Input<string>;
  /** The AKS cluster's Azure name and resource ID: data collection rules are associated with it, the rule group is limited to it. */
  clusterName: string;
  clusterId: pulumi.Input<string>;
  /** Managed Prometheus: the Azure Monitor workspace, its data collection endpoint, rule and association, and a rule group per group of monitoring/alerts.yaml. Default false. */
  prometheus?: boolean;
  /** With `prometheus`: Azure Managed Grafana on the Azure Monitor workspace, with Monitoring Data Reader there. Default false. */
  grafana?: boolean;
  /**
   * Container Insights: its data collection rule (ContainerLogV2, events, pod inventory) into the
   * environment's Log Analytics workspace (components/cluster.ts), and its association. Default: none.
   */
  containerInsights?: { logAnalyticsWorkspaceId: pulumi.Input<string> };
  /**
   * Application Insights for the services with `appInsightsEnabled`: the resource on the
   * environment's Log Analytics workspace, and a Secret with its connection string in `namespace`
   * through `provider`. Default: none.
   */
  appInsights?: { logAnalyticsWorkspaceId: pulumi.Input<string>; provider: k8s.Provider; namespace: pulumi.Input<string> };
  tags: Record<string, string>;
}

export class Monitoring extends pulumi.ComponentResource {
  /** The Azure Monitor workspace managed Prometheus writes to (with `prometheus`). */
  readonly azureMonitorWorkspaceId?: pulumi.Output<string>;
  /** Name of the Secret holding the Application Insights connection string (with `appInsights`); waiting on it waits for the Secret. */
  readonly appInsightsSecretName?: pulumi.Output<string>;
  /** Application Insights connection string (secret). */
  readonly appInsightsConnectionString?: pulumi.Output<string>;
  /** Grafana's URL (with `grafana`). */
  readonly grafanaEndpoint?: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("Monitoring"), name, {}, opts);
    const names = monitoringNames(args.clusterName, args.location);
    const common = { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags };

    if (args.prometheus) {
      // Microsoft: "Enable Prometheus and Grafana" (ARM template FullAzureMonitorMetricsProfile.json,
      // Azure/prometheus-collector): the Azure Monitor workspace (Microsoft.Monitor/accounts), a
      // Linux data collection endpoint, a rule forwarding the Microsoft-PrometheusMetrics stream
      // to the workspace, and its association with the cluster, which the add-on
      // (azureMonitorProfile.metrics, components/cluster.ts) reads its destination from.
      const workspace = new monitor.AzureMonitorWorkspace(`${name}-prometheus`, { ...common, azureMonitorWorkspaceName: names.azureMonitorWorkspace }, { parent: this });
      this.azureMonitorWorkspaceId = workspace.id;
      const endpoint = new monitor.DataCollectionEndpoint(`${name}-prometheus-dce`, { ...common, dataCollectionEndpointName: names.prometheusEndpoint, kind: "Linux" }, { parent: this });
      const rule = new monitor.DataCollectionRule(
        `${name}-prometheus-dcr`,
        {
          ...common,
          dataCollectionRuleName: names.prometheusRule,
          kind: "Linux",
          description: "DCR for Azure Monitor Metrics Profile (Managed Prometheus)",
          dataCollectionEndpointId: endpoint.id,
          dataSources: { prometheusForwarder: [{ name: "PrometheusDataSource", streams: ["Microsoft-PrometheusMetrics"], labelIncludeFilter: {} }] },
          destinations: { monitoringAccounts: [{ name: "MonitoringAccount1", accountResourceId: workspace.id }] },
          dataFlows: [{ streams: ["Microsoft-PrometheusMetrics"], destinations: ["MonitoringAccount1"] }],
        },
        { parent: this },
      );
      new monitor.DataCollectionRuleAssociation(
        `${name}-prometheus-dcra`,
        {
          resourceUri: args.clusterId,
          associationName: names.prometheusAssociation,
          dataCollectionRuleId: rule.id,
          description: "Association of data collection rule. Deleting this association will break the data collection for this AKS Cluster.",
        },
        { parent: this },
      );
      // Microsoft: "Azure Monitor managed service for Prometheus rule groups": the alert rules of
      // the package's rules file (core/azure/monitoring.ts turns them into Azure's shape), evaluated on
      // the workspace; the cluster's ID among the scopes and its name in clusterName limit them to
      // this cluster's series (one workspace may hold several clusters').
      for (const group of azureRuleGroups(readFileSync(path.join(PACKAGE_ROOT, ALERT_RULES_FILE), "utf8"))) {
        new alertsmanagement.PrometheusRuleGroup(
          `${name}-rules-${group.name}`,
          {
            ...common,
            ruleGroupName: names.ruleGroup(group.name),
            description: `${group.name} of ${ALERT_RULES_FILE}, for AKS cluster ${args.clusterName}`,
            scopes: [workspace.id, args.clusterId],
            clusterName: args.clusterName,
            enabled: true,
            interval: group.interval,
            rules: group.rules,
          },
          { parent: this },
        );
      }
      if (args.grafana) {
        // Microsoft: "Create an Azure Managed Grafana workspace" with the Azure Monitor workspace
        // integrated as its Prometheus data source (as `az aks update --enable-azure-monitor-metrics
        // --grafana-resource-id` links them); Grafana reads it with its own identity, granted
        // Monitoring Data Reader on the workspace (Microsoft's AddonTerraformTemplate does the same).
        // People sign in with Entra ID: Grafana Admin/Editor/Viewer roles, which resource group
        // Owners and Contributors (the deployer) already hold.
        const grafana = new dashboard.Grafana(
          `${name}-grafana`,
          {
            ...common,
            workspaceName: names.grafana,
            sku: { name: "Standard" },
            identity: { type: "SystemAssigned" },
            properties: { grafanaIntegrations: { azureMonitorWorkspaceIntegrations: [{ azureMonitorWorkspaceResourceId: workspace.id }] } },
          },
          { parent: this },
        );
        this.grafanaEndpoint = grafana.properties.apply((p) => p.endpoint);
        const roleDefinitionId = pulumi.interpolate`/subscriptions/${args.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${MONITORING_DATA_READER}`;
        const principalId = grafana.identity.apply((i) => {
          if (!i?.principalId) throw new Error(`Azure Managed Grafana '${names.grafana}' reported no managed identity`);
          return i.principalId;
        });
        // Named as components/roles.ts names every assignment (UUID v5 of scope, role, principal).
        new authorization.RoleAssignment(
          `${name}-grafana-monitoring-data-reader`,
          {
            roleAssignmentName: pulumi.all([workspace.id, roleDefinitionId, principalId]).apply(([scope, role, principal]) => roleAssignmentNameFor(scope, role, principal)),
            principalId,
            principalType: "ServicePrincipal",
            roleDefinitionId,
            scope: workspace.id,
          },
          { parent: this },
        );
      }
    }

    if (args.containerInsights) {
      // Microsoft: "Enable monitoring for Kubernetes clusters" (ARM template
      // existingClusterOnboarding.json, managed identity authentication): a data collection rule
      // `MSCI-<region>-<cluster>` whose ContainerInsights extension sends the streams to the Log
      // Analytics workspace, associated with the cluster as `ContainerInsightsExtension`; the
      // cluster's omsagent add-on (components/cluster.ts) collects. ContainerLogV2 keeps each
      // container's stdout/stderr with its pod, namespace and container names after the pod is gone.
      const rule = new monitor.DataCollectionRule(
        `${name}-container-insights-dcr`,
        {
          ...common,
          dataCollectionRuleName: names.containerInsightsRule,
          kind: "Linux",
          dataSources: {
            extensions: [
              {
                name: "ContainerInsightsExtension",
                extensionName: "ContainerInsights",
                streams: [...CONTAINER_INSIGHTS_STREAMS],
                extensionSettings: { dataCollectionSettings: { interval: "1m", namespaceFilteringMode: "Off", enableContainerLogV2: true } },
              },
            ],
          },
          destinations: { logAnalytics: [{ name: "ciworkspace", workspaceResourceId: args.containerInsights.logAnalyticsWorkspaceId }] },
          dataFlows: [{ streams: [...CONTAINER_INSIGHTS_STREAMS], destinations: ["ciworkspace"] }],
        },
        { parent: this },
      );
      new monitor.DataCollectionRuleAssociation(
        `${name}-container-insights-dcra`,
        {
          resourceUri: args.clusterId,
          associationName: names.containerInsightsAssociation,
          dataCollectionRuleId: rule.id,
          description: "Association of data collection rule. Deleting this association will break the data collection for this AKS Cluster.",
        },
        { parent: this },
      );
    }

    if (args.appInsights) {
      // Microsoft: "Workspace-based Application Insights resources": one resource per environment
      // (Azure ML v1 had one per workspace), its data in the environment's Log Analytics
      // workspace; each service is told apart by its cloud role name. The connection string is a
      // secret output, so it never reaches the state in plain text, and reaches pods only as a
      // Secret reference (components/k8s/modelService.ts).
      const component = new applicationinsights.Component(
        `${name}-app-insights`,
        {
          ...common,
          resourceName: names.applicationInsights,
          kind: "web",
          applicationType: "web",
          ingestionMode: "LogAnalytics",
          workspaceResourceId: args.appInsights.logAnalyticsWorkspaceId,
        },
        { parent: this, additionalSecretOutputs: ["connectionString", "instrumentationKey"] },
      );
      this.appInsightsConnectionString = pulumi.secret(component.connectionString);
      const secret = new k8s.core.v1.Secret(
        `${name}-app-insights-secret`,
        {
          metadata: { name: APP_INSIGHTS_SECRET.name, namespace: args.appInsights.namespace, labels: { [LABELS.managedBy]: MANAGED_BY } },
          stringData: { [APP_INSIGHTS_SECRET.key]: this.appInsightsConnectionString },
        },
        { parent: this, provider: args.appInsights.provider },
      );
      this.appInsightsSecretName = secret.metadata.name;
    }

    this.registerOutputs({
      azureMonitorWorkspaceId: this.azureMonitorWorkspaceId,
      appInsightsConnectionString: this.appInsightsConnectionString,
      grafanaEndpoint: this.grafanaEndpoint,
    });
  }
}
