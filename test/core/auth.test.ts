import * as assert from "node:assert/strict";
import { SignJWT } from "jose";
import { bearer, generateKey, keyMatches, mintToken, verifyToken } from "../../core/decisions/auth";
import { BUILTIN_TOKEN_ISSUER } from "../../core/contracts/naming";

describe("auth", () => {
  const keys = { primaryKey: "p".repeat(43), secondaryKey: "s".repeat(43) };
  it("accepts either key and nothing else", () => {
    assert.ok(keyMatches(keys.primaryKey, keys));
    assert.ok(keyMatches(keys.secondaryKey, keys));
    assert.ok(!keyMatches("p".repeat(42), keys));
    assert.ok(!keyMatches("", keys));
    assert.ok(!keyMatches("", { primaryKey: "", secondaryKey: "x" }), "an empty key never matches");
  });
  it("matches the current keys after a rotation, whether the key set is replaced or changed in place", () => {
    // The stored keys' digests are kept per key set: none may outlive the key it was made from.
    const rotating = { primaryKey: "old-primary", secondaryKey: "old-secondary" };
    assert.ok(keyMatches("old-primary", rotating));
    assert.ok(keyMatches("old-secondary", rotating));
    rotating.primaryKey = "new-primary";
    assert.ok(!keyMatches("old-primary", rotating), "a primary key changed in place is no longer accepted");
    assert.ok(keyMatches("new-primary", rotating));
    rotating.secondaryKey = "new-secondary";
    assert.ok(!keyMatches("old-secondary", rotating), "a secondary key changed in place is no longer accepted");
    assert.ok(keyMatches("new-secondary", rotating));
    rotating.primaryKey = "";
    assert.ok(!keyMatches("new-primary", rotating) && !keyMatches("", rotating), "an emptied key matches nothing");
    const replaced = { primaryKey: "new-primary", secondaryKey: "third" };
    assert.ok(keyMatches("new-primary", replaced) && !keyMatches("new-secondary", replaced), "a new key set is read as it is");
  });
  it("generates distinct 256-bit keys", () => {
    const a = generateKey();
    assert.equal(Buffer.from(a, "base64url").length, 32);
    assert.notEqual(a, generateKey());
  });
  it("reads bearer credentials", () => {
    assert.equal(bearer("Bearer abc"), "abc");
    assert.equal(bearer("bearer abc "), "abc");
    assert.equal(bearer("Basic abc"), undefined);
    assert.equal(bearer(undefined), undefined);
  });
  it("mints tokens with refresh_by halfway to expiry and verifies them", async () => {
    const now = 1_800_000_000_000;
    const t = await mintToken({ signingKey: "k".repeat(32), audience: "svc", ttlSeconds: 3600, now: () => now });
    assert.equal(t.expiresOn - t.refreshBy, 1800);
    const issuer = { type: "builtin" as const, signingKey: () => "k".repeat(32) };
    assert.deepEqual(await verifyToken(t.accessToken, issuer, "svc", { now: () => now + 1000 }), { ok: true, subject: "aks-inference-cli" });
    assert.deepEqual(await verifyToken(t.accessToken, issuer, "svc", { now: () => now + 3_630_000 }), { ok: true, subject: "aks-inference-cli" }, "within the 60 s clock skew");
    assert.deepEqual(await verifyToken(t.accessToken, issuer, "svc", { now: () => now + 3_661_000 }), { ok: false, reason: "token expired" });
    assert.equal((await verifyToken("not.a.jwt", issuer, "svc")).ok, false);
    assert.deepEqual(await verifyToken(t.accessToken, { type: "builtin", signingKey: () => undefined }, "svc"), { ok: false, reason: "token auth is not configured (no signing key)" });
  });

  describe("tokens that would live too long", () => {
    const now = 1_800_000_000;
    const secret = new TextEncoder().encode("k".repeat(32));
    const issuer = { type: "builtin" as const, signingKey: () => "k".repeat(32) };
    const sign = (claims: { iat?: number; exp?: number }) => {
      const jwt = new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setIssuer(BUILTIN_TOKEN_ISSUER).setAudience("svc");
      if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
      if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
      return jwt.sign(secret);
    };
    const check = async (claims: { iat?: number; exp?: number }, maxLifetimeSeconds?: number) => verifyToken(await sign(claims), issuer, "svc", { now: () => now * 1000, maxLifetimeSeconds });

    it("refuses a token without exp", async () => {
      assert.deepEqual(await check({ iat: now }), { ok: false, reason: "token exp claim is not accepted" });
    });
    it("refuses a lifetime above the maximum (a day by default, or as configured)", async () => {
      assert.equal((await check({ iat: now, exp: now + 24 * 3600 })).ok, true);
      assert.deepEqual(await check({ iat: now, exp: now + 24 * 3600 + 1 }), { ok: false, reason: "token lifetime exceeds the accepted maximum of 86400 s" });
      assert.deepEqual(await check({ iat: now, exp: now + 7200 }, 3600), { ok: false, reason: "token lifetime exceeds the accepted maximum of 3600 s" });
      assert.deepEqual(await check({ exp: now + 10 * 24 * 3600 }), { ok: false, reason: "token lifetime exceeds the accepted maximum of 86400 s" }, "without iat, counted from now");
    });
    it("refuses an iat in the future beyond the clock skew", async () => {
      assert.equal((await check({ iat: now + 30, exp: now + 3600 })).ok, true);
      assert.equal((await check({ iat: now + 600, exp: now + 3600 })).ok, false);
    });
  });
});
