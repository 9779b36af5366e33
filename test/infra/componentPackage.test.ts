/**
 * The repository as a Pulumi component package (PulumiPlugin.yaml): what `pulumi package add`
 * gets. The schema comes from the analyzer that ships in @pulumi/pulumi, run over the package
 * entry (package.json `main`) exactly as the plugin host runs it; the component is built through
 * the provider's `construct` path, as a Python or YAML program's request reaches it; and the
 * YAML example program only sets properties the schema has.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import { parse } from "yaml";
import * as lib from "../../lib";
import { ClusterPurpose, EgressMode, NetworkPlugin, NodeOsUpgradeChannel, UpgradeChannel } from "../../core/config";
import { runOfflineProgram, type PlannedResource } from "../../scripts/offline";
import { REPO_ROOT, stackConfig } from "../support/stacks";

const TOKEN = "aks-inference:index:InferenceEnvironment";
const EXAMPLE_DIR = path.join(REPO_ROOT, "examples", "yaml");

interface PropertyDef {
  type?: string;
  $ref?: string;
  items?: PropertyDef;
  additionalProperties?: PropertyDef;
}
interface TypeDef {
  type: string;
  properties?: Record<string, PropertyDef>;
  required?: string[];
  enum?: { name: string; value: string | number }[];
}
interface ResourceDef {
  isComponent: boolean;
  inputProperties: Record<string, PropertyDef>;
  requiredInputs: string[];
  properties: Record<string, PropertyDef>;
}
interface Schema {
  name: string;
  version: string;
  resources: Record<string, ResourceDef>;
  types: Record<string, TypeDef>;
}

/** Problems of `value` against a schema property, each as `path: what`. */
function conform(schema: Schema, value: unknown, def: PropertyDef, at: string): string[] {
  // A YAML interpolation is typed by the engine, not here.
  if (typeof value === "string" && value.includes("${")) return [];
  if (def.$ref) {
    const t = schema.types[def.$ref.replace("#/types/", "")];
    if (!t) return [`${at}: unknown type ${def.$ref}`];
    if (t.enum) return t.enum.some((e) => e.value === value) ? [] : [`${at}: '${String(value)}' is not one of ${t.enum.map((e) => e.value).join(", ")}`];
    return conformObject(schema, value, t.properties ?? {}, t.required ?? [], at);
  }
  switch (def.type) {
    case "string":
      return typeof value === "string" ? [] : [`${at}: not a string`];
    case "number":
    case "integer":
      return typeof value === "number" ? [] : [`${at}: not a number`];
    case "boolean":
      return typeof value === "boolean" ? [] : [`${at}: not a boolean`];
    case "array":
      return Array.isArray(value) ? value.flatMap((v, i) => conform(schema, v, def.items!, `${at}[${i}]`)) : [`${at}: not a list`];
    case "object":
      return value && typeof value === "object" ? Object.entries(value).flatMap(([k, v]) => conform(schema, v, def.additionalProperties!, `${at}.${k}`)) : [`${at}: not a map`];
  }
  return [`${at}: unhandled schema ${JSON.stringify(def)}`];
}

function conformObject(schema: Schema, value: unknown, properties: Record<string, PropertyDef>, required: string[], at: string): string[] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return [`${at}: not an object`];
  const obj = value as Record<string, unknown>;
  return [
    ...required.filter((k) => obj[k] === undefined).map((k) => `${at}.${k}: required`),
    ...Object.entries(obj).flatMap(([k, v]) => (properties[k] ? conform(schema, v, properties[k], `${at}.${k}`) : [`${at}.${k}: not in the schema`])),
  ];
}

/** The YAML example's properties of one resource, `${pulumi.cwd}` resolved as the engine would. */
function exampleProperties(resource: string): Record<string, unknown> {
  const program = parse(readFileSync(path.join(EXAMPLE_DIR, "Pulumi.yaml"), "utf8")) as { resources: Record<string, { properties: Record<string, unknown> }> };
  return JSON.parse(JSON.stringify(program.resources[resource].properties).replaceAll("${pulumi.cwd}", EXAMPLE_DIR)) as Record<string, unknown>;
}

