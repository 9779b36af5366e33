/** A service's key file: read back only when both keys are strings, written atomically with mode 600. */
import * as assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { readKeyFile, writeKeyFile } from "../../core/contracts/keyFile";
import { tempDir } from "../support/tmp";

describe("key files", () => {
  it("writes both keys under their Azure ML names, readable by the owner only, and reads them back", () => {
    const file = path.join(tempDir("keys"), "fraud.json");
    writeKeyFile(file, { primaryKey: "p", secondaryKey: "s" });
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { primaryKey: "p", secondaryKey: "s" });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(existsSync(`${file}.tmp`), false, "the temporary file is renamed into place");
    assert.deepEqual(readKeyFile(file), { primaryKey: "p", secondaryKey: "s" });
  });

  it("reads a file without both keys as strings as no keys", () => {
    const dir = tempDir("keys");
    for (const content of [{ primaryKey: "p" }, { secondaryKey: "s" }, { primaryKey: "p", secondaryKey: 1 }, { primaryKey: 1, secondaryKey: "s" }]) {
      const file = path.join(dir, "k.json");
      writeFileSync(file, JSON.stringify(content));
      assert.equal(readKeyFile(file), undefined, JSON.stringify(content));
    }
  });

  it("throws when the file is missing or not JSON", () => {
    const dir = tempDir("keys");
    assert.throws(() => readKeyFile(path.join(dir, "none.json")), /ENOENT/);
    writeFileSync(path.join(dir, "bad.json"), "{");
    assert.throws(() => readKeyFile(path.join(dir, "bad.json")), SyntaxError);
  });
});
