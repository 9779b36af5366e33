/**
 * The guard rails (Azure ML v1's rules for AKS web services, and Azure's own deployment rules) as pure checks over plain `{ type, name, props }` resources, so
 * the same code runs in `pulumi preview --policy-pack policies`, in the tests, and over an
 * offline plan. Each violation says what is wrong and how to fix it. `index.ts` wraps these in
 * CrossGuard policies (constructing the PolicyPack starts its server, so it lives apart); how
 * they read a resource (type tokens, paths into props, unknown values) is readers.ts.
 */
import { MAX_MODELS_PER_DEPLOYMENT, MAX_PAYLOAD_MB } from "../core/config";
import { gpuNodeFitProblem } from "../core/decisions/gpu";
import { MAX_PAYLOAD_BYTES } from "../core/decisions/payloadLimit";
import type { ServiceRoutingSettings } from "../core/contracts/routingSettings";
import { splitProblems } from "../core/decisions/versions";
import {
  GPU_POOL_LABEL,
  GPU_RESOURCE,
  GPU_TAINT,
  GPU_TAINT_STRING,
  LABELS,
  MODEL_COUNT_ANNOTATION,
  ROLE_MODEL,
  ROLE_ROUTER,
  ROUTER_ENV,
  ROUTER_HOST_ANNOTATION,
  TAGS,
  WORKLOAD_IDENTITY,
  serviceAccountSubject,
} from "../core/contracts/naming";
import { requiredHosts, uncoveredHosts, type RequiredHost } from "../core/azure/requiredHosts";
import {
  AZURE_RULES,
  checkApiServerFqdn,
  checkFirewallGroup,
  checkFirewallZones,
  checkNetworkContributorScope,
  checkPublicIpGroupRole,
  checkNetworkRules,
  checkPodCidr,
  checkRoleAssignmentName,
  checkServiceBehindFirewall,
  checkVnetDns,
  firewallPrivateIpOf,
  parseResourceId,
  violation,
  type AzureRule,
  type DnatRuleFacts,
} from "../core/azure/rules";
import {
  RESOURCE_TYPES as T,
  SECRETS_STORE_CSI_DRIVER,
  annotationsOf,
  authModeOf,
  boundPublicIps,
  clusterOf,
  collectionsOf,
  containers,
  enabledOrUnknown,
  envValue,
  firewallAllows,
  get,
  isModelDeployment,
  isNetworkContributorGrant,
  isRouterDeployment,
  isUdrCluster,
  isWorkload,
  kindOf,
  known,
  labelsOf,
  modelSettingsOf,
  namespaceOf,
  notDevTest,
  ownPublicIpGroups,
  podSpecOf,
  purposeOf,
  quantityCores,
  quantityGiB,
  registryHost,
  sameNamespace,
  secretRefs,
  strings,
  usesWorkloadIdentity,
  type Res,
} from "./readers";

export type { Res } from "./readers";
export { registryHost } from "./readers";

export interface Violation {
  message: string;
  urn?: string;
}

export interface Rule {
  name: string;
  description: string;
  enforcementLevel: "mandatory" | "advisory";
  /** Checks one resource (resource policies). */
  resource?: (r: Res) => string[];
  /** Checks the whole stack (stack policies). */
  stack?: (all: Res[]) => Violation[];
}

/** A policy for one of Azure's own rules (core/azure/rules.ts): its name, and its Microsoft doc in the description. */
const azureRule = (rule: AzureRule, check: Pick<Rule, "resource" | "stack">, enforcementLevel: Rule["enforcementLevel"] = "mandatory"): Rule => ({
  name: rule.id,
  description: `${rule.summary} (Microsoft: "${rule.doc.title}")`,
  enforcementLevel,
  ...check,
});

