/**
 * The rules between keys (cross-field validation): what one key allows given another, beyond each
 * key's own type and range (schema.ts). Each problem names the key to change and why; the checks
 * run in the order the config reference lists the keys, and every problem is reported, not the
 * first. The services come back resolved (auth mode, replicas, models, GPU pool, versions).
 */
import { cidrsOverlap, parseTopLevelId, usableInSubnet } from "../azure/rules";
import { modelDeploymentName } from "../contracts/naming";
import { splitProblems } from "../decisions/versions";
import { isPythonEntryScript, modelName } from "./derived";
import { reportIssue, type Problem } from "./problems";
import {
  DEFAULT_SERVICE_CIDR,
  KEY_VAULT_ID_FORM,
  KEY_VAULT_NAME,
  KEY_VAULT_NAME_MESSAGE,
  VERSION_SETTINGS,
  serviceSchema,
  type AuthMode,
  type ModelRef,
  type ModelServiceConfig,
  type ModelVersionConfig,
  type ParsedService,
  type ParsedStack,
  type ServiceEnvironmentConfig,
  type StackConfig,
} from "./schema";
import type { UpgradeChannel } from "./enums";

/**
 * Checks every rule between keys of the schema-valid config `c`, reporting each problem; returns
 * the services resolved. `defaulted` holds the purpose's defaults some rules depend on.
 */
export function checkStack(c: ParsedStack, defaulted: Pick<StackConfig, "upgrades" | "monitoring">, problem: Problem): ModelServiceConfig[] {
  networkProblems(c, problem);
  poolProblems(c, problem);
  tlsProblems(c.endpoint.tls, problem);
  apiServerProblems(c, problem);
  dnsProblems(c, problem);
  tokenIssuerProblems(c, problem);
  const services = resolveServices(c, problem);
  upgradeProblems(c.kubernetesVersion, defaulted.upgrades.channel, problem);
  // Managed Grafana's data source is the Azure Monitor workspace, which only prometheus creates.
  if (defaulted.monitoring.grafana && !defaulted.monitoring.prometheus) problem(["monitoring", "grafana"], "needs monitoring.prometheus: Grafana reads the Azure Monitor workspace that managed Prometheus creates");
  return services;
}

