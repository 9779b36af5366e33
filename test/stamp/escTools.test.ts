import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import type { RequiredHost } from "../../core/azure/requiredHosts";
import type { PlannedResource } from "../../scripts/offline";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";

const run = promisify(execFile);

/** A CNI stack behind the hub firewall whose network, firewall, domain and region come from ESC. */
const ESC_STACK = `environment:
  - contoso/aks/neu
config:
  aks-inference:clusterPurpose: DevTest
  aks-inference:network:
    plugin: azure
  aks-inference:egress: firewall
`;

describe("plan and hosts: values from Pulumi ESC environments", function () {
  this.timeout(60_000);
  let dir: string;
  const script = (name: string, args: string[]) => run(process.execPath, ["--require", require.resolve("tsx/cjs"), path.join(REPO_ROOT, "scripts", name), ...args], { cwd: dir });

  before(() => {
    dir = tempDir("esc");
    writeFileSync(path.join(dir, "Pulumi.neu.yaml"), ESC_STACK);
    writeFileSync(path.join(dir, "Pulumi.plain.yaml"), ESC_STACK.replace(/^environment:\n.*\n/, ""));
  });

  it("plan names each key left to ESC and shows its value unknown, instead of failing", async () => {
    const { stdout, stderr } = await script("plan.ts", ["neu", "--json"]);
    for (const key of ["azure-native:location", "aks-inference:network.subnetId", "aks-inference:network.routeTableId", "aks-inference:firewall.policyId", "aks-inference:endpoint.customDomain"]) {
      assert.match(stderr, new RegExp(`^Pulumi\\.neu\\.yaml: ${key.replace(/\./g, "\\.")}: from ESC environment contoso/aks/neu \\(unknown offline\\)$`, "m"));
    }
    const resources = JSON.parse(stdout) as PlannedResource[];
    assert.doesNotMatch(stdout, /esc-unknown|192\.0\.2\./, "no stand-in shown as if it were known");
    const cluster = resources.find((r) => r.type === "azure-native:containerservice:ManagedCluster");
    const pools = cluster?.inputs.agentPoolProfiles as { vnetSubnetID?: string }[] | undefined;
    assert.equal(pools?.[0]?.vnetSubnetID, "[unknown]");
  });

  it("the same file without the ESC environment fails as missing", async () => {
    const failed = await script("plan.ts", ["plain"]).catch((err: { code: number; stderr: string }) => err);
    assert.ok("code" in failed && failed.code === 1);
    assert.match(failed.stderr, /Invalid stack config:\n {2}- azure-native:location: .*received undefined/);
    assert.doesNotMatch(failed.stderr, /ESC/);
  });

  it("hosts shows a region left to ESC as unknown inside the host names", async () => {
    const { stdout, stderr } = await script("hosts.ts", ["neu", "--json"]);
    assert.match(stderr, /azure-native:location: from ESC environment contoso\/aks\/neu \(unknown offline\)/);
    const { hosts, unknownFromEsc } = JSON.parse(stdout) as { hosts: RequiredHost[]; unknownFromEsc: { key: string; environments: string[] }[] };
    assert.ok(unknownFromEsc.some((u) => u.key === "azure-native:location" && u.environments[0] === "contoso/aks/neu"), "machine-readable too");
    assert.ok(hosts.some((h) => h.host === "*.hcp.[unknown].azmk8s.io"), hosts.map((h) => h.host).join(" "));
    assert.doesNotMatch(stdout, /esc-unknown/);
  });
});
