/** Translation of Kubernetes objects into the router's view (the informers feed these). */
import * as assert from "node:assert/strict";
import type { V1EndpointSlice, V1Secret, V1Service } from "@kubernetes/client-node";
import { LABELS, SETTINGS_ANNOTATION } from "../../core/contracts/naming";
import { canTakeLease, keysOf, replicasOf, settingsOf } from "../../router/kubernetes";
import { settings } from "../support/upstream";

describe("router: Kubernetes objects", () => {
  it("takes only ready, non-terminating endpoints of a slice", () => {
    const slice: V1EndpointSlice = {
      addressType: "IPv4",
      ports: [{ name: "http", port: 5001 }],
      endpoints: [
        { addresses: ["10.0.0.1"], conditions: { ready: true }, targetRef: { name: "model-a-1" } },
        { addresses: ["10.0.0.2"], conditions: { ready: false }, targetRef: { name: "model-a-2" } },
        { addresses: ["10.0.0.3"], conditions: { ready: true, terminating: true }, targetRef: { name: "model-a-3" } },
      ],
    };
    assert.deepEqual(replicasOf(slice), [{ id: "model-a-1", url: "http://10.0.0.1:5001" }]);
    assert.deepEqual(replicasOf({ ...slice, ports: [] }), []);
  });

  it("reads the settings annotation of a model Service and refuses a broken one", () => {
    const svc = (annotation: string): V1Service => ({ metadata: { name: "model-a", labels: { [LABELS.service]: "a" }, annotations: { [SETTINGS_ANNOTATION]: annotation } } });
    assert.deepEqual(settingsOf(svc(JSON.stringify(settings("a")))), settings("a"));
    assert.throws(() => settingsOf(svc(JSON.stringify(settings("b")))), /not a valid settings document/);
    assert.throws(() => settingsOf(svc("{")), /Service model-a: the routing settings annotation is not JSON/);
  });

  it("decodes both keys of a key Secret", () => {
    const secret: V1Secret = { data: { primaryKey: Buffer.from("p1").toString("base64"), secondaryKey: Buffer.from("s1").toString("base64") } };
    assert.deepEqual(keysOf(secret), { primaryKey: "p1", secondaryKey: "s1" });
    assert.equal(keysOf({ data: { primaryKey: "cDE=" } }), undefined);
  });

  it("takes the coordinator lease only when it is free, expired or already held", () => {
    const now = new Date("2026-01-01T00:00:30Z");
    const held = (holder: string, renewed: string) => ({ spec: { holderIdentity: holder, renewTime: new Date(renewed), leaseDurationSeconds: 15 } });
    assert.ok(canTakeLease(undefined, "pod-a", now));
    assert.ok(canTakeLease(held("pod-a", "2026-01-01T00:00:29Z"), "pod-a", now));
    assert.ok(!canTakeLease(held("pod-b", "2026-01-01T00:00:29Z"), "pod-a", now));
    assert.ok(canTakeLease(held("pod-b", "2026-01-01T00:00:10Z"), "pod-a", now), "the holder died: take over");
  });
});
