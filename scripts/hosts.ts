/** `npm run hosts -- <stack> [--json]`: the hosts the stack's cluster must resolve and reach. */
import { Command } from "commander";
import { AZUREML_FE_ONLY, aksNetworkRules, requiredHosts, requiredHostsInputFor, type RequiredHost } from "../core/azure/requiredHosts";
import { maskEscStandIns } from "../core/config/stackFile";
import { loadStackOrExit } from "./cli-common";

export function renderHostsTable(hosts: RequiredHost[]): string {
  const rows = hosts.map((h) => [h.phase, h.host, `${h.protocol}:${h.port}`, h.usedBy, h.why]);
  const header = ["phase", "host", "port", "used by", "why"];
  const widths = header.map((_, i) => Math.max(header[i].length, ...rows.slice(0).map((r) => (i < 4 ? r[i].length : 0))));
  const line = (r: string[]) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c)).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

/** The hosts Microsoft's azureml-fe would call that this stack leaves out (none with `azureMlCompat`). */
export function withheldAzureMlHosts(input: Parameters<typeof requiredHosts>[0]): RequiredHost[] {
  return input.azureMlCompat ? [] : requiredHosts({ ...input, azureMlCompat: true }).filter((h) => h.source === "azureml");
}

function main(): void {
  const program = new Command()
    .name("hosts")
    .description("Print the required hosts of a stack (firewall / DNS), in Azure ML v1's connectivity chronology.")
    .argument("<stack>", "stack name: reads Pulumi.<stack>.yaml")
    .option("--json", "print JSON")
    .parse();
  const [stack] = program.args;
  const { config: cfg, standIns, fromEsc } = loadStackOrExit(stack);
  const input = requiredHostsInputFor(cfg);
  // A region or domain left to an ESC environment shows as [unknown] inside the host names.
  const known = <T>(value: T) => maskEscStandIns(value, standIns, "[unknown]", "within");
  const hosts = known(requiredHosts(input));
  const withheld = known(withheldAzureMlHosts(input));
  const networkRules = known(aksNetworkRules(cfg.location));
  if (program.opts<{ json?: boolean }>().json) {
    console.log(JSON.stringify({ hosts, withheld, networkRules, ...(fromEsc.length > 0 ? { unknownFromEsc: fromEsc } : {}) }, null, 2));
    return;
  }
  console.log(renderHostsTable(hosts));
  if (withheld.length > 0) {
    console.log(`\nNot allowed: ${withheld.map((h) => h.host).join(", ")}. ${AZUREML_FE_ONLY}. Set aks-inference:requiredHosts.azureMlCompat: true to allow them anyway.`);
  }
  console.log(`\nNetwork rules (behind a firewall): ${networkRules.length === 0 ? "none (AKS's tunnel is konnectivity over the API server's FQDN)" : ""}`);
  for (const r of networkRules) console.log(`  ${r.protocols.join("/")} ${r.ports.join(",")} -> ${r.destination}  (${r.why})`);
}

if (require.main === module) main();
