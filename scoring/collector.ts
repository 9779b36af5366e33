/**
 * Model data collection (the seed's "Modelldatensammlung"): every scored request's input,
 * output and request id, appended to blob storage as JSON lines, batched off the request path.
 *
 * Layout, in the `modeldata` container:
 *   <service>/<yyyy>/<mm>/<dd>/<HH>/<replica>.jsonl     (UTC hour of the request)
 * one line per request: {"time","requestId","service","replica","status","input","output"}.
 * One append blob per replica and hour, so replicas never contend for a blob.
 */
import type { ContainerClient } from "@azure/storage-blob";
import type { Logger } from "pino";

export interface CollectedRecord {
  time: string;
  requestId: string;
  service: string;
  replica: string;
  status: number;
  input: unknown;
  output: unknown;
}

export function recordBlobName(service: string, replica: string, time: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${service}/${time.getUTCFullYear()}/${p(time.getUTCMonth() + 1)}/${p(time.getUTCDate())}/${p(time.getUTCHours())}/${replica}.jsonl`;
}

/** Append blobs take at most 4 MiB per block. */
const MAX_BLOCK = 4 * 1024 * 1024;

export class DataCollector {
  private buffer: CollectedRecord[] = [];
  private bufferedBytes = 0;
  private flushing: Promise<void> = Promise.resolve();
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
    const size = JSON.stringify(record).length;
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

  /** Final flush on shutdown. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
