/** How a scoring replica reaches blob storage: workload identity on AKS, a connection string locally. */
import * as assert from "node:assert/strict";
import { DefaultAzureCredential } from "@azure/identity";
import { SCORING_ENV } from "../../core/contracts/naming";
import { blobServiceClient, storageAccess } from "../../scoring/storage";

const AZURITE = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

describe("scoring: storage access", () => {
  it("signs in with the pod's workload identity when only the account URL is set", () => {
    const access = storageAccess({ accountUrl: "https://aksinfprodst.blob.core.windows.net" });
    assert.deepEqual(access, { kind: "workloadIdentity", accountUrl: "https://aksinfprodst.blob.core.windows.net" });
    const client = blobServiceClient(access);
    assert.equal(client.url, "https://aksinfprodst.blob.core.windows.net/");
    assert.ok(client.credential instanceof DefaultAzureCredential, "an Entra token credential, no shared key");
  });

  it("keeps Azurite's connection string for local mode, which wins when both are set", () => {
    assert.equal(storageAccess({ connectionString: AZURITE }).kind, "connectionString");
    assert.equal(storageAccess({ connectionString: AZURITE, accountUrl: "https://x.blob.core.windows.net" }).kind, "connectionString");
    assert.equal(blobServiceClient(storageAccess({ connectionString: AZURITE })).accountName, "devstoreaccount1");
  });

  it("names both settings when neither is set, and refuses an account URL that is not a blob endpoint", () => {
    assert.throws(() => storageAccess({}), new RegExp(`set ${SCORING_ENV.storageAccountUrl} .* or ${SCORING_ENV.storageConnectionString}`));
    assert.throws(() => storageAccess({ accountUrl: "http://x.blob.core.windows.net" }), new RegExp(`${SCORING_ENV.storageAccountUrl} must be a blob endpoint`));
    assert.throws(() => storageAccess({ accountUrl: "https://x.blob.core.windows.net/models" }), /must be a blob endpoint/);
  });
});
