/** Local mode's replica token: a replica with one takes only requests that carry it. */
import * as assert from "node:assert/strict";
import { REPLICA_TOKEN_ENV, replicaTokenAccepted } from "../../core/contracts/replicaToken";

describe("replica token", () => {
  it("is not required where none is set (a cluster)", () => {
    assert.ok(replicaTokenAccepted(undefined, undefined));
    assert.ok(replicaTokenAccepted("anything", ""));
  });

  it("is required, exactly, where one is set (local mode)", () => {
    assert.ok(replicaTokenAccepted("s3cret-token", "s3cret-token"));
    assert.ok(!replicaTokenAccepted(undefined, "s3cret-token"));
    assert.ok(!replicaTokenAccepted("", "s3cret-token"));
    assert.ok(!replicaTokenAccepted("s3cret-toke", "s3cret-token"));
    assert.ok(!replicaTokenAccepted("s3cret-tokeN", "s3cret-token"));
    assert.ok(!replicaTokenAccepted(["s3cret-token", "s3cret-token"], "s3cret-token"), "a repeated header is not the token");
  });

  it("lives in a variable Python workers never see (they get no AKS_INFERENCE_* variable)", () => {
    assert.match(REPLICA_TOKEN_ENV, /^AKS_INFERENCE_/);
  });
});
