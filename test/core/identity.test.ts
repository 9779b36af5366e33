import * as assert from "node:assert/strict";
import { USER_SIGN_IN_CLIENT_IDS, deployerPrincipalType } from "../../core/identity";

describe("deployer principal type", () => {
  it("is User for people signed in through Azure CLI or Azure PowerShell, else ServicePrincipal (CI, managed identity)", () => {
    assert.equal(deployerPrincipalType("04b07795-8ddb-461a-bbee-02f9e1bf7b46"), "User");
    assert.equal(deployerPrincipalType("1950A258-227B-4E31-A9CF-717495945FC2"), "User");
    assert.equal(deployerPrincipalType("5d3b2c1a-0000-4000-8000-00000000c1ed"), "ServicePrincipal");
  });
});

describe("deployer principal type: the sign-in clients", () => {
  it("knows exactly Azure CLI and Azure PowerShell", () => {
    assert.deepEqual(USER_SIGN_IN_CLIENT_IDS, { "04b07795-8ddb-461a-bbee-02f9e1bf7b46": "Azure CLI", "1950a258-227b-4e31-a9cf-717495945fc2": "Azure PowerShell" });
    assert.equal(deployerPrincipalType("04B07795-8DDB-461A-BBEE-02F9E1BF7B46"), "User", "client IDs compare case-insensitively");
  });
});
