/**
 * Image pushes authenticate to ACR with the deployer's Entra token exchanged for an ACR refresh
 * token. The exchange is a provider function (`command:local:run`): the program hands it the
 * login server, the tenant and the token, and never calls ACR itself (under mocks, the mocks
 * answer it). The script the function runs is exercised here for real, against a local HTTPS
 * endpoint standing in for ACR's `/oauth2/exchange`.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { acrPassword } from "../../components/k8s/images";
import { runOffline } from "../../scripts/offline";
import { stackConfig } from "../support/stacks";
import { tempDir } from "../support/tmp";

interface RunArgs {
  interpreter: string[];
  command: string;
  environment: Record<string, string>;
  stdin: string;
  logging: string;
}

/** The arguments the program passes to `command:local:run` for `acrPassword`, and its answer. */
async function exchangeCall(): Promise<{ args: RunArgs; password: string; secret: boolean }> {
  let args: RunArgs | undefined;
  let password = "";
  let secret = false;
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }),
      call: (a) => {
        if (a.token === "command:local:run") args = a.inputs as RunArgs;
        return { stdout: "acr-refresh-token", stderr: "" };
      },
    },
    "aks-inference",
    "dev",
    false,
  );
  class Parent extends pulumi.ComponentResource {
    constructor() {
      super("test:index:Parent", "parent");
    }
  }
  const out = acrPassword("aksinfdevacr.azurecr.io", "tenant-id", pulumi.secret("entra-token"), new Parent());
  password = await new Promise<string>((resolve) => out.apply(resolve));
  secret = await pulumi.isSecret(out);
  await pulumi.runtime.disconnect();
  assert.ok(args, "command:local:run was invoked");
  return { args, password, secret };
}

describe("ACR token exchange", () => {
  it("is a provider function: the program passes login server, tenant and token, and keeps the answer secret", async () => {
    const { args, password, secret } = await exchangeCall();
    assert.deepEqual(args.environment, { ACR_LOGIN_SERVER: "aksinfdevacr.azurecr.io", ACR_TENANT_ID: "tenant-id" });
    assert.equal(args.stdin, "entra-token", "the token on stdin, never on a command line");
    assert.ok(!args.command.includes("entra-token"));
    assert.equal(args.logging, "none", "the answer is the secret: not in the engine's log");
    assert.deepEqual(args.interpreter, [process.execPath, "-e"]);
    assert.equal(password, "acr-refresh-token");
    assert.equal(secret, true);
  });

  it("is asked once per environment when a stack is evaluated", async () => {
    const exchanges: string[] = [];
    await runOffline(stackConfig("dev"), { preview: false, onInvoke: (token, args) => token === "command:local:run" && exchanges.push(String((args.environment as Record<string, string>).ACR_LOGIN_SERVER ?? "")) });
    assert.deepEqual(exchanges.filter(Boolean), ["aksinfdevacr.azurecr.io"]);
  });

  describe("the script the function runs", () => {
    let server: https.Server;
    let port = 0;
    const seen: { url: string; body: string }[] = [];
    before(async () => {
      const dir = tempDir("acr-tls-");
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", path.join(dir, "k"), "-out", path.join(dir, "c")], { stdio: "ignore" });
      server = https.createServer({ key: readFileSync(path.join(dir, "k")), cert: readFileSync(path.join(dir, "c")) }, (req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
          seen.push({ url: req.url ?? "", body });
          const form = new URLSearchParams(body);
          if (form.get("access_token") === "entra-token") res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ refresh_token: "acr-refresh-token" }));
          else res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED" }] }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(() => server.close());

    const run = async (token: string) => {
      const { args } = await exchangeCall();
      // As the command provider runs it: interpreter + command, environment, stdin. Not
      // spawnSync: the endpoint is served by this process.
      const child = spawn(args.interpreter[0], [...args.interpreter.slice(1), args.command], {
        timeout: 30_000,
        env: { ...process.env, ACR_LOGIN_SERVER: `127.0.0.1:${port}`, ACR_TENANT_ID: "tenant-id", NODE_TLS_REJECT_UNAUTHORIZED: "0" },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.stdin.end(token);
      const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
      return { status, stdout, stderr };
    };

    it("posts the Entra token to /oauth2/exchange and prints the refresh token alone", async () => {
      const r = await run("entra-token\n");
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "acr-refresh-token");
      const form = new URLSearchParams(seen.at(-1)!.body);
      assert.equal(seen.at(-1)!.url, "/oauth2/exchange");
      assert.deepEqual(Object.fromEntries(form), { grant_type: "access_token", service: `127.0.0.1:${port}`, tenant: "tenant-id", access_token: "entra-token" });
    });

    it("fails with the registry and status, and prints no token", async () => {
      const r = await run("stale-token");
      assert.equal(r.status, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, new RegExp(`ACR token exchange with 127\\.0\\.0\\.1:${port} failed: 401`));
      assert.ok(!r.stderr.includes("stale-token"));
    });
  });
});
