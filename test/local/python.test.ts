/**
 * Local mode's choice of Python interpreter: the configured one, else the first that imports the
 * environment's packages; with none, a reason that names the missing module and the install
 * command. Pure parts with a fake probe; one check against this machine's real interpreters.
 */
import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
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
