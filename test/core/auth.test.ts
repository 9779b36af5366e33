import * as assert from "node:assert/strict";
import { bearer, generateKey, keyMatches, mintToken, verifyToken } from "../../core/auth";

describe("auth", () => {
  const keys = { primaryKey: "p".repeat(43), secondaryKey: "s".repeat(43) };
  it("accepts either key and nothing else", () => {
    assert.ok(keyMatches(keys.primaryKey, keys));
    assert.ok(keyMatches(keys.secondaryKey, keys));
    assert.ok(!keyMatches("p".repeat(42), keys));
    assert.ok(!keyMatches("", keys));
    assert.ok(!keyMatches("", { primaryKey: "", secondaryKey: "x" }), "an empty key never matches");
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
    assert.deepEqual(await verifyToken(t.accessToken, issuer, "svc", () => now + 1000), { ok: true, subject: "aks-inference-cli" });
    assert.deepEqual(await verifyToken(t.accessToken, issuer, "svc", () => now + 3_601_000), { ok: false, reason: "token expired" });
    assert.equal((await verifyToken("not.a.jwt", issuer, "svc")).ok, false);
    assert.deepEqual(await verifyToken(t.accessToken, { type: "builtin", signingKey: () => undefined }, "svc"), { ok: false, reason: "token auth is not configured (no signing key)" });
  });
});
