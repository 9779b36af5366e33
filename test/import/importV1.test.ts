/**
 * `aks-inference import-v1` end to end: five v1 services (test/fixtures/v1, completed with two
 * Azure ML samples' scripts and trained models) imported into a temporary stack whose secrets
 * are passphrase-encrypted; then local mode serves them, and the clients of v1 keep working with
 * the keys they hold and get the bodies Azure ML's server gave.
 */
import * as assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { mintToken } from "../../core/decisions/auth";
import { newSaltState, passphraseCrypter } from "../../core/config/pulumiSecrets";
import { readStackFileDecrypted } from "../../core/config/stackFile";
import { V1ImportError } from "../../core/config/v1Import";
import { startLocal, type LocalMode } from "../../local/main";
import { importV1, type ImportV1Options } from "../../scripts/importV1";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";
import { assemble, missingPython, type Assembled } from "./v1Fixtures";

const PASSPHRASE = "correct horse battery staple";
const STACK = "v1test";
/** Every key of the fixtures: none may appear in a file of the project or in the output. */
const KEYS: Record<string, [string, string]> = {
  diabetes: ["FAKEv1diabetesPrimaryKey0000000A", "FAKEv1diabetesSecondaryKey00000B"],
  "vision-gpu": ["FAKEv1visionPrimaryKey000000000C", "FAKEv1visionSecondaryKey0000000D"],
  "fraud-endpoint": ["FAKEv1fraudPrimaryKey0000000000E", "FAKEv1fraudSecondaryKey00000000F"],
  "digits-export": ["FAKEv1digitsPrimaryKey000000000G", "FAKEv1digitsSecondaryKey0000000H"],
};
const STACK_FILE = (salt: string) => `# A DevTest stack for import-v1's test: one GPU pool (vision-gpu needs one).
encryptionsalt: ${salt}
config:
  azure-native:location: westeurope
  aks-inference:clusterPurpose: DevTest
  # The GPU pool the imported GPU service lands on.
  aks-inference:gpuPools:
    - name: gput4
      vmSize: Standard_NC4as_T4_v3
      count: 1
  aks-inference:services:
    # A service of the stack before the import: kept as it is, comment included.
    - name: echo
      sourceDirectory: echo
      entryScript: score.js
      memoryGb: 0.25
      numReplicas: 1
`;

/** Every file below `dir`, as text. */
function allText(dir: string): { file: string; text: string }[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((file) => ({ file, text: readFileSync(file).toString("latin1") }));
}

