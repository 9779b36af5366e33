/** W3C Trace Context headers as the router and replicas read and write them (core/contracts/traceContext.ts). */
import * as assert from "node:assert/strict";
import { MIRROR_OF_KEY, formatTraceparent, mirrorTracestate, mirroredFrom, newSpanId, parseTraceparent, routerTrace, validTracestate } from "../../core/contracts/traceContext";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const VALID = `00-${TRACE}-${PARENT}-01`;
/** A random source that gives `ids` in turn (each cut to the length asked). */
const sequence = (...ids: string[]) => (chars: number) => (ids.shift() ?? "ab".repeat(16)).slice(0, chars);

describe("traceparent", () => {
  it("reads a valid header's trace id, parent id and flags", () => {
    assert.deepEqual(parseTraceparent(VALID), { traceId: TRACE, parentId: PARENT, flags: "01" });
    assert.deepEqual(parseTraceparent(` ${VALID} `), { traceId: TRACE, parentId: PARENT, flags: "01" }, "surrounding spaces (OWS) ignored");
    assert.deepEqual(parseTraceparent(`00-${TRACE}-${PARENT}-00`)?.flags, "00");
  });

  it("refuses malformed headers", () => {
    const bad = [
      undefined,
      "",
      VALID.slice(0, 54),
      `${VALID}-extra`, // version 00 has exactly four fields
      VALID.toUpperCase(), // hex is lower-case
      `00-${"0".repeat(32)}-${PARENT}-01`, // all-zero trace id
      `00-${TRACE}-${"0".repeat(16)}-01`, // all-zero parent id
      `ff-${TRACE}-${PARENT}-01`, // version ff is invalid
      `0g-${TRACE}-${PARENT}-01`,
      `00_${TRACE}-${PARENT}-01`,
      `00-${TRACE}_${PARENT}-01`,
      `00-${TRACE}-${PARENT}_01`,
      `00-${TRACE.slice(1)}z-${PARENT}-01`,
      `00-${TRACE}-${PARENT.slice(1)}z-01`,
      `00-${TRACE}-${PARENT}-0z`,
      `${VALID}, ${VALID}`, // two headers, as Node joins them
    ];
    for (const value of bad) assert.equal(parseTraceparent(value), undefined, String(value));
  });

  it("reads a later version's first four fields, and refuses one without a dash after them", () => {
    assert.deepEqual(parseTraceparent(`01-${TRACE}-${PARENT}-01-future`), { traceId: TRACE, parentId: PARENT, flags: "01" });
    assert.deepEqual(parseTraceparent(`01-${TRACE}-${PARENT}-01`), { traceId: TRACE, parentId: PARENT, flags: "01" });
    assert.equal(parseTraceparent(`01-${TRACE}-${PARENT}-01x`), undefined);
  });

  it("formats version 00", () => {
    assert.equal(formatTraceparent(TRACE, PARENT, "01"), VALID);
  });
});

describe("tracestate", () => {
  it("keeps valid members, drops empty ones", () => {
    assert.equal(validTracestate("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    assert.equal(validTracestate("a=1,,b=2"), "a=1,b=2");
    assert.equal(validTracestate("tenant@vendor=x"), "tenant@vendor=x");
    assert.equal(validTracestate(" , "), undefined);
    assert.equal(validTracestate(undefined), undefined);
  });

  it("drops the whole header when a member is invalid or there are more than 32", () => {
    for (const bad of ["novalue", "Upper=1", "a=1,a=2", "a=has,comma", "a=", "a=in ner,b=\u0001", "1a=x", `a=${"x".repeat(257)}`, "a=b=c"]) assert.equal(validTracestate(bad), undefined, bad);
    const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v`).join(",");
    assert.equal(validTracestate(members(32))?.split(",").length, 32);
    assert.equal(validTracestate(members(33)), undefined);
  });
});

describe("the trace context a request goes on with", () => {
  it("passes a valid traceparent on as the caller sent it (the router records no span), keeping a valid tracestate", () => {
    assert.deepEqual(routerTrace(VALID, "rojo=1", sequence("1111111111111111")), { traceId: TRACE, spanId: PARENT, flags: "01", parentId: PARENT, tracestate: "rojo=1" }, "passed on as the caller sent it");
    assert.deepEqual(routerTrace(`00-${TRACE}-${PARENT}-00`, "Bad", sequence("1111111111111111")), { traceId: TRACE, spanId: PARENT, flags: "00", parentId: PARENT });
  });

  it("starts a sampled trace for a missing or malformed traceparent, dropping its tracestate", () => {
    const started = routerTrace("00-garbage", "rojo=1", sequence("2222222222222222", "33333333333333333333333333333333"));
    assert.deepEqual(started, { traceId: "33333333333333333333333333333333", spanId: "2222222222222222", flags: "01" });
    assert.equal(routerTrace(undefined, undefined, sequence("2222222222222222", "3".repeat(32))).traceId, "3".repeat(32));
  });

  it("never uses an all-zero id", () => {
    const t = routerTrace(undefined, undefined, sequence("0".repeat(16), "4".repeat(16), "0".repeat(32), "5".repeat(32)));
    assert.deepEqual([t.spanId, t.traceId], ["4".repeat(16), "5".repeat(32)]);
    assert.equal(newSpanId(sequence("0".repeat(16), "6".repeat(16))), "6".repeat(16));
  });
});

describe("a mirrored copy's link to the original", () => {
  it("leads the tracestate with the original's span id, replacing an older one, at most 32 members", () => {
    assert.equal(mirrorTracestate(undefined, PARENT), `${MIRROR_OF_KEY}=${PARENT}`);
    assert.equal(mirrorTracestate(`rojo=1,${MIRROR_OF_KEY}=1111111111111111`, PARENT), `${MIRROR_OF_KEY}=${PARENT},rojo=1`);
    const full = Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(",");
    const state = mirrorTracestate(full, PARENT).split(",");
    assert.equal(state.length, 32);
    assert.equal(state[0], `${MIRROR_OF_KEY}=${PARENT}`);
    assert.equal(mirrorTracestate("Invalid", PARENT), `${MIRROR_OF_KEY}=${PARENT}`, "an invalid tracestate is not carried on");
  });

  it("reads the original's span id back, and nothing from other states", () => {
    assert.equal(mirroredFrom(mirrorTracestate("rojo=1", PARENT)), PARENT);
    assert.equal(mirroredFrom(`rojo=1,${MIRROR_OF_KEY}=${PARENT}`), PARENT);
    for (const other of [undefined, "rojo=1", `${MIRROR_OF_KEY}=xyz`, `${MIRROR_OF_KEY}=${"0".repeat(16)}`, `${MIRROR_OF_KEY}=${PARENT}0`]) assert.equal(mirroredFrom(other), undefined, String(other));
  });
});
