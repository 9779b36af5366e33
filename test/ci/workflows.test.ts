/**
 * The workflows install exactly what their steps need on a GitHub-hosted runner (Node and npm,
 * no Debian Python): read with GitHub's own parser (@actions/workflow-parser), whose errors fail
 * the load. The jobs running Pulumi install what it loads (production dependencies, no install
 * scripts); npm ci never runs onnxruntime-node's CUDA download; Node 24; one exact Pulumi CLI per
 * workflow, the SDK version package.json allows; the jobs running `npm test` install from Ubuntu
 * the packages .ci/run installs; deploy.yml refreshes before `up`; docs/ci.md documents the
 * federated credentials the workflows' OIDC subjects need.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as semver from "semver";
import { REPO_ROOT } from "../support/stacks";
import { actionName, evaluate, loadWorkflows, parseWorkflowText, stepLabel, workflowFiles, type LoadedWorkflow, type PlainJob, type PlainStep } from "./workflowModel";

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const ciRun = readFileSync(path.join(REPO_ROOT, ".ci", "run"), "utf8");

/** The packages .ci/run installs on a machine that lacks them (every `need+=(…)`). */
const ciRunPackages = (): string[] => [...ciRun.matchAll(/need\+=\(([^)]*)\)/g)].flatMap((m) => m[1].trim().split(/\s+/)).sort();

/** The packages a step's `apt-get install` lines name (options and VAR=value left out). */
function aptInstalled(script: string): string[] {
  return script
    .split("\n")
    .flatMap((line) => {
      const m = /\bapt-get\s+install\s+(.*)$/.exec(line);
      return m ? m[1].trim().split(/\s+/).filter((w) => !w.startsWith("-") && !w.includes("=")) : [];
    })
    .sort();
}

const runs = (command: RegExp) => (s: PlainStep) => command.test(s.run ?? "");
const NPM_CI = /(^|[\s;&|])npm ci(\s|$)/m;
const NPM_TEST = /(^|[\s;&|])npm test(\s|$)/m;

