/**
 * The package as a platform team uses it: packed as `npm pack` packs it, installed from the
 * tarball (offline) into a folder outside this repository, and run from there under mocks:
 * (a) the TypeScript program README shows, loaded by @pulumi/pulumi's own `cmd/run` (ts-node
 * registered as `pulumi up` registers it, type-checked against a strict tsconfig), (b) a
 * JavaScript program with two environments, (c) the component through `construct` as the plugin
 * host serves it to a Python or Go program, with `projectRoot` outside the repository, and
 * (d) README's YAML example copied outside the repository, through `construct` likewise.
 * Each must register what it declares, build its images from the installed package's own files,
 * upload models from the program's folder, and call nothing on the network.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { installConsumer, installSizes, packPackage, type Installed } from "../support/consumer";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";

const TOKEN = "aks-inference:index:InferenceEnvironment";
const DRIVER = path.join(__dirname, "driver.cjs");
/** What the component may add to a program's install beyond the Pulumi SDK and providers (PULUMI_BASE). */
const BUDGET_MB = 50;

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
interface Run {
  registered: Registered[];
  invoked: string[];
  network: string[];
  error?: string;
}

/** A fenced block of README.md: the first `lang` block after the heading `heading`. */
function readmeBlock(heading: string, lang: string): string {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf(`\n${heading}\n`));
  const m = new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(section);
  assert.ok(m, `README has no ${lang} block under '${heading}'`);
  return m[1];
}

/** Runs the driver on `spec` with the program's own Node; returns what it registered. */
function drive(spec: Record<string, unknown>, scratch: string): Run {
  const specFile = path.join(scratch, `spec-${Date.now()}.json`);
  const resultFile = `${specFile}.result.json`;
  writeFileSync(specFile, JSON.stringify(spec));
  const r = spawnSync(process.execPath, [DRIVER, specFile, resultFile], { encoding: "utf8", timeout: 240_000 });
  const run = JSON.parse(readFileSync(resultFile, "utf8")) as Run;
  assert.equal(run.error, undefined, `${run.error}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  return run;
}

/** The part of a run that belongs to `environments`: their components, and the resources named after them. */
function ofEnvironments(run: Run, environments: string[]): Run {
  const mine = (r: Registered) => (r.type === TOKEN ? environments.includes(r.name) : environments.some((e) => r.name.startsWith(`${e}-`)));
  return { ...run, registered: run.registered.filter(mine) };
}

/** What every program must show: images from the installed package, models from its own folder, no network. */
function assertBuiltFromPackage(run: Run, packageDir: string, programDir: string, environments: string[]): void {
  assert.deepEqual(run.network, [], "no connection and no name lookup while the program is evaluated");
  assert.deepEqual(
    run.registered.filter((r) => r.type === TOKEN).map((r) => r.name),
    environments,
  );
  const names = run.registered.map((r) => `${r.type}::${r.name}`);
  assert.equal(new Set(names).size, names.length, "no two resources with one type and name");
  const images = run.registered.filter((r) => r.type === "docker-build:index:Image");
  assert.ok(images.length >= 2 * environments.length, "a router and an environment image per environment");
  for (const image of images) {
    const context = image.inputs.context as { location: string; named?: Record<string, { location: string }> };
    assert.equal(context.location, packageDir, `${image.name}: built in the installed package`);
    assert.ok((image.inputs.dockerfile as { location: string }).location.startsWith(`${packageDir}/`), `${image.name}: the package's Dockerfile`);
    for (const [name, named] of Object.entries(context.named ?? {})) {
      assert.ok(named.location.startsWith(packageDir) || named.location.startsWith(programDir), `${image.name}: context ${name} at ${named.location}`);
    }
  }
  const blobs = run.registered.filter((r) => r.type.endsWith("UploadedBlob"));
  assert.ok(blobs.length > 0);
  for (const b of blobs) assert.ok(String(b.inputs.file).startsWith(`${programDir}/`), `${b.name} uploads ${String(b.inputs.file)}`);
}

