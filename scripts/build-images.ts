/**
 * `npm run build-images [-- --tag <tag>]`: builds the router and scoring images for real with
 * the local Docker engine (opt-in: CI has none), the same Dockerfiles `pulumi up` uses.
 * On Debian: `apt-get install -y docker.io && dockerd &`.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { Command } from "commander";

function docker(args: string[]): void {
  const r = spawnSync("docker", args, { stdio: "inherit" });
  if (r.error) throw new Error(`docker not available (${r.error.message}); install a Docker engine first`);
  if (r.status !== 0) throw new Error(`docker ${args.slice(0, 2).join(" ")} failed with exit code ${r.status}`);
}

const program = new Command()
  .option("--tag <tag>", "image tag", "local")
  .option("--base-image <image>", "override the MCR base image (BASE_IMAGE build arg)")
  .parse();
const o = program.opts<{ tag: string; baseImage?: string }>();
const root = path.resolve(__dirname, "..");
const base = o.baseImage ? ["--build-arg", `BASE_IMAGE=${o.baseImage}`] : [];
try {
  docker(["build", "-f", path.join(root, "router/Dockerfile"), "-t", `aks-inference-router:${o.tag}`, ...base, root]);
  docker(["build", "-f", path.join(root, "scoring/Dockerfile"), "-t", `aks-inference-env:${o.tag}`, ...base, root]);
  docker(["run", "--rm", "--entrypoint", "node", `aks-inference-router:${o.tag}`, "-e", "process.exit(require('fs').existsSync('/app/router.js') ? 0 : 1)"]);
  console.log(`built aks-inference-router:${o.tag} and aks-inference-env:${o.tag}`);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
