/**
 * Azure built-in role assignments. Role definition IDs are Azure's fixed GUIDs; the assignment
 * name is the UUID v5 of (scope, role, principal) (core/azure/rules.ts), so re-running, importing
 * or re-creating a stack after its state was lost finds the same assignment instead of failing
 * with RoleAssignmentExists.
 */
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import { roleAssignmentNameFor } from "../core/azure/rules";
import type { DeployerPrincipalType } from "../core/azure/identity";

export const BUILTIN_ROLES = {
  acrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
  networkContributor: "4d97b98b-1d4f-4787-a291-c67834d212e7",
  storageBlobDataReader: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
  storageBlobDataContributor: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  keyVaultSecretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
  /** Kubernetes API with Azure RBAC (Microsoft: "Azure built-in roles", Containers): every object, every namespace. */
  aksRbacClusterAdmin: "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
  /** Read and write most objects, Secrets included (not Roles or RoleBindings): at a namespace's scope, that namespace only. */
  aksRbacWriter: "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb",
  /** listClusterUserCredential: fetch the (Entra, kubelogin) user kubeconfig; grants nothing inside the cluster. */
  aksClusterUser: "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
} as const;

export function roleDefinitionId(subscriptionId: pulumi.Input<string>, role: keyof typeof BUILTIN_ROLES): pulumi.Output<string> {
  return pulumi.interpolate`/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${BUILTIN_ROLES[role]}`;
}

export function assignRole(
  name: string,
  args: {
    subscriptionId: pulumi.Input<string>;
    role: keyof typeof BUILTIN_ROLES;
    principalId: pulumi.Input<string>;
    scope: pulumi.Input<string>;
    /** Default ServicePrincipal (managed identities); the deployer may be a User or Group (core/azure/identity.ts). */
    principalType?: pulumi.Input<DeployerPrincipalType>;
  },
  opts: pulumi.CustomResourceOptions,
): authorization.RoleAssignment {
  const definition = roleDefinitionId(args.subscriptionId, args.role);
  return new authorization.RoleAssignment(
    name,
    {
      // An input like any other: known at preview when scope and principal are (on a first
      // preview a new identity's principal is not, and the name shows as unknown).
      roleAssignmentName: pulumi.all([args.scope, definition, args.principalId]).apply(([scope, role, principal]) => roleAssignmentNameFor(scope, role, principal)),
      principalId: args.principalId,
      // Without it Azure may look the principal up before a new identity has replicated.
      principalType: args.principalType ?? "ServicePrincipal",
      roleDefinitionId: definition,
      scope: args.scope,
    },
    opts,
  );
}