/** Network plugin, egress and firewall: which keys go with which, the internal IP, the pod range. */
function networkProblems(c: ParsedStack, problem: Problem): void {
  if (c.network.plugin === "azure") {
    if (!c.network.subnetId) problem(["network", "subnetId"], "is required when network.plugin is 'azure' (CNI joins an existing subnet)");
    // The service range is cluster-internal but must not collide with anything pods reach: with
    // CNI that is the network team's VNet and the hub peered with it, which this stack cannot see.
    const why = `the default ${DEFAULT_SERVICE_CIDR} overlaps the address ranges hub networks typically use (docs/config-reference.md, "Config reference")`;
    if (!c.network.serviceCidr) problem(["network", "serviceCidr"], `is required when network.plugin is 'azure': a range for Kubernetes Services that overlaps neither the VNet, its peered networks nor network.podCidr; ${why}`);
    if (!c.network.dnsServiceIp) problem(["network", "dnsServiceIp"], `is required when network.plugin is 'azure': an address inside network.serviceCidr (not its first), such as its '.10'; ${why}`);
    if (c.egress === "firewall") {
      if (!c.network.routeTableId) {
        problem(["network", "routeTableId"], "is required when network.plugin is 'azure' and egress is 'firewall': the existing route table the network team associated with network.subnetId");
      }
      if (!c.firewall?.policyId && !c.network.firewallSubnetId) {
        problem(["firewall", "policyId"], "or network.firewallSubnetId is required when network.plugin is 'azure' and egress is 'firewall': the hub's firewall policy, or the AzureFirewallSubnet for a firewall this stack creates");
      }
    } else if (c.network.routeTableId) {
      problem(["network", "routeTableId"], "is only allowed with egress 'firewall' (load-balancer egress needs no route table)");
    }
  } else {
    if (c.network.subnetId) problem(["network", "subnetId"], "is only allowed with network.plugin 'azure'; kubenet creates its own subnet");
    if (c.network.firewallSubnetId) problem(["network", "firewallSubnetId"], "is only allowed with network.plugin 'azure'");
    if (c.network.routeTableId) problem(["network", "routeTableId"], "is only allowed with network.plugin 'azure'; kubenet creates its own route table");
    if (c.firewall?.policyId) problem(["firewall", "policyId"], "needs network.plugin 'azure': kubenet's VNet is created by this stack and not peered with a hub");
  }
  if (c.network.firewallSubnetId && !/\/subnets\/AzureFirewallSubnet$/.test(c.network.firewallSubnetId)) {
    problem(["network", "firewallSubnetId"], "must name a subnet called 'AzureFirewallSubnet' (Azure Firewall requires it)");
  }
  if (c.firewall && c.egress !== "firewall") problem(["firewall"], "is only allowed with egress 'firewall'");
  if (c.firewall?.policyId) {
    if (c.network.firewallSubnetId) problem(["network", "firewallSubnetId"], "cannot be set with firewall.policyId: use the hub's firewall, or create one, not both");
    if (!c.firewall.privateIp) problem(["firewall", "privateIp"], "is required with firewall.policyId: the hub firewall's private IP, the next hop of the route table's 0.0.0.0/0 route");
    if (!c.firewall.publicIp) problem(["firewall", "publicIp"], "is required with firewall.policyId: the hub firewall's public IP that DNATs to the router");
    if (c.firewall.publicIpCount !== undefined) problem(["firewall", "publicIpCount"], "applies to a firewall this stack creates, not to the hub's (firewall.policyId)");
    if (!c.endpoint.customDomain) problem(["endpoint", "customDomain"], "is required with a hub firewall (firewall.policyId): its public IP carries no cloudapp.azure.com name of this stack");
  } else if (c.firewall?.privateIp || c.firewall?.publicIp) {
    problem(["firewall", c.firewall.privateIp ? "privateIp" : "publicIp"], "only applies with firewall.policyId (an existing hub firewall); a stack-created firewall's IPs come from Azure");
  }
  if (c.egress === "firewall") {
    if (!c.endpoint.internalIp) {
      problem(["endpoint", "internalIp"], "is required with egress 'firewall': the router's internal load balancer IP in the node subnet, the target of the firewall's DNAT rule");
    } else if (c.network.plugin === "kubenet" && !usableInSubnet(c.network.nodeSubnetPrefix, c.endpoint.internalIp)) {
      problem(["endpoint", "internalIp"], `must be a usable address of network.nodeSubnetPrefix ${c.network.nodeSubnetPrefix} (Azure reserves the first four and the last)`);
    }
  } else if (c.endpoint.internalIp) {
    problem(["endpoint", "internalIp"], "is only used with egress 'firewall' (the router is then reached through the firewall's DNAT)");
  }
  if (c.network.plugin === "kubenet" && cidrsOverlap(c.network.podCidr, c.network.vnetAddressSpace)) {
    problem(["network", "podCidr"], `must not overlap network.vnetAddressSpace ${c.network.vnetAddressSpace}`);
  }
}

/** Node autoscaling bounds of the system pool and each GPU pool; GPU pool names. */
function poolProblems(c: ParsedStack, problem: Problem): void {
  poolScalingProblems(c.systemPool).forEach(([key, message]) => problem(["systemPool", ...key], message));

  const poolNames = new Set<string>();
  c.gpuPools.forEach((p, i) => {
    if (poolNames.has(p.name) || p.name === "system") problem(["gpuPools", i, "name"], `'${p.name}' is used twice (or is 'system'); pool names must be unique`);
    poolNames.add(p.name);
    poolScalingProblems(p).forEach(([key, message]) => problem(["gpuPools", i, ...key], message));
  });
}

/**
 * Node autoscaling of a pool, the same rule for the system pool and GPU pools: AKS's cluster
 * autoscaler needs both bounds (one alone was accepted and silently did not autoscale), the
 * lower at most the upper.
 */
function poolScalingProblems(p: { minCount?: number; maxCount?: number }): [string[], string][] {
  if ((p.minCount === undefined) !== (p.maxCount === undefined)) return [[[], "set both minCount and maxCount (the node autoscaler needs both), or neither"]];
  if (p.minCount !== undefined && p.maxCount !== undefined && p.minCount > p.maxCount) return [[["minCount"], "must be at most maxCount"]];
  return [];
}

