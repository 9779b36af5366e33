/**
 * The stack config's validation rules one by one (issue 16): for each rule the exact line a user
 * reads for a bad value, and the nearest good value accepted; the defaults and derived names a
 * stack relies on. Each config is a small valid base with one thing changed.
 */
import * as assert from "node:assert/strict";
import {
  schemaHoldsString,
  condaPythonVersion,
  ConfigError,
  decodeConfigValue,
  parseStackConfig,
  scoringHost,
  scoringUri,
  tlsEnabled,
  type StackConfig,
} from "../../core/config";

const BASE: Record<string, unknown> = { "azure-native:location": "westeurope" };
const SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network";
const SUBNET_ID = `${SUB}/virtualNetworks/vnet/subnets/snet-aks`;
const FW_SUBNET_ID = `${SUB}/virtualNetworks/vnet/subnets/AzureFirewallSubnet`;
const ROUTE_TABLE_ID = `${SUB}/routeTables/rt-aks`;
const POLICY_ID = `${SUB}/firewallPolicies/fwp-hub`;
const HUB_FIREWALL = { policyId: POLICY_ID, privateIp: "10.0.1.4", publicIp: "203.0.113.10" };
/** The service range Azure CNI stacks must give (issue 26): the shipped prod stack's. */
const SERVICE_RANGE = { serviceCidr: "10.100.0.0/16", dnsServiceIp: "10.100.0.10" };

/** `aks-inference:<key>` of a raw config. */
const k = (key: string): string => `aks-inference:${key}`;

/** The base config with `overrides` (keys without the namespace), validated. */
function parse(overrides: Record<string, unknown> = {}, stack = "dev"): StackConfig {
  const raw: Record<string, unknown> = { ...BASE };
  for (const [key, value] of Object.entries(overrides)) raw[key.includes(":") ? key : k(key)] = value;
  return parseStackConfig(raw, stack);
}

