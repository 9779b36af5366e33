/**
 * The GitHub workflows as GitHub reads them: each file goes through @actions/workflow-parser (the
 * schema and converter of GitHub's own language services), whose errors fail the caller, and
 * reusable workflows it calls (`uses: ./.github/workflows/…`) are converted along with it. The
 * parsed tree is then turned into plain values for the tests: an expression keeps its source
 * text (`${{ secrets.PULUMI_ORG }}/${{ matrix.stack }}`), which `evaluate` below resolves.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../support/stacks";

export const WORKFLOWS_DIR = path.join(REPO_ROOT, ".github", "workflows");

export interface PlainStep {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  shell?: string;
  if?: string;
  "continue-on-error"?: unknown;
  "working-directory"?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}
export interface PlainJob {
  uses?: string;
  needs?: string | string[];
  "runs-on"?: unknown;
  environment?: unknown;
  env?: Record<string, unknown>;
  strategy?: { matrix?: Record<string, unknown>; "fail-fast"?: unknown; "max-parallel"?: unknown };
  outputs?: Record<string, string>;
  steps?: PlainStep[];
}
export interface PlainWorkflow {
  name?: string;
  on: Record<string, unknown>;
  env?: Record<string, unknown>;
  jobs: Record<string, PlainJob>;
}
export interface LoadedWorkflow {
  file: string;
  workflow: PlainWorkflow;
  /** Job ids in file order, and which of them call a reusable workflow (from the converter). */
  jobs: { id: string; type: "job" | "reusableWorkflowJob" }[];
}

type Parser = typeof import("@actions/workflow-parser");
type Token = import("@actions/workflow-parser").TemplateParseResult["value"] & object;

let parser: Promise<Parser> | undefined;
/**
 * The parser is an ES module that imports its JSON schema without an import attribute (it is
 * written for bundlers), which Node's own ESM loader refuses: loaded once through tsx's loader, in
 * a namespace of its own that changes nothing for the rest of the test run.
 */
const loadParser = (): Promise<Parser> => (parser ??= import("tsx/esm/api").then((tsx) => tsx.tsImport("@actions/workflow-parser", __filename) as Promise<Parser>));

/** A parsed token as a plain value; expressions as their source text. */
function plain(p: Parser, token: Token): unknown {
  if (p.isMapping(token)) {
    const out: Record<string, unknown> = {};
    for (const { key, value } of token) out[String(plain(p, key))] = plain(p, value);
    return out;
  }
  if (p.isSequence(token)) return [...token].map((t) => plain(p, t));
  if (p.isBasicExpression(token)) return token.source ?? `\${{ ${token.expression} }}`;
  if (p.isString(token) || p.isNumber(token) || p.isBoolean(token)) return token.value;
  if (p.isLiteral(token)) return null; // the null token
  throw new Error(`unexpected workflow token ${token.typeName()} at line ${token.line}`);
}

/**
 * Parses and converts one workflow file's text as GitHub would; throws with every message the
 * parser or converter reported. `readWorkflow` resolves a local reusable workflow's path.
 */
export async function parseWorkflowText(file: string, content: string, readWorkflow: (ref: string) => string = (ref) => readFileSync(path.join(REPO_ROOT, ref), "utf8")): Promise<LoadedWorkflow> {
  const p = await loadParser();
  const parsed = p.parseWorkflow({ name: file, content }, new p.NoOperationTraceWriter());
  const parseErrors = parsed.context.errors.getErrors().map((e) => e.message);
  if (parseErrors.length > 0 || !parsed.value) throw new Error(`${file} does not parse:\n${parseErrors.join("\n")}`);
  const template = await p.convertWorkflowTemplate(parsed.context, parsed.value, {
    getFileContent: async (ref) => {
      if ("repository" in ref) throw new Error(`${file}: remote reusable workflow ${ref.owner}/${ref.repository}/${ref.path}@${ref.version} is not read offline`);
      return { name: ref.path, content: readWorkflow(ref.path) };
    },
  }, { fetchReusableWorkflowDepth: 1 });
  const convertErrors = (template.errors ?? []).map((e) => e.Message);
  if (convertErrors.length > 0) throw new Error(`${file} does not convert:\n${convertErrors.join("\n")}`);
  return {
    file,
    workflow: plain(p, parsed.value) as PlainWorkflow,
    jobs: template.jobs.map((j) => ({ id: j.id.value, type: j.type })),
  };
}

