/** Which `Host` an admin listener answers (the router's admin port, local mode's admin API): none a rebinding attack can send. */
import * as assert from "node:assert/strict";
import { hostAllowed } from "../../core/decisions/adminHost";

const POD = ["10.244.1.7", "fd00:10:244::7"];

describe("admin listeners: Host check", () => {
  it("takes the loopback names and the pod's own addresses, with any port", () => {
    for (const host of ["localhost", "LOCALHOST:8081", "127.0.0.1", "127.0.0.1:8081", "[::1]", "[::1]:8081", "10.244.1.7:8081", "[FD00:10:244::7]:8081", "[fd00:10:244::7]"]) {
      assert.ok(hostAllowed(host, POD), host);
    }
  });

  it("refuses every other name, however it resolves", () => {
    for (const host of ["attacker.example", "attacker.example:8081", "localhost.attacker.example", "127.0.0.1.nip.io", "10.244.1.8:8081", "[::2]:8081", "0.0.0.0:8081", "localhost."]) {
      assert.ok(!hostAllowed(host, POD), host);
    }
  });

  it("refuses what is not a host at all, and no Host", () => {
    for (const host of [undefined, "", "evil@127.0.0.1", "127.0.0.1/x", "127.0.0.1:80:80", "127.0.0.1:port", "127.0.0.1:123456", "::1", "[::1", "localhost 127.0.0.1", "[localhost]"]) {
      assert.ok(!hostAllowed(host, POD), String(host));
    }
  });

  it("without pod addresses (local mode's admin API), only loopback", () => {
    assert.ok(hostAllowed("127.0.0.1:4000", []));
    assert.ok(!hostAllowed("10.244.1.7", []));
  });
});
