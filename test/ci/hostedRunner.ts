/**
 * A simulated GitHub-hosted runner: a job's steps executed in order, as the runner executes them,
 * on this machine made to look like `ubuntu-latest` before anything is installed on it: Node and
 * npm, but no Debian Python packages (python3-sklearn and the rest are what a hosted runner lacks)
 * and, here, no network.
 *
 * Every step command runs in its own private mount and network namespace (`unshare`; as root
 * `--mount --net`, otherwise `--map-root-user` as well), in which an empty directory is bind-mounted
 * over each Python package directory of the machine (/usr/lib/python3/dist-packages,
 * /usr/lib/python3.X/dist-packages, /usr/local/lib/python3.X/dist-packages, ~/.local's
 * site-packages): no python on PATH can import scikit-learn there (`pythonPrecondition` checks
 * it), and nothing can reach the network (the loopback interface is up, as on a runner).
 *
 * `run:` steps run as the runner runs them: the script in a file, `bash --noprofile --norc -eo
 * pipefail <file>`, with the workflow's, job's and step's env, GITHUB_OUTPUT / GITHUB_ENV /
 * GITHUB_PATH files, expressions evaluated (`${{ matrix.stack }}`; an unset secret is "", as on a
 * fork's pull request). The environment starts empty (no variable of the `npm test` running this),
 * with the runner's own (CI, GITHUB_*, RUNNER_*, a fresh HOME) and two additions of the
 * simulation: `npm_config_cache`, this machine's npm cache (what setup-node's `cache: npm`
 * restores), and `npm_config_offline=true`, so `npm ci` installs from that cache, which holds every
 * package of the lockfile once the repository's own `npm ci` ran (a package added with `npm
 * install` is cached in a form `npm ci` cannot read offline: ENOTCACHED until an `npm ci` ran).
 *
 * `uses:` steps have local stand-ins, each recorded with what it did instead and why (see
 * STAND_INS); an action without one fails the run rather than being passed over. A matrix job's
 * legs share the steps that read no matrix value unless asked for fresh machines (`runMatrix`).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PYTHON_CANDIDATES } from "../../local/python";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";
import { actionName, evaluate, evaluateMap, stepLabel, type Contexts, type LoadedWorkflow, type PlainJob, type PlainStep } from "./workflowModel";

/** How a step was executed: its own commands for real, a local stand-in, not at all, or once for every matrix leg (`runMatrix`). */
export type StepKind = "ran" | "stand-in" | "skipped" | "shared";

export interface StepRecord {
  /** `preview.yml:preview [stack=dev]` */
  job: string;
  step: string;
  kind: StepKind;
  /** The command executed in the runner (for a stand-in, its command instead of the action). */
  command?: string;
  /** Why a step was stood in for or skipped, and what the stand-in does not cover. */
  why?: string;
  status: number;
  ms: number;
  /** The step's output: its beginning and its end. */
  output: string;
}

export interface JobRun {
  job: string;
  ok: boolean;
  outputs: Record<string, string>;
  records: StepRecord[];
  workspace: string;
  ms: number;
}

export interface Isolation {
  /** The `unshare` options that worked here. */
  unshare: string[];
  /** Directories an empty directory is bind-mounted over. */
  hidden: string[];
}

const OUTPUT_HEAD = 2000;
const OUTPUT_TAIL = 6000;
const tail = (s: string) => (s.length > OUTPUT_TAIL ? `…${s.slice(-OUTPUT_TAIL)}` : s);

/** The machine's Python package directories: what a hosted runner does not have. */
export function pythonSitesToHide(home = os.homedir()): string[] {
  const dirs: string[] = [];
  const versions = (root: string) => (existsSync(root) ? readdirSync(root).filter((d) => /^python3(\.\d+)?$/.test(d)) : []);
  for (const root of ["/usr/lib", "/usr/local/lib", path.join(home, ".local", "lib")]) {
    for (const v of versions(root)) for (const sub of ["dist-packages", "site-packages"]) dirs.push(path.join(root, v, sub));
  }
  return dirs.filter((d) => existsSync(d) && statSync(d).isDirectory()).sort();
}

