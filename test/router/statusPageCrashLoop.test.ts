/**
 * The status page in a real browser (Debian's headless chromium, as test/local/statusPage.test.ts)
 * for a service whose replica is in a crash loop: its row says CrashLoopBackOff with the restart
 * count and the last exit, read from the same state `aks-inference state` reads; and no other
 * site can show the page in a frame. Skipped without chromium.
 */
import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import puppeteer, { type Browser } from "puppeteer-core";
import { createAdminServer } from "../../router/admin";
import { SingleCoordinator } from "../../router/inProcess";
import { RouterMetrics } from "../../router/metrics";
import { StatusSampler } from "../../router/status";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const LOOP = `CrashLoopBackOff (restarts 5, last exit: code 1 "ModuleNotFoundError: No module named 'flaky_dep'" 12 s ago)`;

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("status page in a browser: a service in a crash loop", function () {
  this.timeout(60_000);
  let browser: Browser | undefined;
  let sampler: StatusSampler;
  let admin: http.Server;
  let adminUrl: string;
  let framing: http.Server;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`      (skipped: no chromium at ${CHROMIUM}; install it with \`apt-get install -y chromium\` or set CHROMIUM_PATH)`);
      this.skip();
    }
    const metrics = new RouterMetrics();
    const settings = () => new Map([["flaky", { minReplicas: 1, maxReplicas: 1, targetUtilization: 70, autoscale: false }]]);
    // What local mode's supervisor reports for the service (core/decisions/serviceState.ts restartSummary).
    sampler = new StatusSampler(metrics, settings, new SingleCoordinator(), { restarts: () => ({ restarts: 5, crashLoop: LOOP }) });
    admin = createAdminServer({ metrics, status: sampler, autoscaler: { localLoad: () => ({}) }, isReady: () => true });
    adminUrl = await listen(admin);
    // Another site (another origin: another port) that puts the page in a frame.
    framing = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><iframe src="${adminUrl}/" width="800" height="300"></iframe>`);
    });
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  });

  after(async () => {
    await browser?.close();
    sampler?.close();
    admin?.close();
    framing?.close();
  });

  it("shows CrashLoopBackOff with the restarts and the last exit in the service's row", async () => {
    const page = await browser!.newPage();
    await page.goto(`${adminUrl}/`);
    await page.waitForSelector('tr[data-service="flaky"]', { timeout: 10_000 });
    const row = JSON.parse(
      String(
        await page.evaluate(`(() => {
          const field = (f) => document.querySelector('tr[data-service="flaky"] td[data-field="' + f + '"]');
          return JSON.stringify({ state: field("state").dataset.state, text: field("state").textContent, why: field("state").querySelector(".why")?.textContent, restarts: field("restarts").textContent });
        })()`),
      ),
    ) as { state: string; text: string; why: string; restarts: string };
    assert.deepEqual(row, { state: "CrashLoopBackOff", text: `CrashLoopBackOff${LOOP}`, why: LOOP, restarts: "5" });
  });

  it("cannot be shown in a frame by another site", async () => {
    const page = await browser!.newPage();
    await page.goto(await listen(framing));
    await new Promise((r) => setTimeout(r, 1_000));
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(frame, "the frame exists");
    const title = await frame.evaluate("document.title").catch(() => "");
    assert.notEqual(title, "aks-inference router", `the page loaded inside another site's frame (${frame.url()})`);
  });
});