/** The problem lines (without the '  - ' bullet) of a config that must be refused. */
function problems(overrides: Record<string, unknown>, stack = "dev"): string[] {
  try {
    parse(overrides, stack);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  return assert.fail(`config was accepted: ${JSON.stringify(overrides)}`);
}

/** Asserts the config is refused with exactly this one line. */
function refused(overrides: Record<string, unknown>, line: string, stack = "dev"): void {
  assert.deepEqual(problems(overrides, stack), [line]);
}

/** Asserts the config is accepted. */
function accepted(overrides: Record<string, unknown> = {}, stack = "dev"): StackConfig {
  try {
    return parse(overrides, stack);
  } catch (err) {
    return assert.fail(`config was refused: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A valid ONNX service with some settings added. */
const svc = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name: "svc-a", models: ["m.onnx"], ...extra });
/** A valid service with an entry script (Python by default). */
const scripted = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name: "svc-a", sourceDirectory: "src", entryScript: "score.py", ...extra });
const gpuPool = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name, vmSize: "Standard_NC4as_T4_v3", ...extra });

/** Azure CNI with load-balancer egress. */
const cni = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ network: { plugin: "azure", subnetId: SUBNET_ID, ...SERVICE_RANGE, ...extra } });
/** Azure CNI behind the hub's firewall (as the shipped prod stack). */
const hub = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  network: { plugin: "azure", subnetId: SUBNET_ID, routeTableId: ROUTE_TABLE_ID, ...SERVICE_RANGE },
  egress: "firewall",
  firewall: HUB_FIREWALL,
  endpoint: { customDomain: "ml.contoso.com", internalIp: "10.240.0.200" },
  ...extra,
});
/** Azure CNI behind a firewall the stack creates in an existing AzureFirewallSubnet. */
const createdFirewall = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  network: { plugin: "azure", subnetId: SUBNET_ID, routeTableId: ROUTE_TABLE_ID, firewallSubnetId: FW_SUBNET_ID, ...SERVICE_RANGE },
  egress: "firewall",
  endpoint: { internalIp: "10.240.0.200" },
  ...extra,
});

describe("stack config rules", () => {
  describe("ConfigError", () => {
    it("is named ConfigError and lists one '  - ' line per problem under a heading", () => {
      const err = new ConfigError(["aks-inference:a: bad", "aks-inference:b: worse"]);
      assert.equal(err.name, "ConfigError");
      assert.equal(err.message, "Invalid stack config:\n  - aks-inference:a: bad\n  - aks-inference:b: worse");
      assert.ok(err instanceof Error);
    });

    it("is what parseStackConfig throws, with every problem of the config", () => {
      assert.throws(() => parse({ namePrefix: "A", clusterPurpose: "Prod" }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.name, "ConfigError");
        assert.equal(
          err.message,
          "Invalid stack config:\n" +
            "  - aks-inference:namePrefix: must be 2-10 lowercase letters and digits, starting with a letter\n" +
            "  - aks-inference:clusterPurpose: must be one of 'DevTest', 'FastProd', 'DenseProd'",
        );
        return true;
      });
    });
  });

  describe("raw keys", () => {
    it("ignores keys of other namespaces", () => {
      const c = accepted({ "kubernetes:context": "aks-dev", "azure-native:subscriptionId": "0000", "pulumi:tags": "x" });
      assert.equal(c.location, "westeurope");
    });

    it("names an empty region by the provider's key", () => {
      refused({ "azure-native:location": "" }, "azure-native:location: is required (e.g. 'westeurope')");
    });
  });

  describe("decodeConfigValue", () => {
    it("decodes exactly 'true' and 'false' as booleans", () => {
      assert.equal(decodeConfigValue("true"), true);
      assert.equal(decodeConfigValue("false"), false);
      assert.equal(decodeConfigValue("True"), "True");
      assert.equal(decodeConfigValue(""), "");
      assert.equal(decodeConfigValue("no"), "no");
    });

    it("parses JSON objects and lists, also after leading whitespace, and nothing that merely contains a bracket", () => {
      assert.deepEqual(decodeConfigValue('  {"plugin":"azure"}'), { plugin: "azure" });
      assert.deepEqual(decodeConfigValue("\n[1]"), [1]);
      assert.equal(decodeConfigValue("a[1]"), "a[1]");
      assert.equal(decodeConfigValue("image:{tag}"), "image:{tag}");
    });
  });

  describe("defaults", () => {
    it("network: service CIDR 10.0.0.0/16 and DNS service IP 10.0.0.10, with or without a network key", () => {
      for (const c of [accepted(), accepted({ network: { plugin: "kubenet" } })]) {
        assert.equal(c.network.serviceCidr, "10.0.0.0/16");
        assert.equal(c.network.dnsServiceIp, "10.0.0.10");
      }
    });

    it("GPU pools verify the GPU on deploy unless told not to", () => {
      assert.equal(accepted({ gpuPools: [gpuPool("gpu")] }).gpuPools[0].verifyOnDeploy, true);
      assert.equal(accepted({ gpuPools: [gpuPool("gpu", { verifyOnDeploy: false })] }).gpuPools[0].verifyOnDeploy, false);
    });

    it("services collect no model data and have no models unless listed", () => {
      const s = accepted({ services: [scripted()] }).services[0];
      assert.equal(s.collectModelData, false);
      assert.deepEqual(s.models, []);
    });

    it("required hosts: no Azure ML compatibility hosts unless asked", () => {
      assert.equal(accepted().requiredHosts.azureMlCompat, false);
      assert.equal(accepted({ requiredHosts: {} }).requiredHosts.azureMlCompat, false);
      assert.equal(accepted({ requiredHosts: { azureMlCompat: true } }).requiredHosts.azureMlCompat, true);
    });

    it("private DNS: no zones and no records, with or without a dns key", () => {
      for (const c of [accepted(), accepted({ dns: {} }), accepted({ dns: { records: [] } })]) {
        assert.deepEqual(c.dns.privateZones, []);
        assert.deepEqual(c.dns.records, []);
      }
    });
  });

  describe("derived names", () => {
    it("derives cluster, resource group, registry and storage names from prefix and stack", () => {
      const c = accepted();
      assert.equal(c.clusterName, "aksinf-dev");
      assert.equal(c.resourceGroupName, "rg-aksinf-dev");
      assert.equal(c.registryName, "aksinfdevacr");
      assert.equal(c.storageAccountName, "aksinfdevst");
    });

    it("lowercases the stack name, dashes other characters in the cluster name and drops them from the compact names", () => {
      const c = accepted({ namePrefix: "ml2" }, "Team_EU.West");
      assert.equal(c.clusterName, "ml2-team-eu-west");
      assert.equal(c.resourceGroupName, "rg-ml2-team-eu-west");
      assert.equal(c.registryName, "ml2teameuwestacr");
      assert.equal(c.storageAccountName, "ml2teameuwestst");
    });

    it("truncates the registry name to 50 and the storage account name to 24 characters", () => {
      const stack = "a".repeat(60);
      const c = accepted({ clusterName: "aks-a" }, stack);
      assert.equal(c.registryName, `aksinf${"a".repeat(44)}`);
      assert.equal(c.registryName.length, 50);
      assert.equal(c.storageAccountName, `aksinf${"a".repeat(18)}`);
      assert.equal(c.storageAccountName.length, 24);
    });

    it("refuses a stack name whose derived cluster name breaks the cluster name's rules, naming clusterName and where the name came from", () => {
      const why = (prefix: string, stack: string, derived: string) =>
        `${k("clusterName")}: is required: the name derived from namePrefix '${prefix}' and the stack's name '${stack}', '${derived}', is not 3-40 lowercase letters, digits and '-' starting with a letter and ending with a letter or digit; set clusterName, or use a shorter stack name`;
      // 41 characters, and a trailing '-' from the stack's '_'.
      refused({}, why("aksinf", "a".repeat(34), `aksinf-${"a".repeat(34)}`), "a".repeat(34));
      refused({ namePrefix: "ml" }, why("ml", "dev_", "ml-dev-"), "dev_");
      // The longest derived name, and the same stacks with the name given.
      assert.equal(accepted({}, "a".repeat(33)).clusterName.length, 40);
      assert.equal(accepted({ clusterName: "ml-dev" }, "dev_").clusterName, "ml-dev");
      assert.equal(accepted({ clusterName: "aks-a" }, "a".repeat(34)).clusterName, "aks-a");
    });

    it("keeps names that are given", () => {
      const c = accepted({ clusterName: "my-aks", registryName: "MyRegistry1", storageAccountName: "mystore1" });
      assert.equal(c.clusterName, "my-aks");
      assert.equal(c.resourceGroupName, "rg-my-aks");
      assert.equal(c.registryName, "MyRegistry1");
      assert.equal(c.storageAccountName, "mystore1");
    });
  });

  describe("names and formats", () => {
    const dns40 = "must be 3-40 characters of lowercase letters, digits and '-', starting with a letter";

    it("clusterName: 3-40 lowercase characters, a letter first, no '-' last", () => {
      accepted({ clusterName: "abc" });
      accepted({ clusterName: `a${"b".repeat(39)}` });
      refused({ clusterName: `a${"b".repeat(40)}` }, `${k("clusterName")}: ${dns40}`);
      refused({ clusterName: "ab" }, `${k("clusterName")}: ${dns40}`);
      refused({ clusterName: "1abc" }, `${k("clusterName")}: ${dns40}`);
      refused({ clusterName: "abc-" }, `${k("clusterName")}: ${dns40}`);
      refused({ clusterName: "My-aks" }, `${k("clusterName")}: ${dns40}`);
    });

    it("service names: at most 32 characters; namespace and dnsLabel: at most 63", () => {
      accepted({ services: [svc({ name: `s${"v".repeat(31)}` })] });
      refused({ services: [svc({ name: `s${"v".repeat(32)}` })] }, `${k("services[0].name")}: must be 3-32 characters of lowercase letters, digits and '-', starting with a letter`);
      assert.equal(accepted({ namespace: `n${"s".repeat(62)}` }).namespace.length, 63);
      refused({ namespace: `n${"s".repeat(63)}` }, `${k("namespace")}: must be 3-63 characters of lowercase letters, digits and '-', starting with a letter`);
      accepted({ endpoint: { dnsLabel: `d${"l".repeat(62)}` } });
      refused({ endpoint: { dnsLabel: `d${"l".repeat(63)}` } }, `${k("endpoint.dnsLabel")}: must be 3-63 characters of lowercase letters, digits and '-', starting with a letter`);
    });

    it("namePrefix: 2-10 lowercase letters and digits, a letter first", () => {
      const msg = `${k("namePrefix")}: must be 2-10 lowercase letters and digits, starting with a letter`;
      accepted({ namePrefix: "ab" });
      accepted({ namePrefix: "a123456789" });
      refused({ namePrefix: "a1234567890" }, msg);
      refused({ namePrefix: "a" }, msg);
      refused({ namePrefix: "1abc" }, msg);
      refused({ namePrefix: "abc-d" }, msg);
    });

    it("kubernetesVersion: major.minor or major.minor.patch, nothing around it", () => {
      const msg = `${k("kubernetesVersion")}: must be a version such as '1.33'`;
      assert.equal(accepted({ kubernetesVersion: "1.33" }).kubernetesVersion, "1.33");
      // A patch version only without an auto-upgrade channel (test/core/upgrades.test.ts).
      accepted({ kubernetesVersion: "1.33.10", upgrades: { channel: "none" } });
      accepted({ kubernetesVersion: "12.1" });
      refused({ kubernetesVersion: "v1.33" }, msg);
      refused({ kubernetesVersion: "1.33-preview" }, msg);
      refused({ kubernetesVersion: "1.33.x" }, msg);
    });

    it("registryName: 5-50 letters and digits only", () => {
      const msg = `${k("registryName")}: must be 5-50 letters and digits`;
      accepted({ registryName: "Abcde" });
      accepted({ registryName: "a".repeat(50) });
      refused({ registryName: "a".repeat(51) }, msg);
      refused({ registryName: "abcd" }, msg);
      refused({ registryName: "abcde-fghij" }, msg);
    });

    it("storageAccountName: 3-24 lowercase letters and digits only", () => {
      const msg = `${k("storageAccountName")}: must be 3-24 lowercase letters and digits`;
      accepted({ storageAccountName: "abc" });
      accepted({ storageAccountName: "a".repeat(24) });
      refused({ storageAccountName: "a".repeat(25) }, msg);
      refused({ storageAccountName: "abc-def" }, msg);
      refused({ storageAccountName: "Abcdef" }, msg);
    });

    it("CIDRs and IPv4 addresses: nothing before or after", () => {
      const cidrMsg = `${k("network.serviceCidr")}: must be an IPv4 CIDR such as '10.224.0.0/16'`;
      assert.equal(accepted({ network: { serviceCidr: "10.100.0.0/16", dnsServiceIp: "10.100.0.10" } }).network.serviceCidr, "10.100.0.0/16");
      refused({ network: { serviceCidr: "x10.100.0.0/16" } }, cidrMsg);
      refused({ network: { serviceCidr: "10.100.0.0/16x" } }, cidrMsg);
      const ipMsg = `${k("network.dnsServiceIp")}: must be an IPv4 address`;
      refused({ network: { dnsServiceIp: "x10.0.0.10" } }, ipMsg);
      refused({ network: { dnsServiceIp: "10.0.0.10x" } }, ipMsg);
    });

    it("customDomain: a fully qualified lowercase DNS name of at most 253 characters", () => {
      const msg = `${k("endpoint.customDomain")}: must be a fully qualified lowercase DNS name such as 'ml.contoso.com'`;
      accepted({ endpoint: { customDomain: "x.contoso.com" } });
      const label = "a".repeat(63);
      const at253 = `${label}.${label}.${label}.${"a".repeat(57)}.com`;
      assert.equal(at253.length, 253);
      accepted({ endpoint: { customDomain: at253 } });
      const at254 = `${label}.${label}.${label}.${"a".repeat(58)}.com`;
      assert.equal(at254.length, 254);
      refused({ endpoint: { customDomain: at254 } }, msg);
      refused({ endpoint: { customDomain: "ML.contoso.com" } }, msg);
      refused({ endpoint: { customDomain: "ml.contoso.com1" } }, msg);
      refused({ endpoint: { customDomain: "ml.contoso.com." } }, msg);
    });

    it("subnet and resource IDs: whole Azure resource IDs, any letter case", () => {
      refused(cni({ subnetId: `x${SUBNET_ID}` }), `${k("network.subnetId")}: must be a subnet resource ID: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>`);
      refused(cni({ subnetId: `${SUBNET_ID}/extra` }), `${k("network.subnetId")}: must be a subnet resource ID: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>`);
      accepted(hub({ network: { plugin: "azure", subnetId: SUBNET_ID, routeTableId: ROUTE_TABLE_ID.toLowerCase(), ...SERVICE_RANGE } }));
      refused(hub({ firewall: { ...HUB_FIREWALL, policyId: "fwp-hub" } }), `${k("firewall.policyId")}: must be a firewall policy resource ID: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Network/firewallPolicies/<name>`);
      refused(hub({ firewall: { ...HUB_FIREWALL, policyId: ROUTE_TABLE_ID } }), `${k("firewall.policyId")}: must be a firewall policy resource ID: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Network/firewallPolicies/<name>`);
    });
  });

  describe("network and egress cross-checks", () => {
    it("CNI with load-balancer egress needs neither a route table nor a firewall", () => {
      const c = accepted(cni());
      assert.equal(c.network.plugin, "azure");
      assert.equal(c.firewall, undefined);
    });

    it("refuses a route table with load-balancer egress", () => {
      refused(cni({ routeTableId: ROUTE_TABLE_ID }), `${k("network.routeTableId")}: is only allowed with egress 'firewall' (load-balancer egress needs no route table)`);
    });

    it("refuses a route table and a firewall subnet with kubenet", () => {
      refused({ network: { routeTableId: ROUTE_TABLE_ID } }, `${k("network.routeTableId")}: is only allowed with network.plugin 'azure'; kubenet creates its own route table`);
      refused({ network: { firewallSubnetId: FW_SUBNET_ID } }, `${k("network.firewallSubnetId")}: is only allowed with network.plugin 'azure'`);
    });

    it("needs the firewall subnet to be called exactly AzureFirewallSubnet", () => {
      const msg = `${k("network.firewallSubnetId")}: must name a subnet called 'AzureFirewallSubnet' (Azure Firewall requires it)`;
      accepted(createdFirewall());
      const net = { plugin: "azure", subnetId: SUBNET_ID, routeTableId: ROUTE_TABLE_ID, ...SERVICE_RANGE };
      refused(createdFirewall({ network: { ...net, firewallSubnetId: `${SUB}/virtualNetworks/vnet/subnets/snet-fw` } }), msg);
      refused(createdFirewall({ network: { ...net, firewallSubnetId: `${FW_SUBNET_ID}-old` } }), msg);
    });

    it("CNI requires the service range and its DNS IP: the default 10.0.0.0/16 contains typical hub addresses", () => {
      const why = "the default 10.0.0.0/16 overlaps the address ranges hub networks typically use (docs/config-reference.md, \"Config reference\")";
      refused(
        cni({ serviceCidr: undefined }),
        `${k("network.serviceCidr")}: is required when network.plugin is 'azure': a range for Kubernetes Services that overlaps neither the VNet, its peered networks nor network.podCidr; ${why}`,
      );
      refused(
        cni({ dnsServiceIp: undefined }),
        `${k("network.dnsServiceIp")}: is required when network.plugin is 'azure': an address inside network.serviceCidr (not its first), such as its '.10'; ${why}`,
      );
      assert.equal(problems({ network: { plugin: "azure", subnetId: SUBNET_ID } }).length, 2);
      const c = accepted(cni());
      assert.equal(c.network.serviceCidr, "10.100.0.0/16");
      assert.equal(c.network.dnsServiceIp, "10.100.0.10");
      // kubenet's VNet is the stack's own: the defaults stay.
      assert.equal(accepted({ network: { plugin: "kubenet" } }).network.serviceCidr, "10.0.0.0/16");
    });

    it("keeps the pod CIDR check to kubenet: CNI overlay ignores the VNet address space", () => {
      assert.equal(accepted(cni({ podCidr: "10.230.0.0/16" })).network.podCidr, "10.230.0.0/16");
    });
  });

  describe("firewall", () => {
    it("refuses a public IP count for the hub's firewall", () => {
      refused(hub({ firewall: { ...HUB_FIREWALL, publicIpCount: 2 } }), `${k("firewall.publicIpCount")}: applies to a firewall this stack creates, not to the hub's (firewall.policyId)`);
    });

    it("refuses the hub's IPs for a firewall the stack creates, naming the one given", () => {
      const tail = "only applies with firewall.policyId (an existing hub firewall); a stack-created firewall's IPs come from Azure";
      refused(createdFirewall({ firewall: { privateIp: "10.0.1.4" } }), `${k("firewall.privateIp")}: ${tail}`);
      refused(createdFirewall({ firewall: { publicIp: "203.0.113.10" } }), `${k("firewall.publicIp")}: ${tail}`);
      refused(createdFirewall({ firewall: { privateIp: "10.0.1.4", publicIp: "203.0.113.10" } }), `${k("firewall.privateIp")}: ${tail}`);
    });

    it("accepts a created firewall with a public IP count", () => {
      assert.deepEqual(accepted(createdFirewall({ firewall: { publicIpCount: 3 } })).firewall, { kind: "created", publicIpCount: 3, priority: 400 });
    });

    it("refuses an internal IP without firewall egress", () => {
      refused({ endpoint: { internalIp: "10.224.0.200" } }, `${k("endpoint.internalIp")}: is only used with egress 'firewall' (the router is then reached through the firewall's DNAT)`);
    });
  });

  describe("node pools", () => {
    it("accepts equal min and max node counts", () => {
      assert.equal(accepted({ systemPool: { minCount: 2, maxCount: 2 } }).systemPool.count, 2);
      accepted({ gpuPools: [gpuPool("gpu", { minCount: 1, maxCount: 1 })] });
      refused({ systemPool: { minCount: 3, maxCount: 2 } }, `${k("systemPool.minCount")}: must be at most maxCount`);
    });

    it("GPU pool names: 1-12 lowercase letters and digits, a letter first", () => {
      const msg = `${k("gpuPools[0].name")}: must be 1-12 lowercase letters and digits, starting with a letter`;
      accepted({ gpuPools: [gpuPool("g")] });
      accepted({ gpuPools: [gpuPool(`g${"1".repeat(11)}`)] });
      refused({ gpuPools: [gpuPool(`g${"1".repeat(12)}`)] }, msg);
      refused({ gpuPools: [gpuPool("1gpu")] }, msg);
      refused({ gpuPools: [gpuPool("gpu-a")] }, msg);
    });

    it("GPU pool VM sizes: the whole name an N-series size", () => {
      const msg = `${k("gpuPools[0].vmSize")}: must be a GPU (N-series) VM size such as 'Standard_NC4as_T4_v3'`;
      refused({ gpuPools: [gpuPool("gpu", { vmSize: "xStandard_NC6s_v3" })] }, msg);
      refused({ gpuPools: [gpuPool("gpu", { vmSize: "Standard_NC6s_v3-promo" })] }, msg);
    });

    it("refuses a GPU pool named twice or named 'system'", () => {
      refused({ gpuPools: [gpuPool("gpu"), gpuPool("gpu")] }, `${k("gpuPools[1].name")}: 'gpu' is used twice (or is 'system'); pool names must be unique`);
      refused({ gpuPools: [gpuPool("system")] }, `${k("gpuPools[0].name")}: 'system' is used twice (or is 'system'); pool names must be unique`);
      assert.equal(accepted({ gpuPools: [gpuPool("gpua"), gpuPool("gpub")] }).gpuPools.length, 2);
    });
  });

  describe("endpoint TLS", () => {
    const kv = { name: "kv-certs", resourceGroupName: "rg-certs", certificateName: "ml-contoso-com" };
    const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
    const KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----";
    const tls = (t: Record<string, unknown>) => ({ endpoint: { customDomain: "ml.contoso.com", tls: t } });

    it("refuses a Secret name, explaining why", () => {
      refused(
        tls({ secretName: "router-tls" }),
        `${k("endpoint.tls.secretName")}: is not supported: the stack creates the router's namespace, so a Secret it does not create cannot exist when the router starts. Use endpoint.tls.keyVault (certificate in Azure Key Vault) or certificate and privateKey (pulumi config set --secret --path)`,
      );
    });

    it("accepts a Key Vault certificate, or a certificate and key, and serves https", () => {
      const fromVault = accepted(tls({ keyVault: kv }));
      assert.equal(tlsEnabled(fromVault), true);
      const fromConfig = accepted(tls({ certificate: PEM, privateKey: KEY }));
      assert.equal(fromConfig.endpoint.tls?.certificate, PEM);
      assert.equal(scoringUri(fromConfig, "svc-a"), "https://ml.contoso.com/api/v1/service/svc-a/score");
    });

    it("refuses Key Vault together with a certificate or key", () => {
      const msg = `${k("endpoint.tls")}: set keyVault, or certificate and privateKey, not both`;
      refused(tls({ keyVault: kv, certificate: PEM, privateKey: KEY }), msg);
      refused(tls({ keyVault: kv, privateKey: KEY }), msg);
    });

    it("needs certificate and private key together", () => {
      const msg = `${k("endpoint.tls")}: certificate and privateKey go together (both as secrets)`;
      refused(tls({ certificate: PEM }), msg);
      refused(tls({ privateKey: KEY }), msg);
    });

    it("needs a source for the certificate", () => {
      refused(tls({}), `${k("endpoint.tls")}: set keyVault { id, certificateName }, or certificate and privateKey (as secrets)`);
    });

    it("Key Vault name: 3-24 letters, digits and single '-', a letter first, no '-' last", () => {
      const msg = `${k("endpoint.tls.keyVault.name")}: must be a Key Vault name: 3-24 letters, digits and '-', starting with a letter`;
      accepted(tls({ keyVault: { ...kv, name: "Kv1" } }));
      accepted(tls({ keyVault: { ...kv, name: `k${"v".repeat(23)}` } }));
      refused(tls({ keyVault: { ...kv, name: `k${"v".repeat(24)}` } }), msg);
      refused(tls({ keyVault: { ...kv, name: "-kv-certs" } }), msg);
      refused(tls({ keyVault: { ...kv, name: "kv-certs-" } }), msg);
      refused(tls({ keyVault: { ...kv, name: "kv--certs" } }), msg);
      refused(tls({ keyVault: { ...kv, name: "kv-contoso--certs" } }), msg);
    });

    it("Key Vault certificate name: letters, digits and '-' only", () => {
      const msg = `${k("endpoint.tls.keyVault.certificateName")}: must be 1-127 letters, digits and '-'`;
      accepted(tls({ keyVault: { ...kv, certificateName: "c".repeat(127) } }));
      refused(tls({ keyVault: { ...kv, certificateName: "c".repeat(128) } }), msg);
      refused(tls({ keyVault: { ...kv, certificateName: "ml.contoso" } }), msg);
    });
  });

  describe("endpoint DNS", () => {
    const zone = { resourceGroupName: "rg-dns", zoneName: "contoso.com" };

    it("needs a custom domain for a DNS zone", () => {
      refused({ endpoint: { dnsZone: zone } }, `${k("endpoint.dnsZone")}: needs endpoint.customDomain`);
    });

    it("needs the custom domain inside the zone, not merely ending with its name", () => {
      accepted({ endpoint: { customDomain: "ml.contoso.com", dnsZone: zone } });
      const msg = `${k("endpoint.customDomain")}: must be inside endpoint.dnsZone.zoneName 'contoso.com'`;
      refused({ endpoint: { customDomain: "ml.fabrikam.com", dnsZone: zone } }, msg);
      refused({ endpoint: { customDomain: "mlcontoso.com", dnsZone: zone } }, msg);
    });

    it("needs each private record's zone among the private zones", () => {
      const record = { zone: "internal.contoso.com", name: "ml", type: "CNAME", value: "ml.contoso.com" };
      accepted({ dns: { privateZones: ["internal.contoso.com"], records: [record] } });
      refused(
        { dns: { privateZones: ["internal.contoso.com"], records: [record, { ...record, zone: "other.contoso.com" }] } },
        `${k("dns.records[1].zone")}: 'other.contoso.com' is not one of dns.privateZones`,
      );
    });
  });

  describe("scoring URI and host", () => {
    it("uses the cluster name as the cloudapp label, over http without TLS", () => {
      const c = accepted();
      assert.equal(tlsEnabled(c), false);
      assert.equal(scoringHost(c), "aksinf-dev.westeurope.cloudapp.azure.com");
      assert.equal(scoringUri(c, "svc-a"), "http://aksinf-dev.westeurope.cloudapp.azure.com/api/v1/service/svc-a/score");
    });

    it("uses an explicit dnsLabel, and a custom domain over both", () => {
      assert.equal(scoringHost(accepted({ endpoint: { dnsLabel: "contoso-scoring" } })), "contoso-scoring.westeurope.cloudapp.azure.com");
      assert.equal(scoringUri(accepted({ endpoint: { customDomain: "ml.contoso.com", dnsLabel: "contoso-scoring" } }), "x"), "http://ml.contoso.com/api/v1/service/x/score");
    });
  });

  describe("token issuer", () => {
    const issuer = "https://login.microsoftonline.com/tenant/v2.0";
    const jwksUri = "https://login.microsoftonline.com/tenant/discovery/v2.0/keys";

    it("oidc needs both issuer and jwksUri", () => {
      const msg = `${k("tokenIssuer")}: type 'oidc' needs issuer and jwksUri`;
      accepted({ tokenIssuer: { type: "oidc", issuer, jwksUri } });
      refused({ tokenIssuer: { type: "oidc", issuer } }, msg);
      refused({ tokenIssuer: { type: "oidc", jwksUri } }, msg);
      refused({ tokenIssuer: { type: "oidc" } }, msg);
    });

    it("lets tokens live as long as the maximum lifetime, not longer", () => {
      accepted({ tokenIssuer: { ttlSeconds: 600, maxLifetimeSeconds: 600 } });
      refused({ tokenIssuer: { ttlSeconds: 601, maxLifetimeSeconds: 600 } }, `${k("tokenIssuer.ttlSeconds")}: must be at most tokenIssuer.maxLifetimeSeconds (600): the router refuses longer-lived tokens`);
    });
  });

  describe("router", () => {
    it("keeps a router image given", () => {
      assert.equal(accepted({ router: { image: "contoso.azurecr.io/router:1.2" } }).router.image, "contoso.azurecr.io/router:1.2");
    });
  });

  describe("services", () => {
    it("refuses a service name used twice", () => {
      assert.deepEqual(problems({ services: [svc(), svc()] }), [
        `${k("services[1].name")}: 'svc-a' is used twice; service names must be unique`,
        `${k("services[1].name")}: the Deployment and Service of service 'svc-a' would be named 'model-svc-a', as those of service 'svc-a'`,
      ]);
    });

    it("refuses a service named like an earlier service's version", () => {
      refused(
        { services: [svc({ name: "fraud", versions: [{ name: "blue", traffic: 100 }] }), svc({ name: "fraud-blue" })] },
        `${k("services[1].name")}: the Deployment and Service of service 'fraud-blue' would be named 'model-fraud-blue', as those of 'fraud' version 'blue'`,
      );
    });

    it("reports a bad value a version sets at the version", () => {
      refused({ services: [svc({ versions: [{ name: "v1", traffic: 100, cpuCores: -1 }] })] }, `${k("services[0].versions[0].cpuCores")}: Too small: expected number to be >0`);
    });

    it("refuses key and token auth together", () => {
      refused({ services: [svc({ authEnabled: true, tokenAuthEnabled: true })] }, `${k("services[0].tokenAuthEnabled")}: key auth (authEnabled) and token auth cannot both be on; set authEnabled: false`);
      assert.equal(accepted({ services: [svc({ authEnabled: false, tokenAuthEnabled: true })] }).services[0].authMode, "token");
    });

    it("refuses numReplicas with autoscaling, naming the keys to use", () => {
      refused({ services: [svc({ autoscaleEnabled: true, numReplicas: 2 })] }, `${k("services[0].numReplicas")}: cannot be set with autoscaleEnabled: true; use autoscaleMinReplicas/autoscaleMaxReplicas`);
    });

    it("accepts equal autoscale bounds", () => {
      const s = accepted({ services: [svc({ autoscaleMinReplicas: 3, autoscaleMaxReplicas: 3 })] }).services[0];
      assert.equal(s.initialReplicas, 3);
    });

    it("serves a service with one .onnx model among other files without an entry script", () => {
      assert.equal(accepted({ services: [svc({ models: ["m.onnx", "vocab.txt"] })] }).services[0].models.length, 2);
      refused({ services: [svc({ models: ["vocab.txt"] })] }, `${k("services[0].entryScript")}: is required unless the service has an .onnx model (served by the built-in ONNX handler)`);
    });

    it("names models after their file or folder: without extension or trailing slashes, lowercase, other characters as '-'", () => {
      const s = accepted({ services: [scripted({ models: ["samples/models/Bert.V2.onnx", "models/tok_enizer//", "models/vocab/"] })] }).services[0];
      assert.deepEqual(
        s.models.map((m) => m.name),
        ["bert-v2", "tok-enizer", "vocab"],
      );
      assert.deepEqual(s.models[0], { name: "bert-v2", path: "samples/models/Bert.V2.onnx", version: 1 });
    });

    it("refuses two models with the same name in one service", () => {
      refused({ services: [svc({ models: ["a/m.onnx", "b/m.onnx"] })] }, `${k("services[0].models[1]")}: model name 'm' is used twice in this service; give one a { name, path }`);
      accepted({ services: [svc({ models: ["a/m.onnx", { name: "m2", path: "b/m.onnx" }] })] });
    });
  });

  describe("GPU services", () => {
    const pools = [gpuPool("gpua"), gpuPool("gpub", { gpusPerNode: 4 })];

    it("runs on the pool named, where its GPUs must fit", () => {
      const s = accepted({ gpuPools: pools, services: [svc({ gpuCores: 2, gpuPool: "gpub" })] }).services[0];
      assert.equal(s.gpuPool, "gpub");
      assert.equal(accepted({ gpuPools: pools, services: [svc({ gpuCores: 1 })] }).services[0].gpuPool, "gpua", "default: the first pool");
      refused({ gpuPools: pools, services: [svc({ gpuCores: 2, gpuPool: "gpua" })] }, `${k("services[0].gpuCores")}: 2 GPUs do not fit on one 'Standard_NC4as_T4_v3' node (1 GPUs)`);
    });

    it("refuses a pool that is not one of the GPU pools", () => {
      refused({ gpuPools: pools, services: [svc({ gpuCores: 1, gpuPool: "gpuc" })] }, `${k("services[0].gpuPool")}: must be one of 'gpua', 'gpub'`);
    });

    it("without any GPU pool, says only that one is needed", () => {
      refused({ services: [svc({ gpuCores: 1 })] }, `${k("services[0].gpuCores")}: needs a GPU pool: add one under gpuPools`);
    });

    it("refuses a GPU pool for a CPU service", () => {
      refused({ gpuPools: pools, services: [svc({ gpuPool: "gpua" })] }, `${k("services[0].gpuPool")}: is only allowed with gpuCores > 0`);
    });
  });

  describe("service environment", () => {
    it("keeps a base image and a Dockerfile given", () => {
      const env = accepted({ services: [svc({ environment: { baseImage: "mcr.microsoft.com/azureml/base:1", dockerfile: "docker/Dockerfile" } })] }).services[0].environment;
      assert.equal(env.baseImage, "mcr.microsoft.com/azureml/base:1");
      assert.equal(env.dockerfile, "docker/Dockerfile");
    });

    it("pythonVersion: 3.x or 3.x.y with one or two digits each, nothing around it", () => {
      const msg = `${k("services[0].environment.pythonVersion")}: must be a Python 3 version such as '3.11'`;
      const withVersion = (pythonVersion: string) => ({ services: [scripted({ environment: { pythonVersion } })] });
      for (const v of ["3.8", "3.11", "3.11.9", "3.11.10"]) assert.equal(accepted(withVersion(v)).services[0].environment.pythonVersion, v);
      for (const v of ["v3.11", "3.11x", "3.11.", "3.111", "3.11.100", "2.7"]) refused(withVersion(v), msg);
    });
  });

  describe("condaPythonVersion", () => {
    it("reads the pin with spaces around '=' and any indentation after the dash", () => {
      assert.equal(condaPythonVersion("dependencies:\n  - python = 3.8\n"), "3.8");
      assert.equal(condaPythonVersion("dependencies:\n  - python =3.9\n"), "3.9");
      assert.equal(condaPythonVersion("dependencies:\n  - python= 3.10\n"), "3.10");
      assert.equal(condaPythonVersion("dependencies:\n  -python=3.11\n"), "3.11");
      assert.equal(condaPythonVersion("dependencies:\n  -   python=3.12\n"), "3.12");
    });

    it("reads only a list item that is python itself", () => {
      assert.equal(condaPythonVersion("dependencies:\n  - my-python=3.9\n"), undefined);
      assert.equal(condaPythonVersion("name: x # - python=3.9\n"), undefined);
    });
  });
});

describe("schemaHoldsString", () => {
  it("follows the schema through optional, default, object and list types to a string", () => {
    assert.equal(schemaHoldsString("kubernetesVersion"), true);
    assert.equal(schemaHoldsString("network", ["subnetId"]), true);
    assert.equal(schemaHoldsString("gpuPools", [0, "vmSize"]), true);
    assert.equal(schemaHoldsString("systemPool", ["minCount"]), false, "a number");
    assert.equal(schemaHoldsString("network"), false, "an object");
    assert.equal(schemaHoldsString("clusterPurpose"), false, "an enum takes no number-like value");
    assert.equal(schemaHoldsString("gpuPools", ["vmSize"]), false, "a list is indexed by number");
    assert.equal(schemaHoldsString("apiServer", ["authorizedIpRanges", 0]), true, "an item of a list of strings");
    assert.equal(schemaHoldsString("apiServer", ["authorizedIpRanges", "first"]), false, "a list of strings is indexed by number too");
    assert.equal(schemaHoldsString("network", [0]), false, "an object is indexed by name");
    assert.equal(schemaHoldsString("noSuchKey"), false);
  });
});
