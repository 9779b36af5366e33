/** Token auth against an OIDC issuer's JWKS (as Microsoft Entra ID publishes it), served on 127.0.0.1. */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
type KeyLike = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
import { oidcIssuer } from "../../core/decisions/auth";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import { MemoryKeyStore, call, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";

describe("router: OIDC token auth", function () {
  this.timeout(20_000);
  const issuer = "https://login.example.test/tenant/v2.0";
  let jwks: http.Server;
  let router: RouterHandle;
  let upstream: Upstream;
  let sign: (claims: { aud: string; iss?: string; expSeconds?: number }, key?: KeyLike) => Promise<string>;
  let otherKey: KeyLike;

  before(async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    otherKey = (await generateKeyPair("ES256")).privateKey;
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    jwks = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", r));
    sign = (c, key = privateKey) =>
      new SignJWT({})
        .setProtectedHeader({ alg: "ES256", kid: "k1" })
        .setIssuer(c.iss ?? issuer)
        .setAudience(c.aud)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + (c.expSeconds ?? 600))
        .sign(key);
    upstream = await startUpstream("m");
    const discovery = new LocalDiscovery();
    discovery.upsertService(settings("tok", { authMode: "token", tokenAudience: "api://aks-inference" }));
    discovery.addReplica("tok", { id: "m", url: upstream.url });
    router = await routerWith(discovery, new MemoryKeyStore(), { tokenIssuer: oidcIssuer(issuer, `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys`) });
  });
  after(async () => {
    await router.close();
    await upstream.close();
    jwks.close();
  });

  const score = (token: string) => call(`${router.url}/api/v1/service/tok/score`, { key: token });

  it("accepts a token signed by a key of the issuer's JWKS for the configured audience", async () => {
    assert.equal((await score(await sign({ aud: "api://aks-inference" }))).status, 200);
  });

  it("rejects another signer, another issuer, another audience and an expired token", async () => {
    assert.match((await score(await sign({ aud: "api://aks-inference" }, otherKey))).json.error!.message, /signature/);
    assert.match((await score(await sign({ aud: "api://aks-inference", iss: "https://evil.example.test" }))).json.error!.message, /iss/);
    assert.match((await score(await sign({ aud: "api://other" }))).json.error!.message, /aud/);
    assert.match((await score(await sign({ aud: "api://aks-inference", expSeconds: -60 }))).json.error!.message, /expired/);
  });
});
