/**
 * Stamping as a pure function: `renderStack` over the shipped stack files, no script and no
 * child process, so these run in the fast unit suite (and under mutation testing). The script's
 * own behaviour (arguments, dry run, policy pack, secret copy) is tested in test/stamp/.
 */
import * as assert from "node:assert/strict";
import { ConfigError } from "../../core/config";
import { ENVIRONMENT_SPECIFIC, SCHEMA_SECRETS, StampError, renderStack } from "../../core/config/stamp";
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
  it("--set values are decoded as config (numbers, JSON lists; a string where the template or the schema has one) and validated", () => {
    const { config, text } = renderStack(template("dev"), {
      env: "qa",
      region: "northeurope",
      set: ["systemPool.minCount=2", "systemPool.maxCount=5", 'dns.privateZones=["internal.contoso.com"]', 'kubernetesVersion="1.34"'],
    });
    assert.deepEqual([config.systemPool.minCount, config.systemPool.maxCount], [2, 5]);
    assert.equal(config.kubernetesVersion, "1.34");
    assert.equal(renderStack(template("prod"), { env: "prodneu", region: "northeurope", from: "prod", keep: PROD_SPECIFIC, set: ["kubernetesVersion=1.34"] }).config.kubernetesVersion, "1.34");
    // A key the template does not hold, which the schema types as a string: still a string.
    assert.equal(renderStack(template("dev"), { env: "qa", region: "northeurope", set: ["kubernetesVersion=1.36"] }).config.kubernetesVersion, "1.36");
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
    assert.match(refusal(() => renderStack(withSecrets, { env: "qa", region: "northeurope", set: ["endpoint.tls.privateKey=-----BEGIN"] })), /^--set aks-inference:endpoint\.tls\.privateKey: it is a secret in Pulumi\.template\.yaml; --set would write it in plain text into Pulumi\.qa\.yaml\. Set it once the stack exists: `pulumi config set --secret --path 'aks-inference:endpoint\.tls\.privateKey' --stack qa < <file>`/);
  });
});

describe("stamping: secrets of the config schema are never given on the command line", () => {
  const dev = template("dev");
  const qa = { env: "qa", region: "northeurope" };
  const refusedSecret = (key: string) =>
    new RegExp(
      `^--set aks-inference:${key.replace(/\./g, "\\.")}: it is a secret \\(the stack reads it only as one\\); --set would write it in plain text into Pulumi\\.qa\\.yaml\\. Set it once the stack exists: \`pulumi config set --secret --path 'aks-inference:${key.replace(/\./g, "\\.")}' --stack qa < <file>\` \\(without a value on the command line the CLI prompts for it or reads it from standard input\\), or from an ESC environment the stack imports \\(--esc\\) that holds it as a secret \\(fn::secret\\)$`,
      "m",
    );

  it("--set endpoint.tls.privateKey is refused even when the template has no TLS at all, and nothing holds the value", () => {
    const message = refusal(() => renderStack(dev, { ...qa, set: ["endpoint.tls.privateKey=-----BEGIN PRIVATE KEY-----MIIEv"] }));
    assert.match(message, refusedSecret("endpoint.tls.privateKey"));
    assert.doesNotMatch(message, /MIIEv/, "the error does not repeat the secret");
    assert.match(refusal(() => renderStack(dev, { ...qa, set: ["endpoint.tls.certificate=-----BEGIN CERTIFICATE-----"] })), refusedSecret("endpoint.tls.certificate"));
  });

  it("a secret inside an object given whole is refused too, naming each secret in it", () => {
    const both = refusal(() => renderStack(dev, { ...qa, set: ['endpoint.tls={"certificate":"C","privateKey":"K"}'] }));
    assert.match(both, refusedSecret("endpoint.tls.certificate"));
    assert.match(both, refusedSecret("endpoint.tls.privateKey"));
    assert.equal(both.split("\n").length, 2, "one line each");
    assert.match(refusal(() => renderStack(dev, { ...qa, set: ['endpoint={"customDomain":"ml-qa.contoso.com","tls":{"privateKey":"K"}}'] })), refusedSecret("endpoint.tls.privateKey"));
    assert.match(refusal(() => renderStack(dev, { ...qa, set: ["endpoint.tls.privateKey.pem=K"] })), refusedSecret("endpoint.tls.privateKey"));
    assert.equal(refusal(() => renderStack(dev, { ...qa, set: ['endpoint.tls={"privateKey":"K1'] })), "--set aks-inference:endpoint.tls: not valid JSON (the value is not shown: it may hold a secret)");
    assert.doesNotMatch(refusal(() => renderStack(dev, { ...qa, set: ['endpoint.tls.privateKey="K2'] })), /K2/, "a secret's value is not parsed, so not shown");
    const kv = renderStack(dev, { ...qa, set: ['endpoint.tls={"keyVault":{"name":"kv-qa","resourceGroupName":"rg-qa","certificateName":"ml-qa"}}'] });
    assert.equal(kv.config.endpoint.tls?.keyVault?.name, "kv-qa", "an object without a secret in it is fine");
  });

  it("the schema's secrets are the stamp's environment-specific certificate and key, marked once", () => {
    assert.deepEqual(
      ENVIRONMENT_SPECIFIC.filter((e) => e.secret).map((e) => e.key),
      ["endpoint.tls.certificate", "endpoint.tls.privateKey"],
    );
    assert.deepEqual(SCHEMA_SECRETS, ["aks-inference:endpoint.tls.certificate", "aks-inference:endpoint.tls.privateKey"]);
  });
});

