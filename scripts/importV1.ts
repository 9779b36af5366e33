/**
 * `aks-inference import-v1 <folder> --stack <name> [--out imported-v1] [--dry-run]`: the I/O of
 * importing Azure ML v1 services (the decisions are core/config/v1Import.ts). Reads each service folder,
 * plans every service first — one refusal anywhere and nothing is written — then copies the
 * models (Azure ML's layout), source and conda file below `<out>/<service>/`, writes the entries
 * into `Pulumi.<stack>.yaml` (comments kept, entries of the same name replaced) with the keys as
 * Pulumi secrets, and prints what changed. A second run with the same input changes nothing.
 *
 * Secrets: with the passphrase provider (the stack file has `encryptionsalt`) the keys are
 * encrypted here, with PULUMI_CONFIG_PASSPHRASE (or _FILE), as the Pulumi CLI would; an existing
 * ciphertext that decrypts to the same key is kept. With another provider (Pulumi Cloud, Azure
 * Key Vault) the Pulumi CLI sets them, the key on its standard input, never on a command line.
 * Keys are never printed, logged or written in plain text.
 */
import { spawn } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../core/config";
import { passphraseCrypter, passphraseFromEnv, SecretsError, type Crypter } from "../core/config/pulumiSecrets";
import {
  encryptionSaltOf,
  parseStackFile,
  plainTextSecretProblems,
  resolveStackFile,
  serviceKeyCiphertexts,
  stackFilePath,
  upsertStackServices,
  type StackServiceEntry,
} from "../core/config/stackFile";
import { V1ImportError, planV1Import, type ImportPlan, type MappingRow, type ServiceEntry, type V1Folder } from "../core/config/v1Import";

/** Runs the Pulumi CLI in the project: resolves with its standard output, rejects with its message. */
export type PulumiRun = (args: string[], stdin?: string) => Promise<string>;

export interface ImportV1Options {
  /** One service's folder, or a folder of service folders. */
  folder: string;
  stack: string;
  /** The project: where `Pulumi.<stack>.yaml` is; `out` is below it. */
  projectRoot: string;
  /** Folder below the project root for the imported services' files. */
  out: string;
  dryRun: boolean;
  env: NodeJS.ProcessEnv;
  /** The Pulumi CLI, for stacks whose secrets provider is not the passphrase one. */
  pulumi: PulumiRun;
  print: (text: string) => void;
  warn: (text: string) => void;
}

export interface ImportV1Result {
  services: string[];
  /** Project files (relative) that were written or, with dry run, would be. */
  changed: string[];
  plans: ImportPlan[];
}

export class ImportV1Error extends Error {}

/** Files read as text (conda files, sources) are at most this large: a service's folder is not a data set. */
const MAX_TEXT_BYTES = 1024 * 1024;

