/**
 * Keys from a Kubernetes Secret, and tokens: the claims a minted token carries, and the reason
 * each refused token is given (the router answers 401 with it).
 */
import * as assert from "node:assert/strict";
import { SignJWT, createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from "jose";
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, TOKEN_CLOCK_SKEW_SECONDS, bearer, keyMatches, keysFromSecretData, mintToken, oidcIssuer, verifyToken } from "../../core/decisions/auth";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

describe("auth: keys and tokens in detail", () => {
  it("decodes both keys from a Secret's base64 data, or none when one is missing", () => {
    assert.deepEqual(keysFromSecretData({ primaryKey: b64("p-key"), secondaryKey: b64("s-key") }), { primaryKey: "p-key", secondaryKey: "s-key" });
    assert.equal(keysFromSecretData({ primaryKey: b64("p-key") }), undefined);
    assert.equal(keysFromSecretData({ secondaryKey: b64("s-key") }), undefined);
    assert.equal(keysFromSecretData(undefined), undefined);
    assert.deepEqual(keysFromSecretData({ primaryKey: "", secondaryKey: "" }), { primaryKey: "", secondaryKey: "" }, "empty keys are read (and never match)");
  });

  it("matches a key only when it is not empty", () => {
    assert.equal(keyMatches("", { primaryKey: "", secondaryKey: "" }), false);
    assert.equal(keyMatches("x", { primaryKey: "x", secondaryKey: "" }), true);
    assert.equal(keyMatches("y", { primaryKey: "x", secondaryKey: "" }), false);
  });

  it("reads a bearer token with any whitespace, and refuses anything else", () => {
    assert.equal(bearer("Bearer \t abc.def  "), "abc.def");
    assert.equal(bearer("BEARER abc"), "abc");
    assert.equal(bearer("Bearer"), undefined);
    assert.equal(bearer("Bearer a b"), undefined);
    assert.equal(bearer("xBearer abc"), undefined);
    assert.equal(bearer(""), undefined);
  });

  it("mints HS256 tokens from the built-in issuer for the CLI, an hour by default", async () => {
    const now = 1_800_000_000_500;
    const t = await mintToken({ signingKey: "k".repeat(32), audience: "fraud", now: () => now });
    assert.deepEqual(decodeProtectedHeader(t.accessToken), { alg: "HS256", typ: "JWT" });
    assert.deepEqual(decodeJwt(t.accessToken), { iss: "aks-inference", aud: "fraud", sub: "aks-inference-cli", iat: 1_800_000_000, exp: 1_800_003_600 });
    assert.deepEqual([t.refreshBy, t.expiresOn], [1_800_001_800, 1_800_003_600]);
    const custom = await mintToken({ signingKey: new TextEncoder().encode("k".repeat(32)), audience: "a", subject: "ci", issuer: "me", ttlSeconds: 61, now: () => now });
    assert.deepEqual(decodeJwt(custom.accessToken), { iss: "me", aud: "a", sub: "ci", iat: 1_800_000_000, exp: 1_800_000_061 });
    assert.equal(custom.refreshBy, 1_800_000_030);
    const issuer = { type: "builtin" as const, signingKey: () => "k".repeat(32), issuer: "me" };
    assert.deepEqual(await verifyToken(custom.accessToken, issuer, "a", { now: () => now }), { ok: true, subject: "ci" });
  });

  describe("refusals", () => {
    const now = 1_800_000_000;
    const key = "k".repeat(32);
    const issuer = { type: "builtin" as const, signingKey: () => key };
    const sign = (claims: { iss?: string; aud?: string; iat?: number; exp?: number }, signingKey = key, alg = "HS256") =>
      new SignJWT({})
        .setProtectedHeader({ alg })
        .setIssuer(claims.iss ?? "aks-inference")
        .setAudience(claims.aud ?? "svc")
        .setIssuedAt(claims.iat ?? now)
        .setExpirationTime(claims.exp ?? now + 3600)
        .sign(new TextEncoder().encode(signingKey));
    const verify = async (token: string | Promise<string>, opts = {}) => verifyToken(await token, issuer, "svc", { now: () => now * 1000, ...opts });

    it("another audience or issuer, a wrong signature, a malformed token, another algorithm", async () => {
      assert.deepEqual(await verify(sign({ aud: "other" })), { ok: false, reason: "token aud claim is not accepted" });
      assert.deepEqual(await verify(sign({ iss: "someone" })), { ok: false, reason: "token iss claim is not accepted" });
      assert.deepEqual(await verify(sign({}, "x".repeat(32))), { ok: false, reason: "token signature is invalid" });
      assert.deepEqual(await verify("not.a.jwt"), { ok: false, reason: "token is malformed or not verifiable" });
      assert.deepEqual(await verify(sign({}, "k".repeat(64), "HS512")), { ok: false, reason: "token is malformed or not verifiable" });
    });

    it("tolerates 60 s of clock skew on iat and exp, not more", async () => {
      assert.equal(TOKEN_CLOCK_SKEW_SECONDS, 60);
      assert.equal(DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, 86_400);
      assert.equal((await verify(sign({ iat: now + 60, exp: now + 3600 }))).ok, true);
      assert.deepEqual(await verify(sign({ iat: now + 61, exp: now + 3600 })), { ok: false, reason: "token iat claim is in the future" });
      assert.equal((await verify(sign({ iat: now - 3600, exp: now - 59 }))).ok, true);
      assert.deepEqual(await verify(sign({ iat: now - 3600, exp: now - 60 })), { ok: false, reason: "token expired" });
    });

    it("a lifetime of exactly the maximum is accepted", async () => {
      assert.equal((await verify(sign({ iat: now, exp: now + 100 }), { maxLifetimeSeconds: 100 })).ok, true);
      assert.equal((await verify(sign({ iat: now, exp: now + 101 }), { maxLifetimeSeconds: 100 })).ok, false);
    });
  });

  it("an OIDC issuer verifies against its JWKS URI and its own issuer name", async () => {
    const issuer = oidcIssuer("https://login.example/tenant/v2.0", "http://127.0.0.1:9/keys");
    assert.equal(issuer.type, "oidc");
    assert.equal(issuer.type === "oidc" && issuer.issuer, "https://login.example/tenant/v2.0");
    // The JWKS cannot be fetched (nothing listens): refused as not verifiable, not thrown.
    const token = await new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "1" }).setIssuer("x").setAudience("svc").setExpirationTime("1h").sign(new TextEncoder().encode("k".repeat(32))).catch(() => "e30.e30.sig");
    assert.deepEqual(await verifyToken(token, issuer, "svc"), { ok: false, reason: "token is malformed or not verifiable" });
  });

  it("an OIDC issuer's token is checked for its issuer, audience and expiry against the issuer's keys", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256" };
    const issuer = { type: "oidc" as const, issuer: "https://login.example/t/v2.0", jwks: createLocalJWKSet({ keys: [jwk] }) };
    const sign = (iss: string, aud: string) => new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuer(iss).setAudience(aud).setSubject("app").setIssuedAt().setExpirationTime("1h").sign(privateKey);
    assert.deepEqual(await verifyToken(await sign("https://login.example/t/v2.0", "svc"), issuer, "svc"), { ok: true, subject: "app" });
    assert.deepEqual(await verifyToken(await sign("https://login.example/t/v2.0", "other"), issuer, "svc"), { ok: false, reason: "token aud claim is not accepted" });
    assert.deepEqual(await verifyToken(await sign("https://evil.example", "svc"), issuer, "svc"), { ok: false, reason: "token iss claim is not accepted" });
  });

  it("a failure that is not the token's (the signing key cannot be read) is thrown, not answered as a bad token", async () => {
    const issuer = { type: "builtin" as const, signingKey: (): string => { throw new TypeError("key file unreadable"); } };
    await assert.rejects(verifyToken("a.b.c", issuer, "svc"), { name: "TypeError", message: "key file unreadable" });
  });
});
