/**
 * Local mode's choice of Python interpreter: the configured one, else the first that imports the
 * environment's packages; with none, a reason that names the missing module and the install
 * command. Pure parts with a fake probe; one check against this machine's real interpreters.
 */
import * as assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseStackConfig } from "../../core/config";
import { startLocal } from "../../local/main";
import { chooseInterpreter, condaDistributions, environmentNeeds, importNames, probeInterpreter, requirementDistributions, type Probe } from "../../local/python";
import { tempDir } from "../support/tmp";

/** A machine with two Pythons: only the second has scikit-learn. */
const machine: Probe = (python, modules) => {
  const has: Record<string, string[]> = { python3: ["numpy", "joblib"], "/usr/bin/python3": ["numpy", "joblib", "sklearn", "pandas"] };
  return has[python] ? modules.filter((m) => !has[python].includes(m)) : undefined;
};

describe("local mode: Python interpreter", () => {
  it("reads the packages of a conda file (conda and pip sections) as import names, skipping what the server provides", () => {
    const conda = "name: project_environment\ndependencies:\n  - python=3.8.10\n  - scikit-learn==0.22.1\n  - conda-forge::numpy=1.21\n  - pip:\n    - azureml-defaults>=1.0.45\n    - inference-schema[numpy-support]\n    - pyyaml\n";
    assert.deepEqual(importNames(condaDistributions(conda)), ["sklearn", "numpy", "yaml"]);
    assert.deepEqual(importNames(requirementDistributions("# deps\n-i https://example.org/simple\nscikit-learn==1.2.2\npandas>=1.5 ; python_version > '3.8'\nopencv-python-headless\n")), ["sklearn", "pandas", "cv2"]);
  });

  it("takes the first interpreter that sees every package", () => {
    assert.deepEqual(chooseInterpreter(["numpy"], { probe: machine, candidates: ["python3", "/usr/bin/python3"] }), { python: "python3" });
    assert.deepEqual(chooseInterpreter(["sklearn", "numpy"], { probe: machine, candidates: ["python3", "/usr/bin/python3"] }), { python: "/usr/bin/python3" });
  });

  it("names the missing module, the interpreters tried and the install command when none fits", () => {
    const choice = chooseInterpreter(["torch"], { probe: machine, candidates: ["python3", "/usr/bin/python3", "/opt/none/python3"], install: "conda env create -f svc/conda.yml" });
    assert.deepEqual(choice, {
      error: "No module named 'torch' for python3 (nor for /usr/bin/python3): install the environment (conda env create -f svc/conda.yml) and set environment.python to its interpreter",
    });
  });

  it("uses only the configured interpreter, and says when it does not run", () => {
    assert.deepEqual(chooseInterpreter(["numpy"], { probe: machine, configured: "/usr/bin/python3" }), { python: "/usr/bin/python3" });
    assert.match((chooseInterpreter([], { probe: machine, configured: "/opt/py/bin/python" }) as { error: string }).error, /no Python interpreter found \(tried \/opt\/py\/bin\/python\)/);
  });

  it("knows the install command of a pip environment", () => {
    const dir = tempDir("env");
    writeFileSync(path.join(dir, "requirements.txt"), "scikit-learn\njoblib\n");
    assert.deepEqual(environmentNeeds({ pipRequirements: "requirements.txt" }, dir), { modules: ["sklearn", "joblib"], install: "pip install -r requirements.txt" });
  });

  it("asks a real interpreter which modules it lacks", () => {
    assert.deepEqual(probeInterpreter("/usr/bin/python3", ["json", "no_such_module_xyz"]), ["no_such_module_xyz"]);
  });
});

describe("local mode: a Python service whose environment is missing", function () {
  this.timeout(90_000);

  it("fails alone, naming the missing module and the install command in state and logs; the others serve", async () => {
    const repo = tempDir("repo");
    mkdirSync(path.join(repo, "needs-torch"));
    writeFileSync(path.join(repo, "needs-torch", "score.py"), "import torch\n\ndef init():\n    pass\n\ndef run(raw_data):\n    return raw_data\n");
    writeFileSync(path.join(repo, "needs-torch", "conda.yml"), "dependencies:\n  - python=3.11\n  - pytorch=2.1\n  - numpy\n");
    mkdirSync(path.join(repo, "hello"));
    writeFileSync(path.join(repo, "hello", "score.py"), "import json\n\ndef init():\n    pass\n\ndef run(raw_data):\n    return {'got': json.loads(raw_data)}\n");
    const config = parseStackConfig(
      {
        "azure-native:location": "westeurope",
        "aks-inference:services": [
          { name: "vision", sourceDirectory: "needs-torch", entryScript: "score.py", environment: { condaFile: "needs-torch/conda.yml" }, numReplicas: 1, authEnabled: false },
          { name: "hello", sourceDirectory: "hello", entryScript: "score.py", environment: { python: "/usr/bin/python3" }, numReplicas: 1, authEnabled: false, memoryGb: 0.25 },
        ],
      },
      "t",
    );
    const state = tempDir("state");
    const local = await startLocal({ stack: "t", port: 0, dir: state, repoRoot: repo, config, logLevel: "silent" });
    try {
      const vision = local.status("vision");
      assert.equal(vision.state, "Failed");
      assert.match(vision.reason ?? "", /^No module named 'torch' for .*: install the environment \(conda env create -f needs-torch\/conda\.yml\) and set environment\.python to its interpreter$/);
      assert.deepEqual(vision.replicas, [], "no replica is started for it");
      const deadline = Date.now() + 60_000;
      while (local.status("hello").state !== "Healthy" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      assert.equal(local.status("hello").state, "Healthy", `${JSON.stringify(local.status("hello"))}\n${readFileSync(path.join(state, "logs", "hello.log"), "utf8").slice(-3000)}`);
      const res = await fetch(`${local.router.url}/api/v1/service/hello/score`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"x": 1}' });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { got: { x: 1 } });
      // A 0.25 GB Python service holds (256 - 170) / 18 = 4.78 MB of body: a 14 MB one is refused before it is sent on.
      const big = await fetch(`${local.router.url}/api/v1/service/hello/score`, { method: "POST", headers: { "content-type": "application/json" }, body: `{"x": "${"a".repeat(14 * 1024 * 1024)}"}` });
      assert.equal(big.status, 413);
      assert.match(((await big.json()) as { error: { message: string } }).error.message, /limit of service 'hello' \(what its replicas' memory holds\) of 5009863 bytes/);
      assert.match(readFileSync(path.join(state, "logs", "vision.log"), "utf8"), /No module named 'torch'/, "`logs vision` shows why");
    } finally {
      await local.stop();
    }
  });
});
