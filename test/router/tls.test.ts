/** TLS termination at the router with a certificate from config (here a throw-away self-signed one). */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Agent, request } from "undici";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import { MemoryKeyStore, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";
import { tempDir } from "../support/tmp";

describe("router: TLS termination", function () {
  this.timeout(20_000);
  let router: RouterHandle;
  let upstream: Upstream;
  let cert: string;
  before(async () => {
    const dir = tempDir("tls");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", path.join(dir, "tls.key"), "-out", path.join(dir, "tls.crt")], { stdio: "ignore" });
    cert = readFileSync(path.join(dir, "tls.crt"), "utf8");
    upstream = await startUpstream("m");
    const discovery = new LocalDiscovery();
    discovery.upsertService(settings("svc", { authMode: "none" }));
    discovery.addReplica("svc", { id: "m", url: upstream.url });
    router = await routerWith(discovery, new MemoryKeyStore(), { tls: { cert, key: readFileSync(path.join(dir, "tls.key")) } });
  });
  after(async () => {
    await router.close();
    await upstream.close();
  });

  it("serves HTTPS with the configured certificate and forwards to the replica", async () => {
    assert.match(router.url, /^https:\/\//);
    const res = await request(`${router.url}/api/v1/service/svc/score`, { method: "POST", body: "{}", dispatcher: new Agent({ connect: { ca: cert } }) });
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as { path: string }).path, "/score");
  });

  it("refuses plain HTTP on the TLS port", async () => {
    const res = await request(router.url.replace("https:", "http:") + "/healthz").catch((err: Error) => err);
    assert.ok(res instanceof Error || res.statusCode >= 400, "plain HTTP must not be served");
  });
});
