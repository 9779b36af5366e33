/**
 * The request router in the cluster (azureml-fe's place): one per cluster, several pods spread
 * over nodes, RBAC limited to what it reads and scales, a PodDisruptionBudget, rolling updates
 * that never drop the last ready pod, a LoadBalancer Service on the stack's static IP, TLS when
 * configured. Deployed only after the egress it needs exists (Azure ML v1's chronology).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { INTERNAL_LB_ANNOTATION, KUBE_SERVICE_HOST_FQDN_ANNOTATION, LB_IPV4_ANNOTATION } from "../../core/azure/rules";
import type { PurposeProfile } from "../../core/config/purpose";
import {
  LABELS,
  MANAGED_BY,
  ROLE_ROUTER,
  ROUTER_ENV,
  ROUTER_HOST_ANNOTATION,
  ROUTER_LEASE,
  ROUTER_NAME,
  ROUTER_PORTS,
  ROUTER_TLS_PROVIDER_CLASS,
  TOKEN_SIGNING_FIELD,
  TOKEN_SIGNING_SECRET,
  WORKLOAD_IDENTITY,
} from "../../core/contracts/naming";
import { CONTAINER_SECURITY_CONTEXT, POD_SECURITY_CONTEXT } from "./podSecurity";
import { FORMER_TYPES, token, withFormerType } from "../legacy";

export interface RouterArgs {
  provider: k8s.Provider;
  namespace: string;
  image: pulumi.Input<string>;
  /** Requests and limits of a router pod, by cluster purpose (core/config/purpose.ts). */
  resources: PurposeProfile["routerResources"];
  replicas: number;
  /** Request body limit in bytes (≤ 100 MiB). */
  maxBodyBytes: number;
  selfScaling: boolean;
  selfScalingLatencyMs: number;
  /** Longest scoring timeout of any service: in-flight requests get that long to finish on shutdown. */
  longestScoringTimeoutMs: number;
  /** The scoring host clients call (custom domain or cloudapp name, as Azure assigned it). */
  host: pulumi.Input<string>;
  /**
   * How the Service is exposed. `public`: a public load balancer on the stack's static IP.
   * `internal` (egress through a firewall): an internal load balancer on a fixed private IP that
   * the firewall DNATs its public IP to; a public one would answer through the firewall's
   * default route and its replies would be dropped (asymmetric routing).
   */
  exposure: { kind: "public"; publicIpName: pulumi.Input<string>; resourceGroup: pulumi.Input<string> } | { kind: "internal"; ip: string };
  /** TLS at the router; without it the router serves plain HTTP. */
  tls?: RouterTls;
  /** Token auth: the built-in issuer (a signing Secret is created) or an OIDC issuer. */
  token?: { type: "builtin" } | { type: "oidc"; issuer: string; jwksUri: string };
  /** Front-door limits: client connections per pod (default from the pod's open-file limit), longest token lifetime, X-Forwarded-For trust. */
  frontDoor: { maxConnections?: number; maxTokenLifetimeSeconds: number; trustForwardedFor: boolean };
  /** Resources the router must wait for (firewall rules and default route). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Where the router's certificate comes from: Pulumi secret config, stored by the stack in a
 * kubernetes.io/tls Secret; or a Key Vault certificate that the AKS Key Vault secrets provider
 * (Secrets Store CSI driver) mounts, read with the router's workload identity ("Use the Azure Key
 * Vault provider for Secrets Store CSI Driver in an Azure Kubernetes Service (AKS) cluster").
 * Either way the router only mounts what this stack creates in its namespace.
 */
export type RouterTls =
  | { source: "config"; certificate: pulumi.Input<string>; privateKey: pulumi.Input<string> }
  | { source: "keyVault"; vaultName: string; certificateName: string; tenantId: pulumi.Input<string>; clientId: pulumi.Input<string> };

/** Where the router's TLS files are mounted. */
export const ROUTER_TLS_DIR = "/etc/aks-inference/tls";
/**
 * Where the router keeps request bodies beyond their first MiB until they are complete (the root
 * filesystem is read-only), and how much they may take there together: an emptyDir of that size.
 */
