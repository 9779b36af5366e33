/**
 * The router's status page in a real browser: Debian's headless chromium driven by
 * puppeteer-core (no browser download at install). Local mode runs, load arrives, and the page's
 * row for `regressor` version v1 (the dev stack serves two versions of it) must show requests per second above zero and replicas rising as the
 * autoscaler adds them; a screenshot goes to test/artifacts/ (git-ignored). Without chromium
 * the test says so and is skipped (`.ci/run` installs it: `apt-get install -y chromium`).
 */
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { readKeyFile } from "../../core/contracts/keyFile";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = path.join(REPO_ROOT, "test", "artifacts");

interface RowView {
  ready: number;
  desired: number;
  rps: number;
  state: string;
}

/**
 * What the page shows for one service, read from the DOM; undefined while it has no row. Sent as
 * source text: a function would be serialized with the helpers tsx adds to it, which the page
 * does not have.
 */
async function rowOf(page: Page, service: string): Promise<RowView | undefined> {
  const json = await page.evaluate(`(() => {
    const tr = document.querySelector('tr[data-service=${JSON.stringify(service)}]');
    if (!tr) return "null";
    const field = (f) => tr.querySelector('td[data-field="' + f + '"]');
    return JSON.stringify({ ready: Number(field("replicas").dataset.ready), desired: Number(field("replicas").dataset.desired), rps: Number(field("rps").dataset.value), state: field("state").textContent });
  })()`);
  return (JSON.parse(String(json)) as RowView | null) ?? undefined;
}

describe("router status page in a browser (local mode under load)", function () {
  this.timeout(180_000);
  let local: ChildProcess | undefined;
  let exited: Promise<void>;
  let browser: Browser | undefined;
  let routerUrl: string;
  let statusUrl: string;
  let dir: string;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`      (skipped: no chromium at ${CHROMIUM}; install it with \`apt-get install -y chromium\` or set CHROMIUM_PATH)`);
      this.skip();
    }
    dir = tempDir("status-page");
    local = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), "local/main.ts", "--port", "0", "--dir", dir, "--log-format", "json"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "ignore"] });
    exited = new Promise((r) => local!.once("exit", () => r()));
    let out = "";
    [routerUrl, statusUrl] = await new Promise<[string, string]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`local mode did not start: ${out}`)), 60_000);
      local!.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const router = /router at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        const status = /status page: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (router && status) {
          clearTimeout(timer);
          resolve([router[1], status[1]]);
        }
      });
      local!.once("exit", (code) => reject(new Error(`local mode exited (${code}): ${out}`)));
    });
    // Root in a container cannot use chromium's sandbox.
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  });

  after(async () => {
    await browser?.close();
    if (local && local.exitCode === null) {
      local.kill("SIGTERM");
      await exited;
    }
  });

  it("shows regressor's requests/s above zero and its replicas rising under load", async () => {
    const page = await browser!.newPage();
    await page.setViewport({ width: 1400, height: 420 });
    await page.goto(statusUrl);
    // Before load: the page shows regressor's one replica ready (it starts with local mode).
    let before: RowView | undefined;
    const started = Date.now() + 60_000;
    while (Date.now() < started && !(before && before.ready >= 1)) {
      await new Promise((r) => setTimeout(r, 250));
      before = await rowOf(page, "regressor.v1");
    }
    assert.ok(before && before.ready >= 1, `regressor never showed a ready replica: ${JSON.stringify(before)}`);

    const keyFile = path.join(dir, "keys", "regressor.json");
    const key = readKeyFile(keyFile)?.primaryKey;
    assert.ok(key, `no key in ${keyFile}`);
    let stop = false;
    const clients = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const res = await fetch(`${routerUrl}/api/v1/service/regressor/score`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ data: [[1, 2, 3, 4]] }) });
        await res.arrayBuffer();
      }
    });
    let now = before;
    const deadline = Date.now() + 60_000;
    try {
      while (Date.now() < deadline && !(now.rps > 0 && now.ready > before.ready)) {
        await new Promise((r) => setTimeout(r, 500));
        now = (await rowOf(page, "regressor.v1")) ?? now;
      }
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, "status-page.png") });
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    assert.ok(now.rps > 0, `requests/s on the page: ${now.rps}`);
    assert.ok(now.ready > before.ready, `replicas on the page: ${before.ready} → ${now.ready} ready (desired ${now.desired})`);
    assert.ok(now.desired <= 4, "never beyond autoscaleMaxReplicas (4)");
    // Every decision listed for the service: under load the first scale-up may already have a
    // second one after it (2 → 4), listed first.
    const decisions = String(await page.evaluate(`[...document.querySelectorAll('#decisions li[data-service="regressor.v1"]')].map((li) => li.textContent).join("\\n")`));
    assert.match(decisions, /scaled regressor\.v1 1 → \d: utilization \d+% above target 70%/);
    assert.ok(!(await page.content()).includes(key), "the page never shows a key");
  });
});
