/**
 * Who runs `pulumi up`, as far as a role assignment must say. Azure refuses a role assignment
 * whose principalType does not match the principal (UnmatchedPrincipalType), and the SDK's default
 * is "User". The deployer's token names the application it was issued to: Microsoft's own public
 * clients (Azure CLI, Azure PowerShell) mean a person signed in; any other application ID is the
 * deployer's own service principal or managed identity (CI's federated credential).
 */

/** Microsoft's first-party public client IDs that people sign in through. */
export const USER_SIGN_IN_CLIENT_IDS: Readonly<Record<string, string>> = {
  "04b07795-8ddb-461a-bbee-02f9e1bf7b46": "Azure CLI",
  "1950a258-227b-4e31-a9cf-717495945fc2": "Azure PowerShell",
};

export function deployerPrincipalType(clientId: string): "User" | "ServicePrincipal" {
  return USER_SIGN_IN_CLIENT_IDS[clientId.toLowerCase()] ? "User" : "ServicePrincipal";
}