/** Azure's rules for the network, checked on the evaluated stack (facts only Azure knows are checked by the preview lookups). */
const azureRules: Rule[] = [
  azureRule(AZURE_RULES.firewallGroup, {
    resource: (r) => {
      if (r.type !== T.firewall) return [];
      const subnetId = get(r.props, "ipConfigurations", 0, "subnet", "id");
      const group = r.props.resourceGroupName;
      // A subnet the stack creates in the same run has no ID yet: it is created in the firewall's own group.
      return known(subnetId) && known(group) && parseResourceId(subnetId) ? checkFirewallGroup({ resource: r.name, resourceGroupName: group, subnetId }) : [];
    },
  }),
  azureRule(AZURE_RULES.udrRoute, {
    // Stack-owned subnets only: an existing subnet's route table is read during `pulumi preview`
    // (components/network.ts, network.getSubnetOutput) and the cluster waits for that check.
    stack: (all) => {
      const cluster = all.find(isUdrCluster);
      const subnets = all.filter((r) => r.type === T.subnet && r.props.subnetName !== "AzureFirewallSubnet");
      if (!cluster || subnets.length === 0) return [];
      const out: Violation[] = [];
      for (const s of subnets.filter((x) => !get(x.props, "routeTable", "id"))) {
        out.push({ urn: s.urn, message: violation(AZURE_RULES.udrRoute, `Subnet '${s.name}'`, "has no route table while the cluster uses outboundType userDefinedRouting; associate the route table holding 0.0.0.0/0 → the firewall") });
      }
      const hasDefault = all.some((r) => r.type === T.route && r.props.addressPrefix === "0.0.0.0/0" && r.props.nextHopType === "VirtualAppliance");
      if (!hasDefault) {
        out.push({ urn: cluster.urn, message: violation(AZURE_RULES.udrRoute, `AKS cluster '${cluster.name}'`, "uses outboundType userDefinedRouting but no route sends 0.0.0.0/0 to a VirtualAppliance (the firewall): nodes cannot bootstrap") });
      }
      return out;
    },
  }),
  azureRule(AZURE_RULES.internalLb, {
    stack: (all) => {
      if (!all.some(isUdrCluster)) return [];
      const dnat: DnatRuleFacts[] = all
        .filter((r) => r.type === T.ruleGroup)
        .flatMap(collectionsOf)
        .filter((c) => c.ruleCollectionType === "FirewallPolicyNatRuleCollection")
        .flatMap((c) => c.rules ?? [])
        .map((r) => ({
          name: String(r.name ?? ""),
          destinationAddresses: strings(r.destinationAddresses),
          destinationPorts: strings(r.destinationPorts),
          translatedAddress: r.translatedAddress as string | undefined,
          translatedPort: r.translatedPort as string | undefined,
        }));
      return all
        .filter((r) => r.type === T.service && get(r.props, "spec", "type") === "LoadBalancer")
        .flatMap((r) =>
          checkServiceBehindFirewall(
            { resource: r.name, annotations: annotationsOf(r), ports: ((get(r.props, "spec", "ports") as { port?: number }[] | undefined) ?? []).map((p) => Number(p.port)) },
            dnat,
          ).map((message) => ({ urn: r.urn, message })),
        );
    },
  }),
  azureRule(AZURE_RULES.noBroadNetworkRules, {
    resource: (r) =>
      r.type !== T.ruleGroup
        ? []
        : checkNetworkRules(
            r.name,
            collectionsOf(r)
              .flatMap((c) => c.rules ?? [])
              .filter((x) => x.ruleType === "NetworkRule")
              .map((x) => ({ name: String(x.name ?? ""), protocols: strings(x.ipProtocols), destinations: [...strings(x.destinationAddresses), ...strings(x.destinationFqdns)], ports: strings(x.destinationPorts) })),
          ),
  }),
  azureRule(AZURE_RULES.apiServerFqdn, {
    stack: (all) =>
      all.some(isUdrCluster)
        ? all
            .filter(isRouterDeployment)
            .flatMap((d) => checkApiServerFqdn({ resource: d.name, podAnnotations: (get(d.props, "spec", "template", "metadata", "annotations") ?? {}) as Record<string, string> }).map((message) => ({ urn: d.urn, message })))
        : [],
  }),
  azureRule(AZURE_RULES.leastPrivilege, {
    stack: (all) => {
      const own = ownPublicIpGroups(all);
      return all
        .filter(isNetworkContributorGrant)
        .flatMap((r) => (known(r.props.scope) ? checkNetworkContributorScope({ resource: r.name, scope: r.props.scope }, own).map((message) => ({ urn: r.urn, message })) : []));
    },
  }),
  azureRule(AZURE_RULES.publicIpGroupRole, {
    stack: (all) => {
      const grants = all.filter(isNetworkContributorGrant).map((r) => r.props.scope);
      // Checked once every grant's scope is known (a first preview knows no resource IDs).
      if (!grants.every(known)) return [];
      return boundPublicIps(all).flatMap(({ service, ipName, resourceGroup }) =>
        checkPublicIpGroupRole({ service: service.name, ipName, resourceGroup, networkContributorScopes: grants as string[] }).map((message) => ({ urn: service.urn, message })),
      );
    },
  }),
  azureRule(AZURE_RULES.deterministicRoleName, {
    resource: (r) => {
      if (r.type !== T.roleAssignment) return [];
      const { scope, roleDefinitionId, principalId, roleAssignmentName } = r.props;
      if (roleAssignmentName === undefined) return checkRoleAssignmentName({ resource: r.name, scope: "", roleDefinitionId: "", principalId: "" });
      // Names derived from values a first preview does not know yet are checked once they are.
      return known(scope) && known(roleDefinitionId) && known(principalId) && known(roleAssignmentName)
        ? checkRoleAssignmentName({ resource: r.name, scope, roleDefinitionId, principalId, roleAssignmentName })
        : [];
    },
  }),
  azureRule(AZURE_RULES.podCidr, {
    resource: (r) =>
      r.type !== T.cluster
        ? []
        : checkPodCidr({
            resource: r.name,
            networkPlugin: String(get(r.props, "networkProfile", "networkPlugin") ?? "kubenet"),
            networkPluginMode: get(r.props, "networkProfile", "networkPluginMode") as string | undefined,
            podCidr: get(r.props, "networkProfile", "podCidr") as string | undefined,
          }),
  }),
  azureRule(AZURE_RULES.dnsProxy, {
    // The VNet the stack creates (kubenet); an existing VNet's DNS is the network team's, warned about in preview.
    stack: (all) => {
      const proxy = all.some((r) => r.type === T.firewallPolicy && get(r.props, "dnsSettings", "enableProxy") === true);
      const fwSubnet = all.find((r) => r.type === T.subnet && r.props.subnetName === "AzureFirewallSubnet");
      if (!proxy || !fwSubnet || !known(fwSubnet.props.addressPrefix)) return [];
      const ip = firewallPrivateIpOf(fwSubnet.props.addressPrefix);
      return all
        .filter((r) => r.type === T.vnet)
        .flatMap((v) => checkVnetDns({ vnet: v.name, dnsServers: strings(get(v.props, "dhcpOptions", "dnsServers")), firewallPrivateIp: ip }).map((message) => ({ urn: v.urn, message })));
    },
  }),
  azureRule(
    AZURE_RULES.firewallZones,
    {
      stack: (all) => {
        const cluster = clusterOf(all);
        if (!cluster) return [];
        const clusterZones = strings(get(cluster.props, "agentPoolProfiles", 0, "availabilityZones"));
        return all
          .filter((r) => r.type === T.firewall)
          .flatMap((f) =>
            checkFirewallZones({
              resource: f.name,
              clusterZones,
              firewallZones: strings(f.props.zones),
              publicIpCount: ((f.props.ipConfigurations as unknown[] | undefined) ?? []).length,
              production: notDevTest(all),
            }).map((message) => ({ urn: f.urn, message })),
          );
      },
    },
    "advisory",
  ),
];

