/** The payload limit on a real 101 MB stream: 413, and the router's memory stays flat (bodies past their first MiB wait on disk). */
import * as assert from "node:assert/strict";
import { request } from "undici";
import { sizedStream as stream } from "../../bench/common";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import { MemoryKeyStore, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";

const MB = 1024 * 1024;

describe("router: 100 MB payload limit", function () {
  this.timeout(60_000);
  let router: RouterHandle;
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream("sink", { countOnly: true });
    const discovery = new LocalDiscovery();
    discovery.upsertService(settings("big", { authMode: "none", scoringTimeoutMs: 30_000 }));
    discovery.addReplica("big", { id: "sink", url: upstream.url });
    router = await routerWith(discovery, new MemoryKeyStore());
  });
  after(async () => {
    await router.close();
    await upstream.close();
  });

  it("passes a 99 MB body through whole, holding only its first MiB in memory and the rest on disk", async () => {
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const res = await request(`${router.url}/api/v1/service/big/score`, { method: "POST", body: stream(99 * MB) });
    const body = (await res.body.json()) as { bytes: number };
    assert.equal(res.statusCode, 200);
    assert.equal(body.bytes, 99 * MB);
    // The sink counts the body without keeping it: the growth is the router's and the client
    // stream's, and must stay below one copy of the body.
    const growth = process.memoryUsage().rss - rssBefore;
    assert.ok(growth < 99 * MB, `RSS grew ${Math.round(growth / MB)} MB`);
  });

  it("answers a chunked 101 MB body 413 without holding it", async () => {
    const hitsBefore = upstream.hits.length;
    const rssBefore = process.memoryUsage().rss;
    const res = await request(`${router.url}/api/v1/service/big/score`, { method: "POST", body: stream(101 * MB) }).catch((err: Error) => err);
    if (res instanceof Error) {
      // The router may close the connection while the client is still sending; that is a refusal too.
      assert.match(res.message, /other side closed|ECONNRESET|EPIPE|socket/i);
    } else {
      assert.equal(res.statusCode, 413);
      assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, "PayloadTooLarge");
    }
    const growth = process.memoryUsage().rss - rssBefore;
    assert.ok(growth < 64 * MB, `RSS grew ${Math.round(growth / MB)} MB while refusing a 101 MB body`);
    assert.ok(upstream.hits.length <= hitsBefore + 1, "at most the aborted attempt reached the replica");
  });

  it("answers a declared 101 MB body 413 before reading it", async () => {
    const res = await request(`${router.url}/api/v1/service/big/score`, { method: "POST", headers: { "content-length": String(101 * MB) }, body: stream(101 * MB) }).catch((err: Error) => err);
    if (!(res instanceof Error)) assert.equal(res.statusCode, 413);
  });
});