describe("import-v1: Azure ML v1 services into a stack, served with the keys their clients hold", function () {
  this.timeout(120_000);
  const missing = missingPython();
  if (missing) {
    it(`skipped: ${missing}`, function () {
      this.skip();
    });
    return;
  }
  let v1: Assembled;
  let project: string;
  let stackFile: string;
  let output: string[];
  let local: LocalMode | undefined;
  const passphrase = process.env.PULUMI_CONFIG_PASSPHRASE;
  const run = (o: Partial<ImportV1Options> = {}) =>
    importV1({
      folder: v1.dir,
      stack: STACK,
      projectRoot: project,
      out: "imported-v1",
      dryRun: false,
      env: { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE },
      pulumi: () => Promise.reject(new Error("the passphrase provider needs no Pulumi CLI")),
      print: (t) => output.push(t),
      warn: (t) => output.push(t),
      ...o,
    });

  before(() => {
    v1 = assemble();
    project = tempDir("v1-project");
    cpSync(path.join(REPO_ROOT, "samples", "echo"), path.join(project, "echo"), { recursive: true });
    stackFile = path.join(project, `Pulumi.${STACK}.yaml`);
    writeFileSync(stackFile, STACK_FILE(newSaltState(PASSPHRASE)));
  });
  beforeEach(() => {
    output = [];
  });
  after(async () => {
    await local?.stop();
    if (passphrase === undefined) delete process.env.PULUMI_CONFIG_PASSPHRASE;
    else process.env.PULUMI_CONFIG_PASSPHRASE = passphrase;
  });

  it("--dry-run prints the stack file's diff, the files and the mapping table, and writes nothing", async () => {
    const before = readFileSync(stackFile, "utf8");
    const result = await run({ dryRun: true });
    const printed = output.join("\n");
    assert.equal(readFileSync(stackFile, "utf8"), before);
    assert.equal(existsSync(path.join(project, "imported-v1")), false, "no file copied");
    assert.match(printed, /^\+ {4}- name: fraud-endpoint$/m, "the diff adds the entries");
    assert.match(printed, /^A imported-v1\/diabetes\/azureml-models\/diabetes_regression_model\.pkl\/1\/diabetes_regression_model\.pkl$/m);
    assert.match(printed, /deploymentconfig\.json: autoScaler\.maxReplicas +4 +autoscaleMaxReplicas: 4/);
    assert.match(printed, /service\.json: containerResourceRequirements\.cpuLimit +2 +\(no equivalent\) +no separate limit here/);
    assert.ok(result.changed.includes(`Pulumi.${STACK}.yaml`));
    for (const [a, b] of Object.values(KEYS)) assert.ok(!printed.includes(a) && !printed.includes(b), "no key is printed");
  });

  it("writes every service into the stack (keys as secrets, other entries and comments kept) and copies the files in Azure ML's layout", async () => {
    const result = await run();
    assert.deepEqual(result.services, ["diabetes", "digits-export", "fraud-endpoint", "mnist-token", "vision-gpu"]);
    const text = readFileSync(stackFile, "utf8");
    assert.ok(text.startsWith(STACK_FILE(text.match(/^encryptionsalt: (.*)$/m)![1]).split("      numReplicas: 1\n")[0]), "the stack file's own lines and comments come first, unchanged");
    assert.match(text, /# vision-gpu: imported from Azure ML v1 \(vision-gpu\/service\.json\)/);
    assert.match(text, /# v1 service\.json: containerResourceRequirements\.memoryInGBLimit = 6: no separate limit here/);
    // Secrets: ciphertext in the file, the keys themselves nowhere in the project.
    for (const { file, text: content } of allText(project)) {
      for (const [a, b] of Object.values(KEYS)) assert.ok(!content.includes(a) && !content.includes(b), `${file} holds a key in plain text`);
    }
    const crypter = passphraseCrypter(text.match(/^encryptionsalt: (.*)$/m)![1], PASSPHRASE);
    const services = readStackFileDecrypted(text, (c) => crypter.decrypt(c))["aks-inference:services"] as { name: string; keys?: { primaryKey: string; secondaryKey: string } }[];
    for (const [svc, [primaryKey, secondaryKey]] of Object.entries(KEYS)) assert.deepEqual(services.find((s) => s.name === svc)!.keys, { primaryKey, secondaryKey }, `${svc}'s keys, decrypted`);
    assert.equal(services.find((s) => s.name === "mnist-token")!.keys, undefined, "a token service has no keys");
    assert.equal(services[0].name, "echo");
    // Models as Azure ML laid them out, the conda file next to them, the source without the descriptors.
    for (const f of [
      "imported-v1/fraud-endpoint/azureml-models/diabetes_regression_model.pkl/2/diabetes_regression_model.pkl",
      "imported-v1/mnist-token/azureml-models/sklearn_mnist_model/1/model/model.pkl",
      "imported-v1/mnist-token/conda.yml",
      "imported-v1/diabetes/conda.yml",
      "imported-v1/diabetes/source/score.py",
    ]) {
      assert.ok(existsSync(path.join(project, f)), `${f} copied`);
    }
    assert.equal(readFileSync(path.join(project, "imported-v1/diabetes/conda.yml"), "utf8"), readFileSync(path.join(v1.dir, "diabetes/environment/conda_dependencies.yml"), "utf8"), "the conda file is copied byte for byte");
    assert.deepEqual(readdirSync(path.join(project, "imported-v1/digits-export/source")), ["score.py"], "no descriptor or parameters file (they hold the keys) in the source");
  });

  it("a second import with the same input changes nothing", async () => {
    const before = readFileSync(stackFile, "utf8");
    const result = await run();
    assert.deepEqual(result.changed, []);
    assert.equal(readFileSync(stackFile, "utf8"), before, "not even the secrets' ciphertext");
    assert.match(output.join("\n"), /already imported: nothing to change/);
  });

  it("local mode serves each imported service: v1 clients' keys work and the bodies are Azure ML's", async () => {
    process.env.PULUMI_CONFIG_PASSPHRASE = PASSPHRASE;
    const state = tempDir("v1-local");
    local = await startLocal({ stack: STACK, port: 0, dir: state, repoRoot: project, logLevel: "silent" });
    // Local mode keys replicas by unit: a service, or `<service>.<version>`.
    const units = ["diabetes", "mnist-token", "vision-gpu", "fraud-endpoint.blue", "fraud-endpoint.green", "digits-export"];
    const deadline = Date.now() + 60_000;
    for (const svc of units) {
      while (local.status(svc).state !== "Healthy") {
        const s = local.status(svc);
        if (s.state === "Failed" || Date.now() > deadline) assert.fail(`${svc}: ${JSON.stringify(s)}\n${readdirSync(path.join(state, "logs")).map((f) => `${f}: ${readFileSync(path.join(state, "logs", f), "utf8").slice(-1500)}`).join("\n")}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const diabetes = v1.trained["mlopspython-diabetes"];
    const digits = v1.trained["quickstart-plain"];
    const body = (svc: string) => (svc === "diabetes" || svc === "fraud-endpoint" ? { body: { data: diabetes.inputs.rows }, expected: diabetes.expected.rows } : { body: { data: digits.inputs.three_rows }, expected: digits.expected.three_rows });
    const score = (svc: string, auth?: string, headers: Record<string, string> = {}) =>
      fetch(`${local!.router.url}/api/v1/service/${svc}/score`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...headers },
        body: JSON.stringify(body(svc).body),
      });
    for (const [svc, [primary, secondary]] of Object.entries(KEYS)) {
      for (const key of [primary, secondary]) {
        const res = await score(svc, key);
        assert.equal(res.status, 200, `${svc} with its v1 key`);
        assert.equal(await res.text(), body(svc).expected, `${svc} answers as Azure ML's server did`);
      }
      assert.equal((await score(svc, "not-the-key")).status, 401, `${svc} refuses another key`);
    }
    // The endpoint's versions keep their split and names; a client may pin one, as with azureml-fe.
    const green = await score("fraud-endpoint", KEYS["fraud-endpoint"][0], { "azureml-model-deployment": "green" });
    assert.equal(green.headers.get("azureml-model-deployment"), "green");
    assert.equal(await green.text(), diabetes.expected.rows);
    // Token auth stays token auth: no key opens it, a token of the stack's issuer does.
    assert.equal((await score("mnist-token")).status, 401);
    assert.equal((await score("mnist-token", KEYS.diabetes[0])).status, 401);
    const { accessToken } = await mintToken({ signingKey: readFileSync(path.join(state, "token-signing.key"), "utf8").trim(), audience: "mnist-token" });
    const tokened = await score("mnist-token", accessToken);
    assert.equal(tokened.status, 200);
    assert.equal(await tokened.text(), digits.expected.three_rows);
  });

  it("refuses a v1 value it cannot carry over, naming the file and field, and writes nothing", async () => {
    const folder = path.join(v1.dir, "diabetes");
    const config = JSON.parse(readFileSync(path.join(folder, "deploymentconfig.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(path.join(folder, "deploymentconfig.json"), JSON.stringify({ ...config, gpuCores: 1.5 }));
    const before = readFileSync(stackFile, "utf8");
    await assert.rejects(run(), (err: V1ImportError) => {
      assert.ok(err instanceof V1ImportError);
      assert.match(err.message, /diabetes\/deploymentconfig\.json: gpuCores: /);
      return true;
    });
    assert.equal(readFileSync(stackFile, "utf8"), before);
  });
});