describe("the package in a platform team's own program", function () {
  this.timeout(900_000);
  let scratch: string;
  let program: string;
  let packageDir: string;
  let installed: Installed;

  before(function () {
    // Removed when the file's tests end, as every test folder is: each run installs about 900 MB here.
    scratch = realpathSync(tempDir("consumer"));
    assert.ok(!scratch.startsWith(REPO_ROOT), "outside the repository");
    const tarball = packPackage(REPO_ROOT, scratch);
    program = path.join(scratch, "platform");
    mkdirSync(path.join(program, "models"), { recursive: true });
    cpSync(tarball, path.join(program, path.basename(tarball)));
    const devLock = JSON.parse(readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
    const version = (name: string) => devLock.packages[`node_modules/${name}`].version;
    installed = installConsumer(REPO_ROOT, program, path.join(program, path.basename(tarball)), {
      name: "platform",
      dependencies: { "aks-inference": `file:${path.basename(tarball)}` },
      devDependencies: { typescript: version("typescript"), "ts-node": version("ts-node"), "@types/node": version("@types/node") },
    });
    packageDir = path.join(program, "node_modules", "aks-inference");
    cpSync(path.join(REPO_ROOT, "samples", "models", "regressor.onnx"), path.join(program, "models", "regressor.onnx"));
    // Pulumi's TypeScript template (`pulumi new typescript`): strict, and neither skipLibCheck
    // nor esModuleInterop, so the package's declarations and all they import are type-checked as
    // they are.
    const compilerOptions = {
      strict: true,
      outDir: "bin",
      target: "es2020",
      module: "commonjs",
      moduleResolution: "node",
      sourceMap: true,
      experimentalDecorators: true,
      pretty: true,
      noFallthroughCasesInSwitch: true,
      noImplicitReturns: true,
      forceConsistentCasingInFileNames: true,
    };
    writeFileSync(path.join(program, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["index.ts"] }));
    writeFileSync(path.join(program, "Pulumi.yaml"), "name: platform\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
  });

  it("installs only what the component needs at deploy time, within its size budget, with no install script that downloads", () => {
    const { baseBytes, addedBytes, added } = installSizes(program);
    for (const runtimeOnly of ["onnxruntime-node", "azurite", "pino", "pino-pretty", "prom-client", "@stryker-mutator/core", "puppeteer-core", "undici", "@kubernetes/client-node", "@azure/storage-blob", "tsx", "esbuild"]) {
      assert.ok(!added.includes(runtimeOnly), `${runtimeOnly} belongs to the images or this repository, not to a program`);
    }
    const mb = (b: number) => Math.round(b / 1e5) / 10;
    console.log(`      consumer install: ${mb(addedBytes)} MB beyond the Pulumi SDK and providers (${mb(baseBytes)} MB), npm ci ${installed.seconds.toFixed(1)} s`);
    assert.ok(addedBytes <= BUDGET_MB * 1e6, `${mb(addedBytes)} MB added, budget ${BUDGET_MB} MB`);
    // Install scripts left in the tree: the Pulumi providers' plugin installers (they run
    // `pulumi plugin install`, which a machine without the Pulumi CLI skips) and protobufjs'.
    const lock = JSON.parse(readFileSync(path.join(program, "package-lock.json"), "utf8")) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const scripted = Object.entries(lock.packages)
      .filter(([, e]) => e.hasInstallScript)
      .map(([at]) => at.slice(at.lastIndexOf("node_modules/") + 13));
    assert.deepEqual([...new Set(scripted)].sort(), ["@pulumi/command", "@pulumi/docker-build", "@pulumi/kubernetes", "protobufjs"].filter((n) => scripted.includes(n)));
    assert.ok(!scripted.includes("onnxruntime-node"));
  });

  it("(a) runs README's TypeScript program under Pulumi's own loader, and `tsc` type-checks it", () => {
    writeFileSync(path.join(program, "index.ts"), readmeBlock("### TypeScript and JavaScript", "ts"));
    // Pulumi's loader (ts-node) reports errors in the program's own files only; a team's CI that
    // runs `tsc` before `pulumi preview` checks every declaration the program reaches, in
    // node_modules too (zod's, reached through the package, failed there without esModuleInterop).
    const tsc = spawnSync(process.execPath, [path.join(program, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "--pretty", "false"], { cwd: program, encoding: "utf8", timeout: 120_000 });
    assert.equal(tsc.status, 0, `tsc on the program:\n${tsc.stdout}${tsc.stderr}`);
    const run = drive({ mode: "program", dir: program, typescript: true }, scratch);
    assertBuiltFromPackage(run, packageDir, program, ["weu"]);
    const cluster = run.registered.find((r) => r.type === "azure-native:containerservice:ManagedCluster");
    assert.equal(cluster?.inputs.location, "westeurope");
  });

  it("(b) runs a JavaScript program with two environments", () => {
    // A folder of the same install, as a second program of the team's repository (Node finds the
    // package up the tree): a copy of the 300 MB of node_modules would prove nothing more.
    const js = path.join(program, "platform-js");
    mkdirSync(js);
    cpSync(path.join(program, "models"), path.join(js, "models"), { recursive: true });
    writeFileSync(path.join(js, "package.json"), JSON.stringify({ name: "platform-js", main: "index.js" }));
    writeFileSync(
      path.join(js, "index.js"),
      [
        'const aks = require("aks-inference");',
        "const services = [{ name: \"regressor\", models: [{ path: \"models/regressor.onnx\" }] }];",
        'const weu = new aks.InferenceEnvironment("weu", { location: "westeurope", projectRoot: __dirname, services });',
        'const neu = new aks.InferenceEnvironment("neu", { location: "northeurope", projectRoot: __dirname, services });',
        "exports.hosts = [weu.scoringHost, neu.scoringHost];",
        "",
      ].join("\n"),
    );
    const run = drive({ mode: "program", dir: js, typescript: false }, scratch);
    assertBuiltFromPackage(run, packageDir, js, ["weu", "neu"]);
    const registries = run.registered.filter((r) => r.type === "azure-native:containerregistry:Registry").map((r) => r.inputs.registryName);
    assert.deepEqual(registries, ["aksinfweuacr", "aksinfneuacr"], "globally unique names derived from each environment's name");
  });

  describe("through construct, as a request from another language reaches it (one plugin process for both programs)", () => {
    let yamlDir: string;
    let run: Run;
    before(() => {
      // README's YAML example, copied outside the repository, and a Python or Go program's
      // request: built by one construct run, as one plugin process serves a deployment's requests
      // (its schema analysis, about 13 s, is then paid once).
      yamlDir = path.join(scratch, "yaml");
      cpSync(path.join(REPO_ROOT, "examples", "yaml"), yamlDir, { recursive: true });
      const example = parse(readFileSync(path.join(yamlDir, "Pulumi.yaml"), "utf8")) as { resources: Record<string, { type: string; properties: Record<string, unknown> }> };
      const fromYaml = Object.entries(example.resources).map(([name, r]) => ({ name, type: r.type, inputs: JSON.parse(JSON.stringify(r.properties).replaceAll("${pulumi.cwd}", yamlDir)) as unknown }));
      const fromPython = { name: "py", type: TOKEN, inputs: { location: "westeurope", projectRoot: program, services: [{ name: "regressor", models: [{ path: "models/regressor.onnx" }] }] } };
      run = drive({ mode: "construct", dir: program, resources: [fromPython, ...fromYaml] }, scratch);
      const unclaimed = run.registered.filter((r) => !ofEnvironments(run, ["py", "weu", "neu"]).registered.includes(r));
      assert.deepEqual(unclaimed.map((r) => r.name), [], "every resource is named after its environment");
    });

    it("(c) builds the component a Python or Go program asks for", () => {
      assertBuiltFromPackage(ofEnvironments(run, ["py"]), packageDir, program, ["py"]);
    });

    it("(d) builds README's YAML example", () => {
      assertBuiltFromPackage(ofEnvironments(run, ["weu", "neu"]), packageDir, yamlDir, ["weu", "neu"]);
    });
  });

  it("refuses a missing model with its key, service and path, before anything is built", () => {
    const run = spawnSync(
      process.execPath,
      ["-e", 'const aks = require("aks-inference"); try { new aks.InferenceEnvironment("weu", { location: "westeurope", projectRoot: process.cwd(), services: [{ name: "regressor", models: [{ path: "models/missing.onnx" }] }] }); } catch (e) { console.log(e.message); }'],
      { cwd: program, encoding: "utf8" },
    );
    assert.match(run.stdout, /InferenceEnvironment 'weu': invalid args:\n {2}- services\[0\]\.models\[0\]: file or folder 'models\/missing\.onnx' of service 'regressor' not found/);
  });
});
