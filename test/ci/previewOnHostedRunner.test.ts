/**
 * preview.yml's preview job, executed step by step on a simulated GitHub-hosted runner (see
 * hostedRunner.ts): Node and npm, no Debian Python packages, no network. First stacks.yml's job
 * lists the stacks with its own step, then each stack's leg runs: checkout, setup-node, the job's
 * `npm ci --omit=dev --ignore-scripts` (for real, offline from the npm cache), setup-buildx,
 * azure/login and azure/use-kubelogin (skipped), pulumi/actions preview (stood in for by the plan
 * script on the installed ts-node: the same program, loaded as Pulumi loads it, under Pulumi's
 * mocks). The dev and prod plans must succeed with what the job installed, and nothing more. The
 * record of what ran for real, what was stood in for or shared between the legs, and why, is
 * printed and asserted.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../support/stacks";
import { headCommit, probeIsolation, SimulatedRunner, type JobRun, type StepRecord } from "./hostedRunner";
import { evaluate, loadWorkflows, needsOf, type LoadedWorkflow } from "./workflowModel";

/**
 * Each leg on its own fresh machine, in parallel, as GitHub runs them: a fresh install per leg
 * (about 20 s of CPU each). By default the steps before the first that reads the matrix
 * (checkout, setup-node, npm ci, setup-buildx, azure/login) run once and every other leg records
 * them as shared; `AKSINF_CI_FRESH_LEGS=1` runs the legs as GitHub does.
 */
const FRESH_LEGS = process.env.AKSINF_CI_FRESH_LEGS === "1";

/** The job's install step. */
const INSTALL = /^npm ci\b/;

/** The sample model the dev stack serves: committed, since the preview job has no Python to train it. */
const SAMPLE_MODEL = "samples/diabetes/model/sklearn_regression_model.pkl";

