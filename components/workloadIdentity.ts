/**
 * An AKS workload identity ("Use Microsoft Entra Workload ID with Azure Kubernetes Service
 * (AKS)"): a user-assigned managed identity whose federated credential trusts the tokens of one
 * Kubernetes ServiceAccount, issued by the cluster's OIDC issuer. Pods running as that
 * ServiceAccount get Entra tokens for the identity with no secret anywhere; what they may do is
 * what the identity is granted (role assignments made by the caller, on the narrowest scope).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import { LABELS, MANAGED_BY, WORKLOAD_IDENTITY, serviceAccountSubject } from "../core/contracts/naming";
import { FORMER_TYPES, token, withFormerType } from "./legacy";

export interface WorkloadIdentityArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  tags: Record<string, string>;
  /** The cluster's OIDC issuer URL (`oidcIssuerProfile.issuerURL`). */
  oidcIssuerUrl: pulumi.Input<string>;
  /** Namespace and name of the ServiceAccount the identity trusts. */
  namespace: string;
  serviceAccount: string;
  /**
   * Create that ServiceAccount, annotated with the identity's client ID, through this provider
   * (`namespace` is the created namespace's name, so the ServiceAccount waits for it). Omit when
   * another component owns the ServiceAccount and annotates it with `clientId`.
   */
  kubernetes?: { provider: k8s.Provider; namespace: pulumi.Input<string> };
}

export class WorkloadIdentity extends pulumi.ComponentResource {
  readonly clientId: pulumi.Output<string>;
  readonly principalId: pulumi.Output<string>;
  /** `system:serviceaccount:<namespace>:<name>`: the only token subject the identity accepts. */
  readonly subject: string;
  readonly federatedCredential: managedidentity.FederatedIdentityCredential;
  readonly serviceAccount?: k8s.core.v1.ServiceAccount;

  constructor(name: string, args: WorkloadIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("WorkloadIdentity"), name, {}, withFormerType(FORMER_TYPES.WorkloadIdentity, opts));
    const identity = new managedidentity.UserAssignedIdentity(
      name,
      { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags },
      { parent: this },
    );
    this.clientId = identity.clientId;
    this.principalId = identity.principalId;
    this.subject = serviceAccountSubject(args.namespace, args.serviceAccount);
    this.federatedCredential = new managedidentity.FederatedIdentityCredential(
      `${name}-federated`,
      {
        resourceGroupName: args.resourceGroupName,
        resourceName: identity.name,
        federatedIdentityCredentialResourceName: args.serviceAccount,
        issuer: args.oidcIssuerUrl,
        subject: this.subject,
        audiences: [WORKLOAD_IDENTITY.audience],
      },
      { parent: this },
    );
    if (args.kubernetes) {
      this.serviceAccount = new k8s.core.v1.ServiceAccount(
        `${name}-sa`,
        {
          metadata: {
            name: args.serviceAccount,
            namespace: args.kubernetes.namespace,
            labels: { [LABELS.managedBy]: MANAGED_BY },
            annotations: { [WORKLOAD_IDENTITY.clientIdAnnotation]: this.clientId },
          },
          // The pods read blob storage, not the Kubernetes API.
          automountServiceAccountToken: false,
        },
        { parent: this, provider: args.kubernetes.provider },
      );
    }
    this.registerOutputs({ clientId: this.clientId, principalId: this.principalId });
  }
}