/** The runner's PATH: this machine's, without the node_modules/.bin folders `npm test` adds. */
export function runnerPath(hostPath = process.env.PATH ?? ""): string {
  return hostPath.split(":").filter((d) => d && !/\/node_modules\/\.bin\/?$/.test(d) && !/\/node-gyp-bin\/?$/.test(d)).join(":");
}

/** `node --version` of the Node first on the runner's PATH. */
export const runnerNode = (): string => spawnSync("node", ["--version"], { encoding: "utf8", env: { PATH: runnerPath() } }).stdout.trim();

/** The npm cache `npm ci` reads offline: the one `npm config get cache` names on this machine. */
export function npmCache(): string {
  return process.env.npm_config_cache ?? path.join(os.homedir(), ".npm");
}

/**
 * Which `unshare` works here for a private mount and network namespace in which a directory can
 * be bind-mounted, or why none does (then the simulation cannot run here).
 */
export function probeIsolation(): Isolation | { unavailable: string } {
  const dir = tempDir("runner-probe");
  const [empty, target] = [path.join(dir, "empty"), path.join(dir, "target")];
  mkdirSync(empty);
  mkdirSync(target);
  writeFileSync(path.join(target, "visible"), "");
  const options = process.getuid?.() === 0 ? [["--mount", "--net"], ["--mount", "--net", "--map-root-user"]] : [["--mount", "--net", "--map-root-user"]];
  const tried: string[] = [];
  for (const opts of options) {
    const r = spawnSync("unshare", [...opts, "--", "bash", "--noprofile", "--norc", "-c", 'mount --bind "$0" "$1" && [ ! -e "$1/visible" ] && echo hidden', empty, target], { encoding: "utf8", timeout: 10_000 });
    if (r.status === 0 && r.stdout.trim() === "hidden" && existsSync(path.join(target, "visible"))) return { unshare: opts, hidden: pythonSitesToHide() };
    tried.push(`unshare ${opts.join(" ")}: ${(r.error?.message ?? r.stderr).trim() || `exit ${r.status}`}`);
  }
  return { unavailable: `no private mount namespace here (${tried.join("; ")})` };
}

/** Runs `bash <enter> <empty> <list> <command…>`: hides the listed directories, brings up lo, execs the command. */
const ENTER = `set -e
empty=$1 list=$2; shift 2
while IFS= read -r d; do [ -n "$d" ] && mount --bind "$empty" "$d"; done < "$list"
ip link set lo up 2>/dev/null || true
exec "$@"
`;

/** KEY=value and KEY<<DELIMITER … DELIMITER lines of GITHUB_OUTPUT / GITHUB_ENV. */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2], i + 1);
      if (end < 0) throw new Error(`unterminated ${heredoc[1]}<<${heredoc[2]} in a command file`);
      out[heredoc[1]] = lines.slice(i + 1, end).join("\n");
      i = end;
    } else if (line.includes("=")) {
      out[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
    } else if (line.trim()) {
      throw new Error(`malformed command file line ${JSON.stringify(line)}`);
    }
  }
  return out;
}

/** One step's inputs, evaluated, handed to a stand-in. */
interface ActionCall {
  uses: string;
  with: Record<string, string>;
  matrix: Record<string, string>;
  workspace: string;
  /** The commit to check out. */
  sha: string;
}
/** What a stand-in does: a command run in the runner in place of the action, or nothing. */
interface StandIn {
  kind: "stand-in" | "skipped";
  why: string;
  /** A script run in the runner (bash -eo pipefail), in the workspace. */
  script?: string;
  /** Work done outside the runner's shell (the checkout), returning its command line. */
  local?: () => string;
}

