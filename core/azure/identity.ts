/**
 * Who runs `pulumi up`, as far as a role assignment must say. Azure refuses a role assignment
 * whose principalType does not match the principal (UnmatchedPrincipalType), and the SDK's default
 * is "User". Config `deployer.principalType` says it; unset, the deployer's own ARM access token
 * does, from its payload claims (Microsoft: "Access token claims reference",
 * https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference):
 * the optional claim `idtyp` is "app" for an app-only token and "user" for a user's; without it,
 * `scp` (the delegated scopes) is only present in a token issued to a signed-in user.
 */

export type { DeployerPrincipalType } from "../config/enums";

/** The principal type of the token's subject: User or ServicePrincipal (a token is never a group's). */
export function principalTypeFromToken(jwt: string): "User" | "ServicePrincipal" {
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8"));
  } catch {
    // Not a JWT (an opaque or offline token): CI's service principal or managed identity is the
    // deployer that cannot sign in interactively to fix a wrong guess, so it gets the safe answer;
    // a person can set deployer.principalType.
    return "ServicePrincipal";
  }
  if (!claims || typeof claims !== "object" || Array.isArray(claims)) return "ServicePrincipal";
  const { idtyp, scp } = claims as { idtyp?: unknown; scp?: unknown };
  if (idtyp === "app") return "ServicePrincipal";
  if (idtyp === "user") return "User";
  return scp !== undefined ? "User" : "ServicePrincipal";
}
