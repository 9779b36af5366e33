/**
 * Where this package's own files are: the Dockerfiles, the router's and scoring server's sources
 * and the images' dependency manifest that the image builds use as their context. It is the
 * folder of the package's package.json, wherever the package runs from: this repository, its
 * compiled copy under `dist/`, or `node_modules/aks-inference` in a platform team's program. A
 * program's own files (models, project folders, environment files) are never looked up here.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

export const PACKAGE_NAME = "aks-inference";

/** The nearest folder at or above `from` whose package.json is this package's. */
export function findPackageRoot(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === PACKAGE_NAME) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json of ${PACKAGE_NAME} at or above ${from}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(__dirname);
