/**
 * The v1 → stack mapping, rule by rule (core/config/v1Import.ts, pure): each fixture service's entry,
 * each setting of `AksWebservice.deploy_configuration` and of the export tool's parameters, the
 * refusals (every one naming its file and field), the scripts' AutoML imports and scikit-learn's
 * removed joblib, the stack-file writer and the secrets it stores.
 */
import * as assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { parseStackConfig } from "../../core/config";
import { newSaltState, passphraseCrypter, passphraseFromEnv, SecretsError, type Crypter } from "../../core/config/pulumiSecrets";
import { parseStackFile, plainTextSecretProblems, readStackFileDecrypted, upsertStackServices } from "../../core/config/stackFile";
import { cpuCores, isoDurationMs, memoryGb, modelAssetId, pinsSklearnBefore023, planV1Import, sklearnPin, sourceFiles, V1ImportError, type ImportPlan, type V1Folder } from "../../core/config/v1Import";
import { configuredKeys } from "../../local/keys";
import { chooseInterpreter, importNames, probeInterpreter, STAND_INS } from "../../local/python";
import { unifiedDiff } from "../../scripts/importV1";
import { REPO_ROOT } from "../support/stacks";
import { SAMPLE_OF, V1_FIXTURES } from "./v1Fixtures";

const OPTS = { out: "imported-v1", namespace: "aks-inference" };
const SCORE = "import json\n\ndef init():\n    pass\n\ndef run(raw_data):\n    return json.loads(raw_data)\n";

/** A fixture service's folder as the reader hands it over, with a source and its models (not loaded here). */
function folder(name: string, change: { json?: Record<string, unknown>; files?: string[]; text?: Record<string, string>; drop?: string[] } = {}): V1Folder {
  const dir = path.join(V1_FIXTURES, name);
  const own = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => !readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory() && e.name === f));
  const json: Record<string, unknown> = {};
  const text: Record<string, string> = { "source/score.py": SCORE };
  for (const f of own) {
    if (f.endsWith(".json")) json[f] = JSON.parse(readFileSync(path.join(dir, f), "utf8"));
    if (f.endsWith(".yml")) text[f] = readFileSync(path.join(dir, f), "utf8");
  }
  const { models } = SAMPLE_OF[name];
  const files = [...own, "source/score.py", ...models.versions.map((v) => `models/${models.name}/${v}/${models.file}`), ...(change.files ?? [])].filter((f) => !change.drop?.includes(f));
  for (const f of change.drop ?? []) delete json[f];
  return { name, files, json: { ...json, ...change.json }, text: { ...text, ...change.text } };
}
const plan = (name: string, change?: Parameters<typeof folder>[1]) => planV1Import(folder(name, change), OPTS);
/** The refusals of an import, each `<folder>/<file>: <field>: <message>`. */
function refusals(name: string, change: Parameters<typeof folder>[1]): string[] {
  try {
    plan(name, change);
  } catch (err) {
    if (err instanceof V1ImportError) return err.problems;
    throw err;
  }
  assert.fail("the import was not refused");
}
const json = (name: string, file: string) => JSON.parse(readFileSync(path.join(V1_FIXTURES, name, file), "utf8")) as Record<string, unknown>;
const rowTo = (p: ImportPlan, from: RegExp) => p.rows.find((r) => from.test(r.from));

