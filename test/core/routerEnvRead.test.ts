/** The router's environment read on its own: defaults, limits and each refusal's exact message. */
import * as assert from "node:assert/strict";
import { readRouterEnv } from "../../core/contracts/routerEnv";

describe("router environment", () => {
  it("defaults: ports 8080 and 8081, Azure ML's 100 MB body limit, no connection cap, no self-scaling, 10 ms threshold", () => {
    assert.deepEqual(readRouterEnv({}), {
      port: 8080,
      adminPort: 8081,
      maxBodyBytes: 104_857_600,
      spoolDir: undefined,
      spoolBytes: undefined,
      maxConnections: undefined,
      trustForwardedFor: false,
      maxTokenLifetimeSeconds: undefined,
      selfScaling: false,
      selfScalingLatencyMs: 10,
    });
  });

  it("an empty variable counts as unset", () => {
    assert.deepEqual(readRouterEnv({ ROUTER_PORT: "", ROUTER_SELF_SCALING: "", ROUTER_MAX_CONNECTIONS: "" }), readRouterEnv({}));
  });

  it("reads every variable", () => {
    assert.deepEqual(
      readRouterEnv({
        ROUTER_PORT: "9000",
        ROUTER_ADMIN_PORT: "9001",
        ROUTER_MAX_BODY_BYTES: "1048576",
        ROUTER_MAX_CONNECTIONS: "64",
        ROUTER_SPOOL_DIR: "/var/spool/x",
        ROUTER_SPOOL_BYTES: "1024",
        ROUTER_TRUST_FORWARDED_FOR: "true",
        ROUTER_TOKEN_MAX_LIFETIME_SECONDS: "3600",
        ROUTER_SELF_SCALING: "true",
        ROUTER_SELF_SCALING_LATENCY_MS: "0.5",
      }),
      { port: 9000, adminPort: 9001, maxBodyBytes: 1_048_576, spoolDir: "/var/spool/x", spoolBytes: 1024, maxConnections: 64, trustForwardedFor: true, maxTokenLifetimeSeconds: 3600, selfScaling: true, selfScalingLatencyMs: 0.5 },
    );
    assert.equal(readRouterEnv({ ROUTER_SELF_SCALING: "false", ROUTER_TRUST_FORWARDED_FOR: "false" }).selfScaling, false);
  });

  it("refuses zero, negative, infinite and fractional counts, naming the variable and the value", () => {
    const cases: [string, string, string][] = [
      ["ROUTER_PORT", "0", "ROUTER_PORT must be a positive integer (got '0')"],
      ["ROUTER_ADMIN_PORT", "-1", "ROUTER_ADMIN_PORT must be a positive integer (got '-1')"],
      ["ROUTER_SPOOL_BYTES", "2G", "ROUTER_SPOOL_BYTES must be a positive integer (got '2G')"],
      ["ROUTER_MAX_CONNECTIONS", "Infinity", "ROUTER_MAX_CONNECTIONS must be a positive integer (got 'Infinity')"],
      ["ROUTER_TOKEN_MAX_LIFETIME_SECONDS", "1.5", "ROUTER_TOKEN_MAX_LIFETIME_SECONDS must be a positive integer (got '1.5')"],
      ["ROUTER_SELF_SCALING_LATENCY_MS", "0", "ROUTER_SELF_SCALING_LATENCY_MS must be a positive number (got '0')"],
      ["ROUTER_SELF_SCALING_LATENCY_MS", "NaN", "ROUTER_SELF_SCALING_LATENCY_MS must be a positive number (got 'NaN')"],
      ["ROUTER_TRUST_FORWARDED_FOR", "1", "ROUTER_TRUST_FORWARDED_FOR must be 'true' or 'false' (got '1')"],
      ["ROUTER_SELF_SCALING", "TRUE", "ROUTER_SELF_SCALING must be 'true' or 'false' (got 'TRUE')"],
    ];
    for (const [name, value, message] of cases) assert.throws(() => readRouterEnv({ [name]: value }), { message }, `${name}=${value}`);
    assert.equal(readRouterEnv({ ROUTER_PORT: "1" }).port, 1, "1 is positive");
  });
});