export const workflowFiles = (): string[] => readdirSync(WORKFLOWS_DIR).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml")).sort();

/** Every workflow of the repository, parsed; throws on the first that GitHub would reject. */
export async function loadWorkflows(): Promise<Map<string, LoadedWorkflow>> {
  const out = new Map<string, LoadedWorkflow>();
  for (const file of workflowFiles()) out.set(file, await parseWorkflowText(file, readFileSync(path.join(WORKFLOWS_DIR, file), "utf8")));
  return out;
}

/** The action a `uses:` names, without its ref (`pulumi/actions@v7` → `pulumi/actions`). */
export const actionName = (uses: string | undefined): string | undefined => uses?.replace(/@.*$/, "");

/** A step's name as the runner's log shows it. */
export const stepLabel = (s: PlainStep): string => s.name ?? (s.uses ? `uses ${s.uses}` : `run ${String(s.run).split("\n")[0]}`);

export const needsOf = (job: PlainJob): string[] => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);

/** Expression contexts, by name (matrix, env, secrets, steps, needs, jobs, github, …). */
export type Contexts = Record<string, unknown>;

/** Contexts whose missing properties are empty, as GitHub has them (an unset secret is ""). */
const EMPTY_WHEN_MISSING = new Set(["secrets", "vars"]);

function lookup(expr: string, contexts: Contexts): unknown {
  const parts = expr.split(".");
  let value: unknown = contexts;
  for (const [i, part] of parts.entries()) {
    if (value !== null && typeof value === "object" && part in (value as Record<string, unknown>)) {
      value = (value as Record<string, unknown>)[part];
    } else if (i === 1 && EMPTY_WHEN_MISSING.has(parts[0])) {
      return "";
    } else {
      throw new Error(`\${{ ${expr} }}: no ${parts.slice(0, i + 1).join(".")} in the simulated contexts`);
    }
  }
  return value;
}

/**
 * Evaluates the expressions in a workflow value: `${{ a.b.c }}` and `${{ fromJSON(a.b) }}`, all
 * this repository's workflows use. Anything else throws: the simulation never guesses a value.
 * A value that is one whole expression keeps its type (fromJSON's array); otherwise strings.
 */
export function evaluate(value: unknown, contexts: Contexts): unknown {
  if (typeof value !== "string" || !value.includes("${{")) return value;
  const one = (expr: string): unknown => {
    const e = expr.trim();
    const path = /^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/;
    if (path.test(e)) return lookup(e, contexts);
    const fromJson = /^fromJSON\((.+)\)$/i.exec(e);
    if (fromJson && path.test(fromJson[1].trim())) return JSON.parse(String(lookup(fromJson[1].trim(), contexts)));
    throw new Error(`\${{ ${e} }}: an expression the simulated runner does not evaluate`);
  };
  const whole = /^\$\{\{(.*?)\}\}$/s.exec(value);
  if (whole && !whole[1].includes("}}")) return one(whole[1]);
  return value.replace(/\$\{\{(.*?)\}\}/gs, (_, expr: string) => {
    const v = one(expr);
    return typeof v === "string" ? v : JSON.stringify(v);
  });
}

/** A mapping of values (env, with) with its expressions evaluated, as strings. */
export function evaluateMap(map: Record<string, unknown> | undefined, contexts: Contexts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map ?? {})) {
    const e = evaluate(v, contexts);
    out[k] = typeof e === "string" ? e : e === null ? "" : typeof e === "object" ? JSON.stringify(e) : String(e);
  }
  return out;
}