describe("preview.yml on a simulated GitHub-hosted runner (Node and npm; no Debian Python, no network)", function () {
  // The install from the npm cache dominates (15 to 30 s here); the bound is the hook's timeout
  // and each step's own (150 s).
  this.timeout(240_000);
  let runner: SimulatedRunner;
  let preview: LoadedWorkflow;
  let stacksWf: LoadedWorkflow;
  let list: JobRun;
  let listed: string[];
  let legs: JobRun[];
  let python: Awaited<ReturnType<SimulatedRunner["pythonPrecondition"]>>;

  before(async function () {
    const isolation = probeIsolation();
    if ("unavailable" in isolation) {
      console.log(`      (skipped: ${isolation.unavailable})`);
      this.skip();
    }
    const workflows = await loadWorkflows();
    preview = workflows.get("preview.yml")!;
    stacksWf = workflows.get("stacks.yml")!;
    runner = new SimulatedRunner(isolation);
    const t0 = Date.now();
    python = await runner.pythonPrecondition();
    const t1 = Date.now();

    // The reusable workflow's job, then its output as preview.yml's `needs.stacks.outputs`.
    const lister = Object.entries(preview.workflow.jobs).find(([, j]) => j.uses === "./.github/workflows/stacks.yml")?.[0];
    assert.ok(lister, "preview.yml calls no stacks.yml job");
    list = await runner.runJob(stacksWf, "list");
    const callOutputs = (stacksWf.workflow.on.workflow_call as { outputs: Record<string, { value: string }> }).outputs;
    const stacksOutput = list.ok ? String(evaluate(callOutputs.stacks.value, { jobs: { list: { outputs: list.outputs } } })) : "[]";
    const needs = { [lister]: { outputs: { stacks: stacksOutput } } };

    const job = preview.workflow.jobs.preview;
    for (const other of needsOf(job).filter((n) => n !== lister)) {
      runner.skipJob(`preview.yml:${other}`, "its `npm test` is this test suite, which would run itself; its steps' Ubuntu packages are checked against .ci/run by test/ci/workflows.test.ts");
    }
    listed = evaluate(job.strategy!.matrix!.stack, { needs }) as string[];
    const t2 = Date.now();
    legs = await runner.runMatrix(preview, "preview", listed.map((stack) => ({ stack })), { needs, fresh: FRESH_LEGS });
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(runner.report().replace(/^/gm, "      "));
    console.log(`      timings: python check ${seconds(t1 - t0)}, stacks.yml ${seconds(t2 - t1)}, preview legs ${seconds(Date.now() - t2)}${FRESH_LEGS ? " (fresh machines, in parallel)" : ""}`);
  });

  const leg = (stack: string): JobRun => {
    const found = legs.find((l) => l.job.endsWith(`[stack=${stack}]`));
    assert.ok(found, `no leg for stack ${stack} (listed: ${JSON.stringify(listed)})`);
    return found;
  };
  const failure = (run: JobRun): string => {
    const last = run.records[run.records.length - 1];
    const out = last?.output ?? "";
    const hint = /ENOENT[^\n]*sklearn_regression_model\.pkl/.test(out)
      ? `\n(${SAMPLE_MODEL} is not in the committed tree: the preview job has no Python to train it; commit the model)`
      : /ENOTCACHED/.test(out)
        ? "\n(the npm cache lacks a package of the lockfile in the form `npm ci` reads, e.g. one added with `npm install`: run `npm ci` once, online, on this machine)"
        : "";
    return `${run.job}: step "${last?.step}" exited ${last?.status}:\n${last?.output}${hint}`;
  };

  it("hides Debian's Python packages: no python on the runner's PATH imports scikit-learn", () => {
    assert.ok(python.checked.some((p) => p === "/usr/bin/python3" || p.endsWith("/python3")), `no python3 checked: ${JSON.stringify(python.checked)}`);
    assert.deepEqual(python.importing, [], `these import sklearn inside the runner: ${python.importing.join(", ")}`);
    if (python.importsOutside) assert.ok(runner.isolation.hidden.length > 0, "/usr/bin/python3 imports sklearn here, yet nothing was hidden");
  });

  it("lists the stacks with stacks.yml's own step: every Pulumi.<stack>.yaml of the committed tree", () => {
    assert.ok(list.ok, failure(list));
    const committed = spawnSync("git", ["-C", REPO_ROOT, "ls-tree", "--name-only", headCommit()], { encoding: "utf8" })
      .stdout.split("\n")
      .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .sort();
    assert.deepEqual(listed, committed);
    assert.ok(listed.includes("dev") && listed.includes("prod"), JSON.stringify(listed));
    assert.deepEqual(
      list.records.map((r) => [r.kind, r.step]),
      [
        ["stand-in", "uses actions/checkout@v4"],
        ["ran", "run ls Pulumi.*.yaml | sed -E 's/^Pulumi\\.(.+)\\.yaml$/\\1/' | LC_ALL=C sort | jq -Rnc '[inputs]' | sed 's/^/stacks=/' >> \"$GITHUB_OUTPUT\""],
      ],
    );
  });

  for (const stack of ["dev", "prod"]) {
    it(`runs the ${stack} stack's preview job to its end, every command exiting 0`, () => {
      const run = leg(stack);
      assert.ok(run.ok, failure(run));
      assert.deepEqual(run.records.map((r) => r.status), run.records.map(() => 0));
      const plan = run.records[run.records.length - 1];
      assert.equal(plan.command, `node --require ts-node/register scripts/plan.ts ${stack}`);
      assert.match(plan.output, new RegExp(`^Stack ${stack}: \\d+ resources \\(\\d+ custom\\)$`, "m"));
    });
  }

  it("installs for real, offline from the npm cache, what a preview loads and no more", () => {
    for (const run of legs) {
      const ci = run.records.find((r) => INSTALL.test(r.command ?? ""));
      assert.ok(ci, `${run.job}: no npm ci step`);
      assert.equal(ci.command, "npm ci --omit=dev --ignore-scripts");
      assert.equal(ci.kind, run === legs[0] || FRESH_LEGS ? "ran" : "shared");
      assert.equal(ci.status, 0, failure(run));
      const installed = (name: string) => existsSync(path.join(run.workspace, "node_modules", name, "package.json"));
      // The program's own dependencies and the compiler Pulumi's Node.js host loads it with.
      for (const name of ["@pulumi/pulumi", "@pulumi/azure-native", "typescript", "ts-node"]) assert.ok(installed(name), `${run.job}: the install has no ${name}`);
      // Not the test tooling nor the runtimes' packages: onnxruntime-node (whose install script
      // downloads CUDA libraries), the browser driver, Stryker, the test runner and tsx.
      for (const name of ["onnxruntime-node", "puppeteer-core", "@stryker-mutator/core", "mocha", "tsx"]) assert.ok(!installed(name), `${run.job}: a preview does not load ${name}, yet the job installs it`);
      // A local policy pack starts from its own folder: the CLI runs @pulumi/pulumi's
      // run-policy-pack resolved from there, which loads @pulumi/policy.
      const pack = path.join(run.workspace, "policies");
      for (const name of ["@pulumi/policy", "@pulumi/pulumi/cmd/run-policy-pack"]) {
        assert.ok(require.resolve(name, { paths: [pack] }).startsWith(run.workspace), `${run.job}: ${name} does not resolve from the policy pack's folder`);
      }
    }
  });

  it("records every step: which ran for real, which were stood in for or skipped, and why", () => {
    const expected: [StepRecord["kind"], string][] = [
      ["stand-in", "actions/checkout"],
      ["stand-in", "actions/setup-node"],
      ["ran", "npm ci"],
      ["skipped", "docker/setup-buildx-action"],
      ["skipped", "azure/login"],
      ["skipped", "azure/use-kubelogin"],
      ["stand-in", "pulumi/actions"],
    ];
    for (const run of legs) {
      // Without fresh machines, the legs after the first share every step but the Pulumi one.
      const shared = run !== legs[0] && !FRESH_LEGS;
      assert.deepEqual(
        run.records.map((r): [string, string] => [r.kind, INSTALL.test(r.command ?? "") ? "npm ci" : r.step.replace(/^uses /, "").replace(/@.*$/, "")]),
        expected.map(([kind, what], i): [string, string] => [shared && i < expected.length - 1 ? "shared" : kind, what]),
        run.job,
      );
      for (const r of run.records) if (r.kind !== "ran") assert.ok(r.why && r.why.length > 20, `${run.job}: ${r.step} has no reason`);
      const pulumi = run.records[run.records.length - 1];
      assert.match(pulumi.why!, /not covered: the policy pack \(policies\) beyond its dependencies resolving, image builds, the PR comment/);
      assert.match(pulumi.why!, /pulumi-version 3\.\d+\.\d+/);
    }
    assert.deepEqual(runner.notRun.map((j) => j.job), ["preview.yml:test"]);
  });

  it("the sample model the dev stack needs is committed, not trained on the runner", () => {
    const committed = spawnSync("git", ["-C", leg("dev").workspace, "ls-files", "--error-unmatch", SAMPLE_MODEL], { encoding: "utf8" });
    assert.equal(committed.status, 0, `${SAMPLE_MODEL} is not in the committed tree: the preview job has no Python to train it`);
  });
});