/** TLS at the router: one source of the certificate, and a Key Vault named one way. */
function tlsProblems(tls: ParsedStack["endpoint"]["tls"], problem: Problem): void {
  if (tls?.secretName) {
    // The router's namespace is created by this stack in the same run, so a Secret created by
    // hand cannot exist before the first `pulumi up`, and the first preview has no cluster to
    // look it up in: the router pods would wait for it forever. Refused rather than half-checked.
    problem(
      ["endpoint", "tls", "secretName"],
      "is not supported: the stack creates the router's namespace, so a Secret it does not create cannot exist when the router starts. Use endpoint.tls.keyVault (certificate in Azure Key Vault) or certificate and privateKey (pulumi config set --secret --path)",
    );
  } else if (tls) {
    const fromConfig = Boolean(tls.certificate) || Boolean(tls.privateKey);
    if (fromConfig && tls.keyVault) problem(["endpoint", "tls"], "set keyVault, or certificate and privateKey, not both");
    else if (fromConfig && !(tls.certificate && tls.privateKey)) problem(["endpoint", "tls"], "certificate and privateKey go together (both as secrets)");
    else if (!fromConfig && !tls.keyVault) problem(["endpoint", "tls"], "set keyVault { id, certificateName }, or certificate and privateKey (as secrets)");
    const kv = tls.keyVault;
    if (kv?.id && (kv.name || kv.resourceGroupName)) problem(["endpoint", "tls", "keyVault"], "set id (the vault's resource ID), or the older name and resourceGroupName, not both");
    else if (kv && !kv.id && !kv.name && !kv.resourceGroupName) problem(["endpoint", "tls", "keyVault", "id"], `is required: the vault's resource ID, ${KEY_VAULT_ID_FORM} (any subscription of the tenant)`);
    else if (kv && !kv.id && !(kv.name && kv.resourceGroupName)) problem(["endpoint", "tls", "keyVault"], "name and resourceGroupName go together (a vault in the stack's subscription); prefer id, the vault's resource ID");
    else if (kv?.id) {
      const { name } = parseTopLevelId(kv.id, "vaults");
      if (!KEY_VAULT_NAME.test(name)) problem(["endpoint", "tls", "keyVault", "id"], `'${name}' ${KEY_VAULT_NAME_MESSAGE}`);
    }
  }
}

/** A private API server: only with Azure CNI, and without authorized IP ranges. */
function apiServerProblems(c: ParsedStack, problem: Problem): void {
  // Microsoft: "Secure access to the API server using authorized IP address ranges in AKS" (not
  // with private clusters); "Create a private AKS cluster": reached from the cluster's VNet and
  // its peerings, which kubenet's stack-created VNet has none of.
  if (c.apiServer.private && c.network.plugin !== "azure") {
    problem(["apiServer", "private"], "needs network.plugin 'azure': a private API server is only reachable from the cluster's VNet and networks peered with it, and kubenet's VNet is created by this stack and peered with nothing (no runner could deploy)");
  }
  if (c.apiServer.private && c.apiServer.authorizedIpRanges) {
    problem(["apiServer", "authorizedIpRanges"], "cannot be set with apiServer.private: AKS does not support authorized IP ranges on private clusters");
  }
}

/** The custom domain within its DNS zone, private DNS records within the private zones. */
function dnsProblems(c: ParsedStack, problem: Problem): void {
  if (c.endpoint.dnsZone && !c.endpoint.customDomain) problem(["endpoint", "dnsZone"], "needs endpoint.customDomain");
  if (c.endpoint.customDomain && c.endpoint.dnsZone && !c.endpoint.customDomain.endsWith(`.${c.endpoint.dnsZone.zoneName}`)) {
    problem(["endpoint", "customDomain"], `must be inside endpoint.dnsZone.zoneName '${c.endpoint.dnsZone.zoneName}'`);
  }
  c.dns.records.forEach((r, i) => {
    if (!c.dns.privateZones.includes(r.zone)) problem(["dns", "records", i, "zone"], `'${r.zone}' is not one of dns.privateZones`);
  });
}

/** An OIDC issuer needs its URLs; built-in tokens live no longer than any token may. */
function tokenIssuerProblems(c: ParsedStack, problem: Problem): void {
  if (c.tokenIssuer.type === "oidc" && (!c.tokenIssuer.issuer || !c.tokenIssuer.jwksUri)) {
    problem(["tokenIssuer"], "type 'oidc' needs issuer and jwksUri");
  }
  if (c.tokenIssuer.ttlSeconds > c.tokenIssuer.maxLifetimeSeconds) {
    problem(["tokenIssuer", "ttlSeconds"], `must be at most tokenIssuer.maxLifetimeSeconds (${c.tokenIssuer.maxLifetimeSeconds}): the router refuses longer-lived tokens`);
  }
}