export async function importV1(o: ImportV1Options): Promise<ImportV1Result> {
  const root = path.resolve(o.projectRoot);
  const out = o.out.replace(/\\/g, "/").replace(/\/+$/, "");
  if (path.isAbsolute(out) || out.split("/").includes("..") || out === "" || out === ".") throw new ImportV1Error(`--out '${o.out}': must be a folder inside the project, such as imported-v1`);
  const stackFile = stackFilePath(o.stack, root);
  if (!existsSync(stackFile)) throw new ImportV1Error(`--stack ${o.stack}: no ${path.basename(stackFile)} in ${root}; create the stack first (npm run stamp -- --env ${o.stack} ...)`);
  const before = readFileSync(stackFile, "utf8");
  const namespace = resolveStackFile(parseStackFile(before), o.stack).config.namespace;

  const folders = serviceFolders(path.resolve(o.folder));
  const problems: string[] = [];
  const plans: ImportPlan[] = [];
  for (const dir of folders) {
    try {
      plans.push(planV1Import(readFolder(dir), { out, namespace }));
    } catch (err) {
      if (err instanceof V1ImportError) problems.push(...err.problems);
      else if (err instanceof ImportV1Error) problems.push(err.message);
      else throw err;
    }
  }
  const seen = new Map<string, string>();
  plans.forEach((p, i) => {
    const other = seen.get(p.service.name);
    if (other) problems.push(`${path.basename(folders[i])}: imports service '${p.service.name}', as ${other} does`);
    seen.set(p.service.name, path.basename(folders[i]));
  });
  if (problems.length > 0) throw new V1ImportError(problems);

  // The keys: encrypted here (passphrase provider) or set by the Pulumi CLI afterwards.
  const salt = encryptionSaltOf(before);
  let crypter: Crypter | undefined;
  if (salt && plans.some((p) => p.keys)) {
    const passphrase = passphraseFromEnv(o.env, (f) => readFileSync(f, "utf8"));
    if (passphrase === undefined) throw new ImportV1Error(`${path.basename(stackFile)} encrypts its secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) so the keys can be stored as secrets`);
    crypter = passphraseCrypter(salt, passphrase);
  }
  const entries: StackServiceEntry[] = plans.map((p) => ({ value: entryValue(p, secureKeys(p, before, crypter)), comments: p.comments }));
  const after = upsertStackServices(before, entries);
  // The stack as it will be must pass the stack's own rules (a GPU service needs a GPU pool, ...).
  const parsed = parseStackFile(after);
  const invalid = plainTextSecretProblems(parsed);
  if (invalid.length > 0) throw new ConfigError(invalid);
  resolveStackFile(parsed, o.stack);

  // Files: copied only when different, so a second import writes nothing.
  const ops = plans.flatMap((p, i) => [
    ...p.copies.map((c) => ({ to: c.to, bytes: readFileSync(path.join(folders[i], c.from)) })),
    ...p.writes.map((w) => ({ to: w.to, bytes: Buffer.from(w.text) })),
  ]);
  const changedFiles = ops.filter((op) => {
    const target = path.join(root, op.to);
    return !existsSync(target) || !readFileSync(target).equals(op.bytes);
  });
  const cliKeys = crypter || !plans.some((p) => p.keys) ? [] : await keysToSet(plans, after, o.stack, o.pulumi);
  const changed = [...changedFiles.map((op) => op.to), ...(after !== before || cliKeys.length > 0 ? [path.basename(stackFile)] : [])];

  if (o.dryRun) {
    o.print(unifiedDiff(before, after, path.basename(stackFile)) || `${path.basename(stackFile)}: no change`);
    for (const op of changedFiles) o.print(`${existsSync(path.join(root, op.to)) ? "M" : "A"} ${op.to}`);
    for (const k of cliKeys) o.print(`would run: pulumi config set --secret --path '${k.key}' --stack ${o.stack}  (the key on standard input)`);
    for (const p of plans) o.print(mappingTable(p));
  } else {
    for (const op of changedFiles) {
      const target = path.join(root, op.to);
      mkdirSync(path.dirname(target), { recursive: true });
      writeAtomically(target, op.bytes);
    }
    if (after !== before) writeAtomically(stackFile, Buffer.from(after));
    for (const k of cliKeys) await o.pulumi(["config", "set", "--secret", "--path", k.key, "--stack", o.stack, "--non-interactive"], k.value);
  }
  for (const p of plans) for (const w of p.warnings) o.warn(`warning: ${w}`);
  o.print(
    changed.length === 0
      ? `${plans.length} service${plans.length === 1 ? "" : "s"} (${plans.map((p) => p.service.name).join(", ")}) already imported: nothing to change`
      : `${o.dryRun ? "dry run: would change" : "changed"} ${changed.length} file${changed.length === 1 ? "" : "s"} for ${plans.map((p) => p.service.name).join(", ")}${o.dryRun ? "" : `; check with \`npm run plan -- ${o.stack}\`, serve with \`npm start -- --stack ${o.stack}\``}`,
  );
  return { services: plans.map((p) => p.service.name), changed, plans };
}

/** The service folders below `dir`: itself when it describes a service, else its subfolders that do. */
export function serviceFolders(dir: string): string[] {
  if (!existsSync(dir) || !lstatSync(dir).isDirectory()) throw new ImportV1Error(`${dir}: not a folder`);
  const describes = (d: string) => readdirSync(d).some((f) => f === "deploymentconfig.json" || f === "service.json" || f.endsWith(".params.json"));
  if (describes(dir)) return [dir];
  const subs = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && describes(path.join(dir, e.name)))
    .map((e) => path.join(dir, e.name))
    .sort();
  if (subs.length === 0) throw new ImportV1Error(`${dir}: no v1 service (a folder with deploymentconfig.json, service.json or <service>.params.json), nor subfolders of such`);
  return subs;
}

/** A service folder as the planner takes it. Symbolic links are not followed: the import copies what is in the folder. */
export function readFolder(dir: string): V1Folder {
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  walk("");
  const json: Record<string, unknown> = {};
  const text: Record<string, string> = {};
  const problems: string[] = [];
  for (const f of files.filter((f) => !f.startsWith("models/"))) {
    const abs = path.join(dir, f);
    if (f.endsWith(".json") && (!f.includes("/") || f === "environment/azureml_environment.json")) {
      try {
        json[f] = JSON.parse(readFileSync(abs, "utf8"));
      } catch (err) {
        // Never quote the file: keys.json holds the keys.
        problems.push(`${path.basename(dir)}/${f}: not JSON (${(err as Error).name})`);
      }
    } else if (/\.(py|ya?ml|txt)$/.test(f) && lstatSync(abs).size <= MAX_TEXT_BYTES) {
      text[f] = readFileSync(abs, "utf8");
    }
  }
  if (problems.length > 0) throw new V1ImportError(problems);
  return { name: path.basename(dir), files, json, text };
}

/** The `secure:` values of a plan's keys: an existing ciphertext holding the same key is kept (so a re-import changes nothing). */
function secureKeys(plan: ImportPlan, stackText: string, crypter: Crypter | undefined): Record<string, { secure: string }> | undefined {
  if (!plan.keys) return undefined;
  const existing = serviceKeyCiphertexts(stackText, plan.service.name);
  if (!crypter) {
    // Another secrets provider: the Pulumi CLI sets them once the entry is written; keep what it set before.
    return existing.primaryKey && existing.secondaryKey ? { primaryKey: { secure: existing.primaryKey }, secondaryKey: { secure: existing.secondaryKey } } : undefined;
  }
  const secure = (field: "primaryKey" | "secondaryKey") => {
    const old = existing[field];
    if (old) {
      try {
        if (crypter.decrypt(old) === plan.keys![field]) return { secure: old };
      } catch (err) {
        if (!(err instanceof SecretsError)) throw err;
      }
    }
    return { secure: crypter.encrypt(plan.keys![field]) };
  };
  return { primaryKey: secure("primaryKey"), secondaryKey: secure("secondaryKey") };
}

/** The stack entry in the order a reader expects: what runs, its resources and scaling, auth, versions. */
function entryValue(plan: ImportPlan, keys: Record<string, { secure: string }> | undefined): ServiceEntry & { keys?: Record<string, { secure: string }> } {
  const { name, sourceDirectory, entryScript, environment, authEnabled, tokenAuthEnabled, collectModelData, appInsightsEnabled, versions, ...settings } = plan.service;
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return defined({ name, sourceDirectory, entryScript, environment, ...settings, authEnabled, tokenAuthEnabled, keys, collectModelData, appInsightsEnabled, versions });
}

/**
 * With a secrets provider other than the passphrase one: the key paths whose value the Pulumi CLI
 * must set (it reports a different or no value), each with the value to give on its standard input.
 */
async function keysToSet(plans: ImportPlan[], stackText: string, stack: string, pulumi: PulumiRun): Promise<{ key: string; value: string }[]> {
  try {
    await pulumi(["version"]);
  } catch (err) {
    throw new ImportV1Error(`the stack's secrets are not passphrase-encrypted (no encryptionsalt), so the Pulumi CLI must store the keys, and it cannot run: ${(err as Error).message}`);
  }
  const services = parseStackFile(stackText).config["aks-inference:services"] as { name: string }[];
  const out: { key: string; value: string }[] = [];
  for (const p of plans.filter((p) => p.keys)) {
    const i = services.findIndex((s) => s.name === p.service.name);
    for (const field of ["primaryKey", "secondaryKey"] as const) {
      const key = `aks-inference:services[${i}].keys.${field}`;
      let current: string | undefined;
      try {
        current = (await pulumi(["config", "get", "--path", key, "--stack", stack])).replace(/\n$/, "");
      } catch {
        current = undefined;
      }
      if (current !== p.keys![field]) out.push({ key, value: p.keys![field] });
    }
  }
  return out;
}

