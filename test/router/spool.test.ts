/** The body spool on its own: memory first, then disk, read back whole as often as asked, every byte returned to its budget, nothing left on disk. */
import * as assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Budget, Spool, clearSpool } from "../../router/spool";
import { tempDir } from "../support/tmp";

async function readAll(spool: Spool): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of spool.read()) parts.push(chunk);
  return Buffer.concat(parts);
}

describe("router: body spool", () => {
  const dir = tempDir("spool");
  const chunk = (n: number, byte: number) => Buffer.alloc(n, byte);

  it("keeps a body within its memory share in memory, as one buffer", async () => {
    const memory = new Budget(1_000);
    const spool = new Spool({ memoryShare: 100, memory, disk: new Budget(1_000), dir });
    assert.ok(spool.add(chunk(40, 1)) && spool.add(chunk(40, 2)));
    await spool.stored();
    assert.deepEqual(spool.whole(), Buffer.concat([chunk(40, 1), chunk(40, 2)]));
    assert.equal(memory.used, 80);
    spool.release();
    assert.equal(memory.used, 0);
  });

  it("puts what is past the share on disk, in order, readable twice, in a file nobody else can open", async () => {
    const memory = new Budget(1_000);
    const disk = new Budget(100_000);
    const spool = new Spool({ memoryShare: 100, memory, disk, dir });
    const parts = [chunk(60, 1), chunk(60, 2), chunk(70_000, 3), chunk(5, 4)];
    for (const p of parts) assert.ok(spool.add(p));
    await spool.stored();
    assert.equal(spool.whole(), undefined, "part of it is on disk");
    assert.equal(memory.used, 60);
    assert.equal(disk.used, 70_065);
    assert.deepEqual(readdirSync(dir), [], "the file is unlinked once open");
    const expected = Buffer.concat(parts);
    assert.ok((await readAll(spool)).equals(expected));
    assert.ok((await readAll(spool)).equals(expected), "a retry reads it again from the start");
    spool.release();
    assert.equal(memory.used + disk.used, 0);
  });

  it("goes to disk when the memory budget is full, and refuses when the disk budget is full too", async () => {
    const memory = new Budget(50);
    const disk = new Budget(100);
    const spool = new Spool({ memoryShare: 1_000, memory, disk, dir });
    assert.ok(spool.add(chunk(40, 1)));
    assert.ok(spool.add(chunk(40, 2)), "past the memory budget: disk");
    assert.equal(spool.add(chunk(70, 3)), false, "past both budgets");
    await spool.stored();
    assert.ok((await readAll(spool)).equals(Buffer.concat([chunk(40, 1), chunk(40, 2)])));
    spool.release();
  });

  it("holds a body in memory only when it has no folder", () => {
    const spool = new Spool({ memoryShare: 10, memory: new Budget(100), disk: new Budget(100), dir: undefined });
    assert.ok(spool.add(chunk(60, 1)), "the share applies to spilling, not to memory-only bodies");
    assert.equal(spool.add(chunk(60, 1)), false, "the memory budget still does");
    spool.release();
  });

  it("removes files a crashed router left behind, and only those", async () => {
    const d = tempDir("spool");
    writeFileSync(path.join(d, "body-left-behind"), "x");
    writeFileSync(path.join(d, "other"), "x");
    await clearSpool(d);
    assert.deepEqual(readdirSync(d), ["other"]);
  });

  it("keeps spooling while another router sharing the folder clears it at its start", async () => {
    // Routers share a spool folder (the default is the temporary folder): one starting clears
    // every spool file's name, including the one another is opening before it unlinks it.
    const d = tempDir("spool");
    let clearing = true;
    const clearer = (async () => {
      while (clearing) await clearSpool(d);
    })();
    const failures: string[] = [];
    try {
      for (let round = 0; round < 120; round++) {
        await Promise.all(
          Array.from({ length: 25 }, async () => {
            const spool = new Spool({ memoryShare: 0, memory: new Budget(0), disk: new Budget(1_000), dir: d });
            assert.ok(spool.add(chunk(10, 7)));
            await spool.stored().catch((err: Error) => failures.push(err.message));
            spool.release();
          }),
        );
      }
    } finally {
      clearing = false;
      await clearer;
    }
    assert.deepEqual(failures, []);
  });
});
