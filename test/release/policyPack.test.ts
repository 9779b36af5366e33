/**
 * The published policy pack, end to end: built and packed as the release does (scripts/pack-policies.ts),
 * installed from its tarball into an empty folder, and served the way the Pulumi CLI runs a Node.js
 * pack (@pulumi/pulumi's run-policy-pack, spoken to over the analyzer's gRPC protocol). It must
 * serve the policies the in-repo pack registers and reach the verdicts of the rules this suite
 * covers, loading nothing from outside its folder but its declared dependencies.
 *
 * The install is offline, with the declared dependencies linked from this repository's
 * node_modules: npm sees them satisfied and installs only the tarball (`--offline` proves it
 * fetched nothing). Installing them from the npm cache instead is not possible offline: `npm ci`
 * caches package tarballs but not the registry metadata a lockfile-less install resolves version
 * ranges with (ENOTCACHED). Linking also serves the pack with the very versions the suite ran.
 *
 * Not under test/policies/: mutation testing runs those specs against mutated rules in-process,
 * while this one bundles the rules for another process, where no mutant is active; it would
 * "kill" every mutant it reaches, slowly, without testing anything about it.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import Module, { builtinModules, createRequire } from "node:module";
import * as path from "node:path";
import type * as grpcJs from "@grpc/grpc-js";
import type { PolicyPackArgs } from "@pulumi/policy";
import type * as analyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import type * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb";
import type * as emptyPb from "google-protobuf/google/protobuf/empty_pb";
import type * as structPb from "google-protobuf/google/protobuf/struct_pb";
import { parse } from "yaml";
import { evaluate, type Res } from "../../policies/rules";
import { buildPolicyPack, packPolicyPack, readPolicyManifest } from "../../scripts/pack-policies";
import { asRes, Plan, REPO_ROOT, stackConfig } from "../support/stacks";
import { tempDir } from "../support/tmp";

interface ServedPolicy {
  name: string;
  description: string;
  enforcementLevel: string;
}

/** What policies/index.ts registers, read by standing in for @pulumi/policy's PolicyPack (whose constructor starts serving). */
function inRepoPack(): { name: string; policies: ServedPolicy[] } {
  const policyModule = require.resolve("@pulumi/policy");
  const entry = path.join(REPO_ROOT, "policies", "index.ts");
  const real = require.cache[policyModule];
  const registered: { name: string; args: PolicyPackArgs }[] = [];
  const standIn = new Module(policyModule);
  standIn.loaded = true;
  standIn.exports = {
    PolicyPack: class {
      constructor(name: string, args: PolicyPackArgs) {
        registered.push({ name, args });
      }
    },
  };
  require.cache[policyModule] = standIn;
  try {
    require(entry);
  } finally {
    delete require.cache[entry];
    if (real) require.cache[policyModule] = real;
    else delete require.cache[policyModule];
  }
  assert.equal(registered.length, 1, "policies/index.ts registers one PolicyPack");
  const [{ name, args }] = registered;
  return {
    name,
    policies: args.policies.map((p) => ({ name: p.name, description: p.description, enforcementLevel: p.enforcementLevel ?? args.enforcementLevel ?? "advisory" })),
  };
}

/** The installed pack served by run-policy-pack, and a client of its analyzer. */
class ServedPack {
  private constructor(
    private readonly child: ChildProcess,
    readonly client: analyzerGrpc.AnalyzerClient,
    readonly pb: typeof analyzerPb,
    private readonly empty: typeof emptyPb,
    private readonly struct: typeof structPb,
  ) {}

