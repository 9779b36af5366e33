/**
 * Phase 3 of an environment: what runs in the cluster, in Azure ML v1's chronology. The images,
 * the router (with its TLS certificate), the model pods' workload identity and the NetworkPolicies
 * they wait for, Azure Monitor, and then the model services.
 */
import * as pulumi from "@pulumi/pulumi";
import { keyVaultName, keyVaultOf, versionsOf } from "../../core/config";
import { DEFAULT_SCORING_TIMEOUT_MS, MODEL_SERVICE_ACCOUNT, ROUTER_NAME } from "../../core/contracts/naming";
import { routerPayloadLimitBytes } from "../../core/decisions/payloadLimit";
import { GpuPoolVerification } from "../k8s/gpuVerification";
import { Images, acrPassword } from "../k8s/images";
import { ModelService } from "../k8s/modelService";
import { NetworkPolicies } from "../k8s/networkPolicy";
import { PrometheusScrape } from "../k8s/prometheusScrape";
import { Router, type RouterTls } from "../k8s/routerDeployment";
import { Monitoring } from "../monitoring";
import { assignRole } from "../roles";
import { WorkloadIdentity } from "../workloadIdentity";
import type { EnvironmentContext } from "./context";
import type { NetworkPhase } from "./network";
import type { PlatformPhase } from "./platform";

export interface InClusterPhase {
  images: Images;
  services: ModelService[];
}

