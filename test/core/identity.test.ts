import * as assert from "node:assert/strict";
import { deployerPrincipalType } from "../../core/identity";

describe("deployer principal type", () => {
  it("is User for people signed in through Azure CLI or Azure PowerShell, else ServicePrincipal (CI, managed identity)", () => {
    assert.equal(deployerPrincipalType("04b07795-8ddb-461a-bbee-02f9e1bf7b46"), "User");
    assert.equal(deployerPrincipalType("1950A258-227B-4E31-A9CF-717495945FC2"), "User");
    assert.equal(deployerPrincipalType("5d3b2c1a-0000-4000-8000-00000000c1ed"), "ServicePrincipal");
  });
});
