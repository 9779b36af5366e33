/**
 * The GitHub workflows, read as GitHub reads them: the stacks they preview and deploy are the
 * Pulumi.<stack>.yaml files (a stamped stack needs no workflow edit), the preview comment always
 * keeps its resource summary, and a release publishes only what passed the tests. Shell steps
 * whose outcome matters are run here as the runner runs them (bash -eo pipefail).
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { DEFAULT_PACK_DIR } from "../../scripts/pack-policies";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";

/**
 * The current major of pulumi/actions: v7.0.0 (2026-05-01, the Node 24 runtime). Its inputs used
 * here: comment-on-pr, comment-on-summary, always-include-summary; without `command` it only
 * installs the CLI.
 */
const PULUMI_ACTIONS = "pulumi/actions@v7";

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  "working-directory"?: string;
}
interface Job {
  uses?: string;
  needs?: string | string[];
  strategy?: { matrix?: Record<string, unknown> };
  outputs?: Record<string, string>;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}

const WORKFLOWS = path.join(REPO_ROOT, ".github", "workflows");
const workflowFiles = readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"));
const workflow = (file: string): Workflow => parse(readFileSync(path.join(WORKFLOWS, file), "utf8")) as Workflow;
const needsOf = (job: Job): string[] => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);
const step = (job: Job, match: (s: Step) => boolean, what: string): Step => {
  const found = job.steps?.find(match);
  assert.ok(found, `no step ${what}`);
  return found;
};
const stepIndex = (job: Job, match: (s: Step) => boolean, what: string): number => {
  const i = job.steps?.findIndex(match) ?? -1;
  assert.ok(i >= 0, `no step ${what}`);
  return i;
};
const runs = (command: RegExp) => (s: Step) => command.test(s.run ?? "");

/** Runs a step's script as the runner's default shell does; returns its exit status, output and GITHUB_OUTPUT. */
function runStep(script: string, cwd: string, env: Record<string, string> = {}): { status: number | null; output: string; githubOutput: string } {
  const githubOutput = path.join(tempDir("gh-output"), "output");
  writeFileSync(githubOutput, "");
  const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], { cwd, encoding: "utf8", env: { ...process.env, ...env, GITHUB_OUTPUT: githubOutput } });
  return { status: r.status, output: r.stdout + r.stderr, githubOutput: readFileSync(githubOutput, "utf8") };
}

const LIST = workflow("stacks.yml").jobs.list;
const listScript = step(LIST, (s) => s.id === "list", "with id list").run!;
const listed = (dir: string): string[] => {
  const r = runStep(listScript, dir);
  assert.equal(r.status, 0, r.output);
  const m = /^stacks=(.*)$/m.exec(r.githubOutput);
  assert.ok(m, `no stacks= output in ${JSON.stringify(r.githubOutput)}`);
  return JSON.parse(m[1]) as string[];
};