export function createInCluster(ctx: EnvironmentContext, network: NetworkPhase, platform: PlatformPhase): InClusterPhase {
  const { cfg, child, at, location, tags, subscriptionId, tenantId } = ctx;
  const { firewall, endpoint, host } = network;
  const { cluster, registry, storage, devicePlugin, appInsights } = platform;
  const resourceGroupName = ctx.group.name;

  const images = new Images(
    child("images"),
    {
      projectRoot: ctx.projectRoot,
      loginServer: registry.loginServer,
      registryPassword: acrPassword(registry.loginServer, tenantId, ctx.armToken, ctx.environment),
      routerImage: cfg.router.image,
    },
    at("Images"),
  );
  // TLS: from secret config (the router stores it in a Secret), or a Key Vault certificate the
  // router's own workload identity may read, and nothing else in that vault.
  const tlsConfig = cfg.endpoint.tls;
  let routerTls: RouterTls | undefined;
  const routerTlsAccess: pulumi.Resource[] = [];
  if (tlsConfig?.keyVault) {
    const vault = tlsConfig.keyVault;
    const identity = new WorkloadIdentity(
      child("router-identity"),
      { resourceGroupName, location, tags, oidcIssuerUrl: cluster.oidcIssuerUrl, namespace: cfg.namespace, serviceAccount: ROUTER_NAME },
      at("WorkloadIdentity"),
    );
    // The vault by its resource ID, in whichever subscription the platform team keeps it (the
    // older name/resourceGroupName form: the stack's). The role is defined in that subscription.
    const vaultRef = subscriptionId.apply((s) => keyVaultOf(vault, s));
    const certificateSecret = pulumi.interpolate`${vaultRef.id}/secrets/${vault.certificateName}`;
    routerTlsAccess.push(
      identity.federatedCredential,
      assignRole(child("router-identity-certificate"), { subscriptionId: vaultRef.subscriptionId, role: "keyVaultSecretsUser", principalId: identity.principalId, scope: certificateSecret }, at()),
    );
    // The CSI driver's SecretProviderClass names the vault and the tenant (the deployer's: a
    // subscription of another tenant cannot hold a vault the cluster's identities sign in to).
    routerTls = { source: "keyVault", vaultName: keyVaultName(vault), certificateName: vault.certificateName, tenantId, clientId: identity.clientId };
  } else if (tlsConfig?.certificate && tlsConfig.privateKey) {
    routerTls = { source: "config", certificate: pulumi.secret(tlsConfig.certificate), privateKey: pulumi.secret(tlsConfig.privateKey) };
  }
  const usesToken = cfg.services.some((s) => s.authMode === "token");
  const router = new Router(
    child("router"),
    {
      provider: cluster.provider,
      namespace: cfg.namespace,
      image: images.routerImage,
      resources: ctx.profile.routerResources,
      replicas: cfg.router.replicas,
      maxBodyBytes: routerPayloadLimitBytes(cfg.router.payloadLimitMb),
      selfScaling: cfg.router.selfScaling,
      selfScalingLatencyMs: cfg.router.selfScalingLatencyThresholdMs,
      frontDoor: { maxConnections: cfg.router.maxConnections, maxTokenLifetimeSeconds: cfg.tokenIssuer.maxLifetimeSeconds, trustForwardedFor: cfg.router.trustForwardedFor },
      longestScoringTimeoutMs: Math.max(DEFAULT_SCORING_TIMEOUT_MS, ...cfg.services.map((s) => s.scoringTimeoutMs)),
      host,
      exposure: firewall || !endpoint.ipName ? { kind: "internal", ip: cfg.endpoint.internalIp ?? "" } : { kind: "public", publicIpName: endpoint.ipName, resourceGroup: endpoint.resourceGroupName },
      tls: routerTls,
      token: !usesToken ? undefined : cfg.tokenIssuer.type === "oidc" ? { type: "oidc", issuer: cfg.tokenIssuer.issuer ?? "", jwksUri: cfg.tokenIssuer.jwksUri ?? "" } : { type: "builtin" },
      // Egress to the API server, MCR and ACR must exist before the router deploys, the AcrPull
      // grant before any image is pulled, and the certificate's federation and grant before the
      // CSI driver mounts it.
      dependsOn: [...(firewall?.egressReady ?? []), registry.acrPull, ...routerTlsAccess],
    },
    at("Router"),
  );
  // Model pods reach blob storage as one workload identity: read packages and models, write
  // collected data, each grant on its container only. No account key exists to hand out.
  const modelIdentity = new WorkloadIdentity(
    child("model-identity"),
    {
      resourceGroupName,
      location,
      tags,
      oidcIssuerUrl: cluster.oidcIssuerUrl,
      namespace: cfg.namespace,
      serviceAccount: MODEL_SERVICE_ACCOUNT,
      kubernetes: { provider: cluster.provider, namespace: router.namespace },
    },
    at("WorkloadIdentity"),
  );
  // Only router pods may open a model pod's scoring port (and the router's admin port); model
  // pods start only once that is in force.
  const networkPolicies = new NetworkPolicies(child("network-policies"), { provider: cluster.provider, namespace: router.namespace, prometheusScrape: cfg.monitoring.prometheus }, at("NetworkPolicies"));
  // Managed Prometheus scrapes every router pod's admin /metrics (the policy above admits its scraper).
  if (cfg.monitoring.prometheus) new PrometheusScrape(child("prometheus-scrape"), { provider: cluster.provider, namespace: router.namespace }, { parent: ctx.environment });
  const modelBlobAccess = storage.grantBlobData(child("model-identity"), modelIdentity.principalId, { packages: "read", models: "read", modelData: "write" });
  // Each GPU pool proves it can run a GPU container (device plugin, driver) before its services.
  const verifications = new Map(
    (devicePlugin ? cfg.gpuPools.filter((p) => p.verifyOnDeploy) : []).map((p) => [
      p.name,
      new GpuPoolVerification(
        child(`gpu-verify-${p.name}`),
        {
          provider: cluster.provider,
          namespace: router.namespace,
          poolName: p.name,
          vmSize: p.vmSize,
          count: p.count,
          minCount: p.minCount,
          dependsOn: devicePlugin ? [devicePlugin.daemonSet] : [],
        },
        at("GpuPoolVerification"),
      ),
    ]),
  );
  // Azure Monitor (config `monitoring`, per service `appInsightsEnabled`): what the cluster's
  // add-ons report to, the alert rules, and Application Insights' connection string in a Secret
  // the model pods of those services read. Nothing when all of it is off.
  const monitoring =
    cfg.monitoring.prometheus || cfg.monitoring.containerInsights || appInsights
      ? new Monitoring(
          child("monitoring"),
          {
            resourceGroupName,
            location,
            subscriptionId,
            clusterName: cfg.clusterName,
            clusterId: cluster.cluster.id,
            prometheus: cfg.monitoring.prometheus,
            grafana: cfg.monitoring.grafana,
            containerInsights: cfg.monitoring.containerInsights ? { logAnalyticsWorkspaceId: cluster.logAnalyticsWorkspaceId! } : undefined,
            appInsights: appInsights ? { logAnalyticsWorkspaceId: cluster.logAnalyticsWorkspaceId!, provider: cluster.provider, namespace: router.namespace } : undefined,
            tags,
          },
          { parent: ctx.environment },
        )
      : undefined;
  const services = cfg.services.map(
    (svc) =>
      new ModelService(
        child(`svc-${svc.name}`),
        {
          service: svc,
          stack: cfg,
          zonal: ctx.profile.zones.length > 0,
          provider: cluster.provider,
          namespace: router.namespace,
          // One image per distinct environment: versions sharing one share it.
          images: Object.fromEntries(versionsOf(svc).map((v) => [v.version, images.environmentImage(v)])),
          projectRoot: ctx.projectRoot,
          storage,
          serviceAccountName: modelIdentity.serviceAccount!.metadata.name,
          appInsightsSecretName: svc.appInsightsEnabled ? monitoring?.appInsightsSecretName : undefined,
          host,
          // Model pods need ACR and blob egress (covered by the firewall rules the router waits
          // for) and their identity's federation and blob roles, and are only reachable once the
          // router watches for them.
          dependsOn: [
            router.deployment,
            modelIdentity.federatedCredential,
            ...modelBlobAccess,
            ...networkPolicies.policies,
            ...(svc.gpuPool && verifications.has(svc.gpuPool) ? [verifications.get(svc.gpuPool)!.job] : []),
          ],
        },
        at("ModelService"),
      ),
  );
  return { images, services };
}
