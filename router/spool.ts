/**
 * Where a request body waits until it is complete, so that no replica slot is taken while a
 * client is still sending: the first part in memory (each body's share, all bodies together
 * under the router's memory budget), the rest in a file in the spool folder (all files together
 * under the disk budget). A file is unlinked as soon as it is opened, so nothing outlives the
 * request or the process, and only the router's own descriptor can read it.
 */
import { randomUUID } from "node:crypto";
import { open, readdir, rm, unlink, type FileHandle } from "node:fs/promises";
import * as path from "node:path";

/** Bytes held by one kind of storage, shared by every request of one router. */
export class Budget {
  used = 0;
  constructor(readonly capBytes: number) {}

  take(bytes: number): boolean {
    if (this.used + bytes > this.capBytes) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used -= bytes;
  }
}

/** Names of spool files (a crash between open and unlink may leave one: the router removes them at start). */
const FILE_PREFIX = "body-";
/** Largest read from a spool file while it is sent on. */
const READ_BYTES = 64 * 1024;

export interface SpoolOptions {
  /** Bytes of this body kept in memory before the rest goes to disk. */
  memoryShare: number;
  memory: Budget;
  disk: Budget;
  /** Folder for the files; without one a body is held in memory only (under the memory budget). */
  dir?: string;
}

/** One body: chunks in memory, then (past its memory share) a file. */
export class Spool {
  private readonly chunks: Buffer[] = [];
  private memoryBytes = 0;
  private diskBytes = 0;
  /** Bytes handed to the file but not yet written (the reader pauses the client above a bound). */
  unwritten = 0;
  private file?: Promise<FileHandle>;
  private writes: Promise<void> = Promise.resolve();
  private failure?: Error;

  constructor(private readonly o: SpoolOptions) {}

  get bytes(): number {
    return this.memoryBytes + this.diskBytes;
  }

  /** Keeps a chunk; false when neither memory (its share, the budget) nor the disk budget can take it. */
  add(chunk: Buffer): boolean {
    const inMemory = this.diskBytes === 0 && (this.o.dir === undefined || this.memoryBytes + chunk.length <= this.o.memoryShare);
    if (inMemory && this.o.memory.take(chunk.length)) {
      this.chunks.push(chunk);
      this.memoryBytes += chunk.length;
      return true;
    }
    const dir = this.o.dir;
    if (dir === undefined || !this.o.disk.take(chunk.length)) return false;
    const at = this.diskBytes;
    this.diskBytes += chunk.length;
    this.unwritten += chunk.length;
    const file = (this.file ??= openUnlinked(dir));
    this.writes = this.writes
      .then(async () => {
        if (this.failure) return;
        await (await file).write(chunk, 0, chunk.length, at);
      })
      .catch((err: Error) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.unwritten -= chunk.length;
      });
    return true;
  }

  /** Resolves once every chunk added is stored; rejects with the disk's error if one was not. */
  async stored(): Promise<void> {
    await this.writes;
    if (this.failure) throw this.failure;
  }

  /** The whole body as one buffer when none of it is on disk. */
  whole(): Buffer | undefined {
    if (this.diskBytes > 0) return undefined;
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.memoryBytes);
  }

  /** The body from its first byte (a fresh pass each call: a retry on another replica sends it again). */
  async *read(): AsyncGenerator<Buffer> {
    yield* this.chunks;
    if (this.diskBytes === 0) return;
    const file = await this.file!;
    for (let at = 0; at < this.diskBytes; ) {
      const { bytesRead, buffer } = await file.read(Buffer.allocUnsafe(Math.min(READ_BYTES, this.diskBytes - at)), 0, Math.min(READ_BYTES, this.diskBytes - at), at);
      if (bytesRead === 0) throw new Error("spool file ended early");
      at += bytesRead;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
  }

  /** Returns memory and disk to their budgets and closes the file (after pending writes). */
  release(): void {
    this.o.memory.give(this.memoryBytes);
    this.o.disk.give(this.diskBytes);
    this.memoryBytes = 0;
    this.diskBytes = 0;
    this.chunks.length = 0;
    const file = this.file;
    this.file = undefined;
    if (file) void this.writes.then(() => file).then((f) => f.close(), () => undefined);
  }
}

async function openUnlinked(dir: string): Promise<FileHandle> {
  const name = path.join(dir, `${FILE_PREFIX}${randomUUID()}`);
  const file = await open(name, "wx+", 0o600);
  try {
    await unlink(name);
  } catch (err) {
    // Gone already: another router sharing the folder cleared it at its start (clearSpool),
    // which is the state unlinking wants. Any other error loses the file, not its handle.
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      await file.close();
      throw err;
    }
  }
  return file;
}

/** Removes spool files a previous process of this router left behind (it died between open and unlink). */
export async function clearSpool(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(FILE_PREFIX)).map((n) => rm(path.join(dir, n), { force: true })));
}
