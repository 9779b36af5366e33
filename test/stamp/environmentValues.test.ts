import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { ConfigError } from "../../core/config";
import { StampError, renderStack } from "../../core/stamp";
import { copySecrets } from "../../scripts/stamp";
import { REPO_ROOT } from "../support/stacks";

const template = (stack: string) => readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8");
const run = promisify(execFile);
const stamp = (args: string[]) =>
  run(process.execPath, ["--require", require.resolve("tsx/cjs"), "scripts/stamp.ts", ...args], { cwd: REPO_ROOT }).catch((err: { code: number; stdout: string; stderr: string }) => err);
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StampError, `a StampError, got ${String(err)}`);
    return err.message;
  }
  assert.fail("the stamp was not refused");
};

/** Prod's values specific to its environment, as the refusal lists them. */
const PROD_SPECIFIC = [
  "aks-inference:network.subnetId",
  "aks-inference:network.routeTableId",
  "aks-inference:firewall.policyId",
  "aks-inference:firewall.privateIp",
  "aks-inference:firewall.publicIp",
  "aks-inference:endpoint.customDomain",
  "aks-inference:endpoint.internalIp",
  "aks-inference:endpoint.tls.keyVault.name",
  "aks-inference:endpoint.tls.keyVault.resourceGroupName",
  "aks-inference:endpoint.tls.keyVault.certificateName",
  "aks-inference:dns.records",
  "aks-inference:tokenIssuer.issuer",
  "aks-inference:tokenIssuer.jwksUri",
  "aks-inference:tokenIssuer.audience",
];
const NEU_SUBNET = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-neu/providers/Microsoft.Network/virtualNetworks/vnet-neu/subnets/snet-aks";
const NEU_ARGS = [
  ["--set", `network.subnetId=${NEU_SUBNET}`],
  ["--set", "network.routeTableId=/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-neu/providers/Microsoft.Network/routeTables/rt-aks-neu"],
  ["--set", "firewall.policyId=/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-hub-neu/providers/Microsoft.Network/firewallPolicies/fwp-hub-neu"],
  ["--set", "firewall.privateIp=10.1.1.4"],
  ["--set", "firewall.publicIp=203.0.113.20"],
  ["--keep", "endpoint.customDomain"],
  ["--keep", "endpoint.internalIp"],
  ["--keep", "endpoint.tls.keyVault"],
  ["--keep", "dns.records"],
  ["--keep", "tokenIssuer.issuer"],
  ["--keep", "tokenIssuer.jwksUri"],
  ["--set", "tokenIssuer.audience=api://aks-inference-prodneu"],
].flat();

