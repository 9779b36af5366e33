/**
 * Model data collection (Azure ML v1's model data collection): every scored request's input,
 * output and request id, appended to blob storage as JSON lines, batched off the request path.
 *
 * Layout, in the `modeldata` container:
 *   <service>/<yyyy>/<mm>/<dd>/<HH>/<replica>.jsonl     (UTC hour of the request)
 * one line per request: {"time","requestId","service","replica","status","input","output"}.
 * One append blob per replica and hour, so replicas never contend for a blob. A record larger
 * than 1 MiB (a big batch) is stored whole as its own blob,
 *   <service>/<yyyy>/<mm>/<dd>/<HH>/<replica>/<requestId>.json
 * and its line carries `"blob"` (that name) and `"bytes"` instead of input and output: large
 * records are never dropped while storage answers, and never held in the bounded line buffer.
 */
import { randomUUID } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import type { Logger } from "pino";

export interface CollectedRecord {
  time: string;
  requestId: string;
  service: string;
  replica: string;
  status: number;
  input?: unknown;
  output?: unknown;
  /** For a record stored as its own blob: that blob's name and size. */
  blob?: string;
  bytes?: number;
}

export function recordBlobName(service: string, replica: string, time: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${service}/${time.getUTCFullYear()}/${p(time.getUTCMonth() + 1)}/${p(time.getUTCDate())}/${p(time.getUTCHours())}/${replica}.jsonl`;
}

/** Where a large record is stored whole. */
export function largeRecordBlobName(record: Pick<CollectedRecord, "service" | "replica" | "time" | "requestId">): string {
  const id = record.requestId && /^[A-Za-z0-9._-]{1,128}$/.test(record.requestId) ? record.requestId : randomUUID();
  return `${recordBlobName(record.service, record.replica, new Date(record.time)).replace(/\.jsonl$/, "")}/${id}.json`;
}

/** Append blobs take at most 4 MiB per block. */
const MAX_BLOCK = 4 * 1024 * 1024;
/** Records larger than this (serialized) get a blob of their own. */
export const LARGE_RECORD_BYTES = 1024 * 1024;

export class DataCollector {
  private buffer: CollectedRecord[] = [];
  private bufferedBytes = 0;
  private flushing: Promise<void> = Promise.resolve();
  private readonly uploads = new Set<Promise<void>>();
  private readonly timer: NodeJS.Timeout;
  private readonly created = new Set<string>();
  dropped = 0;

  constructor(
    private readonly container: ContainerClient,
    private readonly log: Logger,
    private readonly opts: { flushIntervalMs?: number; maxBufferedBytes?: number } = {},
  ) {
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** Queues a record; never blocks or fails the request. */
  collect(record: CollectedRecord): void {
    const text = JSON.stringify(record);
    if (text.length > LARGE_RECORD_BYTES) return this.storeWhole(record, text);
    const size = text.length;
    // Bounded memory: when storage is down for long, records are dropped (and counted) rather
    // than growing without limit until the replica runs out of memory.
    if (this.bufferedBytes + size > (this.opts.maxBufferedBytes ?? 64 * 1024 * 1024)) {
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 1000 === 0) this.log.error({ dropped: this.dropped }, "model data collection buffer full: dropping records");
      return;
    }
    this.buffer.push(record);
    this.bufferedBytes += size;
  }

  /** A large record as its own blob (written at once, off the request path), then a line pointing at it. */
  private storeWhole(record: CollectedRecord, text: string): void {
    const name = largeRecordBlobName(record);
    const bytes = Buffer.byteLength(text);
    const upload = this.container
      .getBlockBlobClient(name)
      .upload(text, bytes, { blobHTTPHeaders: { blobContentType: "application/json" } })
      .then(
        () => this.collect({ time: record.time, requestId: record.requestId, service: record.service, replica: record.replica, status: record.status, blob: name, bytes }),
        (err: Error) => {
          this.dropped++;
          this.log.error({ blob: name, bytes, err: err.message }, "model data collection could not store a large record");
        },
      )
      .finally(() => this.uploads.delete(upload));
    this.uploads.add(upload);
  }

  /** Writes what is buffered; records that failed to write are kept for the next attempt. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.bufferedBytes = 0;
    const byBlob = new Map<string, CollectedRecord[]>();
    for (const r of batch) {
      const name = recordBlobName(r.service, r.replica, new Date(r.time));
      byBlob.set(name, [...(byBlob.get(name) ?? []), r]);
    }
    for (const [name, records] of byBlob) {
      try {
        const blob = this.container.getAppendBlobClient(name);
        if (!this.created.has(name)) {
          await blob.createIfNotExists({ blobHTTPHeaders: { blobContentType: "application/x-ndjson" } });
          this.created.add(name);
        }
        let chunk = "";
        for (const r of records) {
          const line = `${JSON.stringify(r)}\n`;
          if (chunk.length + line.length > MAX_BLOCK && chunk) {
            await blob.appendBlock(chunk, Buffer.byteLength(chunk));
            chunk = "";
          }
          chunk += line;
        }
        if (chunk) await blob.appendBlock(chunk, Buffer.byteLength(chunk));
      } catch (err) {
        this.log.warn({ blob: name, records: records.length, err: (err as Error).message }, "model data collection write failed; will retry");
        this.buffer.unshift(...records);
        this.bufferedBytes += records.reduce((s, r) => s + JSON.stringify(r).length, 0);
      }
    }
  }

  /** Final flush on shutdown (after the large records still uploading, whose lines come last). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.uploads]);
    await this.flush();
  }
}
