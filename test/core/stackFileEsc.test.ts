import * as assert from "node:assert/strict";
import { ConfigError } from "../../core/config";
import {
  ESC_UNKNOWN,
  SECRET_PLACEHOLDER,
  describeEscUnknown,
  formatConfigKey,
  maskEscStandIns,
  parseConfigKey,
  parseStackFile,
  resolveStackFile,
} from "../../core/config/stackFile";

const CNI_FIREWALL = `
config:
  azure-native:location: westeurope
  aks-inference:network:
    plugin: azure
  aks-inference:egress: firewall
`;

describe("stack files: ESC environments, secrets, config keys", () => {
  it("reads the ESC environments a stack imports, as a list or an inline definition", () => {
    assert.deepEqual(parseStackFile("environment:\n  - org/proj/common\n  - org/proj/dev\nconfig: {}\n").environments, ["org/proj/common", "org/proj/dev"]);
    assert.deepEqual(
      parseStackFile("environment:\n  imports:\n    - proj/common\n    - proj/dev: { merge: false }\n  values:\n    pulumiConfig:\n      x: 1\n").environments,
      ["proj/common", "proj/dev", "(inline)"],
    );
    assert.deepEqual(parseStackFile("config: {}\n").environments, []);
  });

  it("lists the keys holding secrets and reads them as unreadable", () => {
    const file = parseStackFile(`
config:
  aks-inference:endpoint:
    tls:
      certificate:
        secure: v1:AAAA
      privateKey:
        secure: v1:BBBB
  aks-inference:services:
    - name: a
      models: [ { secure: v1:CCCC } ]
`);
    assert.deepEqual(file.secrets, ["aks-inference:endpoint.tls.certificate", "aks-inference:endpoint.tls.privateKey", "aks-inference:services[0].models[0]"]);
    assert.deepEqual(file.config["aks-inference:endpoint"], { tls: { certificate: SECRET_PLACEHOLDER, privateKey: SECRET_PLACEHOLDER } });
  });

  it("reports a required key the file leaves to its ESC environment as unknown, not missing", () => {
    const resolved = resolveStackFile(parseStackFile(`environment: [org/proj/env]\n${CNI_FIREWALL}`), "esc");
    const said = resolved.fromEsc.map(describeEscUnknown);
    assert.ok(said.includes("aks-inference:network.subnetId: from ESC environment org/proj/env (unknown offline)"), said.join("\n"));
    assert.deepEqual(resolved.fromEsc.map((u) => u.key).sort(), [
      "aks-inference:endpoint.customDomain",
      "aks-inference:endpoint.internalIp",
      "aks-inference:firewall.policyId",
      "aks-inference:firewall.privateIp",
      "aks-inference:firewall.publicIp",
      "aks-inference:network.dnsServiceIp",
      "aks-inference:network.routeTableId",
      "aks-inference:network.serviceCidr",
      "aks-inference:network.subnetId",
    ]);
    assert.equal(resolved.config.network.plugin, "azure", "the file's own values are used");
    assert.ok(resolved.config.network.subnetId?.includes(ESC_UNKNOWN), "a stand-in the offline plan can evaluate");
  });

  it("names every environment a value may come from", () => {
    const resolved = resolveStackFile(parseStackFile(`environment: [org/a/common, org/a/prod]\nconfig:\n  aks-inference:clusterPurpose: DevTest\n`), "esc");
    assert.deepEqual(resolved.fromEsc.map(describeEscUnknown), ["azure-native:location: from ESC environments org/a/common, org/a/prod (unknown offline)"]);
  });

  it("without an ESC environment a missing key is still an error", () => {
    assert.throws(() => resolveStackFile(parseStackFile(CNI_FIREWALL), "plain"), (e: Error) => e instanceof ConfigError && /aks-inference:network\.subnetId: is required/.test(e.message));
  });

  it("a value the file sets is checked as always, ESC or not (stack config wins over ESC)", () => {
    const bad = `environment: [org/proj/env]\n${CNI_FIREWALL.replace("plugin: azure", "plugin: azure\n    subnetId: not-an-id")}`;
    assert.throws(() => resolveStackFile(parseStackFile(bad), "esc"), /aks-inference:network\.subnetId: must be a subnet resource ID/);
  });

  it("stand-ins fit the rest of the file: a domain inside its DNS zone, a router IP inside kubenet's node subnet, the OIDC issuer", () => {
    const resolved = resolveStackFile(
      parseStackFile(`
environment: [org/proj/env]
config:
  azure-native:location: westeurope
  aks-inference:egress: firewall
  aks-inference:network:
    nodeSubnetPrefix: 10.50.0.0/16
    vnetAddressSpace: 10.48.0.0/12
  aks-inference:endpoint:
    dnsZone: { resourceGroupName: rg-dns, zoneName: contoso.com }
  aks-inference:tokenIssuer:
    type: oidc
`),
      "esc",
    );
    assert.equal(resolved.config.endpoint.internalIp, "10.50.0.4");
    assert.ok(resolved.config.endpoint.customDomain?.endsWith(".contoso.com"));
    assert.deepEqual(resolved.fromEsc.map((u) => u.key).sort(), ["aks-inference:endpoint.customDomain", "aks-inference:endpoint.internalIp", "aks-inference:tokenIssuer.issuer", "aks-inference:tokenIssuer.jwksUri"]);
  });

  it("shows stand-ins as unknown: whole values, or inside a host name", () => {
    const resolved = resolveStackFile(parseStackFile(`environment: [org/proj/env]\n${CNI_FIREWALL}`), "esc");
    const masked = maskEscStandIns({ id: resolved.config.network.subnetId, ip: resolved.config.firewall?.kind === "hub" ? resolved.config.firewall.privateIp : "", n: 3 }, resolved.standIns, "[unknown]");
    assert.deepEqual(masked, { id: "[unknown]", ip: "[unknown]", n: 3 });
    const region = resolveStackFile(parseStackFile("environment: [org/proj/env]\nconfig: {}\n"), "esc");
    assert.deepEqual(maskEscStandIns([`*.hcp.${region.config.location}.azmk8s.io`], region.standIns, "[unknown]", "within"), ["*.hcp.[unknown].azmk8s.io"]);
  });

  it("parses config keys as users write them", () => {
    assert.deepEqual(parseConfigKey("network.subnetId"), { top: "aks-inference:network", path: ["subnetId"] });
    assert.deepEqual(parseConfigKey("aks-inference:gpuPools[0].vmSize"), { top: "aks-inference:gpuPools", path: [0, "vmSize"] });
    assert.equal(formatConfigKey(parseConfigKey("azure-native:location")), "azure-native:location");
    assert.throws(() => parseConfigKey("network..subnetId"), /'network\.\.subnetId' is not a config key/);
  });
});
