/**
 * Per-service authentication on its own: what each auth mode accepts, the 401 message a client
 * gets, the failure counter by reason, and the failure log that a client retrying a wrong key
 * cannot flood (one line per service per 10 s, carrying the count of the lines it stands for).
 */
import * as assert from "node:assert/strict";
import { Writable } from "node:stream";
import pino from "pino";
import { mintToken } from "../../core/decisions/auth";
import { AuthGate } from "../../router/authGate";
import { RouterMetrics } from "../../router/metrics";
import { MemoryKeyStore, settings } from "../support/upstream";

function gate(tokenSigningKey?: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  let clock = 1_000_000;
  const keys = new MemoryKeyStore();
  keys.keys.set("fraud", { primaryKey: "primary-key", secondaryKey: "secondary-key" });
  const metrics = new RouterMetrics();
  const tokenIssuer = tokenSigningKey === undefined ? undefined : { type: "builtin" as const, signingKey: () => tokenSigningKey };
  const auth = new AuthGate({ keys, tokenIssuer, metrics, log: pino({ level: "info" }, sink), now: () => clock });
  const failures = async () => (await metrics.authFailures.get()).values.map((v) => `${v.labels.service}/${v.labels.reason}=${v.value}`).sort();
  return { auth, keys, lines, failures, advance: (ms: number) => (clock += ms) };
}

describe("router: auth gate", () => {
  it("key services: either key passes; a missing, wrong or not-yet-created key is refused with its reason", async () => {
    const { auth, failures } = gate();
    const key = settings("fraud");
    assert.equal(await auth.admit("fraud", key, "Bearer primary-key", "r1"), undefined);
    assert.equal(await auth.admit("fraud", key, "Bearer secondary-key", "r2"), undefined);
    assert.deepEqual(await auth.admit("fraud", key, undefined, "r3"), { reason: "missing", message: "service 'fraud' requires 'Authorization: Bearer <key>'" });
    assert.deepEqual(await auth.admit("fraud", key, "Basic cHJpbWFyeS1rZXk=", "r4"), { reason: "missing", message: "service 'fraud' requires 'Authorization: Bearer <key>'" });
    assert.deepEqual(await auth.admit("fraud", key, "Bearer nope", "r5"), { reason: "key", message: "invalid key" });
    assert.deepEqual(await auth.admit("newbie", settings("newbie"), "Bearer primary-key", "r6"), { reason: "key", message: "service 'newbie' has no keys yet" });
    assert.deepEqual(await failures(), ["fraud/key=1", "fraud/missing=2", "newbie/key=1"]);
  });

  it("open services pass without credentials; token services need an issuer on the router", async () => {
    const { auth, failures } = gate();
    assert.equal(await auth.admit("open", settings("open", { authMode: "none" }), undefined, "r1"), undefined);
    const token = settings("fraud", { authMode: "token" });
    assert.deepEqual(await auth.admit("fraud", token, undefined, "r2"), { reason: "missing", message: "service 'fraud' requires 'Authorization: Bearer <token>'" });
    assert.deepEqual(await auth.admit("fraud", token, "Bearer primary-key", "r3"), { reason: "token", message: "token auth is not configured on this router" });
    assert.deepEqual(await failures(), ["fraud/missing=1", "fraud/token=1"]);
  });

  it("decide answers key and open services without a Promise, token services with one, and counts denials the same way", async () => {
    const signingKey = "s".repeat(32);
    const { auth, lines, failures } = gate(signingKey);
    const key = settings("fraud");
    assert.equal(auth.decide("fraud", key, "Bearer primary-key", "r1"), undefined);
    assert.equal(auth.decide("open", settings("open", { authMode: "none" }), undefined, "r2"), undefined);
    assert.deepEqual(auth.decide("fraud", key, "Bearer nope", "r3"), { reason: "key", message: "invalid key" });
    assert.deepEqual(auth.decide("fraud", settings("fraud", { authMode: "token" }), undefined, "r4"), {
      reason: "missing",
      message: "service 'fraud' requires 'Authorization: Bearer <token>'",
    });

    const token = settings("tok", { authMode: "token" });
    const good = await mintToken({ signingKey, audience: "tok" });
    const pending = auth.decide("tok", token, `Bearer ${good.accessToken}`, "r5");
    assert.ok(pending instanceof Promise, "a token is verified asynchronously");
    assert.equal(await pending, undefined);
    const forged = await mintToken({ signingKey: "x".repeat(32), audience: "tok" });
    assert.deepEqual(await auth.decide("tok", token, `Bearer ${forged.accessToken}`, "r6"), { reason: "token", message: "token signature is invalid" });
    assert.deepEqual(await failures(), ["fraud/key=1", "fraud/missing=1", "tok/token=1"]);
    assert.deepEqual(
      lines.map((l) => l.requestId),
      ["r3", "r6"],
      "one line per service per 10 s, sync or not",
    );
  });

  it("follows key rotation: the store's new key set is accepted at once and the replaced key refused", () => {
    const { auth, keys } = gate();
    const key = settings("fraud");
    assert.equal(auth.decide("fraud", key, "Bearer primary-key", "r1"), undefined);
    keys.keys.set("fraud", { primaryKey: "rotated-key", secondaryKey: "secondary-key" });
    assert.equal(auth.decide("fraud", key, "Bearer rotated-key", "r2"), undefined);
    assert.equal(auth.decide("fraud", key, "Bearer secondary-key", "r3"), undefined);
    assert.deepEqual(auth.decide("fraud", key, "Bearer primary-key", "r4"), { reason: "key", message: "invalid key" });
  });

  it("logs one failure line per service every 10 s, with how many failures it stood in for", async () => {
    const { auth, lines, advance } = gate();
    const fail = (service: string, id: string) => auth.admit(service, settings(service), "Bearer nope", id);
    await fail("fraud", "r1");
    advance(1_000);
    await fail("fraud", "r2");
    await fail("fraud", "r3");
    await fail("other", "r4"); // another service has its own line
    advance(9_000);
    await fail("fraud", "r5");
    const logged = lines.map((l) => [l.msg, l.service, l.requestId, l.alsoFailedSinceLastLine]);
    assert.deepEqual(logged, [
      ["authentication failed", "fraud", "r1", 0],
      ["authentication failed", "other", "r4", 0],
      ["authentication failed", "fraud", "r5", 2],
    ]);
    assert.ok(
      lines.every((l) => !JSON.stringify(l).includes("nope")),
      "the presented credential is never logged",
    );
  });
});
