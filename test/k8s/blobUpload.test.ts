/** The upload resource: a content-addressed blob changes only with its account, container or name. */
import * as assert from "node:assert/strict";
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