describe("stamping: values specific to the template's environment", function () {
  this.timeout(60_000);

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

  it("one missing value is enough to refuse, and only it is listed", () => {
    const message = refusal(() =>
      renderStack(template("prod"), {
        env: "prodneu",
        region: "northeurope",
        from: "prod",
        set: [`network.subnetId=${NEU_SUBNET}`],
        keep: PROD_SPECIFIC.filter((k) => !/subnetId|audience/.test(k)),
      }),
    );
    assert.deepEqual([...message.matchAll(/^ {2}(\S+) /gm)].map((m) => m[1]), ["aks-inference:tokenIssuer.audience"]);
  });

  it("--keep of an object keeps its leaves; --keep of a key with nothing specific is a mistake", () => {
    const { config } = renderStack(template("prod"), { env: "prodneu", region: "northeurope", from: "prod", keep: PROD_SPECIFIC.map((k) => k.replace(/^(aks-inference:firewall)\..*$/, "$1")) });
    assert.equal(config.firewall?.kind === "hub" && config.firewall.privateIp, "10.0.1.4");
    assert.match(refusal(() => renderStack(template("prod"), { env: "prodneu", region: "northeurope", from: "prod", keep: ["services"] })), /--keep aks-inference:services: Pulumi\.prod\.yaml has no environment-specific value there/);
    assert.match(refusal(() => renderStack(template("dev"), { env: "qa", region: "northeurope", unset: ["endpoint.customDomain"] })), /--unset aks-inference:endpoint\.customDomain: Pulumi\.template\.yaml does not set it/);
    assert.match(refusal(() => renderStack(template("dev"), { env: "qa", region: "northeurope", set: ["subnetId"] })), /--set 'subnetId': must be <key>=<value>/);
    assert.match(refusal(() => renderStack(template("dev"), { env: "qa", region: "northeurope", set: ["azure-native:location=eastus"] })), /the region is given with --region/);
  });

  it("--set values are decoded as config (numbers, JSON lists; a string where the template has one) and validated", () => {
    const { config, text } = renderStack(template("dev"), {
      env: "qa",
      region: "northeurope",
      set: ["systemPool.minCount=2", "systemPool.maxCount=5", 'dns.privateZones=["internal.contoso.com"]', 'kubernetesVersion="1.34"'],
    });
    assert.deepEqual([config.systemPool.minCount, config.systemPool.maxCount], [2, 5]);
    assert.equal(config.kubernetesVersion, "1.34");
    assert.equal(renderStack(template("prod"), { env: "prodneu", region: "northeurope", from: "prod", keep: PROD_SPECIFIC, set: ["kubernetesVersion=1.34"] }).config.kubernetesVersion, "1.34");
    assert.deepEqual(config.dns.privateZones, ["internal.contoso.com"]);
    assert.match(text, /minCount: 2\n/);
    assert.throws(() => renderStack(template("dev"), { env: "qa", region: "northeurope", set: ["network.plugin=azure"] }), (e: Error) => e instanceof ConfigError && /network\.subnetId: is required/.test(e.message));
  });

  it("secrets are listed to set, never copied as ciphertext, and cannot be --set in plain text", () => {
    const withSecrets = template("dev").replace(
      "  aks-inference:egress: loadBalancer\n",
      "  aks-inference:egress: loadBalancer\n  aks-inference:endpoint:\n    tls:\n      certificate:\n        secure: v1:Y2VydA==\n      privateKey:\n        secure: v1:a2V5\n",
    );
    const { text, config, secretsToSet } = renderStack(withSecrets, { env: "qa", region: "northeurope" });
    assert.deepEqual(secretsToSet, ["aks-inference:endpoint.tls.certificate", "aks-inference:endpoint.tls.privateKey"]);
    assert.doesNotMatch(text, /secure:|v1:Y2VydA==|v1:a2V5/);
    assert.ok(config.endpoint.tls, "validated as the new stack will be once they are set");
    const replaced = renderStack(withSecrets, { env: "qa", region: "northeurope", set: ['endpoint.tls={"keyVault":{"name":"kv-qa","resourceGroupName":"rg-qa","certificateName":"ml-qa"}}'] });
    assert.deepEqual(replaced.secretsToSet, [], "secrets inside a replaced value are not asked for");
    assert.equal(replaced.config.endpoint.tls?.keyVault?.name, "kv-qa");
    const plain = withSecrets.replace("\n        secure: v1:Y2VydA==", " CERT").replace("\n        secure: v1:a2V5", " KEY");
    assert.match(refusal(() => renderStack(plain, { env: "qa", region: "northeurope" })), /endpoint\.tls\.certificate .*template: CERT\n.*endpoint\.tls\.privateKey .*template: KEY$/, "a certificate in plain text is still the template's");
    assert.match(refusal(() => renderStack(withSecrets, { env: "qa", region: "northeurope", set: ["endpoint.tls.privateKey=-----BEGIN"] })), /it is a secret in Pulumi\.template\.yaml; set it after stamping with `pulumi config set --secret --path 'aks-inference:endpoint\.tls\.privateKey' --stack qa`/);
  });
});

describe("stamping: Pulumi ESC environments", () => {
  const escTemplate = `environment:\n  - contoso/aks/prod\n${template("dev").replace("plugin: kubenet", "plugin: azure")}`;

  it("the template's ESC imports are environment-specific: refused unless --esc gives the new one, or --keep environment", () => {
    assert.match(refusal(() => renderStack(escTemplate, { env: "qa", region: "northeurope" })), /^ {2}environment +ESC environments the template imports; template: \["contoso\/aks\/prod"\] \(--esc <org\/project\/env> to import others\)$/m);
    const replaced = renderStack(escTemplate, { env: "qa", region: "northeurope", esc: ["contoso/aks/qa"] });
    assert.match(replaced.text, /^environment:\n {2}- contoso\/aks\/qa\n/m);
    assert.doesNotMatch(replaced.text, /contoso\/aks\/prod/);
    const kept = renderStack(escTemplate, { env: "qa", region: "northeurope", keep: ["environment"], esc: ["contoso/aks/qa"] });
    assert.match(kept.text, /^environment:\n {2}- contoso\/aks\/prod\n {2}- contoso\/aks\/qa\n/m);
  });

  it("a key the new stack leaves to ESC is reported unknown, not missing; without ESC it is missing", () => {
    const { fromEsc } = renderStack(escTemplate, { env: "qa", region: "northeurope", esc: ["contoso/aks/qa"] });
    assert.deepEqual(fromEsc, [{ key: "aks-inference:network.subnetId", environments: ["contoso/aks/qa"] }]);
    assert.throws(() => renderStack(escTemplate, { env: "qa", region: "northeurope", unset: ["environment"] }), (e: Error) => e instanceof ConfigError && /network\.subnetId: is required/.test(e.message));
  });

  it("--esc attaches an environment to a template without one; a bad name is refused", () => {
    assert.match(renderStack(template("dev"), { env: "qa", region: "northeurope", esc: ["contoso/aks/qa"] }).text, /^environment:\n {2}- contoso\/aks\/qa\n/m);
    assert.match(refusal(() => renderStack(template("dev"), { env: "qa", region: "northeurope", esc: ["not an env"] })), /--esc 'not an env': must name an ESC environment as <org>\/<project>\/<environment>/);
  });

  it("runs as a script: names the keys left to ESC", async () => {
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
