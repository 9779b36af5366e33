/**
 * `npm run build-images [-- --tag <tag>] [--base-image <image> | --base-from-host] [--no-smoke]`:
 * builds the router and environment images for real with the local Docker engine (opt-in: CI
 * has none), from the same Dockerfiles `pulumi up` uses, then runs them:
 *   - the router image starts its bundled program, which refuses to run outside a cluster with
 *     its documented message (what a pod without the Kubernetes environment would log);
 *   - the environment image, on the host network, downloads the dev stack's services from a
 *     local Azurite exactly as a replica in the cluster downloads them from the storage account,
 *     becomes ready, and answers /score with the sample model's real output and the entry
 *     script's answer.
 * `--base-from-host` makes a base image from this machine's Node.js (its binary, npm, the
 * libraries they link, busybox for the Dockerfiles' shell steps, the machine's CA bundle), for
 * machines that cannot pull the MCR base image.
 * On Debian: `apt-get install -y docker.io busybox-static && dockerd &`.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { Command } from "commander";
import { SCORING_ENV } from "../core/contracts/naming";
import { loadStack } from "../core/config/stackFile";
import { startAzurite } from "../local/azurite";
import { freePort } from "../local/ports";
import { waitReady } from "../local/probe";
import { createBlobContainers, replicaEnv, uploadService } from "../packaging/upload";
import { regressorOutput } from "../samples/make-regressor";

const ROOT = path.resolve(__dirname, "..");
const HOST_BASE = "aks-inference-base:host";

function docker(args: string[], input?: Buffer, env: Record<string, string> = {}): string {
  const r = spawnSync("docker", args, { input, env: { ...process.env, ...env }, encoding: "buffer", stdio: [input ? "pipe" : "ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`docker not available (${r.error.message}); install a Docker engine first`);
  if (r.status !== 0) throw new Error(`docker ${args.slice(0, 2).join(" ")} failed with exit code ${r.status}`);
  return r.stdout.toString();
}

/** Shared libraries a binary links (ldd), as absolute paths. */
function linkedLibraries(binary: string): string[] {
  const out = spawnSync("ldd", [binary], { encoding: "utf8" }).stdout;
  return [...out.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1]);
}

