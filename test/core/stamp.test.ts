/**
 * Stamping as a pure function: `renderStack` over the shipped stack files, no script and no
 * child process, so these run in the fast unit suite (and under mutation testing). The script's
 * own behaviour (arguments, dry run, policy pack, secret copy) is tested in test/stamp/.
 */
import * as assert from "node:assert/strict";
import { ConfigError } from "../../core/config";
import { StampError, renderStack } from "../../core/stamp";
import { NEU_SUBNET, PROD_NEU, PROD_SPECIFIC, stackText as template } from "../support/stamp";

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StampError, `a StampError, got ${String(err)}`);
    return err.message;
  }
  assert.fail("the stamp was not refused");
};

describe("stamping a new environment", () => {
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
});

describe("stamping: values specific to the template's environment", () => {
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
});