describe("import-v1 mapping: each fixture service", () => {
  it("diabetes (deploymentconfig.json, key auth, autoscale): every setting, keys from keys.json, the environment's conda file", () => {
    const p = plan("diabetes");
    assert.deepEqual(p.service, {
      name: "diabetes",
      sourceDirectory: "imported-v1/diabetes/source",
      entryScript: "score.py",
      environment: { condaFile: "imported-v1/diabetes/conda.yml" },
      authEnabled: true,
      collectModelData: false,
      appInsightsEnabled: false,
      cpuCores: 0.5,
      memoryGb: 1,
      autoscaleEnabled: true,
      autoscaleMinReplicas: 1,
      autoscaleMaxReplicas: 4,
      autoscaleTargetUtilization: 60,
      replicaMaxConcurrentRequests: 2,
      maxRequestWaitTimeMs: 1000,
      scoringTimeoutMs: 30000,
      models: [{ name: "diabetes_regression_model.pkl", version: 1, path: "imported-v1/diabetes/azureml-models/diabetes_regression_model.pkl/1/diabetes_regression_model.pkl" }],
    });
    assert.deepEqual(p.keys, { primaryKey: "FAKEv1diabetesPrimaryKey0000000A", secondaryKey: "FAKEv1diabetesSecondaryKey00000B" });
    assert.deepEqual(p.copies.map((c) => `${c.from} -> ${c.to}`), [
      "models/diabetes_regression_model.pkl/1/diabetes_regression_model.pkl -> imported-v1/diabetes/azureml-models/diabetes_regression_model.pkl/1/diabetes_regression_model.pkl",
      "source/score.py -> imported-v1/diabetes/source/score.py",
      "environment/conda_dependencies.yml -> imported-v1/diabetes/conda.yml",
    ]);
    assert.ok(p.comments.some((c) => c.startsWith("v1 deploymentconfig.json: autoScaler.refreshPeriodInSeconds = 1: ")));
    assert.ok(p.rows.every((r) => !JSON.stringify(r).includes("FAKEv1")), "no mapping row shows a key");
  });

  it("mnist-token (service.json as the SDK prints it): token auth kept, no keys, fixed replicas, the inline environment written as conda.yml, description and tags as comments", () => {
    const p = plan("mnist-token");
    assert.equal(p.service.tokenAuthEnabled, true);
    assert.equal(p.service.authEnabled, false);
    assert.equal(p.keys, undefined);
    assert.deepEqual([p.service.autoscaleEnabled, p.service.numReplicas, p.service.autoscaleMaxReplicas], [false, 1, undefined], "autoscaler values of a fixed-replica service are not carried");
    assert.deepEqual(p.writes.map((w) => w.to), ["imported-v1/mnist-token/conda.yml"]);
    assert.match(p.writes[0].text, /- scikit-learn=1\.2\.1/);
    assert.ok(p.comments.includes("description: Handwritten digits (the quickstart's classifier), for the claims app"));
    assert.ok(p.comments.includes("tags: team=vision, costcenter=4711"));
    assert.ok(!p.comments.some((c) => c.includes("hasInferenceSchema") || c.includes("azureml.git")), "the SDK's own properties are not the team's");
    assert.match(rowTo(p, /aadAuthEnabled$/)!.note ?? "", /token issuer/);
    assert.equal(p.service.models![0].path, "imported-v1/mnist-token/azureml-models/sklearn_mnist_model/1/model", "a registered folder stays a folder");
  });

  it("vision-gpu (the REST API's service object): GPU, limits and another namespace as comments, keys.json as a list", () => {
    const p = plan("vision-gpu");
    assert.deepEqual([p.service.cpuCores, p.service.memoryGb, p.service.gpuCores, p.service.numReplicas, p.service.scoringTimeoutMs, p.service.maxRequestWaitTimeMs], [1, 4, 1, 1, 120000, 2000]);
    assert.deepEqual(p.keys, { primaryKey: "FAKEv1visionPrimaryKey000000000C", secondaryKey: "FAKEv1visionSecondaryKey0000000D" });
    for (const field of ["containerResourceRequirements.cpuLimit = 2", "containerResourceRequirements.memoryInGBLimit = 6", "namespace = vision", "livenessProbeRequirements = {", "computeName = aks-gpu", "environment.docker.shmSize = 2g"]) {
      assert.ok(p.comments.some((c) => c.startsWith(`v1 service.json: ${field}`)), `a comment for ${field}: ${p.comments.join("\n")}`);
    }
    assert.equal(p.service.environment?.baseImage, undefined, "v1's retired default CUDA base gives way to this project's");
  });

  it("fraud-endpoint (an AksEndpoint): versions with their 80/20 traffic, models and settings; data collection and App Insights for the service", () => {
    const p = plan("fraud-endpoint");
    assert.deepEqual([p.service.collectModelData, p.service.appInsightsEnabled], [true, true]);
    assert.deepEqual(
      p.service.versions!.map((v) => [v.name, v.traffic, v.cpuCores, v.autoscaleEnabled, v.numReplicas, v.models!.map((m) => m.version)]),
      [
        ["blue", 80, 0.5, true, undefined, [1]],
        ["green", 20, 0.25, false, 1, [2]],
      ],
    );
    assert.equal(p.service.entryScript, "score.py");
    assert.ok(rowTo(p, /versions\.blue\.isDefault/), "isDefault is explained, not dropped");
  });

  it("digits-export (the export tool's parameters): durations, quantities, scale settings and the keys inside", () => {
    const p = plan("digits-export");
    assert.deepEqual([p.service.cpuCores, p.service.memoryGb, p.service.scoringTimeoutMs, p.service.maxRequestWaitTimeMs, p.service.replicaMaxConcurrentRequests, p.service.autoscaleEnabled, p.service.numReplicas], [0.25, 0.5, 45000, 500, 1, false, 1]);
    assert.deepEqual(p.keys, { primaryKey: "FAKEv1digitsPrimaryKey000000000G", secondaryKey: "FAKEv1digitsSecondaryKey0000000H" });
    assert.equal(p.service.authEnabled, true);
    assert.ok(p.comments.some((c) => c.includes("containerResourceLimits.memory = 1Gi")));
    assert.ok(!p.comments.some((c) => c.includes("onlineEndpointProperties.properties")), "an empty value is nothing to carry over");
  });

  it("gives a valid stack entry for every fixture (with a GPU pool for the GPU one)", () => {
    const services = Object.keys(SAMPLE_OF).map((n) => ({ ...plan(n).service }));
    const cfg = parseStackConfig({ "azure-native:location": "westeurope", "aks-inference:gpuPools": [{ name: "gput4", vmSize: "Standard_NC4as_T4_v3" }], "aks-inference:services": services }, "t");
    assert.deepEqual(cfg.services.map((s) => s.authMode), ["key", "token", "key", "key", "key"]);
  });
});

