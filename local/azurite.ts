/**
 * Azurite (the Azure Storage emulator, from npm) for local mode and tests: blob and table
 * storage on loopback ports picked by the OS, with telemetry off (this machine has no network
 * beyond loopback, and local mode must not phone home).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import * as path from "node:path";

/** Azurite's documented development account (public, not a secret). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface Azurite {
  connectionString: string;
  blobPort: number;
  tablePort: number;
  stop(): Promise<void>;
}

export function connectionString(blobPort: number, tablePort: number): string {
  return [
    "DefaultEndpointsProtocol=http",
    `AccountName=${AZURITE_ACCOUNT}`,
    `AccountKey=${AZURITE_KEY}`,
    `BlobEndpoint=http://127.0.0.1:${blobPort}/${AZURITE_ACCOUNT}`,
    `TableEndpoint=http://127.0.0.1:${tablePort}/${AZURITE_ACCOUNT}`,
  ].join(";");
}

/**
 * Starts Azurite with its data in `location` (kept across restarts: collected model data stays
 * inspectable after local mode stops).
 */
export async function startAzurite(location: string, timeoutMs = 20_000): Promise<Azurite> {
  mkdirSync(location, { recursive: true });
  const bin = path.join(path.dirname(require.resolve("azurite/package.json")), "dist", "src", "azurite.js");
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose", "--location", location, "--blobHost", "127.0.0.1", "--blobPort", "0", "--tableHost", "127.0.0.1", "--tablePort", "0", "--queuePort", "0"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const ports = await new Promise<{ blob: number; table: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`Azurite did not start within ${timeoutMs} ms: ${output}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      const blob = /Blob service is successfully listening at http:\/\/[^:]+:(\d+)/.exec(output);
      const table = /Table service is successfully listening at http:\/\/[^:]+:(\d+)/.exec(output);
      if (blob && table) {
        clearTimeout(timer);
        resolve({ blob: Number(blob[1]), table: Number(table[1]) });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with code ${code}: ${output}`));
    });
  });
  return {
    connectionString: connectionString(ports.blob, ports.table),
    blobPort: ports.blob,
    tablePort: ports.table,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
