/**
 * Models land where Azure ML puts them (`azureml-models/<name>/<version>/<file or folder>`), and
 * `AZUREML_MODEL_DIR` is what Azure ML sets: the version folder for one model, the root for
 * several. Real v1 scripts join that variable with their file name, so a wrong layout is a
 * script that cannot find its model.
 */
import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseStackConfig } from "../../core/config";
import { modelFiles, modelHash } from "../../packaging/project";
import { uploadService } from "../../packaging/upload";
import { bootstrap } from "../../scoring/bootstrap";
import { useAzurite } from "../support/azurite";
import { tempDir } from "../support/tmp";

function service(models: unknown[]) {
  return parseStackConfig({ "azure-native:location": "westeurope", "aks-inference:services": [{ name: "svc", models, entryScript: "score.py", sourceDirectory: "src" }] }, "t").services[0];
}

describe("model layout (Azure ML's azureml-models/<name>/<version>)", function () {
  this.timeout(60_000);
  const azurite = useAzurite();
  let repo: string;
  before(() => {
    repo = tempDir("repo");
    mkdirSync(path.join(repo, "src"));
    writeFileSync(path.join(repo, "src", "score.py"), "def init(): pass\ndef run(raw_data): return raw_data\n");
    mkdirSync(path.join(repo, "outputs", "bert", "tokenizer"), { recursive: true });
    writeFileSync(path.join(repo, "outputs", "model.pkl"), "pickle");
    writeFileSync(path.join(repo, "outputs", "bert", "config.json"), "{}");
    writeFileSync(path.join(repo, "outputs", "bert", "tokenizer", "vocab.txt"), "a\nb\n");
  });

  it("keeps a folder model's own name, as Azure ML registers it", () => {
    assert.deepEqual(
      modelFiles(path.join(repo, "outputs", "bert")).map((f) => f.rel),
      ["bert/config.json", "bert/tokenizer/vocab.txt"],
    );
    assert.deepEqual(modelFiles(path.join(repo, "outputs", "model.pkl")).map((f) => f.rel), ["model.pkl"]);
  });

  it("one model: AZUREML_MODEL_DIR is its version folder, so join(AZUREML_MODEL_DIR, 'model.pkl') finds it", async () => {
    const svc = service([{ name: "sklearn-regression", path: "outputs/model.pkl", version: 3 }]);
    const up = await uploadService(svc, repo, azurite.blob());
    assert.deepEqual(up.models, [{ name: "sklearn-regression", version: 3, prefix: `sklearn-regression/${modelHash(path.join(repo, "outputs", "model.pkl"))}/` }]);
    const work = tempDir("work");
    const ctx = await bootstrap({ storage: { kind: "connectionString", connectionString: azurite.connectionString() }, packageBlob: up.packageBlob, models: up.models, workDir: work });
    assert.equal(ctx.modelDir, path.join(work, "azureml-models", "sklearn-regression", "3"));
    assert.equal(readFileSync(path.join(ctx.modelDir, "model.pkl"), "utf8"), "pickle");
    assert.equal(ctx.models["sklearn-regression"], path.join(ctx.modelDir, "model.pkl"));
  });

  it("several models: AZUREML_MODEL_DIR is the root and each model sits in <name>/<version>/", async () => {
    const svc = service(["outputs/model.pkl", { name: "bert", path: "outputs/bert", version: 2 }]);
    const up = await uploadService(svc, repo, azurite.blob());
    const work = tempDir("work");
    const ctx = await bootstrap({ storage: { kind: "connectionString", connectionString: azurite.connectionString() }, packageBlob: up.packageBlob, models: up.models, workDir: work });
    assert.equal(ctx.modelDir, path.join(work, "azureml-models"));
    assert.ok(existsSync(path.join(ctx.modelDir, "model", "1", "model.pkl")), "a string model is version 1, named after its file");
    assert.equal(readFileSync(path.join(ctx.modelDir, "bert", "2", "bert", "tokenizer", "vocab.txt"), "utf8"), "a\nb\n");
    assert.equal(ctx.models.bert, path.join(ctx.modelDir, "bert", "2", "bert"));
  });

  it("refuses a model version that is not a positive integer, naming the key", () => {
    assert.throws(() => service([{ name: "m", path: "outputs/model.pkl", version: 0 }]), /aks-inference:services\[0\]\.models\[0\]/);
  });
});
