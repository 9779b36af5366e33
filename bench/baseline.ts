/**
 * The router of another revision (BENCH_BASELINE_REV), bundled the way this tree's is, so a
 * benchmark can pair it with the current router: a `git worktree add` of the revision in a
 * temporary directory, this tree's bench/router-process.ts copied in (the same harness — key auth,
 * diagnostics — around the revision's router/ and core/), bundled by this tree's scripts/bundle.ts,
 * the worktree removed again. The dependencies are this tree's node_modules (linked): the pair
 * measures the code, not a lockfile change.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bundleEntry } from "../scripts/bundle";

const REPO = path.join(__dirname, "..");

/** Bundles the router harness at `rev` into `outDir`; returns the bundle's path and the revision's short hash. */
export function baselineRouterBundle(rev: string, outDir: string): { bundle: string; commit: string } {
  const git = (...args: string[]) => execFileSync("git", ["-C", REPO, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  let commit: string;
  try {
    commit = git("rev-parse", "--short", "--verify", `${rev}^{commit}`);
  } catch {
    throw new Error(`BENCH_BASELINE_REV=${rev} is not a commit of this repository`);
  }
  const tree = path.join(mkdtempSync(path.join(os.tmpdir(), "aksinf-baseline-")), "tree");
  git("worktree", "add", "--detach", tree, commit);
  try {
    symlinkSync(path.join(REPO, "node_modules"), path.join(tree, "node_modules"), "dir");
    copyFileSync(path.join(__dirname, "router-process.ts"), path.join(tree, "bench", "router-process.ts"));
    const bundle = path.join(outDir, `router-process-${commit}.js`);
    try {
      bundleEntry(path.join(tree, "bench", "router-process.ts"), bundle);
    } catch (err) {
      throw new Error(`the router of ${commit} does not bundle with this tree's bench/router-process.ts: ${(err as Error).message}`);
    }
    return { bundle, commit };
  } finally {
    git("worktree", "remove", "--force", tree);
    rmSync(path.dirname(tree), { recursive: true, force: true });
  }
}