function which(command: string): string {
  const r = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${command} is missing (Debian: apt-get install -y ${command === "busybox" ? "busybox-static" : command})`);
  return r.stdout.trim();
}

/** The `--base-from-host` image: this machine's Node.js and npm in a minimal root file system. */
function buildHostBase(): string {
  const rootfs = mkdtempSync(path.join(os.tmpdir(), "aksinf-rootfs-"));
  try {
    const put = (file: string, at = file) => {
      const target = path.join(rootfs, at);
      mkdirSync(path.dirname(target), { recursive: true });
      copyFileSync(file, target);
    };
    const node = realpathSync(which("node"));
    // npm's bin is a link into its package: <prefix>/lib/node_modules/npm/bin/npm-cli.js.
    const npmDir = path.dirname(path.dirname(realpathSync(which("npm"))));
    const env = which("env");
    put(node, "/usr/bin/node");
    put(env, "/usr/bin/env");
    // What node and env link, plus glibc's other runtime libraries: native addons of the images
    // (onnxruntime-node needs librt) expect a whole glibc, as the MCR base has.
    const nodeLibraries = linkedLibraries(node);
    const glibc = path.dirname(nodeLibraries.find((l) => /\/libc\.so/.test(l)) ?? "/lib/x86_64-linux-gnu/libc.so.6");
    const runtime = ["librt.so.1", "libresolv.so.2", "libutil.so.1"].map((l) => path.join(glibc, l)).filter((l) => existsSync(l));
    for (const lib of new Set([...nodeLibraries, ...linkedLibraries(env), ...runtime])) put(lib);
    cpSync(npmDir, path.join(rootfs, "usr/lib/node_modules/npm"), { recursive: true, dereference: true });
    symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", path.join(rootfs, "usr/bin/npm"));
    mkdirSync(path.join(rootfs, "bin"), { recursive: true });
    copyFileSync(which("busybox"), path.join(rootfs, "bin/busybox"));
    for (const applet of ["sh", "mkdir", "cp", "rm", "ls", "cat", "mv", "ln", "chmod"]) symlinkSync("busybox", path.join(rootfs, "bin", applet));
    put("/etc/ssl/certs/ca-certificates.crt");
    mkdirSync(path.join(rootfs, "tmp"));
    chmodSync(path.join(rootfs, "tmp"), 0o1777); // after mkdir: its mode is masked by the umask
    writeFileSync(path.join(rootfs, "etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/tmp:/bin/sh\n");
    const tar = spawnSync("tar", ["-C", rootfs, "-c", "."], { maxBuffer: 1024 * 1024 * 1024 });
    if (tar.status !== 0) throw new Error("tar of the base root file system failed");
    docker(["import", "--change", "ENV PATH=/usr/bin:/bin", "--change", "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt", "-", HOST_BASE], tar.stdout);
    return HOST_BASE;
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

/** The router image: its program starts and refuses to run without a cluster, with its message. */
function smokeRouter(image: string): void {
  const r = spawnSync("docker", ["run", "--rm", image], { encoding: "utf8" });
  if (r.status !== 1 || !/runs in a Kubernetes pod/.test(r.stderr + r.stdout)) {
    throw new Error(`router image: expected exit 1 with "runs in a Kubernetes pod", got exit ${r.status}: ${(r.stderr + r.stdout).slice(-500)}`);
  }
  console.log(`✔ ${image}: the bundled router starts and refuses to run outside a cluster`);
}

/** The environment image serving the dev stack's services from Azurite, as a replica would. */
async function smokeEnvironment(image: string): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "aksinf-images-"));
  const azurite = await startAzurite(path.join(dir, "azurite"));
  const containers: string[] = [];
  try {
    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString);
    await createBlobContainers(blob);
    const stack = loadStack("dev", ROOT);
    const expectations: Record<string, { body: unknown; check: (json: unknown) => boolean }> = {
      regressor: {
        body: { data: [[1, 2, 3, 4]] },
        check: (json) => Math.abs(Number((json as { output?: number[][] }).output?.[0]?.[0]) - regressorOutput([1, 2, 3, 4])) < 1e-4,
      },
      echo: { body: { message: "from the image" }, check: (json) => (json as { echo?: unknown }).echo === "from the image" },
    };
    for (const svc of stack.services.filter((s) => s.name in expectations)) {
      const up = await uploadService(svc, ROOT, blob);
      const port = await freePort();
      const env = {
        ...replicaEnv(svc, up, azurite.connectionString),
        [SCORING_ENV.port]: String(port),
        [SCORING_ENV.replicaId]: `${svc.name}-image-check`,
        [SCORING_ENV.collectModelData]: "false",
      };
      // The connection string is a secret: handed over in the environment of `docker run`, not its arguments.
      const id = docker(["run", "-d", "--network", "host", ...Object.keys(env).flatMap((k) => ["-e", k]), image], undefined, env).trim();
      containers.push(id);
      if (!(await waitReady(`http://127.0.0.1:${port}/readyz`, { timeoutMs: 60_000, intervalMs: 250 }))) {
        const logs = spawnSync("docker", ["logs", "--tail", "20", id], { encoding: "utf8" });
        throw new Error(`environment image, service ${svc.name}: not ready within 60 s; its log:\n${logs.stdout}${logs.stderr}`);
      }
      const res = await fetch(`http://127.0.0.1:${port}/score`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(expectations[svc.name].body) });
      const json: unknown = await res.json();
      if (res.status !== 200 || !expectations[svc.name].check(json)) throw new Error(`environment image, service ${svc.name}: unexpected answer ${res.status} ${JSON.stringify(json)}`);
      console.log(`✔ ${image}: service ${svc.name} downloaded from storage, ready, answered ${JSON.stringify(json)}`);
    }
  } finally {
    for (const id of containers) spawnSync("docker", ["rm", "-f", id], { stdio: "ignore" });
    await azurite.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = new Command()
    .option("--tag <tag>", "image tag", "local")
    .option("--base-image <image>", "override the MCR base image (BASE_IMAGE build arg)")
    .option("--base-from-host", "build the base image from this machine's Node.js (no registry pull)")
    .option("--no-smoke", "only build; do not run the images")
    .parse()
    .opts<{ tag: string; baseImage?: string; baseFromHost?: boolean; smoke: boolean }>();
  if (o.baseImage && o.baseFromHost) throw new Error("--base-image and --base-from-host exclude each other");
  const baseImage = o.baseFromHost ? buildHostBase() : o.baseImage;
  const base = baseImage ? ["--build-arg", `BASE_IMAGE=${baseImage}`] : [];
  const router = `aks-inference-router:${o.tag}`;
  const environment = `aks-inference-env:${o.tag}`;
  // Host network for the build: `npm ci` inside reaches the registry the way this machine does.
  docker(["build", "--network", "host", "-f", path.join(ROOT, "router/Dockerfile"), "-t", router, ...base, ROOT]);
  docker(["build", "--network", "host", "-f", path.join(ROOT, "scoring/Dockerfile"), "-t", environment, ...base, ROOT]);
  console.log(`built ${router} and ${environment}${baseImage ? ` on ${baseImage}` : ""}`);
  if (!o.smoke) return;
  smokeRouter(router);
  await smokeEnvironment(environment);
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
