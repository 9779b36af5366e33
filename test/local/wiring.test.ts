/** Local mode end to end: its router reaches replicas with the per-run token (direct callers get 403), and the status page shows restarts. */
import * as assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseStackConfig } from "../../core/config";
import { REPLICA_TOKEN_HEADER } from "../../core/contracts/replicaToken";
import { startLocal } from "../../local/main";
import type { StatusJson } from "../../router/status";
import { tempDir } from "../support/tmp";

describe("local mode wiring: replica token and restarts on the status page", function () {
  this.timeout(60_000);
  it("router reaches replicas with the token, direct callers get 403, the page shows restarts", async () => {
    const repo = tempDir("wire");
    mkdirSync(path.join(repo, "hello"));
    writeFileSync(path.join(repo, "hello", "score.js"), "exports.init = async () => {};\nexports.run = async (i) => ({ got: i });\n");
    const config = parseStackConfig({ "azure-native:location": "westeurope", "aks-inference:services": [{ name: "hello", sourceDirectory: "hello", entryScript: "score.js", numReplicas: 1, authEnabled: false }] }, "t");
    const local = await startLocal({ stack: "t", port: 0, dir: tempDir("wire-state"), repoRoot: repo, config, logLevel: "silent" });
    try {
      const deadline = Date.now() + 30_000;
      while (local.status("hello").state !== "Healthy" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const s = local.status("hello");
      assert.equal(s.state, "Healthy");
      const via = await fetch(`${local.router.url}/api/v1/service/hello/score`, { method: "POST", headers: { "content-type": "application/json", [REPLICA_TOKEN_HEADER]: "bogus" }, body: '{"x":1}' });
      assert.equal(via.status, 200);
      assert.deepEqual(await via.json(), { got: { x: 1 } });
      const direct = await fetch(`${s.replicas[0].url}/score`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"x":1}' });
      assert.equal(direct.status, 403);
      await new Promise((r) => setTimeout(r, 1_200));
      const status = (await (await fetch(`${local.router.adminUrl}/status.json`)).json()) as StatusJson;
      assert.equal(status.services.find((x) => x.name === "hello")?.restarts, 0, JSON.stringify(status.services));
    } finally {
      await local.stop();
    }
  });
});