/** The Pulumi CLI in `cwd`; stdin carries a secret's value. */
export function pulumiCli(cwd: string, env: NodeJS.ProcessEnv): PulumiRun {
  return (args, stdin) =>
    new Promise((resolve, reject) => {
      const child = spawn("pulumi", args, { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(stderr.trim().split("\n").pop() || `pulumi exited with ${code}`))));
      child.stdin.end(stdin ?? "");
    });
}

function writeAtomically(file: string, bytes: Buffer): void {
  writeFileSync(`${file}.tmp-${process.pid}`, bytes);
  renameSync(`${file}.tmp-${process.pid}`, file);
}

/** The mapping table of one service: each v1 field, its value, where it went here, and why. */
export function mappingTable(plan: ImportPlan): string {
  const rows: MappingRow[] = plan.rows;
  const cells = rows.map((r) => [r.from, r.value.length > 60 ? `${r.value.slice(0, 57)}...` : r.value, r.to ?? "(no equivalent)", r.note ?? ""]);
  const head = ["v1", "value", "here", "why"];
  const widths = head.map((h, c) => Math.min(70, Math.max(h.length, ...cells.map((r) => r[c].length))));
  const line = (r: string[]) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("  ").trimEnd();
  return [`\n${plan.service.name}: mapping from Azure ML v1`, line(head), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/**
 * A unified diff of two texts (3 lines of context), empty when they are equal: a longest common
 * subsequence of lines, enough for stack files of a few hundred lines.
 */
export function unifiedDiff(a: string, b: string, name: string): string {
  if (a === b) return "";
  const x = a.split("\n");
  const y = b.split("\n");
  const lcs: number[][] = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) for (let j = y.length - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  /** Each line of the diff, with the old and new line indexes before it. */
  const ops: { kind: " " | "-" | "+"; text: string; oi: number; nj: number }[] = [];
  for (let i = 0, j = 0; i < x.length || j < y.length; ) {
    if (i < x.length && j < y.length && x[i] === y[j]) ops.push({ kind: " ", text: x[i], oi: i++, nj: j++ });
    else if (i < x.length && (j === y.length || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push({ kind: "-", text: x[i], oi: i++, nj: j });
    else ops.push({ kind: "+", text: y[j], oi: i, nj: j++ });
  }
  // Hunks: every change with 3 lines around it, overlapping ones merged.
  const ranges: [number, number][] = [];
  ops.forEach((op, k) => {
    if (op.kind === " ") return;
    const [from, to] = [Math.max(0, k - 3), Math.min(ops.length, k + 4)];
    const last = ranges[ranges.length - 1];
    if (last && from <= last[1]) last[1] = to;
    else ranges.push([from, to]);
  });
  const out = [`--- ${name}`, `+++ ${name} (imported)`];
  for (const [from, to] of ranges) {
    const hunk = ops.slice(from, to);
    out.push(`@@ -${hunk[0].oi + 1},${hunk.filter((h) => h.kind !== "+").length} +${hunk[0].nj + 1},${hunk.filter((h) => h.kind !== "-").length} @@`);
    out.push(...hunk.map((h) => `${h.kind}${h.text}`));
  }
  return out.join("\n");
}