  /** Starts the pack in `packDir` as the CLI does (cwd the pack, entry its package.json main); resolves once it listens. */
  static async start(packDir: string): Promise<ServedPack> {
    // Everything below is resolved from the installed pack, as its own process resolves it.
    const fromPack = createRequire(path.join(packDir, "package.json"));
    const pulumiDir = path.dirname(fromPack.resolve("@pulumi/pulumi/package.json"));
    const fromPulumi = createRequire(path.join(pulumiDir, "package.json"));
    // run-policy-pack's first argument is the engine's address, which a policy pack never calls.
    const child = spawn(process.execPath, [path.join(pulumiDir, "cmd", "run-policy-pack"), "127.0.0.1:0", packDir], { cwd: packDir, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d));
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        stdout += d;
        const m = /^(\d+)\s*$/m.exec(stdout);
        if (m) resolve(m[1]);
      });
      child.on("exit", (code) => reject(new Error(`run-policy-pack exited (${code}) before listening:\n${stdout}${stderr}`)));
    });
    const grpc = fromPulumi("@grpc/grpc-js") as typeof grpcJs;
    const { AnalyzerClient } = fromPulumi("./proto/analyzer_grpc_pb") as typeof analyzerGrpc;
    const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    return new ServedPack(
      child,
      client,
      fromPulumi("./proto/analyzer_pb") as typeof analyzerPb,
      fromPulumi("google-protobuf/google/protobuf/empty_pb") as typeof emptyPb,
      fromPulumi("google-protobuf/google/protobuf/struct_pb") as typeof structPb,
    );
  }

  stop(): void {
    this.client.close();
    this.child.kill();
  }

  info(): Promise<{ name: string; version: string; policies: ServedPolicy[] }> {
    const levels = Object.fromEntries(Object.entries(this.pb.EnforcementLevel).map(([k, v]) => [v, k.toLowerCase()]));
    return new Promise((resolve, reject) =>
      this.client.getAnalyzerInfo(new this.empty.Empty(), (err, info) =>
        err
          ? reject(err)
          : resolve({
              name: info.getName(),
              version: info.getVersion(),
              policies: info.getPoliciesList().map((p) => ({ name: p.getName(), description: p.getDescription(), enforcementLevel: levels[p.getEnforcementlevel()] })),
            }),
      ),
    );
  }

  private resource<T extends analyzerPb.AnalyzeRequest | analyzerPb.AnalyzerResource>(into: T, r: Res): T {
    into.setType(r.type);
    into.setName(r.name);
    into.setUrn(r.urn ?? `urn:pulumi:test::aks-inference::${r.type}::${r.name}`);
    into.setProperties(this.struct.Struct.fromJavaScript(r.props as Record<string, structPb.JavaScriptValue>));
    into.setOptions(new this.pb.AnalyzerResourceOptions());
    return into;
  }

  /** Every diagnostic the pack reports for `all`: each resource alone, then the whole stack. */
  async analyze(all: Res[]): Promise<analyzerPb.AnalyzeDiagnostic[]> {
    const out: analyzerPb.AnalyzeDiagnostic[] = [];
    for (const r of all) {
      const res = await new Promise<analyzerPb.AnalyzeResponse>((resolve, reject) =>
        this.client.analyze(this.resource(new this.pb.AnalyzeRequest(), r), (err, v) => (err ? reject(err) : resolve(v))),
      );
      out.push(...res.getDiagnosticsList());
    }
    const stack = new this.pb.AnalyzeStackRequest();
    stack.setResourcesList(all.map((r) => this.resource(new this.pb.AnalyzerResource(), r)));
    const res = await new Promise<analyzerPb.AnalyzeResponse>((resolve, reject) => this.client.analyzeStack(stack, (err, v) => (err ? reject(err) : resolve(v))));
    return [...out, ...res.getDiagnosticsList()];
  }
}