describe("stamping: the region and the GPU sizes offered in it", () => {
  it("--region must be one of Azure's region names, with the closest suggested", () => {
    assert.match(refusal(() => renderStack(template("dev"), { env: "qa", region: "westeurop" })), /^--region 'westeurop': must be an Azure region name \(Microsoft, "Azure regions list": https:\/\/learn\.microsoft\.com\/azure\/reliability\/regions-list\); did you mean westeurope\? Region names: australiacentral, /);
    assert.match(refusal(() => renderStack(template("dev"), { env: "qa", region: "uksouth2" })), /did you mean uksouth\?/);
    assert.equal(renderStack(template("dev"), { env: "qa", region: "swedencentral" }).config.location, "swedencentral");
  });

  it("a GPU pool whose size Azure retired is refused in any region, naming the pool's key", () => {
    const message = refusal(() => renderStack(template("prod"), { env: "prodneu", region: "northeurope", from: "prod", ...PROD_NEU, set: [...PROD_NEU.set, "gpuPools[0].vmSize=Standard_NC6s_v3"] }));
    assert.equal(
      message,
      [
        "Pulumi.prodneu.yaml: a GPU pool's VM size is not offered in northeurope:",
        '  aks-inference:gpuPools[0].vmSize: Standard_NC6s_v3 is an NCv3-series size, retired by Azure on 2025-09-30 (Microsoft, "NCv3 sizes series": https://learn.microsoft.com/azure/virtual-machines/sizes/gpu-accelerated/ncv3-series): offered in no region. Microsoft recommends the NC_A100_v4 series (Standard_NC24ads_A100_v4, Standard_NC48ads_A100_v4, Standard_NC96ads_A100_v4)',
        "Give another size (--set gpuPools[<n>].vmSize=<size>).",
      ].join("\n"),
    );
  });

  it("a size of a series not in the table, or whose regions are not listed, passes", () => {
    const t4 = renderStack(template("prod"), { env: "prodneu", region: "northeurope", from: "prod", ...PROD_NEU });
    assert.equal(t4.config.gpuPools[0].vmSize, "Standard_NC4as_T4_v3");
    const future = renderStack(template("prod"), { env: "prodneu", region: "northeurope", from: "prod", ...PROD_NEU, set: [...PROD_NEU.set, "gpuPools[0].vmSize=Standard_NC8ads_Future_v9"] });
    assert.equal(future.config.gpuPools[0].vmSize, "Standard_NC8ads_Future_v9");
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
    // The dev template turned CNI sets no service range either: Azure CNI requires one (issue 26).
    assert.deepEqual(
      fromEsc.map((u) => u.key),
      ["aks-inference:network.subnetId", "aks-inference:network.serviceCidr", "aks-inference:network.dnsServiceIp"],
    );
    assert.ok(fromEsc.every((u) => u.environments.join() === "contoso/aks/qa"));
    assert.throws(() => renderStack(escTemplate, { env: "qa", region: "northeurope", unset: ["environment"] }), (e: Error) => e instanceof ConfigError && /network\.subnetId: is required/.test(e.message));
  });
  it("--esc attaches an environment to a template without one; a bad name is refused", () => {
    assert.match(renderStack(template("dev"), { env: "qa", region: "northeurope", esc: ["contoso/aks/qa"] }).text, /^environment:\n {2}- contoso\/aks\/qa\n/m);
    assert.match(refusal(() => renderStack(template("dev"), { env: "qa", region: "northeurope", esc: ["not an env"] })), /--esc 'not an env': must name an ESC environment as <org>\/<project>\/<environment>/);
  });
});