export const ROUTER_SPOOL = { dir: "/var/spool/aks-inference", sizeLimit: "2Gi", bytes: 2 * 1024 ** 3 } as const;

/**
 * The Secrets Store CSI driver's `objects` parameter: the certificate read as a Key Vault
 * *secret*, which holds the private key and the certificate chain as one PEM bundle (the default
 * objectFormat), mounted as `tls.pem`.
 */
export function keyVaultObjects(certificateName: string): string {
  return ["array:", "  - |", `    objectName: ${certificateName}`, "    objectType: secret", "    objectAlias: tls.pem", ""].join("\n");
}

export class Router extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  /** Built-in token signing secret (secret output), when token auth uses the built-in issuer. */
  readonly tokenSigningKey?: pulumi.Output<string>;

  constructor(name: string, args: RouterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("Router"), name, {}, withFormerType(FORMER_TYPES.Router, opts));
    const k = { parent: this, provider: args.provider };
    const labels = { [LABELS.role]: ROLE_ROUTER, [LABELS.managedBy]: MANAGED_BY, "app.kubernetes.io/name": ROUTER_NAME };
    const ns = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: args.namespace, labels: { [LABELS.managedBy]: MANAGED_BY } } }, { ...k, dependsOn: args.dependsOn });
    this.namespace = ns.metadata.name;
    const meta = (n: string) => ({ name: n, namespace: this.namespace, labels });

    const keyVault = args.tls?.source === "keyVault" ? args.tls : undefined;
    const account = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        // With a Key Vault certificate, the CSI driver reads it with this ServiceAccount's workload identity.
        metadata: { ...meta(ROUTER_NAME), annotations: keyVault ? { [WORKLOAD_IDENTITY.clientIdAnnotation]: keyVault.clientId } : undefined },
        automountServiceAccountToken: true,
      },
      k,
    );
    // Only what the router does: watch model Services, their EndpointSlices and key Secrets;
    // scale model Deployments; hold the coordinator Lease; resize itself (self-scaling).
    const role = new k8s.rbac.v1.Role(
      `${name}-role`,
      {
        metadata: meta(ROUTER_NAME),
        rules: [
          { apiGroups: [""], resources: ["services", "secrets"], verbs: ["get", "list", "watch"] },
          { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
          { apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["get", "patch", "update"] },
          { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
          { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [ROUTER_LEASE], verbs: ["get", "update"] },
          ...(args.selfScaling ? [{ apiGroups: ["apps"], resources: ["deployments"], resourceNames: [ROUTER_NAME], verbs: ["get", "patch"] }] : []),
        ],
      },
      k,
    );
    new k8s.rbac.v1.RoleBinding(
      `${name}-rolebinding`,
      { metadata: meta(ROUTER_NAME), roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name }, subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: args.namespace }] },
      k,
    );
    if (args.selfScaling) {
      // Self-scaling only grows within free cluster capacity: it must see nodes and pod requests.
      const capacity = new k8s.rbac.v1.ClusterRole(
        `${name}-capacity`,
        { metadata: { name: `${ROUTER_NAME}-capacity`, labels }, rules: [{ apiGroups: [""], resources: ["nodes", "pods"], verbs: ["list"] }] },
        k,
      );
      new k8s.rbac.v1.ClusterRoleBinding(
        `${name}-capacity`,
        { metadata: { name: `${ROUTER_NAME}-capacity`, labels }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: capacity.metadata.name }, subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: args.namespace }] },
        k,
      );
    }

    const env: k8s.types.input.core.v1.EnvVar[] = [
      { name: ROUTER_ENV.namespace, valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: ROUTER_ENV.podName, valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: ROUTER_ENV.podIp, valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      { name: ROUTER_ENV.port, value: String(ROUTER_PORTS.http) },
      { name: ROUTER_ENV.adminPort, value: String(ROUTER_PORTS.admin) },
      { name: ROUTER_ENV.maxBodyBytes, value: String(args.maxBodyBytes) },
      { name: ROUTER_ENV.spoolDir, value: ROUTER_SPOOL.dir },
      { name: ROUTER_ENV.spoolBytes, value: String(ROUTER_SPOOL.bytes) },
      { name: ROUTER_ENV.selfScaling, value: String(args.selfScaling) },
      { name: ROUTER_ENV.selfScalingLatencyMs, value: String(args.selfScalingLatencyMs) },
      { name: ROUTER_ENV.tokenMaxLifetimeSeconds, value: String(args.frontDoor.maxTokenLifetimeSeconds) },
      { name: ROUTER_ENV.trustForwardedFor, value: String(args.frontDoor.trustForwardedFor) },
      ...(args.frontDoor.maxConnections === undefined ? [] : [{ name: ROUTER_ENV.maxConnections, value: String(args.frontDoor.maxConnections) }]),
    ];
    const volumes: k8s.types.input.core.v1.Volume[] = [{ name: "spool", emptyDir: { sizeLimit: ROUTER_SPOOL.sizeLimit } }];
    const mounts: k8s.types.input.core.v1.VolumeMount[] = [{ name: "spool", mountPath: ROUTER_SPOOL.dir }];

    if (args.tls?.source === "config") {
      const tlsSecret = new k8s.core.v1.Secret(
        `${name}-tls`,
        { metadata: meta(`${ROUTER_NAME}-tls`), type: "kubernetes.io/tls", stringData: { "tls.crt": pulumi.secret(args.tls.certificate), "tls.key": pulumi.secret(args.tls.privateKey) } },
        k,
      );
      volumes.push({ name: "tls", secret: { secretName: tlsSecret.metadata.name } });
      env.push({ name: ROUTER_ENV.tlsCertFile, value: `${ROUTER_TLS_DIR}/tls.crt` }, { name: ROUTER_ENV.tlsKeyFile, value: `${ROUTER_TLS_DIR}/tls.key` });
    } else if (keyVault) {
      // No `secretObjects`: the router reads the mounted bundle, so a synced Secret would only be
      // a second copy of the private key in etcd, readable by whatever may read Secrets here.
      const providerClass = new k8s.apiextensions.CustomResource(
        `${name}-tls`,
        {
          apiVersion: "secrets-store.csi.x-k8s.io/v1",
          kind: "SecretProviderClass",
          metadata: meta(ROUTER_TLS_PROVIDER_CLASS),
          spec: {
            provider: "azure",
            parameters: {
              usePodIdentity: "false",
              clientID: keyVault.clientId,
              keyvaultName: keyVault.vaultName,
              tenantId: keyVault.tenantId,
              objects: keyVaultObjects(keyVault.certificateName),
            },
          },
        },
        k,
      );
      volumes.push({ name: "tls", csi: { driver: "secrets-store.csi.k8s.io", readOnly: true, volumeAttributes: { secretProviderClass: providerClass.metadata.name } } });
      // The bundle holds key and certificate: Node reads each from the same PEM file.
      env.push({ name: ROUTER_ENV.tlsCertFile, value: `${ROUTER_TLS_DIR}/tls.pem` }, { name: ROUTER_ENV.tlsKeyFile, value: `${ROUTER_TLS_DIR}/tls.pem` });
    }
    if (args.tls) mounts.push({ name: "tls", mountPath: ROUTER_TLS_DIR, readOnly: true });

    if (args.token?.type === "builtin") {
      const signing = new random.RandomPassword(`${name}-token-signing`, { length: 64, special: false }, { parent: this });
      this.tokenSigningKey = pulumi.secret(signing.result);
      new k8s.core.v1.Secret(
        `${name}-token-signing`,
        { metadata: meta(TOKEN_SIGNING_SECRET), stringData: { [TOKEN_SIGNING_FIELD]: this.tokenSigningKey } },
        k,
      );
      volumes.push({ name: "token-signing", secret: { secretName: TOKEN_SIGNING_SECRET } });
      mounts.push({ name: "token-signing", mountPath: "/etc/aks-inference/token", readOnly: true });
      env.push({ name: ROUTER_ENV.tokenIssuerType, value: "builtin" }, { name: ROUTER_ENV.tokenSigningKeyFile, value: `/etc/aks-inference/token/${TOKEN_SIGNING_FIELD}` });
    } else if (args.token?.type === "oidc") {
      env.push({ name: ROUTER_ENV.tokenIssuerType, value: "oidc" }, { name: ROUTER_ENV.tokenIssuer, value: args.token.issuer }, { name: ROUTER_ENV.tokenJwksUri, value: args.token.jwksUri });
    }

    const probe = (p: string, period: number) => ({ httpGet: { path: p, port: ROUTER_PORTS.admin }, periodSeconds: period, timeoutSeconds: 2, failureThreshold: 3 });
    this.deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: meta(ROUTER_NAME),
        spec: {
          replicas: args.replicas,
          selector: { matchLabels: { [LABELS.role]: ROLE_ROUTER } },
          // Surge first, never take a pod away before its replacement is ready.
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: {
              labels,
              // Behind an application-rule firewall the router reaches the API server by its
              // *.hcp.<region>.azmk8s.io name (AKS sets KUBERNETES_SERVICE_HOST to it), not by IP.
              annotations: args.exposure.kind === "internal" ? { [KUBE_SERVICE_HOST_FQDN_ANNOTATION]: "true" } : undefined,
            },
            spec: {
              serviceAccountName: account.metadata.name,
              // Drain takes as long as the slowest scoring call, not a fixed 30 s.
              terminationGracePeriodSeconds: Math.ceil(args.longestScoringTimeoutMs / 1000) + 15,
              topologySpreadConstraints: [
                { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { [LABELS.role]: ROLE_ROUTER } } },
              ],
              securityContext: POD_SECURITY_CONTEXT,
              containers: [
                {
                  name: "router",
                  image: args.image,
                  ports: [
                    { name: "http", containerPort: ROUTER_PORTS.http },
                    { name: "admin", containerPort: ROUTER_PORTS.admin },
                  ],
                  env,
                  resources: args.resources,
                  readinessProbe: probe("/readyz", 2),
                  livenessProbe: probe("/healthz", 10),
                  // Readiness drops first; the pause lets load balancers and peers notice
                  // before the router stops accepting (SIGTERM then drains in-flight requests).
                  lifecycle: { preStop: { sleep: { seconds: 5 } } },
                  securityContext: CONTAINER_SECURITY_CONTEXT,
                  volumeMounts: mounts,
                },
              ],
              volumes,
            },
          },
        },
      },
      // Self-scaling changes replicas and CPU at run time: `pulumi up` must not undo it.
      { ...k, ignoreChanges: args.selfScaling ? ["spec.replicas", "spec.template.spec.containers[0].resources"] : [] },
    );
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-pdb`,
      { metadata: meta(ROUTER_NAME), spec: { maxUnavailable: 1, selector: { matchLabels: { [LABELS.role]: ROLE_ROUTER } } } },
      k,
    );
    this.service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: {
          ...meta(ROUTER_NAME),
          annotations:
            args.exposure.kind === "internal"
              ? { [INTERNAL_LB_ANNOTATION]: "true", [LB_IPV4_ANNOTATION]: args.exposure.ip, [ROUTER_HOST_ANNOTATION]: args.host }
              : pulumi.all([args.exposure.publicIpName, args.exposure.resourceGroup, args.host]).apply(([ip, rg, host]) => ({
                  // Bind to the stack's static IP (with its cloudapp.azure.com label), not a new one.
                  "service.beta.kubernetes.io/azure-pip-name": ip,
                  "service.beta.kubernetes.io/azure-load-balancer-resource-group": rg,
                  [ROUTER_HOST_ANNOTATION]: host,
                })),
        },
        spec: {
          type: "LoadBalancer",
          externalTrafficPolicy: "Local",
          selector: { [LABELS.role]: ROLE_ROUTER },
          ports: [{ name: "http", port: args.tls ? 443 : 80, targetPort: ROUTER_PORTS.http }],
        },
      },
      { ...k, dependsOn: [this.deployment] },
    );
    this.registerOutputs({ namespace: this.namespace });
  }
}
