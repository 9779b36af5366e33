/** A service's environment keys must fit its entry script's language; errors name the key. */
import * as assert from "node:assert/strict";
import { ConfigError, condaPythonVersion, parseStackConfig } from "../../core/config";

const parse = (svc: Record<string, unknown>) =>
  parseStackConfig({ "azure-native:location": "westeurope", "aks-inference:services": [{ name: "svc", sourceDirectory: "src", ...svc }] }, "t").services[0];

function problems(svc: Record<string, unknown>): string[] {
  try {
    parse(svc);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("config: environments", () => {
  it("takes a conda file or a pip requirements file, a Python version and a local interpreter for score.py", () => {
    const svc = parse({ entryScript: "score.py", environment: { condaFile: "src/conda.yml", pythonVersion: "3.8", python: "/usr/bin/python3" } });
    assert.deepEqual(svc.environment, { condaFile: "src/conda.yml", pythonVersion: "3.8", python: "/usr/bin/python3" });
    assert.deepEqual(problems({ entryScript: "score.py", environment: { pipRequirements: "src/requirements.txt" } }), []);
  });

  it("refuses Python keys on a JavaScript service and a package.json on a Python one", () => {
    assert.deepEqual(problems({ entryScript: "score.js", environment: { condaFile: "src/conda.yml" } }), [
      "aks-inference:services[0].environment.condaFile: is only for Python entry scripts (entryScript ending in .py)",
    ]);
    assert.deepEqual(problems({ entryScript: "score.py", environment: { dependencies: "src/package.json" } }), [
      "aks-inference:services[0].environment.dependencies: is a package.json for JavaScript entry scripts; a Python environment takes condaFile or pipRequirements",
    ]);
  });

  it("refuses a conda file and a pip file together, and a malformed Python version", () => {
    assert.deepEqual(problems({ entryScript: "score.py", environment: { condaFile: "a.yml", pipRequirements: "r.txt" } }), [
      "aks-inference:services[0].environment.pipRequirements: cannot be set with condaFile; list pip packages under the conda file's `- pip:` section",
    ]);
    assert.match(problems({ entryScript: "score.py", environment: { pythonVersion: "2.7" } }).join("\n"), /environment\.pythonVersion: must be a Python 3 version/);
  });

  it("reads the Python pin of a conda file in the forms conda accepts", () => {
    assert.equal(condaPythonVersion("dependencies:\n  - python=3.8.10\n  - numpy\n"), "3.8.10");
    assert.equal(condaPythonVersion("dependencies:\n- python==3.9\n"), "3.9");
    assert.equal(condaPythonVersion("dependencies:\n  - python 3.10\n"), "3.10");
    assert.equal(condaPythonVersion("dependencies:\n  - python-dateutil=2.8\n  - numpy\n"), undefined, "not a package that merely starts with python");
  });
});

describe("config: router front-door settings", () => {
  const stack = (extra: Record<string, unknown>) => parseStackConfig({ "azure-native:location": "westeurope", ...extra }, "t");

  it("defaults: a day of token lifetime, X-Forwarded-For replaced, connection cap from the file limit", () => {
    const c = stack({});
    assert.equal(c.tokenIssuer.maxLifetimeSeconds, 86_400);
    assert.equal(c.router.trustForwardedFor, false);
    assert.equal(c.router.maxConnections, undefined);
  });

  it("refuses built-in tokens that would outlive the accepted maximum", () => {
    assert.throws(() => stack({ "aks-inference:tokenIssuer": { ttlSeconds: 7200, maxLifetimeSeconds: 3600 } }), /aks-inference:tokenIssuer\.ttlSeconds: must be at most tokenIssuer\.maxLifetimeSeconds \(3600\)/);
  });
});

describe("config: node pool autoscaling", () => {
  const problemsOf = (extra: Record<string, unknown>): string => {
    try {
      parseStackConfig({ "azure-native:location": "westeurope", ...extra }, "t");
      return "";
    } catch (err) {
      return (err as ConfigError).problems.join("\n");
    }
  };

  it("needs both bounds, on the system pool and on GPU pools alike (a GPU pool with minCount only did not autoscale)", () => {
    const both = "set both minCount and maxCount (the node autoscaler needs both), or neither";
    assert.equal(problemsOf({ "aks-inference:systemPool": { minCount: 1 } }), `aks-inference:systemPool: ${both}`);
    assert.equal(problemsOf({ "aks-inference:gpuPools": [{ name: "gpu", vmSize: "Standard_NC4as_T4_v3", minCount: 0 }] }), `aks-inference:gpuPools[0]: ${both}`);
    assert.equal(problemsOf({ "aks-inference:gpuPools": [{ name: "gpu", vmSize: "Standard_NC4as_T4_v3", minCount: 3, maxCount: 2 }] }), "aks-inference:gpuPools[0].minCount: must be at most maxCount");
    assert.equal(problemsOf({ "aks-inference:gpuPools": [{ name: "gpu", vmSize: "Standard_NC4as_T4_v3", minCount: 0, maxCount: 2 }] }), "");
  });
});