/** The committed HEAD of this repository: what actions/checkout would fetch for a pushed commit. */
export const headCommit = (): string => spawnSync("git", ["-C", REPO_ROOT, "rev-parse", "HEAD"], { encoding: "utf8" }).stdout.trim();

/** The stand-ins, by action (without its ref). An action not listed fails the run. */
export const STAND_INS: Record<string, (call: ActionCall) => StandIn> = {
  "actions/checkout": (call) => ({
    kind: "stand-in",
    why: "no GitHub to fetch from: a git clone of this repository's committed HEAD into the runner's workspace (work not committed is not in it, as in a pushed commit)",
    local: () => {
      const sha = call.sha;
      for (const args of [["clone", "--quiet", "--no-checkout", REPO_ROOT, call.workspace], ["-C", call.workspace, "checkout", "--quiet", "--detach", sha]]) {
        const r = spawnSync("git", args, { encoding: "utf8", timeout: 60_000 });
        if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr || r.error?.message}`);
      }
      return `git clone ${REPO_ROOT} && git checkout --detach ${sha}`;
    },
  }),
  "actions/setup-node": (call) => ({
    kind: "stand-in",
    why: `the Node on PATH (${runnerNode()}; the workflow asks for ${call.with["node-version"] ?? "its default"}), no download; cache: ${call.with.cache ?? "none"} is this machine's npm cache (${npmCache()}), read offline`,
    script: "node --version && npm --version",
  }),
  "docker/setup-buildx-action": () => ({
    kind: "skipped",
    why: "no Docker builder: the stand-in for pulumi/actions evaluates the program under mocks, where the images (buildOnPreview) are not built",
  }),
  "azure/login": () => ({
    kind: "skipped",
    why: "no Azure and no OIDC token: the offline plan answers the program's Azure lookups itself (scripts/offline.ts)",
  }),
  "azure/use-kubelogin": (call) => ({
    kind: "skipped",
    why: `installs kubelogin ${call.with["kubelogin-version"] ?? "(unpinned)"}: the offline plan never calls the cluster, so nothing runs the kubeconfig's exec plugin`,
  }),
  "pulumi/actions": (call) => {
    const command = call.with.command;
    if (!command) return { kind: "skipped", why: `installs the Pulumi CLI ${call.with["pulumi-version"] ?? "(unpinned)"} only; nothing offline uses it` };
    if (!["preview", "up", "refresh"].includes(command)) throw new Error(`no stand-in for pulumi/actions command ${command}`);
    const stack = (call.with["stack-name"] ?? "").split("/").pop() ?? "";
    if (stack !== call.matrix.stack) throw new Error(`pulumi/actions stack-name ${JSON.stringify(call.with["stack-name"])} is not the matrix's stack ${call.matrix.stack}`);
    const cwd = call.with["work-dir"] && call.with["work-dir"] !== "./" ? `cd ${JSON.stringify(call.with["work-dir"])} && ` : "";
    // The plan script, not `npm run plan` (tsx, a dev dependency): loaded as Pulumi's Node.js
    // host loads a TypeScript program, with the installed ts-node and TypeScript and tsconfig.json.
    const plan = `node --require ts-node/register scripts/plan.ts ${stack}${command === "preview" ? "" : " --up"}`;
    return {
      kind: "stand-in",
      why:
        `no Pulumi Cloud, Azure or Pulumi CLI (pulumi-version ${call.with["pulumi-version"] ?? "unpinned"}): \`${plan}\` evaluates the program \`pulumi ${command} --stack ${stack}\` evaluates, on the TypeScript loader Pulumi's Node.js host registers (the installed ts-node), with the installed @pulumi/pulumi SDK, under Pulumi's mocks` +
        `; not covered: ${call.with.policyPacks ? `the policy pack (${call.with.policyPacks}) beyond its dependencies resolving, ` : ""}image builds, the PR comment`,
      script: `${cwd}${plan}`,
    };
  },
};

/** The jobs' `needs` context: each needed job's outputs. */
export type Needs = Record<string, { outputs: Record<string, string> }>;

/** One machine's state while a job runs on it. */
interface Machine {
  label: string;
  workspace: string;
  temp: string;
  files: { GITHUB_ENV: string; GITHUB_PATH: string };
  contexts: Contexts & { steps: Needs; matrix: Record<string, string> };
  runnerEnv: Record<string, string>;
  jobEnv: Record<string, string>;
  records: StepRecord[];
  ok: boolean;
  started: number;
}

const legLabel = (file: string, jobId: string, matrix?: Record<string, string>) =>
  `${file}:${jobId}${matrix ? ` [${Object.entries(matrix).map(([k, v]) => `${k}=${v}`).join(",")}]` : ""}`;

/** Whether a workflow value mentions the matrix context (then it may differ between legs). */
const readsMatrix = (value: unknown): boolean => /\bmatrix\b/.test(JSON.stringify(value ?? null));

export class SimulatedRunner {
  /** Every job run so far, and jobs recorded as not run. */
  readonly jobs: JobRun[] = [];
  readonly notRun: { job: string; why: string }[] = [];
  readonly dir = tempDir("hosted-runner");
  /** The commit every checkout fetches, fixed when the runner starts. */
  readonly sha = headCommit();
  private readonly enter = path.join(this.dir, "enter.sh");
  private readonly empty = path.join(this.dir, "empty");
  private readonly hiddenList = path.join(this.dir, "hidden");
  private machines = 0;

  constructor(
    readonly isolation: Isolation,
    /** GITHUB_REPOSITORY */
    readonly repository = "platform-team/aks-inference",
  ) {
    mkdirSync(this.empty);
    writeFileSync(this.enter, ENTER);
    writeFileSync(this.hiddenList, isolation.hidden.map((d) => `${d}\n`).join(""));
  }

  /** Runs a script in the runner: hidden Python, no network, `bash -eo pipefail`. */
  exec(script: string, opts: { cwd: string; env: Record<string, string>; scriptFile: string; timeoutMs: number }): Promise<{ status: number; output: string }> {
    writeFileSync(opts.scriptFile, script);
    const args = [...this.isolation.unshare, "--", "bash", "--noprofile", "--norc", this.enter, this.empty, this.hiddenList, "bash", "--noprofile", "--norc", "-eo", "pipefail", opts.scriptFile];
    return new Promise((resolve) => {
      let head = "";
      let rest = "";
      let timedOut = false;
      const child = spawn("unshare", args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
      // What a step printed is kept as its beginning and its end.
      const collect = (d: Buffer) => {
        if (rest === "" && head.length < OUTPUT_HEAD) {
          head += d.toString();
          if (head.length > OUTPUT_HEAD) [head, rest] = [head.slice(0, OUTPUT_HEAD), head.slice(OUTPUT_HEAD)];
        } else {
          rest = tail(rest + d.toString());
        }
      };
      const output = () => head + rest;
      child.stdout.on("data", collect);
      child.stderr.on("data", collect);
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          /* already gone */
        }
      }, opts.timeoutMs);
      child.on("error", (err) => {
        clearTimeout(timer);
        resolve({ status: 127, output: `${output()}\n${err.message}` });
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ status: code ?? 128, output: timedOut ? `${output()}\n(killed after ${opts.timeoutMs} ms)` : signal ? `${output()}\n(${signal})` : output() });
      });
    });
  }

  /**
   * Which pythons on the runner's PATH (and local mode's candidates) import scikit-learn inside the
   * runner, and whether /usr/bin/python3 does outside it (then hiding is what made the difference).
   */
  async pythonPrecondition(): Promise<{ checked: string[]; importing: string[]; importsOutside: boolean }> {
    const pythons = `{
  IFS=:
  for d in $PATH; do for f in "$d"/python "$d"/python[0-9]*; do echo "$f"; done; done
  for f in ${PYTHON_CANDIDATES.map((c) => JSON.stringify(c)).join(" ")}; do echo "$f"; done
}`;
    const list = await this.exec(
      `${pythons} | sort -u | while IFS= read -r f; do
  case "$f" in *-config|*.py|*[*]*) continue;; esac
  command -v "$f" >/dev/null 2>&1 || [ -x "$f" ] || continue
  if timeout 20 "$f" -c 'import sklearn' >/dev/null 2>&1; then echo "IMPORTS $f"; else echo "fails $f"; fi
done`,
      { cwd: this.dir, env: { PATH: runnerPath(), HOME: path.join(this.dir, "home"), LANG: "C.UTF-8" }, scriptFile: path.join(this.dir, "python-check.sh"), timeoutMs: 120_000 },
    );
    if (list.status !== 0) throw new Error(`the python check did not run in the runner: ${list.output}`);
    const lines = list.output.split("\n").filter((l) => /^(IMPORTS|fails) /.test(l));
    const outside = spawnSync("/usr/bin/python3", ["-c", "import sklearn"], { timeout: 20_000 });
    return {
      checked: lines.map((l) => l.replace(/^\S+ /, "")),
      importing: lines.filter((l) => l.startsWith("IMPORTS ")).map((l) => l.slice("IMPORTS ".length)),
      importsOutside: outside.status === 0,
    };
  }

  /** Records a job the simulation does not run, and why. */
  skipJob(job: string, why: string): void {
    this.notRun.push({ job, why });
  }

  /** A fresh machine for a job: empty workspace, RUNNER_TEMP, HOME and command files. */
  private machine(loaded: LoadedWorkflow, jobId: string, matrix: Record<string, string> | undefined, needs: Needs): Machine {
    const job = loaded.workflow.jobs[jobId];
    const dir = path.join(this.dir, `machine-${++this.machines}`);
    const workspace = path.join(dir, "work", path.basename(this.repository), path.basename(this.repository));
    const temp = path.join(dir, "_temp");
    const home = path.join(dir, "home");
    for (const d of [workspace, temp, home]) mkdirSync(d, { recursive: true });
    const files = { GITHUB_ENV: path.join(temp, "env"), GITHUB_PATH: path.join(temp, "path") };
    for (const f of Object.values(files)) writeFileSync(f, "");
    const github = { repository: this.repository, event_name: "pull_request", sha: this.sha, ref: "refs/pull/1/merge", workspace, job: jobId, token: "" };
    const runnerEnv: Record<string, string> = {
      PATH: runnerPath(),
      HOME: home,
      LANG: "C.UTF-8",
      CI: "true",
      GITHUB_ACTIONS: "true",
      GITHUB_REPOSITORY: this.repository,
      GITHUB_EVENT_NAME: github.event_name,
      GITHUB_SHA: this.sha,
      GITHUB_REF: github.ref,
      GITHUB_WORKSPACE: workspace,
      GITHUB_JOB: jobId,
      GITHUB_WORKFLOW: loaded.workflow.name ?? loaded.file,
      RUNNER_OS: "Linux",
      RUNNER_ARCH: "X64",
      RUNNER_TEMP: temp,
      ...files,
      // The simulation's additions: npm reads the machine's cache, never the registry.
      npm_config_offline: "true",
      npm_config_cache: npmCache(),
    };
    const contexts = { github, matrix: matrix ?? {}, needs, secrets: {}, vars: {}, runner: { os: "Linux", temp }, steps: {} as Needs, env: {} as Record<string, string> };
    const workflowEnv = evaluateMap(loaded.workflow.env, contexts);
    contexts.env = workflowEnv;
    const jobEnv = { ...workflowEnv, ...evaluateMap(job.env, contexts) };
    return { label: legLabel(loaded.file, jobId, matrix), workspace, temp, files, contexts, runnerEnv, jobEnv, records: [], ok: true, started: Date.now() };
  }

  /** Runs steps [from, to) of a job on a machine, in order; the first failing step ends the job. */
  private async runSteps(m: Machine, steps: PlainStep[], from: number, to: number, timeoutMs: number): Promise<void> {
    for (let i = from; i < to && m.ok; i++) {
      const step = steps[i];
      this.checkSupported(m.label, step);
      const { contexts, files } = m;
      const githubEnv = parseCommandFile(readFileSync(files.GITHUB_ENV, "utf8"));
      contexts.env = { ...m.jobEnv, ...githubEnv };
      const stepEnv = evaluateMap(step.env, contexts);
      contexts.env = { ...m.jobEnv, ...githubEnv, ...stepEnv };
      const extraPath = readFileSync(files.GITHUB_PATH, "utf8").split("\n").filter(Boolean).reverse();
      const output = path.join(m.temp, `output-${i}`);
      writeFileSync(output, "");
      const env = { ...m.runnerEnv, ...m.jobEnv, ...githubEnv, ...stepEnv, GITHUB_OUTPUT: output, PATH: [...extraPath, m.runnerEnv.PATH].join(":") };
      const t0 = Date.now();
      const record: StepRecord = { job: m.label, step: stepLabel(step), kind: "ran", status: 0, ms: 0, output: "" };
      const run = async (script: string, cwd: string) => {
        const r = await this.exec(script, { cwd, env, scriptFile: path.join(m.temp, `step-${i}.sh`), timeoutMs });
        record.status = r.status;
        record.output = r.output;
      };
      try {
        if (step.run !== undefined) {
          const script = evaluate(step.run, contexts);
          if (typeof script !== "string") throw new Error(`${m.label}: step ${i} run is not a string`);
          record.command = script.trim();
          await run(script, step["working-directory"] ? path.join(m.workspace, String(evaluate(step["working-directory"], contexts))) : m.workspace);
        } else {
          const name = actionName(step.uses);
          const standIn = name ? STAND_INS[name] : undefined;
          if (!standIn) throw new Error(`${m.label}: no stand-in for ${step.uses}: the simulated runner does not pass over an action it cannot stand in for`);
          const call = standIn({ uses: step.uses!, with: evaluateMap(step.with, contexts), matrix: contexts.matrix, workspace: m.workspace, sha: this.sha });
          record.kind = call.kind;
          record.why = call.why;
          if (call.local) record.command = call.local();
          if (call.script) {
            record.command = [record.command, call.script].filter(Boolean).join("; ");
            await run(call.script, m.workspace);
          }
        }
      } catch (err) {
        record.status = record.status || 1;
        record.output = tail(`${record.output}\n${err instanceof Error ? err.message : String(err)}`);
      }
      record.ms = Date.now() - t0;
      m.records.push(record);
      if (step.id) contexts.steps[step.id] = { outputs: parseCommandFile(readFileSync(output, "utf8")) };
      if (record.status !== 0) m.ok = false;
    }
  }

  private finish(m: Machine, job: PlainJob): JobRun {
    const result: JobRun = { job: m.label, ok: m.ok, outputs: m.ok ? evaluateMap(job.outputs, m.contexts) : {}, records: m.records, workspace: m.workspace, ms: Date.now() - m.started };
    this.jobs.push(result);
    return result;
  }

  /** Runs one job (one matrix leg) of a workflow on a fresh machine. */
  async runJob(loaded: LoadedWorkflow, jobId: string, opts: { matrix?: Record<string, string>; needs?: Needs; timeoutMs?: number } = {}): Promise<JobRun> {
    const job = loaded.workflow.jobs[jobId];
    if (!job?.steps) throw new Error(`${loaded.file} has no job ${jobId} with steps`);
    const m = this.machine(loaded, jobId, opts.matrix, opts.needs ?? {});
    await this.runSteps(m, job.steps, 0, job.steps.length, opts.timeoutMs ?? 150_000);
    return this.finish(m, job);
  }

  /**
   * Runs a matrix job's legs. `fresh`: each leg on its own fresh machine, all at once, as GitHub
   * runs them. Otherwise (the default: a fresh `npm ci` of this tree costs most of a minute of CPU)
   * the leading steps that read no matrix value, in a job whose env reads none, have the same
   * command and env in every leg: they run once, in the first leg, and each other leg records them
   * as `shared`; then each leg's own steps run in turn on that machine, its env, GITHUB_ENV,
   * GITHUB_PATH and step outputs as they were after the shared steps.
   */
  async runMatrix(loaded: LoadedWorkflow, jobId: string, legs: Record<string, string>[], opts: { needs?: Needs; fresh?: boolean; timeoutMs?: number } = {}): Promise<JobRun[]> {
    const job = loaded.workflow.jobs[jobId];
    if (!job?.steps) throw new Error(`${loaded.file} has no job ${jobId} with steps`);
    const steps = job.steps;
    const timeoutMs = opts.timeoutMs ?? 150_000;
    if (opts.fresh || legs.length < 2) return Promise.all(legs.map((matrix) => this.runJob(loaded, jobId, { matrix, needs: opts.needs, timeoutMs })));
    const firstReading = steps.findIndex((s) => readsMatrix(s));
    const firstOwn = readsMatrix(job.env) || readsMatrix(loaded.workflow.env) ? 0 : firstReading < 0 ? steps.length : firstReading;
    const m = this.machine(loaded, jobId, legs[0], opts.needs ?? {});
    await this.runSteps(m, steps, 0, firstOwn, timeoutMs);
    const shared = { records: [...m.records], steps: { ...m.contexts.steps }, files: Object.fromEntries(Object.values(m.files).map((f) => [f, readFileSync(f, "utf8")])), ok: m.ok };
    const out: JobRun[] = [];
    for (const [n, matrix] of legs.entries()) {
      if (n > 0) {
        m.label = legLabel(loaded.file, jobId, matrix);
        m.contexts.matrix = matrix;
        m.contexts.steps = { ...shared.steps };
        for (const [f, text] of Object.entries(shared.files)) writeFileSync(f, text);
        m.ok = shared.ok;
        m.started = Date.now();
        m.records = shared.records.map((r) => ({
          ...r,
          job: m.label,
          kind: "shared" as const,
          why: `run once, in ${shared.records[0].job}: the steps before the first that reads the matrix have the same command and env in every leg (a hosted runner repeats them on each leg's fresh machine)${r.why ? `; there: ${r.kind}, ${r.why}` : ""}`,
          ms: 0,
        }));
      }
      await this.runSteps(m, steps, firstOwn, steps.length, timeoutMs);
      out.push(this.finish(m, job));
    }
    return out;
  }

  /** Step features the simulation does not model fail the run instead of being ignored. */
  private checkSupported(label: string, step: PlainStep): void {
    const unsupported: string[] = (["if", "continue-on-error"] as const).filter((k) => step[k] !== undefined);
    if (step.shell !== undefined && step.shell !== "bash") unsupported.push(`shell: ${step.shell}`);
    if (unsupported.length > 0) throw new Error(`${label}: step "${stepLabel(step)}" uses ${unsupported.join(", ")}, which the simulated runner does not model`);
  }

  /** A table of every step: what ran for real, what was stood in for, shared or skipped, and why. */
  report(): string {
    const lines: string[] = [];
    for (const j of this.notRun) lines.push(`${j.job}: job not run: ${j.why}`);
    for (const j of this.jobs) {
      lines.push(`${j.job}: ${j.ok ? "succeeded" : "FAILED"} in ${(j.ms / 1000).toFixed(1)} s`);
      for (const r of j.records) lines.push(`  ${r.kind.padEnd(8)} ${r.step}${r.command && r.command !== r.step.replace(/^run /, "") ? `  $ ${r.command.split("\n")[0]}` : ""}  (exit ${r.status}, ${(r.ms / 1000).toFixed(1)} s)${r.why ? `\n           why: ${r.why}` : ""}`);
    }
    return lines.join("\n");
  }
}
