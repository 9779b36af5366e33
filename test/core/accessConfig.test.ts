/**
 * Issue 26, items 8, 9 and 12 as config: the TLS Key Vault by its resource ID (any subscription),
 * the deployer's principal type, and who may reach the API server. Exact lines a user reads.
 */
import * as assert from "node:assert/strict";
import { ConfigError, parseStackConfig, type StackConfig } from "../../core/config";
import { keyVaultOf } from "../../core/config";

const k = (key: string): string => `aks-inference:${key}`;
const BASE: Record<string, unknown> = { "azure-native:location": "westeurope" };
const SUBNET_ID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/snet-aks";
const CNI = { plugin: "azure", subnetId: SUBNET_ID, serviceCidr: "10.100.0.0/16", dnsServiceIp: "10.100.0.10" };
const VAULT_ID = "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-certs/providers/Microsoft.KeyVault/vaults/kv-certs";

function parse(overrides: Record<string, unknown>): StackConfig {
  const raw: Record<string, unknown> = { ...BASE };
  for (const [key, value] of Object.entries(overrides)) raw[k(key)] = value;
  return parseStackConfig(raw, "dev");
}
function refused(overrides: Record<string, unknown>, ...lines: string[]): void {
  try {
    parse(overrides);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.deepEqual(err.problems, lines);
    return;
  }
  assert.fail(`config was accepted: ${JSON.stringify(overrides)}`);
}

describe("endpoint.tls.keyVault by resource ID (issue 26, item 8)", () => {
  const tls = (keyVault: Record<string, unknown>) => ({ endpoint: { customDomain: "ml.contoso.com", tls: { keyVault } } });

  it("accepts a vault in another subscription by its resource ID, and resolves it", () => {
    const cfg = parse(tls({ id: VAULT_ID, certificateName: "ml-contoso-com" }));
    assert.deepEqual(keyVaultOf(cfg.endpoint.tls!.keyVault!, "00000000-0000-0000-0000-000000000000"), {
      id: VAULT_ID,
      subscriptionId: "22222222-2222-2222-2222-222222222222",
      resourceGroupName: "rg-certs",
      name: "kv-certs",
      certificateName: "ml-contoso-com",
    });
  });

  it("still reads the older name and resourceGroupName as a vault in the stack's subscription", () => {
    const cfg = parse(tls({ name: "kv-certs", resourceGroupName: "rg-certs", certificateName: "c" }));
    assert.deepEqual(keyVaultOf(cfg.endpoint.tls!.keyVault!, "00000000-0000-0000-0000-000000000000"), {
      id: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-certs/providers/Microsoft.KeyVault/vaults/kv-certs",
      subscriptionId: "00000000-0000-0000-0000-000000000000",
      resourceGroupName: "rg-certs",
      name: "kv-certs",
      certificateName: "c",
    });
  });

  it("refuses an ID that is not a Key Vault's, or a vault name Azure refuses", () => {
    refused(
      tls({ id: VAULT_ID.replace("Microsoft.KeyVault/vaults", "Microsoft.Storage/storageAccounts"), certificateName: "c" }),
      `${k("endpoint.tls.keyVault.id")}: must be a Key Vault resource ID: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>`,
    );
    refused(tls({ id: VAULT_ID.replace("kv-certs", "kv--certs"), certificateName: "c" }), `${k("endpoint.tls.keyVault.id")}: 'kv--certs' must be a Key Vault name: 3-24 letters, digits and '-', starting with a letter`);
  });

  it("refuses both ways at once, and neither", () => {
    refused(
      tls({ id: VAULT_ID, name: "kv-certs", resourceGroupName: "rg-certs", certificateName: "c" }),
      `${k("endpoint.tls.keyVault")}: set id (the vault's resource ID), or the older name and resourceGroupName, not both`,
    );
    refused(
      tls({ certificateName: "c" }),
      `${k("endpoint.tls.keyVault.id")}: is required: the vault's resource ID, /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name> (any subscription of the tenant)`,
    );
    refused(tls({ name: "kv-certs", certificateName: "c" }), `${k("endpoint.tls.keyVault")}: name and resourceGroupName go together (a vault in the stack's subscription); prefer id, the vault's resource ID`);
  });
});

