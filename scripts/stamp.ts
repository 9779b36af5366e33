/**
 * `npm run stamp -- --env prodneu --region northeurope --from prod [--purpose FastProd]
 *   [--set <key>=<value>]... [--keep <key>]... [--unset <key>]... [--esc <org/project/env>]...
 *   [--dry-run] [--no-stack] [--force]`
 *
 * Stamps a new environment: renders `Pulumi.<env>.yaml` from an existing stack file, refusing to
 * copy the template's environment-specific values unless each is set, kept or unset, validates
 * it (config, required hosts, the policy pack's offline checks) before anything is written, then
 * creates the Pulumi stack with the Automation API (needs the Pulumi CLI and a login). The
 * template's secrets are listed to be set for the new stack, never copied.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Command, Option } from "commander";
import { CLUSTER_PURPOSES, ConfigError, type ClusterPurpose } from "../core/config";
import { requiredHostsFor } from "../core/requiredHosts";
import { StampError, renderStack } from "../core/stamp";
import { describeEscUnknown, stackFilePath } from "../core/stackFile";
import { evaluate } from "../policies/rules";
import { runOffline } from "./offline";

const collect = (value: string, previous: string[]) => [...previous, value];

async function main(): Promise<void> {
  const program = new Command()
    .name("stamp")
    .description("Create a new environment (stack + config) from an existing stack file, validated first.")
    .requiredOption("--env <name>", "new stack name, e.g. test, prod-weu")
    .requiredOption("--region <region>", "Azure region, e.g. westeurope")
    .addOption(new Option("--purpose <purpose>", "cluster purpose (default: the template's)").choices([...CLUSTER_PURPOSES]))
    .option("--from <stack>", "stack file to use as the template", "dev")
    .option("--set <key=value>", "the new environment's value of a key, e.g. network.subnetId=/subscriptions/... (repeatable)", collect, [])
    .option("--keep <key>", "keep the template's environment-specific value of a key, e.g. endpoint.customDomain (repeatable)", collect, [])
    .option("--unset <key>", "leave a key of the template out, so its default applies, e.g. registryName (repeatable)", collect, [])
    .option("--esc <org/project/env>", "Pulumi ESC environment the new stack imports (repeatable)", collect, [])
    .option("--dry-run", "print the rendered stack file, write and create nothing")
    .option("--no-stack", "write Pulumi.<env>.yaml but do not create the Pulumi stack")
    .option("--force", "overwrite an existing Pulumi.<env>.yaml")
    .parse();
  const o = program.opts<{
    env: string;
    region: string;
    purpose?: ClusterPurpose;
    from: string;
    set: string[];
    keep: string[];
    unset: string[];
    esc: string[];
    dryRun?: boolean;
    stack: boolean;
    force?: boolean;
  }>();
  const repoRoot = path.resolve(__dirname, "..");
  const template = stackFilePath(o.from, repoRoot);
  if (!existsSync(template)) throw new StampError(`--from '${o.from}': no ${path.basename(template)} to use as the template`);
  const target = stackFilePath(o.env, repoRoot);
  if (existsSync(target) && !o.force && !o.dryRun) throw new StampError(`${path.basename(target)} exists already; pass --force to overwrite it`);

  const { text, config, secretsToSet, fromEsc } = renderStack(readFileSync(template, "utf8"), {
    env: o.env,
    region: o.region,
    purpose: o.purpose,
    from: o.from,
    set: o.set,
    keep: o.keep,
    unset: o.unset,
    esc: o.esc,
  });
  for (const u of fromEsc) console.error(describeEscUnknown(u));
  // What a preview would check, before anything exists: the policy pack over the offline plan.
  const planned = await runOffline(config, { preview: false });
  const violations = evaluate(planned.filter((r) => r.custom).map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs })));
  const mandatory = violations.filter((v) => v.rule.enforcementLevel === "mandatory");
  for (const v of violations) console.error(`${v.rule.enforcementLevel}: ${v.rule.name}: ${v.violation.message}`);
  if (mandatory.length > 0) throw new StampError(`the stamped config violates ${mandatory.length} mandatory polic${mandatory.length === 1 ? "y" : "ies"}; adjust the template or pass another --purpose`);

  // Ciphertext only decrypts under the template stack's key: the secrets are set anew.
  const secretsNote =
    secretsToSet.length > 0
      ? [
          `${secretsToSet.length} secret${secretsToSet.length === 1 ? "" : "s"} of ${o.from} not copied; set ${secretsToSet.length === 1 ? "it" : "each"} for ${o.env}:`,
          ...secretsToSet.map((key) => `  pulumi config set --secret --path '${key}' --stack ${o.env}`),
        ].join("\n")
      : undefined;
  if (o.dryRun) {
    console.log(text);
    console.error(`dry run: ${path.basename(target)} not written; ${planned.length} resources, ${requiredHostsFor(config).length} required hosts`);
    if (secretsNote) console.error(secretsNote);
    return;
  }
  writeFileSync(target, text);
  console.log(`wrote ${path.basename(target)} (${config.clusterPurpose} in ${config.location}, cluster ${config.clusterName})`);
  if (secretsNote) console.log(secretsNote);
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
