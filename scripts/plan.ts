/**
 * `npm run plan -- <stack> [--json]`: the resource tree `pulumi preview` would show for a stack,
 * computed offline (no cloud, no Pulumi CLI) from its `Pulumi.<stack>.yaml`.
 */
import { parseArgs } from "node:util";
import { maskEscStandIns } from "../core/config/stackFile";
import { UNKNOWN, runOffline, type PlannedResource } from "./offline";
import { loadStackOrExit } from "./cli-common";

/** Inputs that say little in a tree (they are the same on every resource, or a dynamic provider's serialized code). */
const NOISE = new Set(["resourceGroupName", "location", "tags", "metadata", "__provider"]);

/** A few scalar inputs that identify a resource, `key=value`. */
export function keyInputs(r: PlannedResource, max = 5): string {
  const parts: string[] = [];
  const visit = (prefix: string, value: unknown, depth: number) => {
    if (parts.length >= max || value === undefined || value === null) return;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      const text = String(value);
      parts.push(`${prefix}=${text.length > 60 ? `${text.slice(0, 57)}...` : text}`);
    } else if (Array.isArray(value) && value.every((v) => typeof v === "string") && value.length > 0) {
      parts.push(`${prefix}=[${value.length > 3 ? `${value.slice(0, 3).join(",")},+${value.length - 3}` : value.join(",")}]`);
    } else if (typeof value === "object" && !Array.isArray(value) && depth < 2) {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) visit(`${prefix}.${k}`, v, depth + 1);
    }
  };
  for (const [k, v] of Object.entries(r.inputs)) if (!NOISE.has(k)) visit(k, v, 0);
  return parts.join(" ");
}

const list = (v: unknown) => (Array.isArray(v) ? v.map(String).join(",") : "");

/**
 * What a one-line summary cannot show but a network review needs: each firewall rule (who may
 * reach what) and the cluster's network profile.
 */
export function details(r: PlannedResource): string[] {
  if (r.type === "azure-native:network:FirewallPolicyRuleCollectionGroup") {
    const collections = (r.inputs.ruleCollections as { name?: string; rules?: Record<string, unknown>[] }[] | undefined) ?? [];
    return collections.flatMap((c) =>
      (c.rules ?? []).map((x) => {
        const from = list(x.sourceAddresses);
        switch (x.ruleType) {
          case "NatRule":
            return `DNAT ${String(x.name)}: ${list(x.ipProtocols)} ${from} -> ${list(x.destinationAddresses)}:${list(x.destinationPorts)} => ${String(x.translatedAddress)}:${String(x.translatedPort)}`;
          case "NetworkRule":
            return `allow ${String(x.name)}: ${list(x.ipProtocols)} ${from} -> ${list(x.destinationAddresses)}:${list(x.destinationPorts)}`;
          default: {
            const protocols = ((x.protocols as { protocolType?: string; port?: number }[] | undefined) ?? []).map((p) => `${p.protocolType}:${p.port}`).join(",");
            return `allow ${String(x.name)}: ${protocols} ${from} -> ${[...((x.fqdnTags as string[] | undefined) ?? []).map((t) => `tag ${t}`), list(x.targetFqdns)].filter(Boolean).join(" ")}`;
          }
        }
      }),
    );
  }
  if (r.type === "azure-native:containerservice:ManagedCluster") {
    const n = (r.inputs.networkProfile ?? {}) as Record<string, unknown>;
    const aad = (r.inputs.aadProfile ?? {}) as Record<string, unknown>;
    const upgrades = (r.inputs.autoUpgradeProfile ?? {}) as Record<string, unknown>;
    const api = (r.inputs.apiServerAccessProfile ?? {}) as Record<string, unknown>;
    const show = (o: Record<string, unknown>, keys: string[]) => keys.map((k) => `${k}=${Array.isArray(o[k]) ? list(o[k]) || "-" : String(o[k] ?? "-")}`).join(" ");
    return [
      `network: ${show(n, ["networkPlugin", "networkPluginMode", "networkDataplane", "networkPolicy", "podCidr", "serviceCidr", "outboundType"])}`,
      `access: Entra ${aad.managed === true ? "managed" : "off"} ${show(aad, ["enableAzureRBAC"])} ${show(r.inputs, ["disableLocalAccounts", "kubernetesVersion"])} ${show(api, ["authorizedIPRanges", "enablePrivateCluster"])}`,
      `upgrades: ${show(upgrades, ["upgradeChannel", "nodeOSUpgradeChannel"])}`,
    ];
  }
  if (r.type === "azure-native:containerservice:MaintenanceConfiguration") {
    const w = (r.inputs.maintenanceWindow ?? {}) as { schedule?: { weekly?: { dayOfWeek?: string } }; startTime?: string; durationHours?: number; utcOffset?: string };
    return [`window: every ${w.schedule?.weekly?.dayOfWeek ?? "-"} ${w.startTime ?? "-"} UTC${w.utcOffset ?? ""} for ${String(w.durationHours ?? "-")} h`];
  }
  return [];
}