describe("the published policy pack", function () {
  this.timeout(120_000);
  const rootManifest = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string; workspaces: string[]; dependencies: Record<string, string>; devDependencies: Record<string, string> };
  let built: string;
  let packed: { tarball: string; files: string[] };
  let installed: string;
  let served: ServedPack;

  before(async () => {
    const work = tempDir("policy-pack");
    built = path.join(work, "policy-pack");
    buildPolicyPack(built);
    packed = packPolicyPack(built, work);

    const consumer = path.join(work, "consumer");
    mkdirSync(consumer);
    writeFileSync(path.join(consumer, "package.json"), '{ "private": true }\n');
    for (const dep of Object.keys(readPolicyManifest().dependencies)) {
      const link = path.join(consumer, "node_modules", dep);
      mkdirSync(path.dirname(link), { recursive: true });
      symlinkSync(path.dirname(require.resolve(`${dep}/package.json`)), link);
    }
    execFileSync("npm", ["install", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", packed.tarball], { cwd: consumer, stdio: "pipe" });
    installed = path.join(consumer, "node_modules", readPolicyManifest().name);
    served = await ServedPack.start(installed);
  });

  after(() => served?.stop());

  it("is its bundle, manifest and PulumiPolicy.yaml, loading only what its manifest declares", () => {
    assert.deepEqual([...packed.files].sort(), ["PulumiPolicy.yaml", "index.js", "package.json"]);
    const manifest = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8")) as { main: string; dependencies: Record<string, string> };
    assert.equal(manifest.main, "index.js");
    const project = (file: string) => parse(readFileSync(file, "utf8")) as { description: string; runtime: { name: string; options?: { typescript?: boolean } } };
    const published = project(path.join(installed, "PulumiPolicy.yaml"));
    assert.equal(published.description, project(path.join(REPO_ROOT, "policies", "PulumiPolicy.yaml")).description);
    assert.deepEqual(published.runtime, { name: "nodejs", options: { typescript: false } });
    // The shared rules in core/ are inside the bundle: no relative require leaves it.
    const required = new Set([...readFileSync(path.join(installed, "index.js"), "utf8").matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]));
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    assert.deepEqual([...required].filter((m) => !builtins.has(m) && !(m in manifest.dependencies)), []);
  });

  it("carries the release's version and the dependency ranges the repository runs", () => {
    const own = readPolicyManifest();
    assert.equal(own.version, rootManifest.version, "policies/package.json's version is package.json's (the pack is published with each release)");
    // The pack is a workspace of the repository: npm installs it by its own ranges, so the suite
    // and `pulumi preview --policy-pack policies` run what it is published with, and the policy
    // SDK is never one of the component package's dependencies. Its Pulumi SDK is the program's.
    assert.ok(rootManifest.workspaces.includes("policies"), "package.json's workspaces do not list policies");
    assert.equal(own.dependencies["@pulumi/pulumi"], rootManifest.dependencies["@pulumi/pulumi"], "policies/package.json: @pulumi/pulumi");
    assert.ok(!("@pulumi/policy" in rootManifest.dependencies) && !("@pulumi/policy" in rootManifest.devDependencies), "@pulumi/policy is declared by the pack only");
  });

  it("installed from its tarball, serves the in-repo pack's policies under its name and version", async () => {
    const inRepo = inRepoPack();
    const info = await served.info();
    assert.equal(info.name, inRepo.name);
    assert.equal(info.version, rootManifest.version);
    const byName = (a: ServedPolicy, b: ServedPolicy) => a.name.localeCompare(b.name);
    assert.deepEqual([...info.policies].sort(byName), [...inRepo.policies].sort(byName));
  });

  it("reaches the in-repo rules' verdicts on a stack that breaks them", async () => {
    const plan = await Plan.of(
      stackConfig("prod", {
        "aks-inference:endpoint": { customDomain: "ml.contoso.com", internalIp: "10.240.0.200" },
        "aks-inference:services": [{ name: "open", models: ["samples/models/regressor.onnx"], authEnabled: false }],
        "aks-inference:defender": false,
      }),
    );
    // As the engine sends them: JSON values only.
    const resources = asRes(plan.resources).map((r) => ({ ...r, props: JSON.parse(JSON.stringify(r.props)) as Record<string, unknown> }));
    const expected = evaluate(resources).map((v) => `${v.rule.name}: ${v.rule.description}\n${v.violation.message}`);
    assert.ok(expected.length > 0, "the variation breaks some rules");
    const got = (await served.analyze(resources)).map((d) => `${d.getPolicyname()}: ${d.getMessage()}`);
    assert.deepEqual(got.sort(), expected.sort());
  });
});