/** Microsoft documents the identity and secret rules name. */
const IDENTITY_DOCS = {
  sharedKey: { title: "Prevent Shared Key authorization for an Azure Storage account", url: "https://learn.microsoft.com/azure/storage/common/shared-key-authorization-prevent" },
  workloadIdentity: { title: "Use Microsoft Entra Workload ID with Azure Kubernetes Service (AKS)", url: "https://learn.microsoft.com/azure/aks/workload-identity-overview" },
  csiKeyVault: {
    title: "Use the Azure Key Vault provider for Secrets Store CSI Driver in an Azure Kubernetes Service (AKS) cluster",
    url: "https://learn.microsoft.com/azure/aks/csi-secrets-store-driver",
  },
} as const;
const OUTBOUND_RULES_DOC = { title: "Outbound network and FQDN rules for Azure Kubernetes Service (AKS) clusters", url: "https://learn.microsoft.com/azure/aks/outbound-rules-control-egress" } as const;

export const rules: Rule[] = [
  ...azureRules,
  {
    name: "no-hpa-on-model-deployments",
    description: "Model services are autoscaled by the router; a HorizontalPodAutoscaler would fight it.",
    enforcementLevel: "mandatory",
    stack: (all) => {
      const models = new Set(all.filter(isModelDeployment).map((d) => String(get(d.props, "metadata", "name"))));
      return all
        // A Patch creates the HPA when none exists (server-side apply), so it counts too.
        .filter((r) => /^kubernetes:autoscaling\/v\d+\w*:HorizontalPodAutoscaler(Patch)?$/.test(r.type))
        .filter((h) => get(h.props, "spec", "scaleTargetRef", "kind") === "Deployment" && (models.has(String(get(h.props, "spec", "scaleTargetRef", "name"))) || String(get(h.props, "spec", "scaleTargetRef", "name")).startsWith("model-")))
        .map((h) => ({
          urn: h.urn,
          message: `HorizontalPodAutoscaler '${h.name}' targets model deployment '${String(get(h.props, "spec", "scaleTargetRef", "name"))}'. The router autoscales model services (autoscaleEnabled/autoscaleMinReplicas/autoscaleMaxReplicas in the service config): remove the HPA.`,
        }));
    },
  },
  {
    name: "version-split-sums-to-100",
    description: "The versions of a model service split its live traffic in integer shares summing to 100; a mirror version (at most 50 %) takes no live traffic.",
    enforcementLevel: "mandatory",
    stack: (all) => {
      const byService = new Map<string, { urn: Res["urn"]; settings: ServiceRoutingSettings }[]>();
      for (const r of all) {
        const settings = modelSettingsOf(r);
        if (settings?.version) byService.set(settings.name, [...(byService.get(settings.name) ?? []), { urn: r.urn, settings }]);
      }
      return [...byService].flatMap(([service, versions]) =>
        splitProblems(service, versions.map((v) => v.settings.version!)).map(([key, message]) => ({
          urn: versions[typeof key[0] === "number" ? key[0] : 0].urn,
          message: `Service '${service}': ${message}. Set the versions' traffic (and mirrorPercent) in services[].versions of the stack config.`,
        })),
      );
    },
  },
  {
    name: "acr-admin-user-disabled",
    description: "ACR is used with Entra identities only; the shared admin password stays off.",
    enforcementLevel: "mandatory",
    resource: (r) => (r.type === T.registry && r.props.adminUserEnabled === true ? [`Container registry '${r.name}' has the admin user enabled. Set adminUserEnabled: false; the cluster pulls with its kubelet identity (AcrPull).`] : []),
  },
  {
    name: "storage-no-public-blob-access",
    description: "Models, packages and collected data are never publicly readable.",
    enforcementLevel: "mandatory",
    resource: (r) => (r.type === T.account && r.props.allowBlobPublicAccess !== false ? [`Storage account '${r.name}' allows public blob access. Set allowBlobPublicAccess: false.`] : []),
  },
  {
    name: "max-1000-models-per-deployment",
    description: "One deployment (container) serves at most 1,000 models (Azure ML v1's limit).",
    enforcementLevel: "mandatory",
    resource: (r) => {
      if (!isModelDeployment(r)) return [];
      const n = Number(annotationsOf(r)[MODEL_COUNT_ANNOTATION] ?? 0);
      return n > MAX_MODELS_PER_DEPLOYMENT ? [`Model deployment '${r.name}' serves ${n} models; the limit is ${MAX_MODELS_PER_DEPLOYMENT} per deployment. Split the service into several.`] : [];
    },
  },
  {
    name: "payload-limit-at-most-100mb",
    description: "The router refuses request bodies over 100 MB (Azure ML v1's limit).",
    enforcementLevel: "mandatory",
    resource: (r) => {
      if (!isRouterDeployment(r)) return [];
      const limit = Number(envValue(r, ROUTER_ENV.maxBodyBytes) ?? Number.NaN);
      const max = MAX_PAYLOAD_BYTES;
      if (Number.isNaN(limit)) return [`Router deployment '${r.name}' sets no ${ROUTER_ENV.maxBodyBytes}; set router.payloadLimitMb (at most ${MAX_PAYLOAD_MB}).`];
      return limit > max ? [`Router deployment '${r.name}' accepts bodies of ${limit} bytes; the limit is ${max} (100 MB). Lower router.payloadLimitMb.`] : [];
    },
  },
  {
    name: "cni-firewall-covers-required-hosts",
    description: "With Azure CNI the stack owns egress: the firewall must allow every host the inference cluster needs.",
    enforcementLevel: "mandatory",
    stack: (all) => {
      const cluster = clusterOf(all);
      if (!cluster || get(cluster.props, "networkProfile", "networkPlugin") !== "azure") return [];
      const routerService = all.find((r) => r.type === T.service && labelsOf(r)[LABELS.role] === ROLE_ROUTER);
      const host = routerService ? annotationsOf(routerService)[ROUTER_HOST_ANNOTATION] : undefined;
      const label = all.map((r) => (r.type === T.publicIp ? (get(r.props, "dnsSettings", "domainNameLabel") as string | undefined) : undefined)).find(Boolean);
      const required = requiredHosts({
        clusterName: String(cluster.props.resourceName ?? cluster.name),
        region: String(cluster.props.location ?? ""),
        registryName: String(all.find((r) => r.type === T.registry)?.props.registryName ?? ""),
        storageAccountName: String(all.find((r) => r.type === T.account)?.props.accountName ?? ""),
        registryDataEndpoint: all.find((r) => r.type === T.registry)?.props.dataEndpointEnabled === true,
        jwksUri: all.filter(isRouterDeployment).map((r) => envValue(r, ROUTER_ENV.tokenJwksUri)).find(Boolean),
        defender: Boolean(get(cluster.props, "securityProfile", "defender")),
        keyVaultName: all.map((r) => (r.type === T.secretProviderClass ? (get(r.props, "spec", "parameters", "keyvaultName") as string | undefined) : undefined)).find(Boolean),
        // Hosts only Microsoft's azureml-fe calls are never required by this stack's router.
        azureMlCompat: false,
        tokenAuth: all.some((r) => authModeOf(r) === "token") || Boolean(get(cluster.props, "tags", TAGS.tokenRegion)),
        // A host still unknown in a preview is the public IP's Azure name (a custom domain is config).
        customDomain: known(host) && !host.endsWith(".cloudapp.azure.com") ? host : undefined,
        // The router's host is the name Azure assigned (a tenant-scoped label carries a hash).
        dnsLabel: known(host) && host.endsWith(".cloudapp.azure.com") ? host.split(".")[0] : label,
        gpu: all.some((r) => r.type === T.pool && ((r.props.nodeTaints as string[] | undefined) ?? []).includes(GPU_TAINT_STRING)),
      });
      const { fqdns, tags } = firewallAllows(all);
      // A name made of a resource outside this stack, or one unknown in a preview, has an empty or
      // unknown label: no firewall rule could be checked against it, so it is left out.
      const checkable = required.filter((h) => h.host.split(".").every(known));
      const missing = uncoveredHosts(checkable, fqdns, tags);
      if (missing.length === 0) return [];
      return [
        {
          urn: cluster.urn,
          message: `Azure CNI cluster '${cluster.name}': egress does not allow ${missing.map((h) => `${h.host} (${h.usedBy})`).join(", ")}. Set egress: firewall (the stack then allows exactly the required hosts), or allow them on your own firewall/DNS (\`npm run hosts -- <stack>\` lists them).`,
        },
      ];
    },
  },
  {
    name: "auth-outside-devtest",
    description: "Scoring endpoints require a key or token unless the cluster is DevTest.",
    enforcementLevel: "mandatory",
    stack: (all) => {
      if (!notDevTest(all)) return [];
      return all
        .filter((r) => authModeOf(r) === "none")
        .map((r) => ({ urn: r.urn, message: `Model service '${labelsOf(r)[LABELS.service]}' has auth disabled on a ${purposeOf(all)} cluster. Remove authEnabled: false (key auth) or set tokenAuthEnabled: true.` }));
    },
  },
  {
    name: "tls-outside-devtest",
    description: "The router terminates TLS unless the cluster is DevTest.",
    enforcementLevel: "mandatory",
    stack: (all) => {
      if (!notDevTest(all)) return [];
      return all
        .filter(isRouterDeployment)
        .filter((r) => !envValue(r, ROUTER_ENV.tlsCertFile))
        .map((r) => ({ urn: r.urn, message: `Router '${r.name}' serves plain HTTP on a ${purposeOf(all)} cluster. Configure endpoint.tls (keyVault, or certificate and privateKey as secrets).` }));
    },
  },
  {
    name: "gpu-services-on-tainted-gpu-pools",
    description: "Model deployments that request GPUs tolerate the GPU taint and select a tainted GPU pool.",
    enforcementLevel: "mandatory",
    stack: (all) => {
      const taintedPools = new Set(
        all
          .filter((r) => r.type === T.pool && ((r.props.nodeTaints as string[] | undefined) ?? []).includes(GPU_TAINT_STRING))
          .map((r) => get(r.props, "nodeLabels", GPU_POOL_LABEL) as string | undefined)
          .filter((x): x is string => Boolean(x)),
      );
      const out: Violation[] = [];
      for (const d of all.filter(isModelDeployment)) {
        const wantsGpu = containers(d).some((c) => Number(c.resources?.limits?.[GPU_RESOURCE] ?? c.resources?.requests?.[GPU_RESOURCE] ?? 0) > 0);
        if (!wantsGpu) continue;
        const spec = get(d.props, "spec", "template", "spec") as { tolerations?: { key?: string; effect?: string }[]; nodeSelector?: Record<string, string> } | undefined;
        const tolerates = (spec?.tolerations ?? []).some((t) => t.key === GPU_TAINT.key && (t.effect === undefined || t.effect === GPU_TAINT.effect));
        const pool = spec?.nodeSelector?.[GPU_POOL_LABEL];
        if (!tolerates || !pool || !taintedPools.has(pool)) {
          out.push({
            urn: d.urn,
            message: `GPU model deployment '${d.name}' must tolerate ${GPU_TAINT_STRING} and select a GPU pool carrying that taint (nodeSelector ${GPU_POOL_LABEL}); ${!pool ? "it selects none" : !taintedPools.has(pool) ? `pool '${pool}' is not a tainted GPU pool of this stack` : "it lacks the toleration"}. Set gpuPool to one of: ${[...taintedPools].join(", ") || "(no GPU pools: add one under gpuPools)"}.`,
          });
        }
      }
      return out;
    },
  },
  {
    name: "token-issuer-region-matches-cluster",
    description: "Token auth depends on the workspace/issuer region (as in Azure ML v1): keep it in the cluster's region.",
    enforcementLevel: "advisory",
    resource: (r) => {
      if (r.type !== T.cluster) return [];
      const tokenRegion = get(r.props, "tags", TAGS.tokenRegion) as string | undefined;
      const norm = (s: string) => s.toLowerCase().replace(/\s+/g, "");
      return tokenRegion && r.props.location && norm(tokenRegion) !== norm(String(r.props.location))
        ? [`AKS cluster '${r.name}' is in ${String(r.props.location)} but its token issuer is in ${tokenRegion}. Token auth depends on the issuer's region: deploy both in one region (tokenIssuer.region / azure-native:location).`]
        : [];
    },
  },
  {
    name: "defender-outside-devtest",
    description: "Microsoft Defender for Containers on every cluster that is not DevTest.",
    enforcementLevel: "advisory",
    resource: (r) => {
      if (r.type !== T.cluster) return [];
      const purpose = get(r.props, "tags", TAGS.purpose);
      return purpose && purpose !== "DevTest" && !get(r.props, "securityProfile", "defender") ? [`AKS cluster '${r.name}' (${String(purpose)}) has no Defender profile. Set defender: true in the stack config.`] : [];
    },
  },
  {
    name: "devtest-without-router-self-scaling",
    description: "Dev-test clusters run the router without self-scaling (as in Azure ML v1).",
    enforcementLevel: "advisory",
    stack: (all) =>
      purposeOf(all) === "DevTest"
        ? all.filter(isRouterDeployment).filter((r) => envValue(r, ROUTER_ENV.selfScaling) === "true").map((r) => ({ urn: r.urn, message: `Router '${r.name}' self-scales on a DevTest cluster. Set router.selfScaling: false (the default for DevTest).` }))
        : [],
  },
  // ---- Identity and secrets: what pods mount and sign in with must exist, and no account keys. ----
  {
    name: "storage-no-shared-key",
    description: "The storage account refuses Shared Key authorization: pods use workload identity, uploads the deployer's Entra identity.",
    enforcementLevel: "mandatory",
    resource: (r) =>
      r.type === T.account && r.props.allowSharedKeyAccess !== false
        ? [
            `Storage account '${r.name}' allows Shared Key authorization (allowSharedKeyAccess is not false): one account key would open every container, and whoever holds a connection string keeps that access. Set allowSharedKeyAccess: false; model pods read and write blobs with their workload identity (rule storage-no-shared-key; Microsoft: "${IDENTITY_DOCS.sharedKey.title}" ${IDENTITY_DOCS.sharedKey.url}).`,
          ]
        : [],
  },
  {
    name: "pods-reference-only-what-the-stack-creates",
    description: "Every Secret, SecretProviderClass and ServiceAccount a workload references is created by this stack in the workload's namespace.",
    enforcementLevel: "mandatory",
    stack: (all) => {
      const out: Violation[] = [];
      const cluster = clusterOf(all);
      const csiAddon = !cluster || enabledOrUnknown(cluster.props, "addonProfiles", "azureKeyvaultSecretsProvider", "enabled");
      const doc = `Microsoft: "${IDENTITY_DOCS.csiKeyVault.title}" ${IDENTITY_DOCS.csiKeyVault.url}`;
      for (const w of all.filter(isWorkload)) {
        const ns = namespaceOf(w);
        const missing = (what: string, name: string, how: string) =>
          out.push({
            urn: w.urn,
            message: `${kindOf(w)} '${w.name}' references ${what} '${name}' in namespace '${ns}', which this stack does not create there: its pods would wait in ContainerCreating for ever. ${how} (rule pods-reference-only-what-the-stack-creates; ${doc}).`,
          });
        for (const name of secretRefs(w)) {
          if (!known(name)) continue;
          const created = all.some((r) => r.type === T.secret && String(get(r.props, "metadata", "name")) === name && sameNamespace(namespaceOf(r), ns));
          const synced = all.some(
            (r) => r.type === T.secretProviderClass && sameNamespace(namespaceOf(r), ns) && ((get(r.props, "spec", "secretObjects") as { secretName?: string }[] | undefined) ?? []).some((o) => o.secretName === name),
          );
          if (!created && !synced) missing("Secret", name, "For TLS set endpoint.tls.keyVault (read by the Secrets Store CSI driver) or certificate and privateKey (stored in a Secret by the stack)");
        }
        for (const v of podSpecOf(w)?.volumes ?? []) {
          if (v.csi?.driver !== SECRETS_STORE_CSI_DRIVER) continue;
          const spc = v.csi.volumeAttributes?.secretProviderClass;
          if (known(spc) && !all.some((r) => r.type === T.secretProviderClass && String(get(r.props, "metadata", "name")) === spc && sameNamespace(namespaceOf(r), ns))) {
            missing("SecretProviderClass", spc, "Create the SecretProviderClass with the workload");
          }
          if (!csiAddon) {
            out.push({
              urn: w.urn,
              message: `${kindOf(w)} '${w.name}' mounts a Secrets Store CSI volume, but AKS cluster '${cluster?.name}' does not enable the azureKeyvaultSecretsProvider add-on: no CSI driver can mount it. Enable the add-on (rule pods-reference-only-what-the-stack-creates; ${doc}).`,
            });
          }
        }
        const sa = podSpecOf(w)?.serviceAccountName;
        if (known(sa) && sa !== "default" && !all.some((r) => r.type === T.serviceAccount && String(get(r.props, "metadata", "name")) === sa && sameNamespace(namespaceOf(r), ns))) {
          missing("ServiceAccount", sa, "Create the ServiceAccount with the workload");
        }
      }
      return out;
    },
  },
  {
    name: "model-pods-reachable-only-from-the-router",
    description: "A NetworkPolicy in each model Deployment's namespace lets only router pods open the scoring port of model pods, and the cluster enforces NetworkPolicies.",
    enforcementLevel: "mandatory",
    stack: (all) => {
      const doc = 'Microsoft: "Secure traffic between pods by using network policies in Azure Kubernetes Service (AKS)" https://learn.microsoft.com/azure/aks/use-network-policies';
      const out: Violation[] = [];
      const guards = (p: Res) => {
        const spec = get(p.props, "spec") as { podSelector?: { matchLabels?: Record<string, string> }; policyTypes?: string[]; ingress?: { from?: { podSelector?: { matchLabels?: Record<string, string> } }[] }[] } | undefined;
        const selectsModels = spec?.podSelector?.matchLabels?.[LABELS.role] === ROLE_MODEL;
        // Every ingress rule must name its sources, and every source must be router pods.
        const routerOnly = (spec?.ingress ?? []).every((rule) => (rule.from ?? []).length > 0 && (rule.from ?? []).every((f) => f.podSelector?.matchLabels?.[LABELS.role] === ROLE_ROUTER));
        return selectsModels && (spec?.policyTypes ?? []).includes("Ingress") && routerOnly;
      };
      for (const d of all.filter(isModelDeployment)) {
        if (!all.some((p) => p.type === T.networkPolicy && sameNamespace(namespaceOf(p), namespaceOf(d)) && guards(p))) {
          out.push({
            urn: d.urn,
            message: `Model deployment '${d.name}' has no NetworkPolicy in its namespace letting only router pods (${LABELS.role}=${ROLE_ROUTER}) reach model pods: any pod in the cluster could call the model around the router's auth and limits. Deploy the stack's NetworkPolicies (components/k8s/networkPolicy.ts) with the model services (rule model-pods-reachable-only-from-the-router; ${doc}).`,
          });
        }
      }
      const cluster = clusterOf(all);
      const engine = cluster ? get(cluster.props, "networkProfile", "networkPolicy") : undefined;
      if (cluster && all.some(isModelDeployment) && known(get(cluster.props, "networkProfile", "networkPlugin")) && !known(engine)) {
        out.push({
          urn: cluster.urn,
          message: `AKS cluster '${cluster.name}' has no network policy engine (networkProfile.networkPolicy): NetworkPolicies would be stored and ignored. Set 'cilium' (with networkDataplane 'cilium'), 'azure' or 'calico' with Azure CNI, 'calico' with kubenet (rule model-pods-reachable-only-from-the-router; ${doc}).`,
        });
      }
      // Cilium enforces policies only as the dataplane ("Configure Azure CNI Powered by Cilium in AKS").
      const dataplane = cluster ? get(cluster.props, "networkProfile", "networkDataplane") : undefined;
      if (cluster && all.some(isModelDeployment) && engine === "cilium" && known(get(cluster.props, "networkProfile", "networkPlugin")) && dataplane !== "cilium" && (dataplane === undefined || known(dataplane))) {
        out.push({
          urn: cluster.urn,
          message: `AKS cluster '${cluster.name}' sets networkPolicy 'cilium' without networkDataplane 'cilium': Azure accepts Cilium network policy only with the Cilium dataplane (Microsoft: "Configure Azure CNI Powered by Cilium in AKS"), so NetworkPolicies would not be enforced (rule model-pods-reachable-only-from-the-router; ${doc}).`,
        });
      }
      return out;
    },
  },
  {
    name: "workload-identity-federated",
    description: "Pods that sign in with workload identity run as a ServiceAccount naming a managed identity federated with exactly that ServiceAccount, on a cluster with the OIDC issuer and workload identity on.",
    enforcementLevel: "mandatory",
    stack: (all) => {
      const out: Violation[] = [];
      const cluster = clusterOf(all);
      const doc = `Microsoft: "${IDENTITY_DOCS.workloadIdentity.title}" ${IDENTITY_DOCS.workloadIdentity.url}`;
      const subjects = all
        .filter((r) => r.type === T.federatedCredential && ((r.props.audiences as string[] | undefined) ?? []).includes(WORKLOAD_IDENTITY.audience))
        .map((r) => String(r.props.subject ?? ""));
      for (const w of all.filter(isWorkload).filter((x) => usesWorkloadIdentity(x, all))) {
        const ns = namespaceOf(w);
        const sa = podSpecOf(w)?.serviceAccountName ?? "default";
        const subject = serviceAccountSubject(ns, sa);
        if (cluster && !(enabledOrUnknown(cluster.props, "oidcIssuerProfile", "enabled") && enabledOrUnknown(cluster.props, "securityProfile", "workloadIdentity", "enabled"))) {
          out.push({
            urn: w.urn,
            message: `${kindOf(w)} '${w.name}' signs in with workload identity, but AKS cluster '${cluster.name}' does not enable oidcIssuerProfile and securityProfile.workloadIdentity: no token of its ServiceAccount is trusted (rule workload-identity-federated; ${doc}).`,
          });
        }
        const account = all.find((r) => r.type === T.serviceAccount && String(get(r.props, "metadata", "name")) === sa && sameNamespace(namespaceOf(r), ns));
        if (account && !annotationsOf(account)[WORKLOAD_IDENTITY.clientIdAnnotation]) {
          out.push({
            urn: w.urn,
            message: `${kindOf(w)} '${w.name}' signs in with workload identity as ServiceAccount '${sa}', which has no ${WORKLOAD_IDENTITY.clientIdAnnotation} annotation naming its managed identity (rule workload-identity-federated; ${doc}).`,
          });
        }
        if (known(sa) && !subjects.some((s) => (known(ns) ? s === subject : s.endsWith(`:${sa}`)))) {
          out.push({
            urn: w.urn,
            message: `${kindOf(w)} '${w.name}' signs in with workload identity as '${subject}', but no federated identity credential of this stack trusts that subject (audience ${WORKLOAD_IDENTITY.audience}): Entra refuses its token exchange. Federate the managed identity with exactly this ServiceAccount (rule workload-identity-federated; ${doc}).`,
          });
        }
      }
      return out;
    },
  },
  {
    name: "images-pulled-through-the-firewall",
    description: "Behind a firewall (user-defined routing), every image a workload runs comes from a registry the firewall's application rules allow.",
    enforcementLevel: "mandatory",
    stack: (all) => {
      const cluster = clusterOf(all);
      if (!cluster || get(cluster.props, "networkProfile", "outboundType") !== "userDefinedRouting") return [];
      const { fqdns, tags } = firewallAllows(all);
      const out: Violation[] = [];
      for (const w of all.filter(isWorkload)) {
        const spec = get(w.props, "spec", "template", "spec") as { containers?: { image?: string }[]; initContainers?: { image?: string }[] } | undefined;
        for (const image of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].map((c) => c.image)) {
          if (!known(image)) continue;
          const registry = registryHost(image);
          const needed: RequiredHost = { host: registry, usedBy: "container registry", phase: "cluster", why: image, protocol: "Https", port: 443, source: "inference" };
          if (uncoveredHosts([needed], fqdns, tags).length > 0) {
            out.push({
              urn: w.urn,
              message: `${kindOf(w)} '${w.name}' runs '${image}' from ${registry}, which the firewall's application rules do not allow: its pods would stay in ImagePullBackOff. Take the image from MCR or the stack's ACR, or allow the registry and its layer hosts (rule images-pulled-through-the-firewall; Microsoft: "${OUTBOUND_RULES_DOC.title}" ${OUTBOUND_RULES_DOC.url}).`,
            });
          }
        }
      }
      return out;
    },
  },
  {
    name: "gpu-services-fit-their-pool-vm-size",
    description: "A GPU model deployment's CPU and memory requests fit on one node of its pool's VM size next to AKS's reservations and the system daemons.",
    enforcementLevel: "advisory",
    stack: (all) => {
      const poolSizes = new Map(
        all.filter((r) => r.type === T.pool).map((r) => [get(r.props, "nodeLabels", GPU_POOL_LABEL) as string | undefined, r.props.vmSize as string | undefined] as const),
      );
      const out: Violation[] = [];
      for (const d of all.filter(isModelDeployment)) {
        const pool = get(d.props, "spec", "template", "spec", "nodeSelector", GPU_POOL_LABEL) as string | undefined;
        const vmSize = pool === undefined ? undefined : poolSizes.get(pool);
        const requests = containers(d)[0]?.resources?.requests;
        if (!vmSize || !requests) continue;
        const problem = gpuNodeFitProblem(vmSize, quantityCores(requests.cpu), quantityGiB(requests.memory));
        if (problem) {
          out.push({
            urn: d.urn,
            message: `GPU model deployment '${d.name}' ${problem}: its pods would stay Pending. Lower the service's cpuCores/memoryGb or choose a larger VM size for pool '${pool}' (sizes: Microsoft Learn, "Sizes for virtual machines in Azure", GPU accelerated).`,
          });
        }
      }
      return out;
    },
  },
];

/** Every violation of every rule over a stack's resources. */
export function evaluate(all: Res[]): { rule: Rule; violation: Violation }[] {
  const out: { rule: Rule; violation: Violation }[] = [];
  for (const rule of rules) {
    if (rule.resource) for (const r of all) for (const message of rule.resource(r)) out.push({ rule, violation: { message, urn: r.urn } });
    if (rule.stack) for (const violation of rule.stack(all)) out.push({ rule, violation });
  }
  return out;
}
