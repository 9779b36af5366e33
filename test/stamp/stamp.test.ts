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

/** What prod's environment-specific values become in a North Europe copy. */
const PROD_NEU = {
  set: [
    "network.subnetId=/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-neu/providers/Microsoft.Network/virtualNetworks/vnet-neu/subnets/snet-aks",
    "network.routeTableId=/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-neu/providers/Microsoft.Network/routeTables/rt-aks-neu",
    "endpoint.customDomain=ml-neu.contoso.com",
    'dns.records=[{"zone":"internal.contoso.com","name":"ml","type":"CNAME","value":"ml-neu.contoso.com"}]',
    "tokenIssuer.audience=api://aks-inference-prod-neu",
  ],
  keep: ["firewall", "endpoint.internalIp", "endpoint.tls.keyVault", "tokenIssuer.issuer", "tokenIssuer.jwksUri"],
};

describe("stamping a new environment", function () {
  this.timeout(60_000);

  it("renders a valid stack file with the new region and purpose, keeping the template's services", () => {
    const { text, config } = renderStack(template("prod"), { env: "prod-neu", region: "northeurope", purpose: "DenseProd", from: "prod", ...PROD_NEU });
    assert.equal(config.location, "northeurope");
    assert.equal(config.clusterPurpose, "DenseProd");
    assert.equal(config.clusterName, "aksinf-prod-neu", "names follow the environment");
    assert.equal(config.registryName, "aksinfprodneuacr");
    assert.equal(config.tokenIssuer.region, "northeurope", "the token issuer moves with the cluster");
    assert.deepEqual(config.services.map((s) => s.name), ["regressor", "regressor-gpu", "echo"]);
    assert.match(text, /# Prod environment: FastProd on Azure CNI/, "the template's comments are kept");
  });

  it("keeps the template's purpose when none is given", () => {
    assert.equal(renderStack(template("prod"), { env: "prod-neu", region: "northeurope", from: "prod", ...PROD_NEU }).config.clusterPurpose, "FastProd");
  });

  it("refuses a name the template pinned unless it is set or unset; a globally unique one cannot be kept", () => {
    const pinned = `${template("dev")}\n  aks-inference:registryName: devregistry01\n`;
    assert.throws(() => renderStack(pinned, { env: "qa", region: "westeurope", from: "dev" }), /aks-inference:registryName +pinned ACR name, unique across Azure; dev: devregistry01/);
    assert.throws(
      () => renderStack(pinned, { env: "qa", region: "westeurope", keep: ["registryName"] }),
      (e: Error) => e instanceof StampError && /--keep aks-inference:registryName: the name is unique across Azure/.test(e.message),
    );
    assert.equal(renderStack(pinned, { env: "qa", region: "westeurope", unset: ["registryName"] }).config.registryName, "aksinfqaacr", "derived from the new env");
    assert.equal(renderStack(pinned, { env: "qa", region: "westeurope", set: ["registryName=qaregistry01"] }).config.registryName, "qaregistry01");
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