describe("GitHub workflows on a hosted runner (read with @actions/workflow-parser)", () => {
  let workflows: Map<string, LoadedWorkflow>;
  /** Every job with steps, as [file, job id, job]. */
  let jobs: [string, string, PlainJob][];
  const stepsOf = (uses: string) => jobs.flatMap(([file, id, job]) => (job.steps ?? []).filter((s) => actionName(s.uses) === uses).map((s) => ({ file, id, job, step: s })));

  before(async function () {
    this.timeout(60_000);
    workflows = await loadWorkflows();
    jobs = [...workflows.values()].flatMap((w) => Object.entries(w.workflow.jobs).filter(([, j]) => j.steps).map(([id, j]): [string, string, PlainJob] => [w.file, id, j]));
  });

  it("parses and converts every workflow as GitHub would, reusable workflow calls included", () => {
    assert.deepEqual([...workflows.keys()], workflowFiles());
    assert.ok(workflows.size >= 4);
    const preview = workflows.get("preview.yml")!;
    assert.deepEqual(preview.jobs, [
      { id: "stacks", type: "reusableWorkflowJob" },
      { id: "test", type: "job" },
      { id: "preview", type: "job" },
    ]);
  });

  it("rejects a workflow GitHub would reject, naming the line", async () => {
    const broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm ci\n        wibble: 1\n";
    await assert.rejects(parseWorkflowText("broken.yml", broken), /broken\.yml \(Line: 7, Col: 9\): Unexpected value 'wibble'/);
    const badNeeds = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n  b:\n    needs: nope\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n";
    await assert.rejects(parseWorkflowText("needs.yml", badNeeds), /needs\.yml does not convert:\n.*'nope'/);
  });

  it("a job that runs the program through Pulumi installs the production dependencies only, without install scripts", () => {
    // pulumi/actions with a command (preview, refresh, up); without one it only installs the CLI.
    const pulumiJobs = jobs.filter(([, , job]) => job.steps!.some((s) => actionName(s.uses) === "pulumi/actions" && s.with?.command));
    assert.deepEqual(pulumiJobs.map(([f, id]) => `${f}:${id}`).sort(), ["deploy.yml:up", "preview.yml:preview"]);
    for (const [file, id, job] of pulumiJobs) {
      assert.deepEqual(job.steps!.filter(runs(NPM_CI)).map((s) => s.run!.trim()), ["npm ci --omit=dev --ignore-scripts"], `${file}: job ${id}`);
    }
    // Which leaves out onnxruntime-node and its CUDA download: it is a dev dependency.
    assert.ok(pkg.devDependencies["onnxruntime-node"] && !pkg.dependencies["onnxruntime-node"]);
  });

  it("every job that installs the whole tree skips onnxruntime-node's download (ONNXRUNTIME_NODE_INSTALL: skip in its env)", () => {
    const whole = jobs.filter(([, , job]) => job.steps!.some((s) => NPM_CI.test(s.run ?? "") && !/--omit=dev\b/.test(s.run ?? "")));
    assert.deepEqual(whole.map(([f, id]) => `${f}:${id}`).sort(), ["preview.yml:test", "release.yml:publish"]);
    for (const [file, id, job] of whole) assert.equal(job.env?.ONNXRUNTIME_NODE_INSTALL, "skip", `${file}: job ${id}`);
    // It is the variable onnxruntime-node's install script reads.
    const script = readFileSync(path.join(REPO_ROOT, "node_modules", "onnxruntime-node", "script", "install-utils.js"), "utf8");
    assert.match(script, /process\.env\.ONNXRUNTIME_NODE_INSTALL\b/);
    assert.match(script, /case 'skip':\s*return false;/);
  });

  it("every setup-node step installs Node 24", () => {
    const setups = stepsOf("actions/setup-node");
    assert.ok(setups.length >= 4);
    for (const { file, id, step } of setups) assert.equal(String(step.with?.["node-version"]), "24", `${file}: job ${id}`);
  });

  it("every pulumi/actions step pins the Pulumi CLI to one exact version, defined once per workflow, that package.json's @pulumi/pulumi range allows", () => {
    const steps = stepsOf("pulumi/actions");
    assert.ok(steps.length >= 4, `${steps.length} pulumi/actions steps`);
    const versions = new Set<string>();
    for (const { file, id, job, step } of steps) {
      const where = `${file}: job ${id}, step "${stepLabel(step)}"`;
      assert.equal(step.with?.["pulumi-version"], "${{ env.PULUMI_VERSION }}", where);
      const wf = workflows.get(file)!.workflow;
      assert.ok(wf.env?.PULUMI_VERSION !== undefined, `${file} defines no workflow-level PULUMI_VERSION`);
      assert.equal(job.env?.PULUMI_VERSION, undefined, `${where}: the job redefines PULUMI_VERSION`);
      assert.equal(step.env?.PULUMI_VERSION, undefined, `${where}: the step redefines PULUMI_VERSION`);
      versions.add(String(evaluate(step.with!["pulumi-version"], { env: { ...wf.env, ...job.env, ...step.env } })));
    }
    assert.equal(versions.size, 1, `different Pulumi CLI versions: ${[...versions].join(", ")}`);
    const [version] = versions;
    assert.equal(semver.valid(version), version, `${version} is not one exact version`);
    const range = pkg.dependencies["@pulumi/pulumi"];
    assert.ok(semver.satisfies(version, range), `Pulumi CLI ${version} is not in package.json's @pulumi/pulumi range ${range}`);
  });

  describe("the jobs that run npm test install from Ubuntu what it uses, the packages .ci/run installs", () => {
    const need = ciRunPackages();

    it("reads .ci/run's list", () => {
      assert.deepEqual(need, ["bsdutils", "chromium", "openssl", "prometheus", "python3", "python3-joblib", "python3-numpy", "python3-pandas", "python3-pil", "python3-sklearn"]);
    });

    it("each installs them (chromium aside) with apt-get before npm ci and npm test", () => {
      const testing = jobs.filter(([, , job]) => job.steps!.some(runs(NPM_TEST)));
      assert.deepEqual(testing.map(([f, id]) => `${f}:${id}`).sort(), ["preview.yml:test", "release.yml:publish"]);
      for (const [file, id, job] of testing) {
        const steps = job.steps!;
        const apt = steps.findIndex((s) => aptInstalled(s.run ?? "").length > 0);
        assert.ok(apt >= 0, `${file}: job ${id} installs nothing with apt-get`);
        assert.ok(apt < steps.findIndex(runs(NPM_CI)) && apt < steps.findIndex(runs(NPM_TEST)), `${file}: job ${id} installs after npm ci or npm test`);
        const script = steps[apt].run!;
        assert.match(script, /sudo apt-get update/, `${file}: job ${id}`);
        assert.match(script, /sudo DEBIAN_FRONTEND=noninteractive apt-get install -y/, `${file}: job ${id}`);
        assert.deepEqual(aptInstalled(script), need.filter((p) => p !== "chromium"), `${file}: job ${id}`);
      }
    });

    it("leaves chromium out: the runner image has its own, and the status-page browser test skips without one, saying why", function () {
      this.timeout(90_000);
      // .ci/run and the test look for the same browser.
      assert.match(ciRun, /\[ -x \/usr\/bin\/chromium \] \|\| need\+=\(chromium\)/);
      const statusPage = readFileSync(path.join(REPO_ROOT, "test", "local", "statusPage.test.ts"), "utf8");
      assert.match(statusPage, /process\.env\.CHROMIUM_PATH \?\? "\/usr\/bin\/chromium"/);
      const r = spawnSync(process.execPath, [require.resolve("mocha/bin/mocha.js"), "test/local/statusPage.test.ts"], {
        cwd: REPO_ROOT,
        encoding: "utf8",
        timeout: 80_000,
        env: { ...process.env, CHROMIUM_PATH: "/nonexistent/chromium" },
      });
      const out = `${r.stdout}${r.stderr}`;
      assert.equal(r.status, 0, out);
      assert.match(out, /skipped: no chromium at \/nonexistent\/chromium/);
      assert.match(out, /0 passing/);
      assert.match(out, /\d+ pending/);
      assert.doesNotMatch(out, /failing/);
    });
  });

  it("preview.yml's preview job installs no Python: it needs Node and npm only", () => {
    const job = workflows.get("preview.yml")!.workflow.jobs.preview;
    for (const s of job.steps!) {
      assert.notEqual(actionName(s.uses), "actions/setup-python", stepLabel(s));
      assert.doesNotMatch(s.run ?? "", /apt-get|pip3? install|python/, stepLabel(s));
    }
    const committed = spawnSync("git", ["-C", REPO_ROOT, "ls-files", "--error-unmatch", "samples/diabetes/model/sklearn_regression_model.pkl"], { encoding: "utf8" });
    assert.equal(committed.status, 0, "the dev stack's sample model is not committed: the preview job has no Python to train it");
  });

  describe("deploy.yml", () => {
    const up = () => workflows.get("deploy.yml")!.workflow.jobs.up;

    it("refreshes each stack before its up, as the same stack with the same credentials", () => {
      const steps = up().steps!;
      const refresh = steps.findIndex((s) => actionName(s.uses) === "pulumi/actions" && s.with?.command === "refresh");
      const apply = steps.findIndex((s) => actionName(s.uses) === "pulumi/actions" && s.with?.command === "up");
      assert.ok(refresh >= 0 && apply >= 0 && refresh < apply, `refresh at ${refresh}, up at ${apply}`);
      assert.equal(steps[refresh].with?.["stack-name"], steps[apply].with?.["stack-name"]);
      assert.deepEqual(steps[refresh].env, steps[apply].env);
      assert.equal(steps[apply].with?.policyPacks, "policies");
    });

    it("runs each stack's job in the GitHub environment named after the stack (the OIDC subject docs/ci.md's credentials name)", () => {
      assert.equal(up().environment, "${{ matrix.stack }}");
      for (const [file, id, job] of jobs) {
        if (file === "deploy.yml" && id === "up") continue;
        if (job.steps!.some((s) => actionName(s.uses) === "azure/login")) assert.equal(job.environment, undefined, `${file}: job ${id} would sign in with another subject`);
      }
    });
  });

  it("docs/ci.md (\"CI for your team\") documents the pinned CLI, the onnxruntime skip and one federated credential per GitHub environment plus one for pull requests", () => {
    const section = /^# CI for your team\n([\s\S]*)/m.exec(readFileSync(path.join(REPO_ROOT, "docs/ci.md"), "utf8"))?.[1];
    assert.ok(section, "docs/ci.md has no title \"CI for your team\"");
    for (const words of ["pulumi refresh", "PULUMI_VERSION", "ONNXRUNTIME_NODE_INSTALL=skip", "Node 24", "https://token.actions.githubusercontent.com", "api://AzureADTokenExchange", "repo:<owner>/<repo>:pull_request"]) {
      assert.ok(section.includes(words), `the section does not say ${words}`);
    }
    // The shipped stacks' environments; a stamped stack adds its own the same way.
    for (const stack of ["dev", "prod"]) {
      assert.ok(section.includes(`"subject": "repo:<owner>/<repo>:environment:${stack}"`), `no federated credential for the ${stack} environment`);
    }
    assert.equal((section.match(/az ad app federated-credential create/g) ?? []).length, 3);
  });
});