describe("import-v1 mapping: the rules of AksWebservice.deploy_configuration", () => {
  const dc = json("diabetes", "deploymentconfig.json");
  const withConfig = (patch: Record<string, unknown>) => ({ json: { "deploymentconfig.json": { ...dc, ...patch } } });

  it("numReplicas without autoscaling: fixed replicas; autoscaling without numReplicas is v1's default", () => {
    const fixed = plan("diabetes", withConfig({ autoScaler: { autoscaleEnabled: false }, numReplicas: 3 })).service;
    assert.deepEqual([fixed.autoscaleEnabled, fixed.numReplicas, fixed.autoscaleMinReplicas], [false, 3, undefined]);
    const implicit = plan("diabetes", withConfig({ autoScaler: undefined })).service;
    assert.deepEqual([implicit.autoscaleEnabled, implicit.numReplicas], [undefined, undefined], "nothing said: both default to autoscaling");
  });

  it("refuses what v1 itself refuses: autoscaling off without numReplicas, min above max, key and token auth both on", () => {
    assert.deepEqual(refusals("diabetes", withConfig({ autoScaler: { autoscaleEnabled: false } })), ["diabetes/deploymentconfig.json: numReplicas: is required when autoScaler.autoscaleEnabled is false (Azure ML v1 requires it too)"]);
    assert.match(refusals("diabetes", withConfig({ autoScaler: { minReplicas: 5, maxReplicas: 2 } }))[0], /^diabetes\/deploymentconfig\.json: autoScaler\.minReplicas: 5 is above maxReplicas 2/);
    assert.match(refusals("diabetes", withConfig({ tokenAuthEnabled: true }))[0], /^diabetes\/deploymentconfig\.json: authEnabled: and token auth are both on/);
  });

  it("refuses unknown fields and values out of range, naming each", () => {
    const problems = refusals("diabetes", withConfig({ autoScaler: { maxReplica: 3 }, gpuCores: 1.5, scoringTimeoutMs: -1, containerResourceRequirements: { cpu: 0 } }));
    for (const field of ["autoScaler.maxReplica: is not a field", "gpuCores: ", "scoringTimeoutMs: ", "containerResourceRequirements.cpu: "]) {
      assert.ok(problems.some((p) => p.startsWith(`diabetes/deploymentconfig.json: ${field}`)), `${field} in ${problems.join("\n")}`);
    }
  });

  it("refuses settings this project does not support: ACI, Event Hub, FPGA, a limit below its request", () => {
    assert.match(refusals("diabetes", withConfig({ computeType: "ACI" }))[0], /computeType: 'ACI': only AKS web services are imported/);
    assert.match(refusals("diabetes", withConfig({ dataCollection: { eventHubEnabled: true } }))[0], /dataCollection\.eventHubEnabled: model data to Event Hub is not supported/);
    assert.match(refusals("diabetes", withConfig({ containerResourceRequirements: { cpu: 1, fpga: 2 } }))[0], /containerResourceRequirements\.fpga: FPGA services are not supported/);
    assert.match(refusals("diabetes", withConfig({ containerResourceRequirements: { memoryInGB: 2, memoryInGBLimit: 1 } }))[0], /memoryInGBLimit: 1 is below memoryInGB 2/);
  });

  it("maps authEnabled false to a service without auth, with a warning", () => {
    const p = plan("diabetes", withConfig({ authEnabled: false }));
    assert.equal(p.service.authEnabled, false);
    assert.equal(p.keys, undefined, "a service without auth keeps no keys");
    assert.ok(p.warnings.some((w) => w.includes("authentication is off")));
  });

  it("takes the keys from deploymentconfig.json too, and refuses two different pairs or a key that cannot be sent", () => {
    const keys = json("diabetes", "keys.json");
    assert.deepEqual(plan("diabetes", { ...withConfig({ keys }), drop: ["keys.json"] }).keys, keys);
    assert.match(refusals("diabetes", withConfig({ keys: { primaryKey: "other1", secondaryKey: "other2" } }))[0], /^diabetes\/keys\.json: holds other keys than deploymentconfig\.json/);
    assert.match(refusals("diabetes", { json: { "keys.json": { primaryKey: "same", secondaryKey: "same" } } })[0], /secondaryKey: equals the primary key/);
    assert.match(refusals("diabetes", { json: { "keys.json": { primaryKey: "has space", secondaryKey: "ok" } } })[0], /keys\.json: primaryKey: must be 1-256 visible ASCII characters/);
    const noKeys = plan("diabetes", { drop: ["keys.json"] });
    assert.equal(noKeys.keys, undefined);
    assert.ok(noKeys.warnings.some((w) => w.includes("az ml service get-keys -n diabetes")), "without keys the clients must be told");
  });

  it("names the file the keys came from, and checks each key of a pair on its own", () => {
    const keys = json("diabetes", "keys.json") as { primaryKey: string; secondaryKey: string };
    const inConfig = (pair: Record<string, string>) => ({ ...withConfig({ keys: pair }), drop: ["keys.json"] });
    assert.match(refusals("diabetes", withConfig({ keys: { ...keys, secondaryKey: "other2" } }))[0], /keys\.json: holds other keys than deploymentconfig\.json/, "only the secondary key differs");
    assert.match(refusals("diabetes", inConfig({ primaryKey: "same", secondaryKey: "same" }))[0], /^diabetes\/deploymentconfig\.json: secondaryKey: equals the primary key/);
    assert.match(refusals("diabetes", inConfig({ primaryKey: "ok", secondaryKey: "x".repeat(257) }))[0], /deploymentconfig\.json: secondaryKey: must be 1-256 visible ASCII characters/);
    const longest = plan("diabetes", inConfig({ primaryKey: "p".repeat(256), secondaryKey: "~!" }));
    assert.deepEqual(longest.keys, { primaryKey: "p".repeat(256), secondaryKey: "~!" });
    assert.equal(rowTo(longest, /primaryKey, secondaryKey$/)?.from, "deploymentconfig.json: primaryKey, secondaryKey");
    assert.equal(rowTo(plan("diabetes"), /primaryKey, secondaryKey$/)?.from, "keys.json: primaryKey, secondaryKey");
  });

  it("refuses model folders that do not match the service's models", () => {
    assert.match(refusals("mnist-token", { drop: ["models/sklearn_mnist_model/1/model/model.pkl"] })[0], /mnist-token\/service\.json: modelDetails\[0\]: model sklearn_mnist_model:1 is not under models\/sklearn_mnist_model\/1\//);
    assert.match(refusals("mnist-token", { files: ["models/other/1/x.pkl"] })[0], /mnist-token\/models: other\/1: is not a model of the service/);
    assert.match(refusals("mnist-token", { files: ["models/sklearn_mnist_model/1/second.pkl"] })[0], /sklearn_mnist_model\/1: holds 2 entries/);
  });

  it("refuses a second settings document, and a folder with none", () => {
    assert.match(refusals("diabetes", { json: { "service.json": json("mnist-token", "service.json") } })[0], /service\.json: and deploymentconfig\.json both describe the deployment/);
    assert.match(refusals("diabetes", { drop: ["deploymentconfig.json"] })[0], /no deployment settings/);
  });
});

describe("import-v1 mapping: endpoints, parameters files, environments and sources", () => {
  const endpoint = json("fraud-endpoint", "service.json") as { versions: Record<string, Record<string, unknown>> };
  const withVersions = (patch: (v: typeof endpoint.versions) => void) => {
    const copy = JSON.parse(JSON.stringify(endpoint)) as typeof endpoint;
    patch(copy.versions);
    return { json: { "service.json": copy } };
  };

  it("refuses a split that does not sum to 100 or is not in whole percents, and version names the router cannot carry", () => {
    assert.match(refusals("fraud-endpoint", withVersions((v) => (v.green.trafficPercentile = 10)))[0], /versions\.\*\.trafficPercentile: the versions' shares sum to 90, not 100/);
    assert.match(refusals("fraud-endpoint", withVersions((v) => (v.green.trafficPercentile = 20.5)))[0], /versions\.green\.trafficPercentile: 20\.5 is not a whole percent/);
    const renamed = withVersions((v) => {
      v.Green_V2 = v.green;
      delete v.green;
    });
    assert.match(refusals("fraud-endpoint", renamed).join("\n"), /versions\.Green_V2: 'Green_V2' cannot be a version name here/);
  });

  it("takes the names the stack's config takes, and refuses the rest whole", () => {
    // The service name is the config's (serviceNameSchema), the version name the router's (isVersionName).
    const service = json("mnist-token", "service.json");
    const named = (name: string) => ({ json: { "service.json": { ...service, name } } });
    for (const bad of ["Mnist", "1mnist", "mnist-", "mn", "a".repeat(33)]) assert.match(refusals("mnist-token", named(bad)).join("\n"), new RegExp(`name: '${bad}' cannot be a service name here`), bad);
    for (const good of ["abc", "a".repeat(32)]) assert.equal(plan("mnist-token", named(good)).service.name, good);
    const green = (name: string) =>
      withVersions((v) => {
        v[name] = v.green;
        delete v.green;
      });
    for (const bad of ["green-", "1green", "default", "g".repeat(17)]) assert.match(refusals("fraud-endpoint", green(bad)).join("\n"), new RegExp(`versions\\.${bad}: '${bad}' cannot be a version name here`), bad);
    for (const good of ["g", "g".repeat(16)]) assert.ok(plan("fraud-endpoint", green(good)).service.versions!.some((v) => v.name === good), good);
  });

  it("an endpoint in the stack's namespace says nothing of it; another namespace and its compute target are comments; Application Insights must agree", () => {
    const comment = (p: ImportPlan, field: string) => p.comments.find((c) => c.startsWith(`v1 service.json: ${field} = `));
    const same = plan("fraud-endpoint");
    assert.equal(comment(same, "namespace"), undefined, "the stack's own namespace");
    assert.equal(comment(same, "computeName"), "v1 service.json: computeName = aks-prod: the AKS compute target is this stack's cluster");
    const other = plan("fraud-endpoint", { json: { "service.json": { ...endpoint, namespace: "fraud" } } });
    assert.equal(comment(other, "namespace"), "v1 service.json: namespace = fraud: every service of this stack runs in its namespace (aks-inference:namespace, 'aks-inference')");
    assert.match(refusals("fraud-endpoint", { json: { "service.json": { ...endpoint, appInsightsEnabled: false } } }).join("\n"), /differ: Application Insights is the service's here \(appInsightsEnabled\), for every version/);
  });

  it("refuses what versions must share here: data collection, auth, the environment", () => {
    assert.match(refusals("fraud-endpoint", withVersions((v) => ((v.green.dataCollection as { storageEnabled: boolean }).storageEnabled = false)))[0], /dataCollection\.storageEnabled: differ between versions/);
    assert.match(refusals("fraud-endpoint", withVersions((v) => (v.green.aadAuthEnabled = true)))[0], /versions\.green\.aadAuthEnabled: true differs from the endpoint's/);
    assert.match(refusals("fraud-endpoint", withVersions((v) => ((v.green.environmentDetails as { name: string }).name = "other")))[0], /the versions use different environments/);
  });

  it("parameters file: a Managed deployment's instanceType is refused (a VM size is not the service's cores), other env variables too", () => {
    const params = json("digits-export", "digits-export.params.json") as { onlineDeployments: { value: { properties: Record<string, unknown> }[] } };
    const managed = JSON.parse(JSON.stringify(params)) as typeof params;
    delete managed.onlineDeployments.value[0].properties.containerResourceRequirements;
    managed.onlineDeployments.value[0].properties.instanceType = "Standard_DS3_v2";
    assert.match(refusals("digits-export", { json: { "digits-export.params.json": managed } })[0], /onlineDeployments\[0\]\.properties\.instanceType: 'Standard_DS3_v2' is a VM size/);
    const vars = JSON.parse(JSON.stringify(params)) as typeof params;
    vars.onlineDeployments.value[0].properties.environmentVariables = { MODEL_THRESHOLD: "0.7" };
    assert.match(refusals("digits-export", { json: { "digits-export.params.json": vars } })[0], /environmentVariables\.MODEL_THRESHOLD: a service here gets no environment variables of its own/);
  });

  it("parameters file: TargetUtilization scaling becomes autoscaling, AMLToken auth token auth", () => {
    const params = json("digits-export", "digits-export.params.json") as { onlineEndpointProperties: { value: Record<string, unknown> }; onlineDeployments: { value: { properties: Record<string, unknown> }[] } };
    params.onlineEndpointProperties.value.authMode = "AMLToken";
    params.onlineDeployments.value[0].properties.scaleSettings = { scaleType: "TargetUtilization", minInstances: 2, maxInstances: 5, targetUtilizationPercentage: 50, pollingInterval: "PT1S" };
    const p = plan("digits-export", { json: { "digits-export.params.json": params } });
    assert.deepEqual([p.service.autoscaleEnabled, p.service.autoscaleMinReplicas, p.service.autoscaleMaxReplicas, p.service.autoscaleTargetUtilization, p.service.numReplicas], [true, 2, 5, 50, undefined]);
    assert.deepEqual([p.service.tokenAuthEnabled, p.keys], [true, undefined]);
  });

  it("parameters file: what has no equivalent is a comment on one line, and empty values are not mentioned", () => {
    const params = json("digits-export", "digits-export.params.json") as Record<string, { value: Record<string, unknown> | string }> & { onlineEndpointProperties: { value: Record<string, unknown> } };
    Object.assign(params.onlineEndpointProperties.value, { description: "  Digits,\n   exported\tby the util  ", properties: {}, publicNetworkAccess: "", compute: "aks-cluster" });
    Object.assign(params, { location: { value: "westeurope" }, workspaceName: { value: "" }, onlineEndpointTags: { value: {} } });
    const comments = plan("digits-export", { json: { "digits-export.params.json": params } }).comments.filter((c) => c.startsWith("v1 digits-export.params.json: ") && !c.includes(": onlineDeployments["));
    assert.deepEqual(comments.map((c) => c.slice("v1 digits-export.params.json: ".length)).sort(), [
      "location = westeurope: the stack's region and cluster, not a workspace's, hold the service",
      "onlineEndpointProperties.compute = aks-cluster: no per-service equivalent: the stack's endpoint settings apply to every service",
      "onlineEndpointProperties.description = Digits, exported by the util: kept as this comment",
    ]);
  });

  it("environment: refuses what the scoring image cannot build, keeps a custom base image", () => {
    const env = json("diabetes", "environment/azureml_environment.json") as { python: Record<string, unknown>; docker: Record<string, unknown>; environmentVariables: Record<string, string> };
    const patched = (patch: (e: typeof env) => void) => {
      const copy = JSON.parse(JSON.stringify(env)) as typeof env;
      patch(copy);
      return { json: { "environment/azureml_environment.json": copy } };
    };
    assert.match(refusals("diabetes", patched((e) => (e.python.userManagedDependencies = true)))[0], /python\.userManagedDependencies: true: the environment's packages are not listed/);
    assert.match(refusals("diabetes", patched((e) => (e.docker.baseDockerfile = "FROM ubuntu")))[0], /docker\.baseDockerfile: a base Dockerfile is not supported/);
    assert.match(refusals("diabetes", patched((e) => (e.environmentVariables.FEATURE_FLAG = "1")))[0], /environmentVariables\.FEATURE_FLAG: a service here gets no environment variables/);
    assert.equal(plan("diabetes", patched((e) => (e.docker.baseImage = "contoso.azurecr.io/ml/base:2"))).service.environment?.baseImage, "contoso.azurecr.io/ml/base:2");
    assert.match(refusals("diabetes", { json: { "inferenceconfig.json": { entryScript: "score.py", sourceDirectory: "source", extraDockerfileSteps: "steps.txt" } } })[0], /inferenceconfig\.json: extraDockerfileSteps: /);
  });

  it("source: the entry script must exist; descriptors and parameters files (they hold keys) are never copied", () => {
    assert.match(refusals("diabetes", { json: { "inferenceconfig.json": { entryScript: "main.py", sourceDirectory: "source" } } })[0], /inferenceconfig\.json: entryScript: source\/main\.py does not exist/);
    assert.match(refusals("diabetes", { json: { "inferenceconfig.json": { entryScript: "score.py", sourceDirectory: "../elsewhere" } } })[0], /sourceDirectory: '\.\.\/elsewhere' leaves the service's folder/);
    assert.deepEqual(sourceFiles(["score.py", "util/a.py", "keys.json", "deploymentconfig.json", "svc.params.json", "models/m/1/x", "environment/conda_dependencies.yml"], ""), ["score.py", "util/a.py"]);
    assert.deepEqual(sourceFiles(["src/score.py", "src/keys.json", "src/x.params.json", "other.py"], "src"), ["src/score.py"]);
  });
});

describe("import-v1 mapping: what old scripts need", () => {
  const externals = readFileSync(path.join(REPO_ROOT, "test/fixtures/aml/rollout-sklearn-externals/score.py"), "utf8");
  const conda = (deps: string) => `name: project_environment\ndependencies:\n${deps}`;
  const withScript = (script: string, condaText: string) => ({ text: { "source/score.py": script, "environment/conda_dependencies.yml": condaText } });

  it("detects `from sklearn.externals import joblib` and gives the conda pin that makes it work", () => {
    const p = plan("diabetes", withScript(externals, conda("  - python=3.11\n  - scikit-learn=1.2.1\n")));
    const w = p.warnings.find((x) => x.includes("sklearn.externals"));
    assert.ok(w, p.warnings.join("\n"));
    assert.match(w, /removed in scikit-learn 0\.23 \(the conda file has scikit-learn=1\.2\.1, Python 3\.11\): init\(\) would fail/);
    assert.match(w, /pin `- python=3\.8` and `- scikit-learn=0\.22\.2\.post1` in imported-v1\/diabetes\/conda\.yml/);
    const fine = plan("diabetes", withScript(externals, conda("  - python=3.6.2\n  - pip:\n    - scikit-learn==0.22.1\n")));
    assert.ok(!fine.warnings.some((x) => x.includes("sklearn.externals")), "a conda file that still has it needs no warning");
    assert.ok(fine.comments.some((c) => c.includes("scikit-learn==0.22.1 and Python 3.6.2")));
    // Python 3.8 is the last that scikit-learn 0.22 installs on.
    const last = plan("diabetes", withScript(externals, conda("  - python=3.8\n  - scikit-learn=0.22.2.post1\n")));
    assert.ok(!last.warnings.some((x) => x.includes("sklearn.externals")), last.warnings.join("\n"));
    const newer = plan("diabetes", withScript(externals, conda("  - python=3.9\n  - scikit-learn=0.22.2.post1\n")));
    assert.ok(newer.warnings.some((x) => x.includes("(the conda file has scikit-learn=0.22.2.post1, Python 3.9): init() would fail")), newer.warnings.join("\n"));
  });

  it("names AutoML's and telemetry's imports, and warns when the conda file lacks their packages", () => {
    const automl = "from azureml.automl.runtime.shared.score import scoring\nimport azureml.telemetry\n\ndef init():\n    pass\n\ndef run(data):\n    return data\n";
    const missing = plan("diabetes", withScript(automl, conda("  - python=3.8\n  - pip:\n    - azureml-defaults\n")));
    assert.ok(missing.warnings.some((w) => w.includes("azureml.automl.runtime.shared.score, azureml.telemetry") && w.includes("lists no azureml-automl")), missing.warnings.join("\n"));
    const listed = plan("diabetes", withScript(automl, conda("  - python=3.8\n  - pip:\n    - azureml-automl-runtime==1.48.0\n    - azureml-telemetry\n")));
    assert.ok(!listed.warnings.some((w) => w.includes("azureml.automl")));
    assert.ok(listed.comments.some((c) => c.includes("the image installs them from the conda file (azureml-automl-runtime, azureml-telemetry)")));
  });

  it("the helpers: scikit-learn pins, durations, quantities, model asset ids", () => {
    assert.equal(sklearnPin(conda("  - pip:\n    - scikit-learn==0.22.1\n")), "scikit-learn==0.22.1");
    assert.deepEqual(["scikit-learn==0.22.1", "scikit-learn=0.20", "scikit-learn<0.23", "scikit-learn>=0.20,<0.23", "scikit-learn==0.24", "scikit-learn", "scikit-learn<1.0"].map(pinsSklearnBefore023), [true, true, true, true, false, false, false]);
    assert.deepEqual(["PT1M", "PT0.5S", "PT1H2M3S"].map(isoDurationMs), [60000, 500, 3723000]);
    assert.deepEqual(["500m", "0.25", 2].map(cpuCores), [0.5, 0.25, 2]);
    assert.deepEqual(["1Gi", "512Mi", "1.5Gi", "1073741824"].map(memoryGb), [1, 0.5, 1.5, 1]);
    assert.throws(() => cpuCores("half"), /not a CPU quantity/);
    assert.deepEqual(modelAssetId("azureml:/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/models/m/versions/3"), { name: "m", version: 3 });
    assert.deepEqual(modelAssetId("azureml:m:2"), { name: "m", version: 2 });
    assert.equal(modelAssetId("m"), undefined);
  });

  it("the helpers read every digit, and refuse a value with anything before or after it", () => {
    // Durations: several digits in each part, fractions of two digits; nothing around them.
    assert.deepEqual(["PT12H", "PT10M", "PT10S", "PT1.5H", "PT2.25M", "PT0.25S"].map(isoDurationMs), [43_200_000, 600_000, 10_000, 5_400_000, 135_000, 250]);
    for (const bad of ["PT", "xPT1M", "PT1Mx", "PT1.xS", "PT1.xM", "PT1.xH", ""]) assert.throws(() => isoDurationMs(bad), /is not an ISO 8601 duration/, bad);
    // CPU: surrounding blanks are a YAML writer's, not an error.
    assert.deepEqual([" 500m ", "1500m", "12"].map(cpuCores), [0.5, 1.5, 12]);
    for (const bad of ["x500m", "500mx", "0.5 cores"]) assert.throws(() => cpuCores(bad), /is not a CPU quantity such as '0\.5' or '500m'/, bad);
    // Memory: binary and decimal units, as GiB rounded to a thousandth.
    assert.deepEqual([" 2Gi ", "1.25Gi", "1G", "1Ti", "1048576Ki", "1000M"].map(memoryGb), [2, 1.25, 0.931, 1024, 1, 0.931]);
    for (const bad of ["x1Gi", "1Gix", "1.xGi", "1 GB"]) assert.throws(() => memoryGb(bad), /is not a memory quantity such as '1Gi' or '512Mi'/, bad);
    // Model asset ids: versions of several digits; an id with more after the version is none.
    assert.deepEqual(modelAssetId("azureml:/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/models/m/versions/12"), { name: "m", version: 12 });
    assert.deepEqual(modelAssetId("azureml:model:12"), { name: "model", version: 12 });
    for (const none of [".../models/m/versions/3/download", "xazureml:m:2", "azureml:m:2x", "azureml:a/b:2"]) assert.equal(modelAssetId(none), undefined, none);
  });

  it("the scikit-learn pin: a channel prefix, blanks after commas, and only pins that exclude 0.23", () => {
    const conda = (deps: string) => `name: project_environment\ndependencies:\n${deps}`;
    assert.equal(sklearnPin(conda("  - 5\n  - ~\n  - conda-forge::scikit-learn=0.22.1\n")), "conda-forge::scikit-learn=0.22.1");
    assert.equal(sklearnPin(conda("  - my-scikit-learn-fork==1.0\n  - pip:\n    - numpy\n")), undefined, "another package whose name contains scikit-learn");
    assert.deepEqual(
      ["conda-forge::scikit-learn=0.22", "scikit-learn>=0.20, <0.23", "scikit-learn==0.23.1", "scikit-learn<=0.23", "scikit-learn!=0.22", "scikit-learn>=0.20", "scikit-learn~=0.22.1"].map(pinsSklearnBefore023),
      [true, true, false, false, false, false, true],
    );
  });
});

describe("local mode's environment check: exactly what the stand-ins cover", () => {
  it("skips only the distributions the scoring server stands in for; AutoML's and telemetry's are packages like any other", () => {
    assert.deepEqual(Object.keys(STAND_INS), ["azureml-defaults", "azureml-inference-server-http", "azureml-core", "azureml-contrib-services", "azureml-monitoring", "inference-schema"]);
    assert.deepEqual(importNames(["azureml-defaults==1.48", "azureml-core", "inference-schema[numpy-support]", "azureml-automl-runtime==1.48.0", "azureml-telemetry", "azureml-train-automl-runtime", "numpy"]), ["azureml.automl.runtime", "azureml.telemetry", "azureml.train.automl.runtime", "numpy"]);
  });

  it("reports them missing, says what the stand-ins cover, and gives the install command", () => {
    const probe = (_python: string, modules: readonly string[]) => modules.filter((m) => m.startsWith("azureml."));
    const choice = chooseInterpreter(["numpy", "azureml.automl.runtime", "azureml.telemetry"], { probe, candidates: ["/usr/bin/python3"], install: "conda env create -f imported-v1/automl/conda.yml" });
    assert.ok("error" in choice);
    assert.match(choice.error, /^No module named 'azureml\.automl\.runtime' \(also missing: 'azureml\.telemetry'\) for \/usr\/bin\/python3: install the environment \(conda env create -f imported-v1\/automl\/conda\.yml\)/);
    assert.match(choice.error, /the scoring server stands in only for azureml-defaults, azureml-inference-server-http, azureml-core, azureml-contrib-services, azureml-monitoring, inference-schema/);
  });

  it("asks a real interpreter for a dotted module as a whole, not for its top package", () => {
    assert.deepEqual(probeInterpreter("/usr/bin/python3", ["json.decoder", "json.no_such_part", "xml.etree"]), ["json.no_such_part"]);
  });
});

describe("stack file: services written with their comments, keys as passphrase secrets", () => {
  const entry = (value: { name: string; [key: string]: unknown }, comments: string[] = []) => ({ value, comments });
  const TEXT = "# the team's stack\nconfig:\n  azure-native:location: westeurope # region\n  aks-inference:services:\n    # first\n    - name: a\n      entryScript: a.js\n      sourceDirectory: a\n";

  it("replaces an entry of the same name, appends a new one, keeps every other line", () => {
    const once = upsertStackServices(TEXT, [entry({ name: "b", entryScript: "score.py" }, ["b: imported"])]);
    assert.ok(once.startsWith(TEXT), once);
    assert.match(once, /    # b: imported\n    - name: b\n      entryScript: score\.py\n$/);
    const again = upsertStackServices(once, [entry({ name: "b", entryScript: "main.py" }, ["b: imported again"])]);
    assert.equal(again, once.replace("b: imported", "b: imported again").replace("score.py", "main.py"));
    assert.match(upsertStackServices("config:\n  azure-native:location: westeurope\n", [entry({ name: "c" })]), /aks-inference:services:\n {4}- name: c/);
  });

  it("an entry that is the list's first: written again unchanged, its comment replaced, never doubled", () => {
    const first = upsertStackServices("config:\n  azure-native:location: westeurope\n", [entry({ name: "a", cpuCores: 1 }, ["a: imported"])]);
    assert.equal(upsertStackServices(first, [entry({ name: "a", cpuCores: 1 }, ["a: imported"])]), first);
    const changed = upsertStackServices(first, [entry({ name: "a", cpuCores: 2 }, ["a: imported again"])]);
    assert.equal(changed.match(/# a: imported/g)?.length, 1, changed);
    assert.match(changed, /# a: imported again\n {4}- name: a\n {6}cpuCores: 2\n$/);
    // The same entry with its keys in another order (as the Pulumi CLI rewrites it) is left alone.
    const reordered = first.replace("- name: a\n      cpuCores: 1", "- cpuCores: 1\n      name: a");
    assert.equal(upsertStackServices(reordered, [entry({ name: "a", cpuCores: 1 }, ["a: imported"])]), reordered);
  });

  it("refuses keys in plain text, and reads passphrase secrets back", () => {
    const plain = parseStackFile("config:\n  aks-inference:services:\n    - name: a\n      keys:\n        primaryKey: abc\n        secondaryKey:\n          secure: v1:x:y\n");
    assert.deepEqual(plainTextSecretProblems(plain), ["aks-inference:services[0].keys.primaryKey: must be a secret (pulumi config set --secret --path 'aks-inference:services[0].keys.primaryKey'), not plain text in the stack file"]);
    const salt = newSaltState("pw");
    const crypter = passphraseCrypter(salt, "pw");
    const text = upsertStackServices("config: {}\n", [entry({ name: "a", keys: { primaryKey: { secure: crypter.encrypt("p-key") }, secondaryKey: { secure: crypter.encrypt("s-key") } } })]);
    assert.ok(!text.includes("p-key"));
    assert.deepEqual((readStackFileDecrypted(text, (c) => crypter.decrypt(c))["aks-inference:services"] as { keys: unknown }[])[0].keys, { primaryKey: "p-key", secondaryKey: "s-key" });
  });

  it("config: keys only for key auth, only on the service, only visible ASCII", () => {
    const keys = { primaryKey: "a", secondaryKey: "b" };
    const parse = (svc: Record<string, unknown>) => () => parseStackConfig({ "azure-native:location": "westeurope", "aks-inference:services": [{ name: "svc", sourceDirectory: "s", entryScript: "score.py", ...svc }] }, "t");
    assert.deepEqual(parse({ keys })().services[0].keys, keys);
    assert.throws(parse({ keys, tokenAuthEnabled: true, authEnabled: false }), /services\[0\]\.keys: is only for key auth/);
    assert.throws(parse({ keys: { primaryKey: "é", secondaryKey: "b" } }), /services\[0\]\.keys\.primaryKey: must be 1-256 visible ASCII characters/);
    assert.throws(parse({ versions: [{ name: "v1", traffic: 100, keys }] }), /versions\[0\]\.keys: belongs to the service/);
  });
});

describe("Pulumi's passphrase secrets", () => {
  const secretsError = (message: string) => (err: Error) => err instanceof SecretsError && err.message === message;
  // One key for the tests: deriving one takes about a second.
  let salt: string;
  let c: Crypter;
  before(() => {
    salt = newSaltState("right");
    c = passphraseCrypter(salt, "right");
  });

  it("encrypts as v1:<nonce>:<ciphertext>, decrypts under the right passphrase only, and detects tampering", () => {
    assert.match(salt, /^v1:[A-Za-z0-9+/=]{12}:v1:[A-Za-z0-9+/=]{16}:[A-Za-z0-9+/=]+$/, "an 8-byte salt and the check value, as Pulumi writes encryptionsalt");
    const secret = c.encrypt("key-1");
    assert.match(secret, /^v1:[A-Za-z0-9+/=]{16}:[A-Za-z0-9+/=]+$/);
    assert.notEqual(c.encrypt("key-1"), secret, "a new nonce each time");
    assert.equal(c.decrypt(secret), "key-1");
    assert.throws(() => passphraseCrypter(salt, "wrong"), (err: Error) => err instanceof SecretsError && /incorrect passphrase/.test(err.message) && !err.message.includes("wrong"));
    const tampered = secret.slice(0, -4) + (secret.endsWith("AAAA") ? "BBBB" : "AAAA");
    assert.throws(() => c.decrypt(tampered), secretsError("the value does not decrypt under this stack's passphrase"));
    assert.equal(c.decrypt(c.encrypt("")), "", "an empty value is its authentication tag alone");
  });

  it("refuses what is not a whole value or salt state of the passphrase provider", () => {
    const secret = c.encrypt("key-1");
    const [, nonce, sealed] = secret.split(":");
    const notAValue = secretsError("not a passphrase-encrypted value (v1:<nonce>:<ciphertext>)");
    assert.throws(() => c.decrypt(`x${secret}`), notAValue);
    assert.throws(() => c.decrypt(`${secret}:${sealed}`), notAValue);
    const badLength = secretsError("not a passphrase-encrypted value (bad nonce or length)");
    assert.throws(() => c.decrypt(`v1:${Buffer.from(nonce, "base64").subarray(0, 8).toString("base64")}:${sealed}`), badLength);
    assert.throws(() => c.decrypt(`v1:${nonce}:${Buffer.from(sealed, "base64").subarray(0, 15).toString("base64")}`), badLength);
    const notAState = secretsError("encryptionsalt is not a passphrase provider's state (v1:<salt>:v1:<nonce>:<ciphertext>)");
    assert.throws(() => passphraseCrypter(`x${salt}`, "right"), notAState);
    assert.throws(() => passphraseCrypter(`${salt}:x`, "right"), notAState);
    assert.equal(passphraseFromEnv({ PULUMI_CONFIG_PASSPHRASE_FILE: "/pw" }, () => "from-file\n"), "from-file");
    assert.equal(passphraseFromEnv({}, () => "x"), undefined);
  });
});

describe("import-v1's diff", () => {
  it("shows the changed lines with their context, nothing for equal texts", () => {
    assert.equal(unifiedDiff("a\nb\n", "a\nb\n", "f"), "");
    const d = unifiedDiff("1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\nfive\n6\n7\n8\n", "Pulumi.x.yaml");
    assert.equal(d, "--- Pulumi.x.yaml\n+++ Pulumi.x.yaml (imported)\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8");
  });
});

describe("local mode: a service's configured keys", () => {
  const services = (text: string) => parseStackConfig(parseStackFile(text).config, "t").services;
  const stack = (salt: string | undefined, primary: string, secondary: string) =>
    `${salt ? `encryptionsalt: ${salt}\n` : ""}config:\n  azure-native:location: westeurope\n  aks-inference:services:\n    - name: imported\n      sourceDirectory: s\n      entryScript: score.py\n      keys:\n        primaryKey:\n          secure: ${primary}\n        secondaryKey:\n          secure: ${secondary}\n    - name: fresh\n      sourceDirectory: s\n      entryScript: score.py\n`;

  it("decrypts them with the stack's passphrase; without it, or with another provider, the service alone cannot start, and says why", () => {
    const salt = newSaltState("pw");
    const c = passphraseCrypter(salt, "pw");
    const text = stack(salt, c.encrypt("v1-primary"), c.encrypt("v1-secondary"));
    const keys = configuredKeys(services(text), { name: "t", text }, { PULUMI_CONFIG_PASSPHRASE: "pw" });
    assert.deepEqual([...keys], [["imported", { primaryKey: "v1-primary", secondaryKey: "v1-secondary" }]], "a service without keys gets generated ones (none configured)");
    assert.deepEqual(configuredKeys(services(text), { name: "t", text }, {}).get("imported"), {
      error: "its keys are secrets of Pulumi.t.yaml that local mode cannot read: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the stack's passphrase",
    });
    assert.match((configuredKeys(services(text), { name: "t", text }, { PULUMI_CONFIG_PASSPHRASE: "nope" }).get("imported") as { error: string }).error, /incorrect passphrase/);
    const cloud = stack(undefined, "AAABAJx...", "AAABAJy...");
    assert.match((configuredKeys(services(cloud), { name: "t", text: cloud }, {}).get("imported") as { error: string }).error, /does not use the passphrase secrets provider/);
  });
});
