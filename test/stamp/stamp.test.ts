/**
 * `npm run stamp` as users run it: the script in a child process (arguments, dry run, refusal
 * output, the policy pack over the rendered stack) and its secret copy. `renderStack`'s own rules
 * are tested directly in test/core/config/stamp.test.ts.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { copySecrets } from "../../scripts/stamp";
import { REPO_ROOT } from "../support/stacks";
import { NEU_SUBNET, PROD_SPECIFIC } from "../support/stamp";

const run = promisify(execFile);
const stamp = (args: string[]) =>
  run(process.execPath, ["--require", require.resolve("tsx/cjs"), "scripts/stamp.ts", ...args], { cwd: REPO_ROOT }).catch((err: { code: number; stdout: string; stderr: string }) => err);
const NEU_ARGS = [
  ["--set", `network.subnetId=${NEU_SUBNET}`],
  ["--set", "network.routeTableId=/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-neu/providers/Microsoft.Network/routeTables/rt-aks-neu"],
  ["--set", "firewall.policyId=/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-hub-neu/providers/Microsoft.Network/firewallPolicies/fwp-hub-neu"],
  ["--set", "firewall.privateIp=10.1.1.4"],
  ["--set", "firewall.publicIp=203.0.113.20"],
  ["--set", "dns.resolverVnetId=/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-hub-neu/providers/Microsoft.Network/virtualNetworks/vnet-hub-neu"],
  ["--keep", "endpoint.customDomain"],
  ["--keep", "endpoint.internalIp"],
  ["--keep", "endpoint.tls.keyVault"],
  ["--keep", "dns.records"],
  ["--keep", "tokenIssuer.issuer"],
  ["--keep", "tokenIssuer.jwksUri"],
  ["--set", "tokenIssuer.audience=api://aks-inference-prodneu"],
].flat();

describe("npm run stamp", function () {
  this.timeout(60_000);

  it("a dry run prints the file; a stack that would violate policy is refused", async () => {
    const ok = await stamp(["--env", "qa", "--region", "northeurope", "--purpose", "DevTest", "--dry-run"]);
    assert.ok(!("code" in ok) || ok.code === 0, ok.stderr);
    assert.match(ok.stdout, /azure-native:location: northeurope/);
    const refused = await stamp(["--env", "qa", "--region", "northeurope", "--purpose", "FastProd", "--dry-run"]);
    assert.ok("code" in refused && refused.code === 1, "non-zero exit");
    assert.match(refused.stderr, /tls-outside-devtest/);
  });

  it("`--env prodneu --region northeurope --from prod --dry-run` is refused with every prod-specific value listed; nothing is written", async () => {
    const refused = await stamp(["--env", "prodneu", "--region", "northeurope", "--from", "prod", "--dry-run"]);
    assert.ok("code" in refused && refused.code === 1, "non-zero exit");
    const listed = [...refused.stderr.matchAll(/^ {2}(\S+) /gm)].map((m) => m[1]);
    assert.deepEqual(listed, PROD_SPECIFIC);
    assert.match(refused.stderr, /Pulumi\.prod\.yaml holds 14 values specific to 'prod'; give each for 'prodneu' \(--set <key>=<value>\), keep prod's \(--keep <key>\)/);
    assert.match(refused.stderr, /aks-inference:endpoint\.customDomain +the scoring endpoint's domain; prod: ml\.contoso\.com/);
    assert.equal(existsSync(path.join(REPO_ROOT, "Pulumi.prodneu.yaml")), false);
  });

  it("succeeds once every value is set or kept, with the new values in the file", async () => {
    const ok = await stamp(["--env", "prodneu", "--region", "northeurope", "--from", "prod", "--dry-run", ...NEU_ARGS]);
    assert.ok(!("code" in ok) || ok.code === 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`subnetId: ${NEU_SUBNET}`));
    assert.doesNotMatch(ok.stdout, /vnet-prod|rg-hub-prod|aks-inference-prod\b/, "no prod network, hub or audience left");
    assert.match(ok.stdout, /customDomain: ml\.contoso\.com/, "kept on purpose");
    assert.match(ok.stdout, /azure-native:location: northeurope/);
  });

  it("a secret given with --set (issue 26, item 13) is refused with the command to set it; it is printed nowhere and nothing is written", async () => {
    const refused = await stamp([
      "--env", "qa", "--region", "northeurope", "--purpose", "DevTest", "--dry-run",
      "--set", "endpoint.tls.certificate=-----BEGIN CERTIFICATE-----CERTMATERIAL",
      "--set", "endpoint.tls.privateKey=-----BEGIN PRIVATE KEY-----KEYMATERIAL",
    ]);
    assert.ok("code" in refused && refused.code === 1, "non-zero exit");
    assert.match(refused.stderr, /^--set aks-inference:endpoint\.tls\.certificate: it is a secret/m);
    assert.match(refused.stderr, /`pulumi config set --secret --path 'aks-inference:endpoint\.tls\.privateKey' --stack qa < <file>`/);
    assert.doesNotMatch(refused.stdout + refused.stderr, /CERTMATERIAL|KEYMATERIAL/);
    assert.equal(existsSync(path.join(REPO_ROOT, "Pulumi.qa.yaml")), false);
  });

  it("names the keys the new stack leaves to ESC", async () => {
    const ok = await stamp(["--env", "qa", "--region", "northeurope", "--esc", "contoso/aks/qa", "--set", "network.plugin=azure", "--set", "egress=firewall", "--dry-run"]);
    assert.ok(!("code" in ok) || ok.code === 0, ok.stderr);
    assert.match(ok.stdout, /^environment:\n {2}- contoso\/aks\/qa$/m);
    assert.match(ok.stderr, /^aks-inference:network\.subnetId: from ESC environment contoso\/aks\/qa \(unknown offline\)$/m);
  });
});

describe("stamping: the template's secrets re-encrypted for the new stack", () => {
  const keys = ["aks-inference:endpoint.tls.certificate", "aks-inference:endpoint.tls.privateKey"];

  it("one `pulumi config cp --path` per secret, from the template stack to the new one: no plaintext on any command line", async () => {
    const calls: string[][] = [];
    const result = await copySecrets(async (args) => void calls.push(args), "prod", "prodneu", keys);
    assert.deepEqual(result, { copied: keys, failed: [] });
    assert.deepEqual(calls, keys.map((key) => ["config", "cp", "--path", key, "--stack", "prod", "--dest", "prodneu", "--non-interactive"]));
  });

  it("a secret the CLI cannot decrypt (template's provider unavailable) is returned with the CLI's reason, to set by hand", async () => {
    const refuse = async () => {
      throw Object.assign(new Error("Command failed"), { stderr: "warning: A new version\nerror: could not create a decrypter: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables\n" });
    };
    const result = await copySecrets(refuse, "prod", "prodneu", keys);
    assert.deepEqual(result.copied, []);
    assert.deepEqual(result.failed.map((f) => f.key), keys);
    assert.match(result.failed[0].reason, /^error: could not create a decrypter: passphrase must be set/);
  });
});
