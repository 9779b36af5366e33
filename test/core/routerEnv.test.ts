/**
 * What the stack renders into the router's environment, the router reads back, with one parser:
 * `router.selfScalingLatencyThresholdMs: 7.5` passed config validation and then stopped the
 * router, whose reader wanted an integer.
 */
import * as assert from "node:assert/strict";
import { LABELS, ROUTER_ENV } from "../../core/contracts/naming";
import { readRouterEnv } from "../../core/contracts/routerEnv";
import { Plan, input, stackConfig } from "../support/stacks";

describe("router settings: rendered by the stack, read by the router", function () {
  this.timeout(60_000);

  it("reads back every value the stack renders, a fractional latency threshold included", async () => {
    const plan = await Plan.of(stackConfig("prod", { "aks-inference:router": { selfScalingLatencyThresholdMs: 7.5, maxConnections: 5000, trustForwardedFor: true } }));
    const router = plan.all("kubernetes:apps/v1:Deployment").find((d) => input(d, "metadata", "labels", LABELS.role) === "router")!;
    const env = Object.fromEntries((input(router, "spec", "template", "spec", "containers", 0, "env") as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    assert.deepEqual(readRouterEnv(env), {
      port: 8080,
      adminPort: 8081,
      maxBodyBytes: 100 * 1024 * 1024,
      spoolDir: "/var/spool/aks-inference",
      spoolBytes: 2 * 1024 ** 3,
      maxConnections: 5000,
      trustForwardedFor: true,
      maxTokenLifetimeSeconds: 86_400,
      selfScaling: true,
      selfScalingLatencyMs: 7.5,
    });
  });

  it("refuses what it cannot use, naming the variable", () => {
    assert.throws(() => readRouterEnv({ [ROUTER_ENV.selfScalingLatencyMs]: "fast" }), /ROUTER_SELF_SCALING_LATENCY_MS must be a positive number \(got 'fast'\)/);
    assert.throws(() => readRouterEnv({ [ROUTER_ENV.maxBodyBytes]: "1.5" }), /ROUTER_MAX_BODY_BYTES must be a positive integer/);
    assert.throws(() => readRouterEnv({ [ROUTER_ENV.selfScaling]: "yes" }), /ROUTER_SELF_SCALING must be 'true' or 'false'/);
  });
});