describe("GitHub workflows", () => {
  describe("the stack list", () => {
    it("is every Pulumi.<stack>.yaml of the repository, the project file left out", () => {
      const files = readdirSync(REPO_ROOT)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
      assert.ok(files.includes("dev") && files.includes("prod"));
      assert.deepEqual(listed(REPO_ROOT), files);
    });

    it("takes in a stamped stack file without a workflow edit, in name order", () => {
      const dir = tempDir("stacks");
      for (const f of ["Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.dev.yaml", "Pulumi.prodneu.yaml", "README.md"]) writeFileSync(path.join(dir, f), "");
      assert.deepEqual(listed(dir), ["dev", "prod", "prodneu"]);
    });

    it("fails rather than run an empty matrix when there is no stack file", () => {
      const dir = tempDir("stacks");
      writeFileSync(path.join(dir, "Pulumi.yaml"), "");
      assert.notEqual(runStep(listScript, dir).status, 0);
    });

    it("is exposed by stacks.yml as a reusable workflow's output", () => {
      const wf = workflow("stacks.yml");
      assert.ok("workflow_call" in wf.on);
      const outputs = (wf.on.workflow_call as { outputs: Record<string, { value: string }> }).outputs;
      assert.equal(outputs.stacks.value, "${{ jobs.list.outputs.stacks }}");
      assert.equal(LIST.outputs?.stacks, "${{ steps.list.outputs.stacks }}");
    });
  });

  it("no workflow hard-codes a stack matrix: every matrix comes from the stack list", () => {
    const matrices: string[] = [];
    for (const file of workflowFiles) {
      for (const [name, job] of Object.entries(workflow(file).jobs)) {
        const matrix = job.strategy?.matrix;
        if (!matrix) continue;
        matrices.push(`${file}:${name}`);
        const lister = needsOf(job).find((n) => workflow(file).jobs[n]?.uses === "./.github/workflows/stacks.yml");
        assert.ok(lister, `${file}: job ${name} has a matrix but does not need the stacks.yml job`);
        assert.deepEqual(matrix, { stack: `\${{ fromJSON(needs.${lister}.outputs.stacks) }}` }, `${file}: job ${name}'s matrix`);
      }
    }
    assert.deepEqual(matrices.sort(), ["deploy.yml:up", "preview.yml:preview"]);
  });

  it(`every Pulumi step uses ${PULUMI_ACTIONS}`, () => {
    const uses = workflowFiles.flatMap((file) => Object.values(workflow(file).jobs).flatMap((job) => (job.steps ?? []).map((s) => s.uses ?? ""))).filter((u) => u.startsWith("pulumi/actions"));
    assert.ok(uses.length >= 3);
    assert.deepEqual([...new Set(uses)], [PULUMI_ACTIONS]);
  });

  it("the preview comments on the PR and the job summary, the resource summary always kept", () => {
    const preview = step(workflow("preview.yml").jobs.preview, (s) => s.uses === PULUMI_ACTIONS, PULUMI_ACTIONS);
    assert.equal(preview.with?.command, "preview");
    assert.equal(preview.with?.policyPacks, "policies");
    assert.equal(preview.with?.["comment-on-pr"], true);
    assert.equal(preview.with?.["comment-on-summary"], true);
    assert.equal(preview.with?.["always-include-summary"], true);
  });

  describe("release.yml", () => {
    const wf = workflow("release.yml");
    const job = wf.jobs.publish;
    const version = (JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;

    it("runs on v* tags only", () => {
      assert.deepEqual(wf.on, { push: { tags: ["v*"] } });
    });

    it("runs npm ci and npm test before publishing the component and the policy pack", () => {
      const ci = stepIndex(job, (s) => s.run === "npm ci", "npm ci");
      const test = stepIndex(job, (s) => s.run === "npm test", "npm test");
      const cli = stepIndex(job, (s) => s.uses === PULUMI_ACTIONS && s.with?.command === undefined, `${PULUMI_ACTIONS} installing the CLI`);
      const component = stepIndex(job, runs(/^pulumi package publish /), "pulumi package publish");
      const pack = stepIndex(job, runs(/^npm run pack-policies$/), "npm run pack-policies");
      const policy = stepIndex(job, runs(/^pulumi policy publish /), "pulumi policy publish");
      assert.ok(ci < test && test < cli && cli < component && cli < policy && pack < policy, `order: ${JSON.stringify({ ci, test, cli, component, pack, policy })}`);
    });

    it("publishes this repository at the tag's version, and the pack folder pack-policies builds", () => {
      const component = step(job, runs(/^pulumi package publish /), "pulumi package publish");
      assert.match(component.run!, /"github\.com\/\$\{GITHUB_REPOSITORY\}@\$\{GITHUB_REF_NAME#v\}"/);
      assert.match(component.run!, /--publisher "\$\{PULUMI_ORG\}"/);
      assert.match(component.run!, /--readme README\.md/);
      const policy = step(job, runs(/^pulumi policy publish /), "pulumi policy publish");
      assert.equal(path.join(REPO_ROOT, policy["working-directory"]!), DEFAULT_PACK_DIR);
      for (const s of [component, policy]) assert.equal(s.env?.PULUMI_ACCESS_TOKEN, "${{ secrets.PULUMI_ACCESS_TOKEN }}");
    });

    it("stops before testing when the tag is not package.json's version", () => {
      const check = stepIndex(job, (s) => s.name === "The tag is package.json's version", "checking the tag");
      assert.ok(check < stepIndex(job, (s) => s.run === "npm ci", "npm ci"));
      const script = job.steps![check].run!;
      assert.equal(runStep(script, REPO_ROOT, { GITHUB_REF_NAME: `v${version}` }).status, 0);
      const wrong = runStep(script, REPO_ROOT, { GITHUB_REF_NAME: "v0.0.0-not-this" });
      assert.notEqual(wrong.status, 0);
      assert.match(wrong.output, new RegExp(`tag v0\\.0\\.0-not-this is not v${version.replace(/\./g, "\\.")}`));
    });

    it("releases a version CHANGELOG.md describes", () => {
      const changelog = readFileSync(path.join(REPO_ROOT, "CHANGELOG.md"), "utf8");
      assert.match(changelog, new RegExp(`^## \\[${version.replace(/\./g, "\\.")}\\] - \\d{4}-\\d{2}-\\d{2}$`, "m"));
    });
  });
});