describe("deployer.principalType (issue 26, item 9)", () => {
  it("is unset by default (the token's claims decide) and takes User, ServicePrincipal or Group", () => {
    assert.equal(parse({}).deployer.principalType, undefined);
    for (const t of ["User", "ServicePrincipal", "Group"]) assert.equal(parse({ deployer: { principalType: t } }).deployer.principalType, t);
  });

  it("refuses anything else, naming the key", () => {
    refused({ deployer: { principalType: "user" } }, `${k("deployer.principalType")}: must be one of 'User', 'ServicePrincipal', 'Group'`);
    refused({ deployer: { objectId: "x" } }, `${k("deployer.objectId")}: unknown key (check its spelling against the config reference)`);
  });
});

describe("apiServer (issue 26, item 12)", () => {
  it("is unset by default: a public API server, as before", () => {
    assert.deepEqual(parse({}).apiServer, { private: false });
  });

  it("takes authorized IPv4 ranges, checked as CIDRs", () => {
    assert.deepEqual(parse({ apiServer: { authorizedIpRanges: ["203.0.113.0/24", "198.51.100.7/32"] } }).apiServer.authorizedIpRanges, ["203.0.113.0/24", "198.51.100.7/32"]);
    const cidr = "must be an IPv4 CIDR such as '203.0.113.0/24'";
    refused({ apiServer: { authorizedIpRanges: ["203.0.113.0/24", "203.0.113.300/24"] } }, `${k("apiServer.authorizedIpRanges[1]")}: ${cidr}`);
    refused({ apiServer: { authorizedIpRanges: ["203.0.113.0/33"] } }, `${k("apiServer.authorizedIpRanges[0]")}: ${cidr}`);
    refused({ apiServer: { authorizedIpRanges: ["203.0.113.7"] } }, `${k("apiServer.authorizedIpRanges[0]")}: ${cidr}`);
    // The whole value is one CIDR: not a longer first octet, not two ranges in one string.
    refused({ apiServer: { authorizedIpRanges: ["1203.0.113.0/24"] } }, `${k("apiServer.authorizedIpRanges[0]")}: ${cidr}`);
    refused({ apiServer: { authorizedIpRanges: ["203.0.113.0/24,198.51.100.0/24"] } }, `${k("apiServer.authorizedIpRanges[0]")}: ${cidr}`);
    // 255 is an octet: a single address at the top of its range.
    assert.deepEqual(parse({ apiServer: { authorizedIpRanges: ["198.51.100.255/32"] } }).apiServer.authorizedIpRanges, ["198.51.100.255/32"]);
    refused({ apiServer: { authorizedIpRanges: [] } }, `${k("apiServer.authorizedIpRanges")}: list at least one range, or leave the key out (no restriction)`);
    refused(
      { apiServer: { authorizedIpRanges: Array.from({ length: 201 }, (_, i) => `10.${Math.floor(i / 256)}.${i % 256}.0/24`) } },
      `${k("apiServer.authorizedIpRanges")}: at most 200 ranges (AKS's limit)`,
    );
  });

  it("private needs Azure CNI, and excludes authorized ranges", () => {
    assert.equal(parse({ network: CNI, apiServer: { private: true } }).apiServer.private, true);
    refused(
      { apiServer: { private: true } },
      `${k("apiServer.private")}: needs network.plugin 'azure': a private API server is only reachable from the cluster's VNet and networks peered with it, and kubenet's VNet is created by this stack and peered with nothing (no runner could deploy)`,
    );
    refused(
      { network: CNI, apiServer: { private: true, authorizedIpRanges: ["203.0.113.0/24"] } },
      `${k("apiServer.authorizedIpRanges")}: cannot be set with apiServer.private: AKS does not support authorized IP ranges on private clusters`,
    );
  });
});

describe("access.onCallGroupObjectId (issue 26, item 10)", () => {
  const GROUP = "5e0c7a1d-3f0b-4c55-9d1e-2b7f6a9c0d41";

  it("is unset by default: no on-call group", () => {
    assert.deepEqual(parse({}).access, {});
  });

  it("takes the group's object ID", () => {
    assert.equal(parse({ access: { onCallGroupObjectId: GROUP } }).access.onCallGroupObjectId, GROUP);
  });

  it("refuses a group name or a malformed ID, naming the key", () => {
    const line = `${k("access.onCallGroupObjectId")}: must be the group's object ID, a GUID such as '00000000-0000-0000-0000-000000000000' (az ad group show --group <name> --query id -o tsv)`;
    refused({ access: { onCallGroupObjectId: "aks-oncall" } }, line);
    refused({ access: { onCallGroupObjectId: `${GROUP}x` } }, line);
  });

  it("refuses unknown keys under access", () => {
    assert.throws(() => parse({ access: { adminGroupObjectIds: [GROUP] } }), ConfigError);
  });
});