/**
 * The services resolved, each problem reported: unique names, one auth mode, keys only with key
 * auth, each version checked whole (its settings over the service's), and distinct Deployment names.
 */
function resolveServices(c: ParsedStack, problem: Problem): ModelServiceConfig[] {
  const names = new Set<string>();
  const services: ModelServiceConfig[] = c.services.map((s, i) => {
    if (names.has(s.name)) problem(["services", i, "name"], `'${s.name}' is used twice; service names must be unique`);
    names.add(s.name);
    if (s.tokenAuthEnabled && s.authEnabled === true) {
      problem(["services", i, "tokenAuthEnabled"], "key auth (authEnabled) and token auth cannot both be on; set authEnabled: false");
    }
    if (s.keys && (s.tokenAuthEnabled || s.authEnabled === false)) {
      problem(["services", i, "keys"], "is only for key auth: a service with authEnabled false or tokenAuthEnabled has no keys");
    }
    const { versions: rawVersions, ...base } = s;
    if (!rawVersions) return resolveService(base, ["services", i], problem, c.gpuPools);
    // A versioned service's own settings are only its versions' defaults: each version is
    // checked whole (its settings over the service's), not the service alone.
    const versions = rawVersions.flatMap((raw, j): ModelVersionConfig[] => {
      const at = ["services", i, "versions", j];
      const { name, traffic, mirrorPercent, ...overrides } = raw;
      const misplaced = Object.keys(overrides).filter((k) => !(VERSION_SETTINGS as readonly string[]).includes(k));
      misplaced.forEach((k) =>
        problem([...at, k], k in serviceSchema.shape ? `belongs to the service, not to a version (a version sets ${VERSION_SETTINGS.join(", ")})` : "unknown key (check its spelling against the config reference)"),
      );
      if (misplaced.length) return [];
      const parsed = serviceSchema.safeParse({ ...base, ...overrides });
      if (!parsed.success) {
        // An issue in a value the version set is the version's; one it inherited is the service's.
        for (const issue of parsed.error.issues) reportIssue({ ...issue, path: [...(String(issue.path[0]) in overrides ? at : ["services", i]), ...issue.path] }, problem);
        return [];
      }
      const { versions: _none, ...settings } = parsed.data;
      return [{ ...resolveService(settings, at, problem, c.gpuPools), version: name, traffic: traffic ?? 0, mirrorPercent: mirrorPercent ?? 0 }];
    });
    splitProblems(s.name, rawVersions).forEach(([key, message]) => problem(["services", i, "versions", ...key], message));
    return { ...resolveService(base, ["services", i], () => undefined, c.gpuPools), versions };
  });
  // One Deployment and Service per version, named after service and version: 'fraud' version
  // 'blue' and a service 'fraud-blue' would share theirs.
  const objectNames = new Map<string, string>();
  services.forEach((svc, i) =>
    (svc.versions ?? [undefined]).forEach((v, j) => {
      const name = modelDeploymentName(svc.name, v?.version);
      const what = v ? `'${svc.name}' version '${v.version}'` : `service '${svc.name}'`;
      const other = objectNames.get(name);
      if (other) problem(v ? ["services", i, "versions", j, "name"] : ["services", i, "name"], `the Deployment and Service of ${what} would be named '${name}', as those of ${other}`);
      else objectNames.set(name, what);
    }),
  );
  return services;
}

/**
 * An auto-upgrade channel moves the cluster's version itself: it must not move it away from the
 * one kubernetesVersion pins (the next `pulumi up` would try to downgrade it).
 */
function upgradeProblems(kubernetesVersion: string | undefined, upgradeChannel: UpgradeChannel, problem: Problem): void {
  if (kubernetesVersion && upgradeChannel !== "none") {
    const minor = kubernetesVersion.split(".").slice(0, 2).join(".");
    if (upgradeChannel !== "patch") {
      problem(["upgrades", "channel"], `'${upgradeChannel}' moves the minor version on its own, away from kubernetesVersion '${kubernetesVersion}': use 'patch' (minor versions then move with kubernetesVersion), or remove kubernetesVersion`);
    } else if (minor !== kubernetesVersion) {
      problem(["kubernetesVersion"], `'${kubernetesVersion}' pins a patch version, which upgrades.channel 'patch' moves on its own: set the minor version ('${minor}'), or upgrades.channel 'none'`);
    }
  }
}