describe("component package", function () {
  this.timeout(180_000);
  let provider: ComponentProvider;
  let schema: Schema;
  before(async () => {
    // What the plugin host does for `pulumi package add`: the components the entry exports,
    // under the package's name, analyzed from the sources (a whole TypeScript program: ~15 s).
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { name: string };
    provider = new ComponentProvider({ components: getPulumiComponents(lib), name: pkg.name, dirname: REPO_ROOT });
    schema = JSON.parse(await provider.getSchema()) as Schema;
  });

  it("has a side-effect-free entry that exports InferenceEnvironment, while index.ts is the program", () => {
    assert.deepEqual(
      getPulumiComponents(lib).map((c) => c.name),
      ["InferenceEnvironment"],
    );
    // Outside the engine, building any resource fails (as loading index.ts does): loading the entry must not.
    const entry = spawnSync(process.execPath, ["-r", "tsx/cjs", "-e", 'require("./lib.ts")'], { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 });
    assert.equal(entry.status, 0, entry.stderr);
    const manifest = parse(readFileSync(path.join(REPO_ROOT, "PulumiPlugin.yaml"), "utf8")) as { runtime: string };
    assert.equal(manifest.runtime, "nodejs");
    const project = parse(readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as { main?: string };
    assert.equal(project.main, "index.ts", "the program entry is not the package entry");
  });

  it("imports the Azure provider by service, never its root, whose declarations are all 261 services", () => {
    // The root's types triple what a program type-checking against the package reads (7,142
    // declaration files instead of 2,478), and the schema analysis above reads them too.
    const sources = ["components", "core", "packaging"].flatMap((dir) =>
      readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts")).map((f) => path.join(dir, f)),
    );
    const offenders = [...sources, "lib.ts", "program.ts", "index.ts"].filter((f) => /from "@pulumi\/azure-native"/.test(readFileSync(path.join(REPO_ROOT, f), "utf8")));
    assert.deepEqual(offenders, [], 'import from "@pulumi/azure-native/<service>" (or "/provider")');
    assert.ok(sources.length > 50, `${sources.length} source files read`);
  });

  it("infers a schema with InferenceEnvironment, its args as inputs and the stack outputs as outputs", () => {
    const env = schema.resources[TOKEN];
    assert.ok(env?.isComponent, Object.keys(schema.resources).join(", "));
    assert.deepEqual(Object.keys(schema.resources), [TOKEN], "one component");
    // Inputs: the stack config's keys (a parsed config has them all, with defaults), `location`
    // for azure-native:location, and where paths are relative to.
    // (kubernetesVersion has no default: the region's is AKS's own.)
    const configKeys = [...new Set([...Object.keys(stackConfig("dev")), ...Object.keys(stackConfig("prod", { "aks-inference:kubernetesVersion": "1.36" }))])].filter((k) => k !== "stack");
    assert.deepEqual(Object.keys(env.inputProperties).sort(), [...configKeys, "projectRoot"].sort());
    assert.deepEqual(env.requiredInputs, ["location"]);
    // Outputs: what index.ts exports as stack outputs.
    const exported = [...readFileSync(path.join(REPO_ROOT, "index.ts"), "utf8").matchAll(/^export const (\w+) =/gm)].map((m) => m[1]);
    assert.deepEqual(Object.keys(env.properties).sort(), exported.sort());
    assert.equal(exported.length, 15);
    // Nested objects are named types; enumerations carry the config's allowed values.
    const t = (name: string) => schema.types[`aks-inference:index:${name}`];
    for (const [type, key] of [
      ["EnvironmentNetwork", "network"],
      ["EnvironmentTokenIssuer", "tokenIssuer"],
      ["EnvironmentRouter", "router"],
      ["EnvironmentEndpoint", "endpoint"],
      ["EnvironmentUpgrades", "upgrades"],
    ] as const) {
      for (const stack of ["dev", "prod"]) {
        const missing = Object.keys(stackConfig(stack)[key]).filter((k) => !t(type).properties![k]);
        assert.deepEqual(missing, [], `${stack} ${key} keys missing from ${type}`);
      }
    }
    assert.deepEqual(
      t("ClusterPurpose").enum!.map((e) => e.value),
      Object.values(ClusterPurpose),
    );
    assert.deepEqual(
      t("NetworkPlugin").enum!.map((e) => e.value),
      Object.values(NetworkPlugin),
    );
    assert.deepEqual(
      t("EgressMode").enum!.map((e) => e.value),
      Object.values(EgressMode),
    );
    assert.deepEqual(
      t("UpgradeChannel").enum!.map((e) => e.value),
      Object.values(UpgradeChannel),
    );
    assert.deepEqual(
      t("NodeOsUpgradeChannel").enum!.map((e) => e.value),
      Object.values(NodeOsUpgradeChannel),
    );
    assert.deepEqual(t("EnvironmentModel").required, ["path"]);
    assert.equal(env.properties.services.additionalProperties?.$ref, "#/types/aks-inference:index:ServiceEndpoint");
  });

  it("has a YAML example program that sets only properties of the schema and reads only its outputs", () => {
    const program = parse(readFileSync(path.join(EXAMPLE_DIR, "Pulumi.yaml"), "utf8")) as {
      runtime: string;
      packages: Record<string, string>;
      resources: Record<string, { type: string; properties: Record<string, unknown> }>;
      outputs: Record<string, string>;
    };
    assert.equal(program.runtime, "yaml");
    assert.equal(path.resolve(EXAMPLE_DIR, program.packages["aks-inference"]), REPO_ROOT, "the package is this repository");
    // Self-contained: its files are its own (test/consumer runs a copy outside the repository).
    for (const [name, r] of Object.entries(program.resources)) assert.equal(r.properties.projectRoot, "${pulumi.cwd}", `${name}.projectRoot`);
    const envs = Object.entries(program.resources).filter(([, r]) => r.type === TOKEN);
    assert.ok(envs.length >= 2, "the example builds more than one environment");
    const env = schema.resources[TOKEN];
    const problems = envs.flatMap(([name, r]) => conformObject(schema, r.properties, env.inputProperties, env.requiredInputs, name));
    assert.deepEqual(problems, []);
    for (const [key, expr] of Object.entries(program.outputs)) {
      const m = /^\$\{(\w+)\.(\w+)\}$/.exec(expr);
      assert.ok(m && program.resources[m[1]]?.type === TOKEN && env.properties[m[2]], `outputs.${key}: ${expr} is not an output of an environment`);
    }
    // The check itself catches a misspelt or mistyped property.
    assert.deepEqual(conformObject(schema, { location: "westeurope", clusterPurpos: "DevTest", network: { plugin: "calico" } }, env.inputProperties, env.requiredInputs, "x"), [
      "x.clusterPurpos: not in the schema",
      "x.network.plugin: 'calico' is not one of kubenet, azure",
    ]);
  });

  describe("construct, as a request from another language reaches it", () => {
    let plan: PlannedResource[];
    let urn: string | undefined;
    let state: Record<string, unknown> = {};
    before(async () => {
      const inputs = exampleProperties("weu");
      // A preview: provider outputs stay unknown, so no image push asks ACR for a token.
      plan = await runOfflineProgram(
        "platform",
        async () => {
          const result = await provider.construct("weu", TOKEN, inputs, {});
          state = result.state;
          urn = await new Promise<string>((resolve) => pulumi.output(result.urn).apply(resolve));
        },
        { preview: true },
      );
    });

    it("registers the environment with the example's settings", () => {
      assert.match(urn ?? "", /::aks-inference:index:InferenceEnvironment::weu$/);
      const one = (type: string) => {
        const found = plan.filter((r) => r.type === type);
        assert.equal(found.length, 1, `${type}: ${found.map((r) => r.name).join(", ")}`);
        return found[0];
      };
      assert.equal(one(TOKEN).name, "weu");
      const cluster = one("azure-native:containerservice:ManagedCluster");
      assert.equal(cluster.name, "weu-aks", "children are named after the environment");
      assert.equal(cluster.inputs.resourceName, "aksinf-weu");
      assert.equal(cluster.inputs.location, "westeurope");
      assert.equal(one("azure-native:containerregistry:Registry").inputs.registryName, "contosoinfweuacr", "a given global name is used as given");
      assert.deepEqual(
        plan
          .filter((r) => r.type === "aks-inference:index:ModelService")
          .map((r) => r.name)
          .sort(),
        ["weu-svc-regressor"],
      );
      assert.ok(
        plan.some((r) => r.type.endsWith("UploadedBlob") && r.name.includes("regressor.onnx")),
        "the model is uploaded from the example's project root",
      );
    });

    it("answers with every output of the schema", () => {
      assert.deepEqual(Object.keys(state).sort(), Object.keys(schema.resources[TOKEN].properties).sort());
    });

    it("refuses invalid properties with the property named", async () => {
      let refused: unknown;
      const plan = await runOfflineProgram("platform", () => provider.construct("bad", TOKEN, { ...exampleProperties("weu"), egress: "firewall" }, {}).catch((err: unknown) => (refused = err)), {
        preview: true,
      });
      assert.match(String(refused), /InferenceEnvironment 'bad': invalid args:\n {2}- endpoint\.internalIp: is required with egress 'firewall'/);
      assert.deepEqual(plan, [], "nothing is registered");
    });

    it("refuses a secret property (a plain value is needed) with the property named", async () => {
      // As the provider hands over a property holding a secret further down: the wire's wrapper.
      const secret = pulumi.runtime.deserializeProperty({ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: "-----BEGIN CERTIFICATE-----" });
      let refused: unknown;
      await runOfflineProgram(
        "platform",
        () => provider.construct("tls", TOKEN, { ...exampleProperties("weu"), endpoint: { tls: { certificate: secret, privateKey: secret } } }, {}).catch((err: unknown) => (refused = err)),
        { preview: true },
      );
      assert.match(String(refused), /- endpoint\.tls\.certificate: must be a plain value known when the program starts/);
    });
  });
});
