/**
 * What `pulumi up` would deploy for the imported v1 services: the stack after `import-v1`, its
 * secrets decrypted as the Pulumi engine hands them to the program, evaluated offline (Pulumi
 * mocks). Each service's Deployment(s), resources, GPU placement, routing settings (auth, traffic
 * split) and key Secret, whose keys are the imported ones.
 */
import * as assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { parseDocument } from "yaml";
import { ConfigError } from "../../core/config";
import { parseStackConfig } from "../../core/config";
import { newSaltState, passphraseCrypter } from "../../core/config/pulumiSecrets";
import { encryptionSaltOf, readStackFileDecrypted } from "../../core/config/stackFile";
import { createStack } from "../../program";
import { importV1 } from "../../scripts/importV1";
import { runOfflineProgram, type PlannedResource } from "../../scripts/offline";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";
import { assemble } from "./v1Fixtures";

const PASSPHRASE = "plan-passphrase";

describe("import-v1: the plan of the imported stack", function () {
  this.timeout(60_000);
  let resources: PlannedResource[];
  let keys: Record<string, { primaryKey: string; secondaryKey: string }>;

  before(async () => {
    const v1 = assemble(undefined, { train: false });
    const project = tempDir("v1-plan");
    cpSync(path.join(REPO_ROOT, "samples", "echo"), path.join(project, "echo"), { recursive: true });
    const stackFile = path.join(project, "Pulumi.plan.yaml");
    writeFileSync(
      stackFile,
      `encryptionsalt: ${newSaltState(PASSPHRASE)}\nconfig:\n  azure-native:location: westeurope\n  aks-inference:gpuPools:\n    - name: gput4\n      vmSize: Standard_NC4as_T4_v3\n  aks-inference:services:\n    - name: echo\n      sourceDirectory: echo\n      entryScript: score.js\n`,
    );
    await importV1({
      folder: v1.dir,
      stack: "plan",
      projectRoot: project,
      out: "imported-v1",
      dryRun: false,
      env: { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE },
      pulumi: () => Promise.reject(new Error("not needed")),
      print: () => undefined,
      warn: () => undefined,
    });
    const text = readFileSync(stackFile, "utf8");
    const crypter = passphraseCrypter(encryptionSaltOf(text)!, PASSPHRASE);
    const cfg = parseStackConfig(readStackFileDecrypted(text, (c) => crypter.decrypt(c)), "plan");
    let captured: pulumi.Output<Record<string, { primaryKey: string; secondaryKey: string }>> | undefined;
    resources = await runOfflineProgram("plan", () => (captured = createStack(cfg, { projectRoot: project }).serviceKeys), { preview: false });
    keys = await new Promise((resolve) => captured!.apply(resolve));
  });

  const deployment = (name: string) => {
    const found = resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment" && (r.inputs as { metadata: { name: string } }).metadata.name === name);
    assert.equal(found.length, 1, `one Deployment ${name}: ${resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment").map((r) => (r.inputs as { metadata: { name: string } }).metadata.name).join(", ")}`);
    return found[0].inputs as { spec: { replicas: number; template: { spec: { nodeSelector?: Record<string, string>; containers: { resources: { requests: Record<string, string> } }[] } } } };
  };
  const settings = (name: string) => {
    const svc = resources.find((r) => r.type === "kubernetes:core/v1:Service" && (r.inputs as { metadata: { name: string } }).metadata.name === name);
    assert.ok(svc, `a Service ${name}`);
    const annotations = (svc.inputs as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
    return JSON.parse(Object.values(annotations).find((v) => v.startsWith("{") && v.includes('"authMode"'))!) as { authMode: string; version?: { name: string; traffic: number } };
  };

  it("deploys each service with the v1 resources, replicas and GPU", () => {
    assert.deepEqual(deployment("model-diabetes").spec.template.spec.containers[0].resources.requests, { cpu: "500m", memory: "1024Mi" });
    assert.deepEqual(deployment("model-vision-gpu").spec.template.spec.containers[0].resources.requests, { cpu: "1000m", memory: "4096Mi", "nvidia.com/gpu": "1" });
    assert.equal(deployment("model-vision-gpu").spec.replicas, 1);
    assert.deepEqual(deployment("model-digits-export").spec.template.spec.containers[0].resources.requests, { cpu: "250m", memory: "512Mi" });
    assert.deepEqual(deployment("model-fraud-endpoint-green").spec.template.spec.containers[0].resources.requests, { cpu: "250m", memory: "512Mi" });
    assert.deepEqual(deployment("model-fraud-endpoint-blue").spec.template.spec.containers[0].resources.requests, { cpu: "500m", memory: "1024Mi" });
  });

  it("keeps auth modes and the endpoint's 80/20 split in the routing settings", () => {
    assert.equal(settings("model-mnist-token").authMode, "token");
    assert.equal(settings("model-diabetes").authMode, "key");
    assert.deepEqual([settings("model-fraud-endpoint-blue").version, settings("model-fraud-endpoint-green").version].map((v) => [v?.name, v?.traffic]), [["blue", 80], ["green", 20]]);
  });

  it("creates each key-auth service's key Secret with the v1 keys (the others' are generated), stored as a secret", () => {
    assert.deepEqual(keys.diabetes, { primaryKey: "FAKEv1diabetesPrimaryKey0000000A", secondaryKey: "FAKEv1diabetesSecondaryKey00000B" });
    assert.deepEqual(keys["fraud-endpoint"], { primaryKey: "FAKEv1fraudPrimaryKey0000000000E", secondaryKey: "FAKEv1fraudSecondaryKey00000000F" });
    assert.equal(keys["mnist-token"], undefined, "a token service has no keys");
    const passwords = resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword" && r.name.startsWith("svc-")).map((r) => r.name);
    assert.deepEqual(passwords.sort(), ["svc-echo-primary-key", "svc-echo-secondary-key"], "keys are generated only for the service without configured ones");
    assert.ok(keys.echo, "which has keys too");
    const secret = resources.find((r) => r.type === "kubernetes:core/v1:Secret" && (r.inputs as { metadata: { name: string } }).metadata.name === "diabetes-keys")!;
    assert.equal((secret.inputs as { stringData: unknown }).stringData, "[secret]", "the Secret's keys are a secret in the state");
  });
});

describe("import-v1: stacks it cannot write keys into directly", function () {
  this.timeout(30_000);

  it("refuses, naming the stack key, an import the stack's own rules refuse, and writes nothing", async () => {
    const v1 = assemble(["vision-gpu"], { train: false });
    const project = tempDir("v1-nogpu");
    const text = `encryptionsalt: ${newSaltState(PASSPHRASE)}\nconfig:\n  azure-native:location: westeurope\n`;
    writeFileSync(path.join(project, "Pulumi.nogpu.yaml"), text);
    const run = importV1({ folder: v1.dir, stack: "nogpu", projectRoot: project, out: "imported-v1", dryRun: false, env: { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE }, pulumi: () => Promise.reject(new Error("unused")), print: () => undefined, warn: () => undefined });
    await assert.rejects(run, (err: ConfigError) => err instanceof ConfigError && err.problems.some((p) => p.startsWith("aks-inference:services[0].gpuCores: needs a GPU pool")));
    assert.equal(readFileSync(path.join(project, "Pulumi.nogpu.yaml"), "utf8"), text);
    assert.equal(existsSync(path.join(project, "imported-v1")), false);
  });

  it("with another secrets provider, has the Pulumi CLI store each key from its standard input, and asks it again rather than set it twice", async () => {
    const v1 = assemble(["diabetes"], { train: false });
    const project = tempDir("v1-cloud");
    const stackFile = path.join(project, "Pulumi.cloud.yaml");
    writeFileSync(stackFile, "config:\n  azure-native:location: westeurope\n");
    const calls: { args: string[]; stdin?: string }[] = [];
    const stored = new Map<string, string>();
    // What `pulumi config set --secret --path` does to the file: a `secure:` value at the path.
    const fakePulumi = async (args: string[], stdin?: string) => {
      calls.push({ args, stdin });
      const key = args[args.indexOf("--path") + 1];
      if (args[0] === "version") return "v3.200.0\n";
      if (args[1] === "get") {
        if (!stored.has(key)) throw new Error(`configuration key '${key}' not found`);
        return `${stored.get(key)}\n`;
      }
      stored.set(key, stdin!);
      const doc = parseDocument(readFileSync(stackFile, "utf8"));
      const m = /^aks-inference:services\[(\d+)\]\.keys\.(\w+)$/.exec(key)!;
      doc.setIn(["config", "aks-inference:services", Number(m[1]), "keys", m[2]], doc.createNode({ secure: `AAABA-cloud-ciphertext-${stored.size}` }));
      writeFileSync(stackFile, doc.toString());
      return "";
    };
    const run = () => importV1({ folder: v1.dir, stack: "cloud", projectRoot: project, out: "imported-v1", dryRun: false, env: {}, pulumi: fakePulumi, print: () => undefined, warn: () => undefined });
    await run();
    const sets = calls.filter((c) => c.args[1] === "set");
    assert.deepEqual(
      sets.map((c) => c.args),
      ["primaryKey", "secondaryKey"].map((f) => ["config", "set", "--secret", "--path", `aks-inference:services[0].keys.${f}`, "--stack", "cloud", "--non-interactive"]),
    );
    assert.deepEqual(sets.map((c) => c.stdin), ["FAKEv1diabetesPrimaryKey0000000A", "FAKEv1diabetesSecondaryKey00000B"], "the keys go on standard input");
    assert.ok(calls.every((c) => !c.args.some((a) => a.includes("FAKEv1"))), "never on a command line");
    const after = readFileSync(stackFile, "utf8");
    calls.length = 0;
    const again = await run();
    assert.deepEqual(again.changed, []);
    assert.equal(readFileSync(stackFile, "utf8"), after, "the CLI's ciphertext is kept");
    assert.equal(calls.filter((c) => c.args[1] === "set").length, 0);
  });
});
