/** A real Azurite for the current `describe`: started with its blob containers before, stopped after. */
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite, type Azurite } from "../../local/azurite";
import { createBlobContainers } from "../../packaging/upload";
import { tempDir } from "./tmp";

export interface AzuriteFixture {
  connectionString(): string;
  blob(): BlobServiceClient;
}

export function useAzurite(): AzuriteFixture {
  let azurite: Azurite | undefined;
  let blob: BlobServiceClient | undefined;
  before(async () => {
    azurite = await startAzurite(tempDir("azurite"));
    blob = BlobServiceClient.fromConnectionString(azurite.connectionString);
    await createBlobContainers(blob);
  });
  after(async () => azurite?.stop());
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error("Azurite is not started yet (use it inside a test or hook)");
    return v;
  };
  return { connectionString: () => started(azurite).connectionString, blob: () => started(blob) };
}
