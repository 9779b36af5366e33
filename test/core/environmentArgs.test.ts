/**
 * The InferenceEnvironment's args as stack config and back, without deploying: namespaced keys,
 * short-form models, undefined members dropped, problems named by argument.
 */
import * as assert from "node:assert/strict";
import { ConfigError } from "../../core/config";
import {
  ClusterPurpose,
  DnsRecordType,
  EgressMode,
  EnvironmentArgsError,
  NetworkPlugin,
  NodeOsUpgradeChannel,
  TokenIssuerType,
  UpgradeChannel,
  WeekDay,
  argProblem,
  argsToRawConfig,
  parseEnvironmentArgs,
  rawConfigToArgs,
  type InferenceEnvironmentArgs,
} from "../../core/config/environmentArgs";
import { rawStack } from "../support/stacks";

describe("InferenceEnvironment args", () => {
  it("offer the config's choices as enumerations with the config's spellings", () => {
    assert.deepEqual(ClusterPurpose, { DevTest: "DevTest", FastProd: "FastProd", DenseProd: "DenseProd" });
    assert.deepEqual(NetworkPlugin, { Kubenet: "kubenet", Azure: "azure" });
    assert.deepEqual(EgressMode, { LoadBalancer: "loadBalancer", Firewall: "firewall" });
    assert.deepEqual(TokenIssuerType, { Builtin: "builtin", Oidc: "oidc" });
    assert.deepEqual(DnsRecordType, { A: "A", CNAME: "CNAME" });
    assert.deepEqual(UpgradeChannel, { None: "none", Patch: "patch", Stable: "stable", Rapid: "rapid" });
    assert.deepEqual(NodeOsUpgradeChannel, { None: "None", Unmanaged: "Unmanaged", NodeImage: "NodeImage", SecurityPatch: "SecurityPatch" });
    assert.deepEqual(Object.keys(WeekDay), ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]);
    assert.ok(Object.entries(WeekDay).every(([k, v]) => k === v));
  });

  it("become namespaced stack config: location apart, project root dropped, undefined members dropped, path-only models in short form", () => {
    const args = {
      location: "westeurope",
      projectRoot: "/somewhere",
      clusterPurpose: "DevTest",
      egress: undefined,
      router: { replicas: 2, selfScaling: undefined },
      services: [
        {
          name: "fraud",
          cpuCores: 1,
          memoryGb: undefined,
          models: [{ path: "models/a.onnx" }, { path: "models/b.onnx", name: "b" }, { path: "models/c.onnx", version: 2 }],
        },
        { name: "plain" },
      ],
    } as unknown as InferenceEnvironmentArgs;
    assert.deepEqual(argsToRawConfig(args), {
      "azure-native:location": "westeurope",
      "aks-inference:clusterPurpose": "DevTest",
      "aks-inference:router": { replicas: 2 },
      "aks-inference:services": [
        { name: "fraud", cpuCores: 1, models: ["models/a.onnx", { path: "models/b.onnx", name: "b" }, { path: "models/c.onnx", version: 2 }] },
        { name: "plain" },
      ],
    });
  });

  it("come back from stack config: namespace dropped, other namespaces ignored, short-form models as { path }", () => {
    const raw = {
      "azure-native:location": "northeurope",
      "aks-inference:clusterPurpose": "FastProd",
      "azure-native:subscriptionId": "ignored",
      "other:key": 1,
      "aks-inference:services": [{ name: "fraud", models: ["m.onnx", { path: "n.onnx", name: "n" }] }, { name: "nomodels" }, null],
    };
    assert.deepEqual(rawConfigToArgs(raw), {
      location: "northeurope",
      clusterPurpose: "FastProd",
      services: [{ name: "fraud", models: [{ path: "m.onnx" }, { path: "n.onnx", name: "n" }] }, { name: "nomodels" }, null],
    });
    assert.deepEqual(rawConfigToArgs({ "aks-inference:services": "not a list" }), { services: "not a list" });
  });

  it("round-trip a shipped stack", () => {
    for (const stack of ["dev", "prod"]) {
      assert.deepEqual(argsToRawConfig(rawConfigToArgs(rawStack(stack))), rawStack(stack));
    }
  });

  it("name problems by argument path, not by stack config key", () => {
    assert.equal(argProblem("aks-inference:services[0].cpuCores: must be positive"), "services[0].cpuCores: must be positive");
    assert.equal(argProblem("azure-native:location: is required"), "location: is required");
    assert.equal(argProblem("something else"), "something else");
    const err = new EnvironmentArgsError("weu", ["location: is required", "egress: bad"]);
    assert.equal(err.name, "EnvironmentArgsError");
    assert.equal(err.message, "InferenceEnvironment 'weu': invalid args:\n  - location: is required\n  - egress: bad");
    assert.deepEqual(err.problems, ["location: is required", "egress: bad"]);
    assert.equal(err.environment, "weu");
  });

  it("are validated with the stack config's rules, only config errors rewrapped", () => {
    const args = rawConfigToArgs(rawStack("dev"));
    assert.throws(
      () => parseEnvironmentArgs({ ...args, location: "" }, "weu"),
      (err: unknown) => err instanceof EnvironmentArgsError && err.environment === "weu" && err.problems.some((p) => p.startsWith("location: ")),
    );
    assert.equal(parseEnvironmentArgs(args, "weu").stack, "weu", "the environment's name stands for the stack's");
    assert.ok(!(new EnvironmentArgsError("x", []) instanceof ConfigError));
    const throwing = { ...args, get services(): never { throw new TypeError("boom"); } };
    assert.throws(() => parseEnvironmentArgs(throwing, "weu"), TypeError);
  });

  it("name a derived cluster name that breaks its rules by the environment's name it came from", () => {
    const args = rawConfigToArgs(rawStack("dev"));
    assert.throws(
      () => parseEnvironmentArgs(args, "team_"),
      (err: unknown) => err instanceof EnvironmentArgsError && err.problems.length === 1 && err.problems[0].startsWith("clusterName: is required: the name derived from namePrefix 'aksinf' and the stack's name 'team_', 'aksinf-team-', "),
    );
    assert.equal(parseEnvironmentArgs({ ...args, clusterName: "aksinf-team" }, "team_").clusterName, "aksinf-team");
  });
});
