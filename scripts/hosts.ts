/** `npm run hosts -- <stack> [--json]`: the hosts the stack's cluster must resolve and reach. */
import { Command } from "commander";
import { aksNetworkRules, requiredHostsFor, type RequiredHost } from "../core/requiredHosts";
import { loadStackOrExit } from "./cli-common";

export function renderHostsTable(hosts: RequiredHost[]): string {
  const rows = hosts.map((h) => [h.phase, h.host, `${h.protocol}:${h.port}`, h.usedBy, h.why]);
  const header = ["phase", "host", "port", "used by", "why"];
  const widths = header.map((_, i) => Math.max(header[i].length, ...rows.slice(0).map((r) => (i < 4 ? r[i].length : 0))));
  const line = (r: string[]) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c)).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

function main(): void {
  const program = new Command()
    .name("hosts")
    .description("Print the required hosts of a stack (firewall / DNS), in the seed's connectivity chronology.")
    .argument("<stack>", "stack name: reads Pulumi.<stack>.yaml")
    .option("--json", "print JSON")
    .parse();
  const [stack] = program.args;
  const cfg = loadStackOrExit(stack);
  const hosts = requiredHostsFor(cfg);
  const networkRules = aksNetworkRules(cfg.location);
  if (program.opts<{ json?: boolean }>().json) {
    console.log(JSON.stringify({ hosts, networkRules }, null, 2));
    return;
  }
  console.log(renderHostsTable(hosts));
  console.log("\nNetwork rules (behind a firewall):");
  for (const r of networkRules) console.log(`  ${r.protocols.join("/")} ${r.ports.join(",")} -> ${r.destination}  (${r.why})`);
}

if (require.main === module) main();
