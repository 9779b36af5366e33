/**
 * `npm run stamp -- --env prodneu --region northeurope --from prod [--purpose FastProd]
 *   [--set <key>=<value>]... [--keep <key>]... [--unset <key>]... [--esc <org/project/env>]...
 *   [--dry-run] [--no-stack] [--force]`
 *
 * Stamps a new environment: renders `Pulumi.<env>.yaml` from an existing stack file, refusing to
 * copy the template's environment-specific values unless each is set, kept or unset, validates
 * it (config, required hosts, the policy pack's offline checks, the region against Azure's region
 * names and each GPU pool's VM size against the sizes known to be offered there) before anything
 * is written, then creates the Pulumi stack with the Automation API (needs the Pulumi CLI and a
 * login). The template's secrets are never copied as ciphertext: once the stack exists the CLI
 * re-encrypts them for it (`pulumi config cp`), and those it cannot are listed to be set. A secret
 * is never taken from `--set` (it would be written in plain text).
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import type { LocalWorkspace } from "@pulumi/pulumi/automation/index.js";
import { Command, Option } from "commander";
import { CLUSTER_PURPOSES, ConfigError, type ClusterPurpose } from "../core/config";
import { requiredHostsFor } from "../core/azure/requiredHosts";
import { StampError, renderStack } from "../core/config/stamp";
import { describeEscUnknown, stackFilePath } from "../core/config/stackFile";
import { evaluate } from "../policies/rules";
import { runOffline } from "./offline";

/** Repeatable options: no default, so `--help` shows none. */
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
const execFileAsync = promisify(execFile);

async function main(): Promise<void> {
  const program = new Command()
    .name("stamp")
    .description("Create a new environment (stack + config) from an existing stack file, validated first.")
    .requiredOption("--env <name>", "new stack name, e.g. test, prod-weu")
    .requiredOption("--region <region>", "Azure region name, e.g. westeurope (one of Microsoft's \"Azure regions list\")")
    .addOption(new Option("--purpose <purpose>", "cluster purpose (default: the template's)").choices([...CLUSTER_PURPOSES]))
    .option("--from <stack>", "stack file to use as the template", "dev")
    .option(
      "--set <key=value>",
      "the new environment's value of a key, e.g. network.subnetId=/subscriptions/... (repeatable); not for secrets (endpoint.tls.certificate, endpoint.tls.privateKey): `pulumi config set --secret` once the stack exists",
      collect,
    )
    .option("--keep <key>", "keep the template's environment-specific value of a key, e.g. endpoint.customDomain (repeatable)", collect)
    .option("--unset <key>", "leave a key of the template out, so its default applies, e.g. registryName (repeatable)", collect)
    .option("--esc <org/project/env>", "Pulumi ESC environment the new stack imports (repeatable)", collect)
    .option("--dry-run", "print the rendered stack file, write and create nothing")
    .option("--no-stack", "write Pulumi.<env>.yaml but do not create the Pulumi stack")
    .option("--force", "overwrite an existing Pulumi.<env>.yaml")
    .parse();
  const o = program.opts<{
    env: string;
    region: string;
    purpose?: ClusterPurpose;
    from: string;
    set?: string[];
    keep?: string[];
    unset?: string[];
    esc?: string[];
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

  if (o.dryRun) {
    console.log(text);
    console.error(`dry run: ${path.basename(target)} not written; ${planned.length} resources, ${requiredHostsFor(config).length} required hosts`);
    if (secretsToSet.length > 0) console.error(toSetNote(o.from, o.env, secretsToSet, "not copied (a dry run creates no stack to encrypt them for)"));
    return;
  }
  writeFileSync(target, text);
  console.log(`wrote ${path.basename(target)} (${config.clusterPurpose} in ${config.location}, cluster ${config.clusterName})`);
  if (!o.stack) {
    if (secretsToSet.length > 0) console.log(toSetNote(o.from, o.env, secretsToSet, "not copied (--no-stack)"));
    return;
  }

  let workspace: LocalWorkspace;
  try {
    const { LocalWorkspace, Stack } = await import("@pulumi/pulumi/automation/index.js");
    workspace = await LocalWorkspace.create({ workDir: repoRoot });
    const stack = await Stack.createOrSelect(o.env, workspace);
    console.log(`stack '${stack.name}' ready: run \`pulumi preview --stack ${o.env} --policy-pack policies\``);
  } catch (err) {
    const message = (err as Error).message;
    if (/pulumi.*(not found|ENOENT)|Could not find the Pulumi CLI|command not found/i.test(message)) {
      throw new StampError(`${path.basename(target)} written, but the Pulumi CLI is not installed: install it, \`pulumi login\`, then \`pulumi stack init ${o.env}\``);
    }
    throw new StampError(`${path.basename(target)} written, but creating stack '${o.env}' failed: ${message}`);
  }
  if (secretsToSet.length === 0) return;
  const command = workspace.pulumiCommand.command;
  const { copied, failed } = await copySecrets(
    async (args) => {
      await execFileAsync(command, args, { cwd: repoRoot, env: { ...process.env, ...workspace.envVars } });
    },
    o.from,
    o.env,
    secretsToSet,
  );
  for (const key of copied) console.log(`secret ${key} re-encrypted for ${o.env}`);
  if (failed.length > 0) {
    console.log(toSetNote(o.from, o.env, failed.map((f) => f.key), `not copied: ${failed[0].reason}`));
  }
}

/** The template's secrets that must be set by hand for the new stack, with the commands to do it. */
function toSetNote(from: string, env: string, keys: string[], why: string): string {
  return [
    `${keys.length} secret${keys.length === 1 ? "" : "s"} of ${from} ${why}; set ${keys.length === 1 ? "it" : "each"} for ${env}:`,
    ...keys.map((key) => `  pulumi config set --secret --path '${key}' --stack ${env}`),
  ].join("\n");
}

/** Runs one Pulumi CLI command in the project folder; rejects with the CLI's message. */
export type PulumiRun = (args: string[]) => Promise<void>;

/**
 * Re-encrypts the template's secrets for the new stack, one `pulumi config cp --path` each: the
 * CLI decrypts with the template's secrets provider and encrypts with the new stack's, so the
 * plaintext never passes through this process or a command line (as `pulumi config set` would).
 * A key the CLI cannot copy (the template's provider unavailable, e.g. no passphrase in the
 * environment) is returned with the reason, to be set by hand.
 */
export async function copySecrets(run: PulumiRun, from: string, to: string, keys: readonly string[]): Promise<{ copied: string[]; failed: { key: string; reason: string }[] }> {
  const copied: string[] = [];
  const failed: { key: string; reason: string }[] = [];
  for (const key of keys) {
    try {
      await run(["config", "cp", "--path", key, "--stack", from, "--dest", to, "--non-interactive"]);
      copied.push(key);
    } catch (err) {
      const e = err as Error & { stderr?: string };
      failed.push({ key, reason: (e.stderr || e.message).trim().split("\n").pop() ?? "" });
    }
  }
  return { copied, failed };
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof StampError || err instanceof ConfigError ? err.message : `stamp failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
