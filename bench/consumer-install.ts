/**
 * What the package costs a platform team's program to install: the packed package installed
 * offline (from the npm cache) into a fresh program, against a program with only the Pulumi SDK
 * and providers the component builds on, the baseline. Sizes are the installed files; times are
 * `npm ci` of each, alternated over rounds and given as medians (disk and CPU here are shared).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PULUMI_BASE, installConsumer, installSizes, packPackage } from "../test/support/consumer";
import type { BenchResult } from "./common";

const REPO_ROOT = path.resolve(__dirname, "..");
const ROUNDS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

export async function consumerInstall(): Promise<BenchResult> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "aks-inference-install-"));
  try {
    const tarball = packPackage(REPO_ROOT, scratch);
    const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
    const baseDeps = Object.fromEntries(PULUMI_BASE.map((p) => [p, lock.packages[`node_modules/${p}`].version]));
    const times = { base: [] as number[], package: [] as number[] };
    let sizes = { base: 0, added: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const base = path.join(scratch, `base-${round}`);
      const withPackage = path.join(scratch, `program-${round}`);
      for (const dir of [base, withPackage]) mkdirSync(dir);
      times.base.push(installConsumer(REPO_ROOT, base, undefined, { name: "base", dependencies: baseDeps }).seconds);
      cpSync(tarball, path.join(withPackage, path.basename(tarball)));
      times.package.push(installConsumer(REPO_ROOT, withPackage, path.join(withPackage, path.basename(tarball)), { name: "program", dependencies: { "aks-inference": `file:${path.basename(tarball)}` } }).seconds);
      const { baseBytes, addedBytes } = installSizes(withPackage);
      sizes = { base: baseBytes, added: addedBytes };
    }
    return {
      name: "consumer install",
      rows: [
        { metric: "installed, the Pulumi SDK and providers (baseline)", value: mb(sizes.base), unit: "MB" },
        { metric: "added by aks-inference (budget 50 MB)", value: mb(sizes.added), unit: "MB" },
        { metric: "npm ci, baseline program (median)", value: median(times.base), unit: "s" },
        { metric: "npm ci, program with aks-inference (median)", value: median(times.package), unit: "s" },
        { metric: "install time ratio, with / baseline", value: median(times.package) / median(times.base) },
      ],
      notes: [
        `npm ci --offline from the npm cache into fresh folders outside the repository, ${ROUNDS} alternated rounds; the tarball is \`npm pack\` of this repository. The baseline is ${PULUMI_BASE.join(", ")} at the versions of this repository's lock.`,
      ],
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
