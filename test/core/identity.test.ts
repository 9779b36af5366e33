import * as assert from "node:assert/strict";
import { principalTypeFromToken } from "../../core/azure/identity";

/** An access token as Microsoft Entra ID shapes it: base64url header and payload, a signature we never check. */
function jwt(payload: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ typ: "JWT", alg: "RS256", kid: "k1" })}.${part({ aud: "https://management.azure.com", iss: "https://sts.windows.net/t/", oid: "o", tid: "t", ...payload })}.c2lnbmF0dXJl`;
}

describe("deployer principal type from the ARM access token's claims", () => {
  it("idtyp 'app' is a service principal, 'user' a user (optional claim idtyp)", () => {
    assert.equal(principalTypeFromToken(jwt({ idtyp: "app", appid: "a" })), "ServicePrincipal");
    assert.equal(principalTypeFromToken(jwt({ idtyp: "user", scp: "user_impersonation" })), "User");
    assert.equal(principalTypeFromToken(jwt({ idtyp: "app", scp: "user_impersonation" })), "ServicePrincipal", "idtyp decides before scp");
  });

  it("without idtyp: a delegated scope (scp) means a user signed in, else the token is an app's", () => {
    assert.equal(principalTypeFromToken(jwt({ scp: "user_impersonation", upn: "a@contoso.com" })), "User");
    assert.equal(principalTypeFromToken(jwt({ appid: "a", roles: ["x"] })), "ServicePrincipal");
    assert.equal(principalTypeFromToken(jwt({ idtyp: "device" })), "ServicePrincipal", "an unknown idtyp falls through to scp");
  });

  it("an undecodable token is a service principal", () => {
    for (const token of ["", "offline-token", "a.b.c", `x.${Buffer.from("[1]").toString("base64url")}.y`, `x.${Buffer.from("null").toString("base64url")}.y`]) {
      assert.equal(principalTypeFromToken(token), "ServicePrincipal", token);
    }
  });
});
