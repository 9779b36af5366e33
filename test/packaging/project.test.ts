import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { PACKAGE_ROOT } from "../../packaging/packageRoot";
import { PYTHON_SCORING_DOCKERFILE, SCORING_DOCKERFILE, environmentHash, environmentKey, missingServiceFiles, modelHash, packageProject, projectFiles, type EnvironmentInput } from "../../packaging/project";
import { unzip } from "../../scoring/bootstrap";
import { REPO_ROOT, stackConfig } from "../support/stacks";
import { tempDir } from "../support/tmp";

function project(files: Record<string, string>): string {
  const dir = tempDir("pkg");
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

describe("packaging", () => {
  it("honors .gitignore when there is no .amlignore", () => {
    const dir = project({ "score.js": "x", "data/big.csv": "1", "notes.tmp": "t", ".gitignore": "data/\n*.tmp\n" });
    assert.deepEqual(projectFiles(dir), [".gitignore", "score.js"]);
  });

  it("uses .amlignore instead of .gitignore when both exist", () => {
    const dir = project({ "score.js": "x", "data/big.csv": "1", "secret.env": "k", ".gitignore": "score.js\n", ".amlignore": "secret.env\n" });
    assert.deepEqual(projectFiles(dir), [".amlignore", ".gitignore", "data/big.csv", "score.js"]);
  });

  it("applies nested and negated rules as git does", () => {
    const dir = project({ "a/keep.txt": "1", "a/drop.log": "2", "a/b/also.log": "3", "a/b/important.log": "4", ".amlignore": "*.log\n!important.log\n" });
    assert.deepEqual(projectFiles(dir), [".amlignore", "a/b/important.log", "a/keep.txt"]);
  });

  it("packages the shipped sample without its excluded notes", async () => {
    const pkg = await packageProject(path.join(REPO_ROOT, "samples", "echo"));
    assert.deepEqual(pkg.files, [".amlignore", "score.js"]);
    const out = tempDir("unzip");
    assert.deepEqual((await unzip(pkg.zip, out)).sort(), [".amlignore", "score.js"]);
  });

  it("produces the same hash and the same zip bytes regardless of timestamps", async () => {
    const dir = project({ "score.js": "x", "lib/util.js": "y" });
    const first = await packageProject(dir);
    utimesSync(path.join(dir, "score.js"), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const second = await packageProject(dir);
    assert.equal(second.hash, first.hash);
    assert.ok(second.zip.equals(first.zip));
  });

  it("changes the hash when an included file changes, not when an ignored one does", async () => {
    const dir = project({ "score.js": "x", "tmp.log": "a", ".amlignore": "*.log\n" });
    const before = (await packageProject(dir)).hash;
    writeFileSync(path.join(dir, "tmp.log"), "b");
    assert.equal((await packageProject(dir)).hash, before);
    writeFileSync(path.join(dir, "score.js"), "x2");
    assert.notEqual((await packageProject(dir)).hash, before);
  });

  it("hashes an environment by base image, Dockerfile, build arguments and dependency files", () => {
    const base = { baseImage: "mcr.microsoft.com/azurelinux/base/nodejs:20", dockerfile: "FROM x", args: { DEPENDENCIES: "deps/package.json" }, files: ['{"dependencies":{}}', "{}"] };
    const h = environmentHash(base);
    assert.equal(environmentHash({ ...base }), h, "stable");
    assert.notEqual(environmentHash({ ...base, baseImage: "mcr.microsoft.com/azurelinux/base/nodejs:22" }), h);
    assert.notEqual(environmentHash({ ...base, dockerfile: "FROM y" }), h);
    assert.notEqual(environmentHash({ ...base, files: ['{"dependencies":{}}', '{"x":1}'] }), h);
    assert.notEqual(environmentHash({ ...base, args: { DEPENDENCIES: "other/package.json" } }), h);
  });

  const js = (environment: EnvironmentInput["environment"] = {}): EnvironmentInput => ({ environment, entryScript: "score.js", gpuCores: 0 });
  const py = (environment: EnvironmentInput["environment"] = {}, gpuCores = 0): EnvironmentInput => ({ environment, entryScript: "score.py", gpuCores });

  it("gives services with the same environment the same image key", () => {
    const a = environmentKey(js(), REPO_ROOT);
    assert.equal(environmentKey(js(), REPO_ROOT).hash, a.hash);
    assert.equal(environmentKey({ ...js(), entryScript: undefined }, REPO_ROOT).hash, a.hash, "the ONNX handler runs on the JavaScript image");
    assert.notEqual(environmentKey(js({ baseImage: "mcr.microsoft.com/other:1" }), REPO_ROOT).hash, a.hash);
  });

  it("gives a new environment image key when the server, its lock file or its bundler settings change", () => {
    const pkg = project({ "scoring/Dockerfile": "FROM x", "scoring/main.ts": "1", "core/a.ts": "1", "images/package.json": "{}", "images/package-lock.json": "{}", "scripts/bundle.ts": "1" });
    const program = project({ "models/m.onnx": "1" });
    const key = () => environmentKey(js(), program, pkg).hash;
    const before = key();
    for (const [file, content] of [["scoring/main.ts", "2"], ["core/a.ts", "2"], ["images/package.json", '{"x":1}'], ["images/package-lock.json", '{"x":1}'], ["scripts/bundle.ts", "2"]]) {
      const previous = key();
      writeFileSync(path.join(pkg, file), content);
      assert.notEqual(key(), previous, `${file} changed`);
    }
    assert.notEqual(key(), before);
  });

  it("keys and builds images from the package's own files: the program's unrelated files change nothing", () => {
    const pkg = project({ "scoring/Dockerfile": "FROM x", "scoring/main.ts": "1", "core/a.ts": "1", "images/package.json": "{}", "images/package-lock.json": "{}", "scripts/bundle.ts": "1" });
    const program = project({ "svc/package.json": '{"dependencies":{}}', "notes.txt": "1" });
    const key = environmentKey(js({ dependencies: "svc/package.json" }), program, pkg);
    assert.equal(key.dockerfile, path.join(pkg, "scoring/Dockerfile"), "the package's Dockerfile, wherever the program is");
    assert.equal(key.dockerfileName, "scoring/Dockerfile");
    assert.deepEqual(key.contexts, { environment: path.join(program, "svc") }, "only the dependency file's folder of the program is a build context");
    assert.equal(key.buildArgs.DEPENDENCIES, "package.json");
    for (const [file, content] of [["notes.txt", "2"], ["core/a.ts", "other program file"], ["scoring/main.ts", "2"]]) {
      mkdirSync(path.dirname(path.join(program, file)), { recursive: true });
      writeFileSync(path.join(program, file), content);
      assert.equal(environmentKey(js({ dependencies: "svc/package.json" }), program, pkg).hash, key.hash, `program's ${file} changed`);
    }
    assert.equal(environmentKey(js({ dependencies: path.join(program, "svc/package.json") }), "/elsewhere", pkg).hash, key.hash, "an absolute path is taken as given");
    assert.deepEqual(environmentKey(js(), program, pkg).contexts, { environment: path.join(pkg, "scoring") }, "no dependency file: the Dockerfile's own folder stands in");
  });

  it("keys the Python and JavaScript images of the real package", () => {
    for (const [svc, dockerfile] of [[js(), SCORING_DOCKERFILE], [py(), PYTHON_SCORING_DOCKERFILE]] as const) {
      const key = environmentKey(svc, REPO_ROOT);
      assert.equal(key.dockerfile, path.join(PACKAGE_ROOT, dockerfile));
      // The Dockerfile's fallback source when the environment has no file of its own.
      assert.ok(existsSync(path.join(key.contexts.environment, path.basename(dockerfile))));
    }
  });

  it("names each missing model, project folder, entry script and environment file by its key, service and path", () => {
    const cfg = stackConfig("dev");
    assert.deepEqual(missingServiceFiles(cfg.services, REPO_ROOT), [], "the dev stack's files are all in the repository");
    const empty = tempDir("program-");
    const problems = missingServiceFiles(cfg.services, empty);
    assert.ok(problems.includes(`services[0].versions[1].models[0]: file or folder 'samples/models/regressor-v2.onnx' of service 'regressor' not found (looked for ${path.join(empty, "samples/models/regressor-v2.onnx")})`), problems.join("\n"));
    assert.ok(problems.includes(`services[1].sourceDirectory: folder 'samples/echo' of service 'echo' not found (looked for ${path.join(empty, "samples/echo")})`), problems.join("\n"));
    assert.ok(problems.includes(`services[2].environment.condaFile: file 'samples/diabetes/conda.yml' of service 'diabetes' not found (looked for ${path.join(empty, "samples/diabetes/conda.yml")})`), problems.join("\n"));
    // Absolute paths are taken as given, whatever the project root.
    const absolute = cfg.services.map((s) => (s.name === "echo" ? { ...s, sourceDirectory: path.join(REPO_ROOT, "samples/echo") } : s));
    assert.ok(!missingServiceFiles(absolute, empty).some((p) => p.startsWith("services[1].sourceDirectory")));
    // A project folder given as a file, and an entry script missing from its folder.
    const wrong = cfg.services.map((s) => (s.name === "echo" ? { ...s, sourceDirectory: "samples/echo/score.js", entryScript: "score.js" } : s.name === "diabetes" ? { ...s, entryScript: "other.py" } : s));
    const found = missingServiceFiles(wrong, REPO_ROOT);
    assert.ok(found.some((p) => p.startsWith("services[1].sourceDirectory: folder 'samples/echo/score.js'")), found.join("\n"));
    assert.ok(found.some((p) => p.startsWith("services[2].entryScript: file 'samples/diabetes/other.py'")), found.join("\n"));
  });

  describe("Python environments", () => {
    const repo = () =>
      project({
        "scoring/python.Dockerfile": "FROM py",
        "scoring/main.ts": "1",
        "core/a.ts": "1",
        "images/package.json": "{}",
        "images/package-lock.json": "{}",
        "scripts/bundle.ts": "1",
        "svc/score.py": "def init(): pass\ndef run(raw_data): return raw_data\n",
        "svc/conda.yml": "name: project_environment\ndependencies:\n  - python=3.8.10\n  - pip:\n    - azureml-defaults\n  - scikit-learn\n",
        "svc/requirements.txt": "scikit-learn==1.2.2\n",
      });

    it("builds on Azure ML's CPU base, or its CUDA base for GPU services, with the conda file's Python", () => {
      const dir = repo();
      const cpu = environmentKey(py({ condaFile: "svc/conda.yml" }), dir, dir);
      assert.equal(cpu.dockerfile, path.join(dir, "scoring/python.Dockerfile"));
      assert.deepEqual(cpu.buildArgs, { PYTHON_BASE_IMAGE: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04", PYTHON_VERSION: "3.8.10", CONDA_FILE: "conda.yml" });
      assert.deepEqual(cpu.contexts, { environment: path.join(dir, "svc") });
      const gpu = environmentKey(py({ condaFile: "svc/conda.yml" }, 1), dir, dir);
      assert.equal(gpu.buildArgs.PYTHON_BASE_IMAGE, "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04");
      assert.notEqual(gpu.hash, cpu.hash);
      assert.deepEqual(environmentKey(py({ pipRequirements: "svc/requirements.txt", pythonVersion: "3.10" }), dir, dir).buildArgs, {
        PYTHON_BASE_IMAGE: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
        PYTHON_VERSION: "3.10",
        PIP_REQUIREMENTS: "requirements.txt",
      });
      assert.equal(environmentKey(py(), dir, dir).buildArgs.PYTHON_VERSION, "3.11", "no pin anywhere: the default");
    });

    it("rebuilds when the conda or pip file changes, never when only score.py does", () => {
      const dir = repo();
      const conda = () => environmentKey(py({ condaFile: "svc/conda.yml" }), dir, dir).hash;
      const pip = () => environmentKey(py({ pipRequirements: "svc/requirements.txt" }), dir, dir).hash;
      const [c0, p0] = [conda(), pip()];
      writeFileSync(path.join(dir, "svc/score.py"), "def init(): pass\ndef run(raw_data): return 42\n");
      assert.equal(conda(), c0, "a new score.py is downloaded at start, not built in");
      assert.equal(pip(), p0);
      writeFileSync(path.join(dir, "svc/conda.yml"), "dependencies:\n  - python=3.8.10\n  - scikit-learn=1.0\n");
      assert.notEqual(conda(), c0);
      writeFileSync(path.join(dir, "svc/requirements.txt"), "scikit-learn==1.3.0\n");
      assert.notEqual(pip(), p0);
    });

    it("refuses a Python version that disagrees with the conda file's pin", () => {
      const dir = repo();
      assert.throws(() => environmentKey(py({ condaFile: "svc/conda.yml", pythonVersion: "3.11" }), dir, dir), /pythonVersion '3.11' disagrees with python=3.8.10 in svc\/conda.yml/);
      assert.equal(environmentKey(py({ condaFile: "svc/conda.yml", pythonVersion: "3.8" }), dir, dir).buildArgs.PYTHON_VERSION, "3.8");
    });
  });

  it("hashes model files and folders by content", () => {
    const dir = project({ "m/a.bin": "1", "m/sub/b.bin": "2", "single.onnx": "3" });
    const folder = modelHash(path.join(dir, "m"));
    writeFileSync(path.join(dir, "m/sub/b.bin"), "22");
    assert.notEqual(modelHash(path.join(dir, "m")), folder);
    assert.match(modelHash(path.join(dir, "single.onnx")), /^[0-9a-f]{16}$/);
  });
});
