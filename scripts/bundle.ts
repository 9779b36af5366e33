/**
 * The production bundles of the two runtime programs and of the CLI, built one way everywhere: by
 * the Dockerfiles (`tsx scripts/bundle.ts <router|scoring> <outfile>`), by the benchmarks, by the
 * tests that start the bundles as the images run them (bundling can break what unbundled runs
 * never see, e.g. an ESM-only dependency reading import.meta.url), and by `cli/bin.js`, which
 * caches the CLI's bundle so a command answers without compiling TypeScript.
 */
import * as path from "node:path";
import { buildSync } from "esbuild";

const REPO_ROOT = path.join(__dirname, "..");

export const BUNDLES = {
  router: { entry: "router/main.ts", external: [] },
  // onnxruntime-node is native: it stays outside the bundle (the Dockerfile copies it alongside).
  scoring: { entry: "scoring/main.ts", external: ["onnxruntime-node"] },
  // The CLI imports local/supervisor.ts, which resolves tsx's path for the replicas it would spawn
  // (the CLI never does): tsx stays a package lookup, not bundled code. The Kubernetes client
  // (commands given --kubeconfig) and the stack-file parser's zod and yaml (`hosts`) are most of
  // the CLI's code and only some commands load them: outside the bundle, they are read from
  // node_modules by those commands only, and the others start without compiling 6 MB (0.27 s ->
  // 0.10 s for `state` against local mode).
  cli: { entry: "cli/main.ts", external: ["tsx", "@kubernetes/client-node", "zod", "yaml"] },
} as const satisfies Record<string, { entry: string; external: string[] }>;
export type BundleName = keyof typeof BUNDLES;

/**
 * Bundles `entry` (a path) into one CommonJS file for Node 20 and later (the images run 24; the
 * CLI and the tests also run on a developer's Node 20); returns the project's own source
 * files it read (absolute paths, dependencies under node_modules left out), which is what
 * decides whether a cached bundle is stale.
 */
export function bundleEntry(entry: string, outfile: string, external: readonly string[] = []): string[] {
  const { metafile } = buildSync({
    entryPoints: [entry],
    outfile,
    external: [...external],
    bundle: true,
    platform: "node",
    target: "node20",
    minifySyntax: true,
    logLevel: "warning",
    // Some dependencies ship only ESM that reads import.meta.url at load time, which a CommonJS
    // bundle leaves empty (@azure/storage-common's CRC64 crashed the scoring server): give them
    // the bundle's own file URL.
    define: { "import.meta.url": "__bundle_url" },
    banner: { js: "const __bundle_url = require('node:url').pathToFileURL(__filename).href;" },
    metafile: true,
    absWorkingDir: REPO_ROOT,
  });
  return Object.keys(metafile.inputs)
    .filter((input) => !input.split("/").includes("node_modules"))
    .map((input) => path.join(REPO_ROOT, input));
}

/** Bundles one of BUNDLES; returns its own source files as bundleEntry does. */
export function bundle(name: BundleName, outfile: string): string[] {
  const { entry, external } = BUNDLES[name];
  return bundleEntry(path.join(REPO_ROOT, entry), outfile, external);
}

if (require.main === module) {
  const [name, outfile] = process.argv.slice(2);
  if (!(name in BUNDLES) || !outfile) {
    console.error(`usage: tsx scripts/bundle.ts <${Object.keys(BUNDLES).join("|")}> <outfile>`);
    process.exit(2);
  }
  bundle(name as BundleName, outfile);
}
