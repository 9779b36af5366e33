/** The upload resource: a content-addressed blob changes only with its account, container or name. */
import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { tempDir } from "../support/tmp";
import { uploadedBlobProvider } from "../../components/blobUpload";

const blob = { accountUrl: "https://aksinfprodst.blob.core.windows.net", containerName: "models", blobName: "regressor/293f82051a603fc1/regressor.onnx", file: "/home/ci/work/samples/models/regressor.onnx" };

describe("uploaded blob", () => {
  it("is left alone when only the local file path differs (another machine, same content)", async () => {
    const diff = await uploadedBlobProvider.diff!("id", blob, { ...blob, file: "/Users/me/repo/samples/models/regressor.onnx" });
    assert.equal(diff.changes, false);
    assert.deepEqual(diff.replaces, []);
  });

  it("is replaced by a new blob when its name (the content hash), container or account changes", async () => {
    for (const key of ["blobName", "containerName", "accountUrl"] as const) {
      const diff = await uploadedBlobProvider.diff!("id", blob, { ...blob, [key]: `${blob[key]}x` });
      assert.equal(diff.changes, true, key);
      assert.deepEqual(diff.replaces, [key]);
    }
  });
});

describe("uploaded blob against the Blob service REST API (a local endpoint)", () => {
  // The deployer's Entra token, as DefaultAzureCredential would get it for Azure Storage.
  const identity = require("@azure/identity") as typeof import("@azure/identity");
  const getToken = identity.DefaultAzureCredential.prototype.getToken;
  const scopes: unknown[] = [];
  let server: http.Server;
  let accountUrl = "";
  const stored = new Map<string, Buffer>();
  const calls: { method: string; url: string; headers: http.IncomingHttpHeaders }[] = [];
  before(async () => {
    identity.DefaultAzureCredential.prototype.getToken = async function (scope: string | string[]) {
      scopes.push(scope);
      return { token: "entra-token", expiresOnTimestamp: Date.now() + 3_600_000 };
    };
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        calls.push({ method: req.method!, url: req.url!, headers: req.headers });
        const key = req.url!;
        if (req.headers.authorization !== "Bearer entra-token") res.writeHead(403, { "x-ms-error-code": "AuthenticationFailed" });
        else if (key.includes("forbidden")) res.writeHead(409, { "x-ms-error-code": "BlobArchived" });
        else if (req.method === "HEAD") res.writeHead(stored.has(key) ? 200 : 404);
        else if (req.method === "PUT") res.writeHead(201), stored.set(key, Buffer.concat(chunks));
        else if (req.method === "DELETE") res.writeHead(stored.delete(key) ? 202 : 404);
        else res.writeHead(405);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    accountUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => {
    identity.DefaultAzureCredential.prototype.getToken = getToken;
    server.close();
  });

  it("uploads the file once with the Entra token, leaves an existing blob alone, deletes it (and a missing one without error)", async () => {
    const file = path.join(tempDir("blob-"), "m.onnx");
    writeFileSync(file, "model bytes");
    const inputs = { accountUrl, containerName: "models", blobName: "m/0123456789abcdef/m v1.onnx", file };
    const created = await uploadedBlobProvider.create!(inputs);
    assert.equal(created.id, `${accountUrl.replace(/\/$/, "")}/models/m/0123456789abcdef/m%20v1.onnx`);
    assert.equal(stored.get("/models/m/0123456789abcdef/m%20v1.onnx")?.toString(), "model bytes");
    const put = calls.find((c) => c.method === "PUT")!;
    assert.equal(put.headers["x-ms-blob-type"], "BlockBlob");
    assert.ok(put.headers["x-ms-version"], "a Blob service API version");
    assert.deepEqual(scopes[0], "https://storage.azure.com/.default");
    const puts = calls.filter((c) => c.method === "PUT").length;
    await uploadedBlobProvider.create!(inputs);
    assert.equal(calls.filter((c) => c.method === "PUT").length, puts, "content-addressed: an existing blob is not uploaded again");
    await uploadedBlobProvider.delete!(created.id, inputs);
    assert.equal(stored.size, 0);
    await uploadedBlobProvider.delete!(created.id, inputs);
  });

  it("fails with the operation, the blob, the status and Azure Storage's error code", async () => {
    const inputs = { accountUrl, containerName: "models", blobName: "forbidden/x.onnx", file: "/nonexistent" };
    await assert.rejects(uploadedBlobProvider.create!(inputs), { message: `upload of models/forbidden/x.onnx at ${accountUrl}: 409 BlobArchived` });
    await assert.rejects(uploadedBlobProvider.delete!("id", inputs), { message: `deletion of models/forbidden/x.onnx at ${accountUrl}: 409 BlobArchived` });
  });
});
