/**
 * Local mode's replicas are contained (issue 27, defect 9): what a score.py forks dies with its
 * replica, whether the replica is stopped or crashes, as a container's processes end with it;
 * and a replica's loopback port refuses callers that lack the run's secret, which only local
 * mode's router and supervisor hold.
 */
import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { REPLICA_TOKEN_HEADER } from "../../core/contracts/replicaToken";
import { startReplicas, type Replicas } from "../support/replicas";
import { tempDir } from "../support/tmp";

const TOKEN = "this-run-s-replica-token";

/** Whether `pid` runs; a zombie (ended, not yet reaped by whoever inherited it) does not. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (running(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return !running(pid);
}

describe("local mode: a replica's processes and port", function () {
  this.timeout(30_000);
  let replicas: Replicas;
  let pids: string;
  const forked: number[] = [];

  /** The pid of the `sleep` the service's score.py forked in init(). */
  async function sleeperOf(service: string): Promise<number> {
    const file = path.join(pids, `${service}.pid`);
    const deadline = Date.now() + 15_000;
    while (!existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const pid = Number(readFileSync(file, "utf8"));
    forked.push(pid);
    return pid;
  }

  before(async () => {
    const repo = tempDir("group-repo");
    pids = tempDir("group-pids");
    mkdirSync(path.join(repo, "forks"));
    // init() forks a long `sleep` (a helper process, a server of its own...) and says its pid;
    // in service `crashes` a thread then kills the replica's scoring server half a second later.
    writeFileSync(
      path.join(repo, "forks", "score.py"),
      [
        "import os, signal, subprocess, threading, time",
        "",
        "def init():",
        '    child = subprocess.Popen(["sleep", "300"])',
        `    with open(os.path.join(${JSON.stringify(pids)}, os.environ["SERVICE_NAME"] + ".pid"), "w") as f:`,
        "        f.write(str(child.pid))",
        `    with open(os.path.join(${JSON.stringify(pids)}, os.environ["SERVICE_NAME"] + ".env"), "w") as f:`,
        '        f.write(os.environ.get("AKS_INFERENCE_REPLICA_TOKEN", ""))',
        '    if os.environ["SERVICE_NAME"] == "crashes":',
        "        def die():",
        "            time.sleep(0.5)",
        "            os.kill(os.getppid(), signal.SIGKILL)",
        "        threading.Thread(target=die, daemon=True).start()",
        "",
        "def run(raw_data):",
        "    return raw_data",
        "",
      ].join("\n"),
    );
    const service = (name: string) => ({ name, sourceDirectory: "forks", entryScript: "score.py", numReplicas: 1, authEnabled: false });
    // No restart within the test: the crashed replica's processes are looked at, not its next run's.
    replicas = await startReplicas(repo, [service("stops"), service("crashes")], { replicaToken: TOKEN, backoff: { baseMs: 60_000, capMs: 60_000, resetAfterMs: 600_000 } });
  });

  after(async () => {
    await replicas?.close();
    for (const pid of forked) if (running(pid)) process.kill(pid, "SIGKILL");
  });

  it("refuses callers without local mode's secret, and is ready for the supervisor that has it", async () => {
    void replicas.supervisor.setReplicas("stops", 1);
    const s = await replicas.until("stops", (x) => x.state === "Healthy" || x.state === "Failed");
    assert.equal(s.state, "Healthy", `${JSON.stringify(s)}\n${replicas.log("stops").slice(-2000)}`);
    const url = s.replicas[0].url;
    for (const p of ["/score", "/readyz", "/swagger.json"]) {
      const res = await fetch(`${url}${p}`);
      assert.equal(res.status, 403, `${p} without the secret`);
      assert.deepEqual(await res.json(), { error: { code: "Forbidden", message: "this replica takes requests from local mode's router only" } });
    }
    const wrong = await fetch(`${url}/readyz`, { headers: { [REPLICA_TOKEN_HEADER]: "guessed" } });
    assert.equal(wrong.status, 403);
    const right = await fetch(`${url}/score`, { method: "POST", headers: { [REPLICA_TOKEN_HEADER]: TOKEN, "content-type": "application/json" }, body: '{"x": 1}' });
    assert.equal(right.status, 200);
    assert.equal(readFileSync(path.join(pids, "stops.env"), "utf8"), "", "score.py never sees the secret");
  });

  it("stopping a replica ends what its score.py forked", async () => {
    const sleeper = await sleeperOf("stops");
    assert.ok(running(sleeper), "the forked sleep runs while the replica does");
    await replicas.supervisor.setReplicas("stops", 0);
    assert.ok(await gone(sleeper, 3_000), `sleep (pid ${sleeper}) outlived its stopped replica`);
  });

  it("a crashing replica takes what its score.py forked with it", async () => {
    void replicas.supervisor.setReplicas("crashes", 1);
    const sleeper = await sleeperOf("crashes");
    const s = await replicas.until("crashes", (x) => x.replicas[0]?.status === "crashed", 15_000);
    assert.ok(await gone(sleeper, 3_000), `sleep (pid ${sleeper}) outlived its crashed replica`);
    assert.equal(s.replicas[0]?.lastExit?.signal, "SIGKILL", JSON.stringify(s));
  });
});