describe("stamping: arguments and output, exactly as the user reads them", () => {
  const dev = template("dev");
  const qa = { env: "qa", region: "northeurope" };
  const SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network";
  /** A template pinning every environment-specific value the stamp knows. */
  const everything = dev.replace(
    "  aks-inference:egress: loadBalancer\n",
    [
      "  aks-inference:egress: loadBalancer",
      "  aks-inference:clusterName: aks-dev",
      "  aks-inference:resourceGroupName: rg-dev",
      "  aks-inference:registryName: devregistry01",
      "  aks-inference:storageAccountName: devstorage01",
      "  aks-inference:endpoint:",
      "    dnsLabel: ml-dev",
      "    internalIp: 10.224.0.200",
      "  aks-inference:tokenIssuer:",
      "    issuer: https://login.microsoftonline.com/t/v2.0",
      "    jwksUri: https://login.microsoftonline.com/t/discovery/v2.0/keys",
      "    audience: api://dev",
      "",
    ].join("\n"),
  );

  it("lists every value specific to the template, aligned, with what it is and the template's value", () => {
    assert.equal(
      refusal(() => renderStack(everything, { ...qa, from: "dev" })),
      [
        "Pulumi.dev.yaml holds 9 values specific to 'dev'; give each for 'qa' (--set <key>=<value>), keep dev's (--keep <key>) or leave it out (--unset <key>):",
        "  aks-inference:clusterName           pinned cluster name; dev: aks-dev",
        "  aks-inference:resourceGroupName     pinned resource group; dev: rg-dev",
        "  aks-inference:registryName          pinned ACR name, unique across Azure; dev: devregistry01",
        "  aks-inference:storageAccountName    pinned storage account name, unique across Azure; dev: devstorage01",
        "  aks-inference:endpoint.dnsLabel     pinned cloudapp.azure.com label; dev: ml-dev",
        "  aks-inference:endpoint.internalIp   the router's IP in the node subnet; dev: 10.224.0.200",
        "  aks-inference:tokenIssuer.issuer    the token issuer; dev: https://login.microsoftonline.com/t/v2.0",
        "  aks-inference:tokenIssuer.jwksUri   the token issuer's signing keys; dev: https://login.microsoftonline.com/t/discovery/v2.0/keys",
        "  aks-inference:tokenIssuer.audience  the token audience; dev: api://dev",
      ].join("\n"),
    );
  });

  it("names each network, firewall, domain and DNS value of a hub-and-spoke template", () => {
    const listing = refusal(() => renderStack(template("prod"), { ...qa, from: "prod" }));
    assert.ok(listing.startsWith("Pulumi.prod.yaml holds 14 values specific to 'prod';"), listing);
    for (const line of [
      /^ {2}aks-inference:network\.subnetId +the network team's node subnet; prod: \/subscriptions\//m,
      /^ {2}aks-inference:network\.routeTableId +the route table associated with the node subnet; prod: /m,
      /^ {2}aks-inference:firewall\.policyId +the hub firewall's policy; prod: /m,
      /^ {2}aks-inference:firewall\.privateIp +the hub firewall's private IP; prod: 10\.0\.1\.4$/m,
      /^ {2}aks-inference:firewall\.publicIp +the hub firewall's public IP; prod: /m,
      /^ {2}aks-inference:endpoint\.customDomain +the scoring endpoint's domain; prod: ml\.contoso\.com$/m,
      /^ {2}aks-inference:endpoint\.tls\.keyVault\.id +the Key Vault certificate of the custom domain; prod: /m,
      /^ {2}aks-inference:dns\.records +private DNS records \(they name the environment's hosts\); prod: \[\{/m,
    ]) {
      assert.match(listing, line);
    }
    const zoneAndSubnet = template("prod").replace("  aks-inference:network:\n", `  aks-inference:network:\n    firewallSubnetId: ${SUB}/virtualNetworks/vnet/subnets/AzureFirewallSubnet\n`);
    assert.match(refusal(() => renderStack(zoneAndSubnet, { ...qa, from: "prod" })), /^ {2}aks-inference:network\.firewallSubnetId +the AzureFirewallSubnet of the environment's VNet; prod: /m);
  });

  it("one value missing is one value, singular", () => {
    const one = `${dev}  aks-inference:clusterName: aks-dev\n`;
    assert.equal(
      refusal(() => renderStack(one, qa)),
      "Pulumi.template.yaml holds 1 value specific to 'template'; give each for 'qa' (--set <key>=<value>), keep template's (--keep <key>) or leave it out (--unset <key>):\n  aks-inference:clusterName  pinned cluster name; template: aks-dev",
    );
    assert.equal(renderStack(one, { ...qa, keep: ["clusterName"] }).config.clusterName, "aks-dev", "a name unique in a subscription only can be kept");
    assert.match(refusal(() => renderStack(`${dev}  aks-inference:storageAccountName: devstorage01\n`, { ...qa, keep: ["storageAccountName"] })), /^--keep aks-inference:storageAccountName: the name is unique across Azure/);
  });

  it("refuses names a stack cannot have, naming the flag", () => {
    for (const env of ["1qa", "qa_1", "q".repeat(21)]) assert.match(refusal(() => renderStack(dev, { ...qa, env })), new RegExp(`^--env '${env}': must be 1-20 lowercase letters`), env);
    assert.equal(renderStack(dev, { ...qa, env: "q".repeat(20) }).config.clusterName.includes("q".repeat(20)), true);
    assert.match(refusal(() => renderStack(dev, { ...qa, region: "northeurope2 " })), /^--region 'northeurope2 ': must be an Azure region name/);
    for (const esc of ["-contoso/aks/qa", "contoso/aks/qa/extra", "qa"]) assert.equal(refusal(() => renderStack(dev, { ...qa, esc: [esc] })), `--esc '${esc}': must name an ESC environment as <org>/<project>/<environment>`);
    assert.equal(refusal(() => renderStack(dev, { ...qa, set: ["=x"] })), "--set '=x': must be <key>=<value>, e.g. network.subnetId=/subscriptions/...");
    assert.equal(refusal(() => renderStack(dev, { ...qa, set: ["services[x=1"] })), "--set 'services[x' is not a config key such as network.subnetId or gpuPools[0].vmSize");
    assert.equal(refusal(() => renderStack(dev, { ...qa, keep: ["a..b"] })), "--keep 'a..b' is not a config key such as network.subnetId or gpuPools[0].vmSize");
    assert.equal(refusal(() => renderStack(dev, { ...qa, unset: ["a..b"] })), "--unset 'a..b' is not a config key such as network.subnetId or gpuPools[0].vmSize");
    assert.equal(refusal(() => renderStack(dev, { ...qa, set: ["environment=contoso/aks/qa"] })), "--set environment: ESC environments are given with --esc <org/project/env>");
    assert.equal(refusal(() => renderStack(dev, { ...qa, unset: ["environment"] })), "--unset environment: Pulumi.template.yaml does not set it");
    assert.equal(refusal(() => renderStack(dev, { ...qa, set: ['kubernetesVersion="1.34'] })), `--set value '"1.34': not valid JSON`);
  });

  it("--set numbers of several digits and with decimals; strings that merely contain digits stay strings", () => {
    const { config } = renderStack(dev, {
      ...qa,
      set: [
        "systemPool.minCount=2",
        "systemPool.maxCount=10",
        "router.selfScalingLatencyThresholdMs=12.25",
        "tokenIssuer.issuer=https://login.microsoftonline.com/t/v2.0",
        "tokenIssuer.jwksUri=https://login.microsoftonline.com/t/discovery/v2.0/keys",
        "tokenIssuer.audience=11111111-2222-3333-4444-555555555555",
        "endpoint.dnsLabel=mlqa2",
      ],
    });
    assert.equal(config.systemPool.maxCount, 10);
    assert.equal(config.router.selfScalingLatencyThresholdMs, 12.25);
    assert.equal(config.tokenIssuer?.audience, "11111111-2222-3333-4444-555555555555");
    assert.equal(config.endpoint.dnsLabel, "mlqa2");
  });

  it("writes a header naming the stamp, no ESC block and no token issuer the template did not have", () => {
    const { text } = renderStack(dev, qa);
    assert.ok(text.startsWith("# Stamped by `npm run stamp` from 'template': environment 'qa', in northeurope.\n"), text.slice(0, 120));
    assert.doesNotMatch(text, /^environment:/m);
    assert.doesNotMatch(text, /tokenIssuer/);
  });

  it("a secret inside a list the new environment replaces is not asked for", () => {
    const withRecords = dev.replace(
      "  aks-inference:egress: loadBalancer\n",
      '  aks-inference:egress: loadBalancer\n  aks-inference:dns:\n    privateZones: [internal.contoso.com]\n    records:\n      - zone: internal.contoso.com\n        name: ml\n        type: CNAME\n        value:\n          secure: v1:bWw=\n',
    );
    assert.deepEqual(renderStack(withRecords, { ...qa, unset: ["dns.records"] }).secretsToSet, []);
    assert.deepEqual(renderStack(withRecords, { ...qa, keep: ["dns.records"] }).secretsToSet, ["aks-inference:dns.records[0].value"]);
  });
});