/**
 * One service's (or one version's) settings with defaults resolved, its problems reported at
 * `at`: auth mode, replicas, models, entry script and environment, GPU pool.
 */
function resolveService(
  s: Omit<ParsedService, "versions">,
  at: PropertyKey[],
  problem: Problem,
  gpuPools: ParsedStack["gpuPools"],
): Omit<ModelServiceConfig, "versions"> {
  const authMode: AuthMode = s.tokenAuthEnabled ? "token" : s.authEnabled === false ? "none" : "key";
  if (s.autoscaleEnabled === true && s.numReplicas !== undefined) {
    problem([...at, "numReplicas"], "cannot be set with autoscaleEnabled: true; use autoscaleMinReplicas/autoscaleMaxReplicas");
  }
  const autoscaleEnabled = s.autoscaleEnabled ?? s.numReplicas === undefined;
  if (s.autoscaleMinReplicas > s.autoscaleMaxReplicas) problem([...at, "autoscaleMinReplicas"], "must be at most autoscaleMaxReplicas");
  if (s.entryScript && !s.sourceDirectory) problem([...at, "entryScript"], "needs sourceDirectory (the project folder that contains it)");
  environmentProblems(s.entryScript, s.environment).forEach(([key, message]) => problem([...at, "environment", key], message));
  const models: ModelRef[] = s.models.map((m) => (typeof m === "string" ? { name: modelName(m), path: m, version: 1 } : m));
  const modelNames = new Set<string>();
  models.forEach((m, j) => {
    if (modelNames.has(m.name)) problem([...at, "models", j], `model name '${m.name}' is used twice in this service; give one a { name, path }`);
    modelNames.add(m.name);
  });
  if (!s.entryScript && !models.some((m) => m.path.endsWith(".onnx"))) {
    problem([...at, "entryScript"], "is required unless the service has an .onnx model (served by the built-in ONNX handler)");
  }
  let gpuPool = s.gpuPool;
  if (s.gpuCores > 0) {
    if (gpuPools.length === 0) problem([...at, "gpuCores"], "needs a GPU pool: add one under gpuPools");
    gpuPool = s.gpuPool ?? gpuPools[0]?.name;
    const poolCfg = gpuPools.find((p) => p.name === gpuPool);
    if (gpuPools.length > 0 && !poolCfg) problem([...at, "gpuPool"], `must be one of ${gpuPools.map((p) => `'${p.name}'`).join(", ")}`);
    if (poolCfg && s.gpuCores > poolCfg.gpusPerNode) problem([...at, "gpuCores"], `${s.gpuCores} GPUs do not fit on one '${poolCfg.vmSize}' node (${poolCfg.gpusPerNode} GPUs)`);
  } else if (s.gpuPool) {
    problem([...at, "gpuPool"], "is only allowed with gpuCores > 0");
  }
  if (s.gpuCores === 0 && s.gpuFallbackToCpu) problem([...at, "gpuFallbackToCpu"], "is only allowed with gpuCores > 0 (a CPU service has no GPU to fall back from)");
  const { authEnabled: _a, autoscaleEnabled: _b, numReplicas, ...rest } = s;
  return {
    ...rest,
    gpuPool,
    models,
    authMode,
    autoscaleEnabled,
    initialReplicas: autoscaleEnabled ? s.autoscaleMinReplicas : (numReplicas ?? 1),
  };
}

/** Environment keys that do not fit the entry script's language, as [key, message] pairs. */
function environmentProblems(entryScript: string | undefined, env: ServiceEnvironmentConfig): [string, string][] {
  const out: [string, string][] = [];
  const python = isPythonEntryScript(entryScript);
  const pythonOnly = ["condaFile", "pipRequirements", "pythonVersion", "python"] as const;
  if (!python) {
    for (const k of pythonOnly) if (env[k] !== undefined) out.push([k, "is only for Python entry scripts (entryScript ending in .py)"]);
  } else if (env.dependencies !== undefined) {
    out.push(["dependencies", "is a package.json for JavaScript entry scripts; a Python environment takes condaFile or pipRequirements"]);
  }
  if (env.condaFile !== undefined && env.pipRequirements !== undefined) {
    out.push(["pipRequirements", "cannot be set with condaFile; list pip packages under the conda file's `- pip:` section"]);
  }
  return out;
}

