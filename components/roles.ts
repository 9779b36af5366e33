/**
 * Azure built-in role assignments. Role definition IDs are Azure's fixed GUIDs; the assignment
 * name is derived from scope, role and principal so that re-running never creates duplicates.
 */
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";

export const BUILTIN_ROLES = {
  acrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
  networkContributor: "4d97b98b-1d4f-4787-a291-c67834d212e7",
} as const;

export function roleDefinitionId(subscriptionId: pulumi.Input<string>, role: keyof typeof BUILTIN_ROLES): pulumi.Output<string> {
  return pulumi.interpolate`/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${BUILTIN_ROLES[role]}`;
}

export function assignRole(
  name: string,
  args: { subscriptionId: pulumi.Input<string>; role: keyof typeof BUILTIN_ROLES; principalId: pulumi.Input<string>; scope: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): authorization.RoleAssignment {
  return new authorization.RoleAssignment(
    name,
    {
      principalId: args.principalId,
      // Without it Azure may look the principal up before a new identity has replicated.
      principalType: "ServicePrincipal",
      roleDefinitionId: roleDefinitionId(args.subscriptionId, args.role),
      scope: args.scope,
    },
    opts,
  );
}
