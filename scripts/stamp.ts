/**
 * `npm run stamp -- --env test --region westeurope --purpose FastProd [--from dev] [--dry-run] [--no-stack]`
 *
 * Stamps a new environment: renders `Pulumi.<env>.yaml` from an existing stack file, validates
 * it (config, required hosts, the policy pack's offline checks) before anything is written, then
 * creates the Pulumi stack with the Automation API (needs the Pulumi CLI and a login).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Command, Option } from "commander";
import { CLUSTER_PURPOSES, ConfigError, type ClusterPurpose } from "../core/config";
import { requiredHostsFor } from "../core/requiredHosts";
import { StampError, renderStack } from "../core/stamp";
import { stackFilePath } from "../core/stackFile";
import { evaluate } from "../policies/rules";
import { runOffline } from "./offline";

async function main(): Promise<void> {
  const program = new Command()
    .name("stamp")
    .description("Create a new environment (stack + config) from an existing stack file, validated first.")
    .requiredOption("--env <name>", "new stack name, e.g. test, prod-weu")
    .requiredOption("--region <region>", "Azure region, e.g. westeurope")
    .addOption(new Option("--purpose <purpose>", "cluster purpose").choices([...CLUSTER_PURPOSES]).makeOptionMandatory())
    .option("--from <stack>", "stack file to use as the template", "dev")
    .option("--dry-run", "print the rendered stack file, write and create nothing")
    .option("--no-stack", "write Pulumi.<env>.yaml but do not create the Pulumi stack")
    .option("--force", "overwrite an existing Pulumi.<env>.yaml")
    .parse();
  const o = program.opts<{ env: string; region: string; purpose: ClusterPurpose; from: string; dryRun?: boolean; stack: boolean; force?: boolean }>();
  const repoRoot = path.resolve(__dirname, "..");
  const template = stackFilePath(o.from, repoRoot);
  if (!existsSync(template)) throw new StampError(`--from '${o.from}': no ${path.basename(template)} to use as the template`);
  const target = stackFilePath(o.env, repoRoot);
  if (existsSync(target) && !o.force && !o.dryRun) throw new StampError(`${path.basename(target)} exists already; pass --force to overwrite it`);

  const { text, config } = renderStack(readFileSync(template, "utf8"), { env: o.env, region: o.region, purpose: o.purpose });
  // What a preview would check, before anything exists: the policy pack over the offline plan.
  const planned = await runOffline(config, { preview: false });
  const violations = evaluate(planned.filter((r) => r.custom).map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs })));
  const mandatory = violations.filter((v) => v.rule.enforcementLevel === "mandatory");
  for (const v of violations) console.error(`${v.rule.enforcementLevel}: ${v.rule.name}: ${v.violation.message}`);
  if (mandatory.length > 0) throw new StampError(`the stamped config violates ${mandatory.length} mandatory polic${mandatory.length === 1 ? "y" : "ies"}; adjust the template or pass another --purpose`);

  if (o.dryRun) {
    console.log(text);
    console.error(`dry run: ${path.basename(target)} not written; ${planned.length} resources, ${requiredHostsFor(config).length} required hosts`);
    return;
  }
  writeFileSync(target, text);
  console.log(`wrote ${path.basename(target)} (${config.clusterPurpose} in ${config.location}, cluster ${config.clusterName})`);
  if (!o.stack) return;

  try {
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation/index.js");
    const stack = await LocalWorkspace.createOrSelectStack({ stackName: o.env, workDir: repoRoot });
    console.log(`stack '${stack.name}' ready: run \`pulumi preview --stack ${o.env} --policy-pack policies\``);
  } catch (err) {
    const message = (err as Error).message;
    if (/pulumi.*(not found|ENOENT)|Could not find the Pulumi CLI|command not found/i.test(message)) {
      throw new StampError(`${path.basename(target)} written, but the Pulumi CLI is not installed: install it, \`pulumi login\`, then \`pulumi stack init ${o.env}\``);
    }
    throw new StampError(`${path.basename(target)} written, but creating stack '${o.env}' failed: ${message}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof StampError || err instanceof ConfigError ? err.message : `stamp failed: ${(err as Error).message}`);
  process.exit(1);
});
