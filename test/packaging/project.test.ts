import * as assert from "node:assert/strict";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { environmentHash, environmentKey, modelHash, packageProject, projectFiles } from "../../packaging/project";
import { unzip } from "../../scoring/bootstrap";
import { REPO_ROOT } from "../support/stacks";
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

  it("keys the environment by base image, Dockerfile and dependencies", () => {
    const base = { baseImage: "mcr.microsoft.com/azurelinux/base/nodejs:20", dockerfile: "FROM x", dependencies: '{"dependencies":{}}', lock: "{}" };
    const h = environmentHash(base);
    assert.equal(environmentHash({ ...base }), h, "stable");
    assert.notEqual(environmentHash({ ...base, baseImage: "mcr.microsoft.com/azurelinux/base/nodejs:22" }), h);
    assert.notEqual(environmentHash({ ...base, dockerfile: "FROM y" }), h);
    assert.notEqual(environmentHash({ ...base, lock: '{"x":1}' }), h);
  });

  it("gives services with the same environment the same image key", () => {
    const a = environmentKey({}, REPO_ROOT);
    const b = environmentKey({}, REPO_ROOT);
    assert.equal(a.hash, b.hash);
    assert.notEqual(environmentKey({ baseImage: "mcr.microsoft.com/other:1" }, REPO_ROOT).hash, a.hash);
  });

  it("gives a new environment image key when the server, its lock file or its bundler settings change", () => {
    const repo = project({ "scoring/Dockerfile": "FROM x", "scoring/main.ts": "1", "core/a.ts": "1", "package-lock.json": "{}", "scripts/bundle.ts": "1" });
    const key = () => environmentKey({}, repo).hash;
    const before = key();
    for (const [file, content] of [["scoring/main.ts", "2"], ["core/a.ts", "2"], ["package-lock.json", '{"x":1}'], ["scripts/bundle.ts", "2"]]) {
      const previous = key();
      writeFileSync(path.join(repo, file), content);
      assert.notEqual(key(), previous, `${file} changed`);
    }
    assert.notEqual(key(), before);
  });

  it("hashes model files and folders by content", () => {
    const dir = project({ "m/a.bin": "1", "m/sub/b.bin": "2", "single.onnx": "3" });
    const folder = modelHash(path.join(dir, "m"));
    writeFileSync(path.join(dir, "m/sub/b.bin"), "22");
    assert.notEqual(modelHash(path.join(dir, "m")), folder);
    assert.match(modelHash(path.join(dir, "single.onnx")), /^[0-9a-f]{16}$/);
  });
});
