import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { ConfigError } from "../../core/config";
import { StampError, renderStack } from "../../core/stamp";
import { REPO_ROOT } from "../support/stacks";

const template = (stack: string) => readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8");
const run = promisify(execFile);

describe("stamping a new environment", function () {
  this.timeout(60_000);

  it("renders a valid stack file with the new region and purpose, keeping the template's services", () => {
    const { text, config } = renderStack(template("prod"), { env: "prod-neu", region: "northeurope", purpose: "DenseProd" });
    assert.equal(config.location, "northeurope");
    assert.equal(config.clusterPurpose, "DenseProd");
    assert.equal(config.clusterName, "aksinf-prod-neu", "names follow the environment");
    assert.equal(config.registryName, "aksinfprodneuacr");
    assert.equal(config.tokenIssuer.region, "northeurope", "the token issuer moves with the cluster");
    assert.deepEqual(config.services.map((s) => s.name), ["regressor", "regressor-gpu", "echo"]);
    assert.match(text, /# Prod environment: FastProd on Azure CNI/, "the template's comments are kept");
  });

  it("clears names the template pinned, so environments never collide", () => {
    const pinned = `${template("dev")}\n  aks-inference:registryName: devregistry01\n`;
    const { config } = renderStack(pinned, { env: "qa", region: "westeurope", purpose: "DevTest" });
    assert.equal(config.registryName, "aksinfqaacr");
  });

  it("names the bad argument", () => {
    assert.throws(() => renderStack(template("dev"), { env: "QA_1", region: "westeurope", purpose: "DevTest" }), (e: Error) => e instanceof StampError && /--env 'QA_1'/.test(e.message));
    assert.throws(() => renderStack(template("dev"), { env: "qa", region: "West Europe", purpose: "DevTest" }), /--region 'West Europe'/);
    assert.throws(() => renderStack(template("dev"), { env: "qa", region: "westeurope", purpose: "Prod" as "DevTest" }), /--purpose 'Prod': must be one of DevTest, FastProd, DenseProd/);
  });

  it("validates the rendered config with the stack's own rules", () => {
    const broken = template("dev").replace("plugin: kubenet", "plugin: azure");
    assert.throws(() => renderStack(broken, { env: "qa", region: "westeurope", purpose: "DevTest" }), (e: Error) => e instanceof ConfigError && /network\.subnetId: is required/.test(e.message));
  });

  it("runs as a script: a dry run prints the file; a stack that would violate policy is refused", async () => {
    const ok = await run(process.execPath, ["--require", require.resolve("tsx/cjs"), "scripts/stamp.ts", "--env", "qa", "--region", "northeurope", "--purpose", "DevTest", "--dry-run"], { cwd: REPO_ROOT });
    assert.match(ok.stdout, /azure-native:location: northeurope/);
    const refused = await run(process.execPath, ["--require", require.resolve("tsx/cjs"), "scripts/stamp.ts", "--env", "qa", "--region", "northeurope", "--purpose", "FastProd", "--dry-run"], { cwd: REPO_ROOT }).catch(
      (err: { code: number; stderr: string }) => err,
    );
    assert.ok("code" in refused && refused.code === 1, "non-zero exit");
    assert.match((refused as { stderr: string }).stderr, /tls-outside-devtest/);
  });
});
