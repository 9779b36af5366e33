/**
 * The production bundles of the two runtime programs, built one way everywhere: by the
 * Dockerfiles (`tsx scripts/bundle.ts <router|scoring> <outfile>`), by the benchmarks, and by the
 * tests that start the bundles as the images run them (bundling can break what unbundled runs
 * never see, e.g. an ESM-only dependency reading import.meta.url).
 */
import * as path from "node:path";
import { buildSync } from "esbuild";

export const BUNDLES = {
  router: { entry: "router/main.ts", external: [] },
  // onnxruntime-node is native: it stays outside the bundle (the Dockerfile copies it alongside).
  scoring: { entry: "scoring/main.ts", external: ["onnxruntime-node"] },
} as const satisfies Record<string, { entry: string; external: string[] }>;
export type BundleName = keyof typeof BUNDLES;

/** Bundles `entry` (a path) into one CommonJS file for Node 20. */
export function bundleEntry(entry: string, outfile: string, external: readonly string[] = []): void {
  buildSync({
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
  });
}

export function bundle(name: BundleName, outfile: string): void {
  const { entry, external } = BUNDLES[name];
  bundleEntry(path.join(__dirname, "..", entry), outfile, external);
}

if (require.main === module) {
  const [name, outfile] = process.argv.slice(2);
  if (!(name in BUNDLES) || !outfile) {
    console.error(`usage: tsx scripts/bundle.ts <${Object.keys(BUNDLES).join("|")}> <outfile>`);
    process.exit(2);
  }
  bundle(name as BundleName, outfile);
}