export function renderTree(resources: PlannedResource[]): string {
  const byParent = new Map<string | undefined, PlannedResource[]>();
  const urns = new Set(resources.map((r) => r.urn));
  for (const r of resources) {
    const parent = r.parentUrn && urns.has(r.parentUrn) ? r.parentUrn : undefined;
    byParent.set(parent, [...(byParent.get(parent) ?? []), r]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, indent: string) => {
    for (const r of byParent.get(parent) ?? []) {
      const inputs = r.custom ? keyInputs(r) : "";
      lines.push(`${indent}+ ${r.type}  ${r.name}${inputs ? `  ${inputs}` : ""}`);
      for (const d of details(r)) lines.push(`${indent}      ${d}`);
      walk(r.urn, `${indent}    `);
    }
  };
  walk(undefined, "");
  return lines.join("\n");
}

const USAGE = `usage: npm run plan -- <stack> [--json] [--up]

Print the resource tree a \`pulumi preview\` of the stack would show, computed offline.
  <stack>  stack name: reads Pulumi.<stack>.yaml
  --json   print the resources as JSON
  --up     resolve provider-computed values as after \`pulumi up\` (default: unknown, as in a preview)`;

async function main(): Promise<void> {
  // node:util's parser, not commander as the other scripts: the preview job installs the
  // production dependencies only (docs/ci.md), and the suite's stand-in for pulumi/actions runs
  // this script there, on the TypeScript loader Pulumi's Node.js host uses.
  const usageError = (message: string): never => {
    console.error(`${message}\n\n${USAGE}`);
    process.exit(2);
  };
  const { values: opts, positionals } = (() => {
    try {
      return parseArgs({ allowPositionals: true, options: { json: { type: "boolean" }, up: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
    } catch (err) {
      return usageError(err instanceof Error ? err.message : String(err));
    }
  })();
  if (opts.help) return console.log(USAGE);
  if (positionals.length !== 1) usageError(positionals.length === 0 ? "missing the stack name" : `one stack only, got: ${positionals.join(" ")}`);
  const [stack] = positionals;
  const { config: cfg, standIns } = loadStackOrExit(stack);
  // Values left to ESC environments were evaluated with stand-ins: shown unknown, as they are offline.
  const resources = maskEscStandIns(await runOffline(cfg, { preview: !opts.up }), standIns, UNKNOWN);
  if (cfg.network.subnetId) {
    // Offline there is no Azure to read the network team's subnet from.
    console.error(
      "Note: the existing subnet, route table and VNet are answered as the network team is asked to provide them (docs/hub-firewall.md, \"Deploying behind a hub firewall\"); `pulumi preview` reads them from Azure and stops before the cluster if they differ.",
    );
  }
  if (opts.json) {
    console.log(JSON.stringify(resources, null, 2));
    return;
  }
  console.log(`Stack ${stack}: ${resources.length} resources (${resources.filter((r) => r.custom).length} custom)\n`);
  console.log(renderTree(resources));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
