/**
 * The router and environment images, built with BuildKit (`@pulumi/docker-build`) and pushed to
 * the stack's ACR, tagged by content hash: services with the same environment share one image
 * (one resource per distinct hash).
 *
 * `pulumi preview` builds them too (nothing is pushed then), so a pull request whose Dockerfile
 * or build no longer works fails its preview instead of the `up` after merge. Layers are cached
 * in the ACR itself (a registry cache, every stage): a CI runner starts with an empty Docker,
 * and without it each preview and `up` would rebuild the dependency stages from scratch.
 *
 * The ACR admin user is off, so pushes authenticate with Entra: the deployer's ARM token is
 * exchanged for an ACR refresh token (what `az acr login --expose-token` does), as a provider
 * function (components/localFunction.ts): under mocks the mocks answer it, and nothing calls out.
 *
 * Images are built from this package's own Dockerfiles and sources (the package root is the main
 * build context, wherever the package is installed); a service's dependency file comes from the
 * program's folder through the named context `environment`.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as dockerBuild from "@pulumi/docker-build";
import type { ModelServiceConfig } from "../../core/config";
import { PACKAGE_ROOT } from "../../packaging/packageRoot";
import { IMAGE_BUILD_FILES, environmentKey, hashFiles, projectFiles, serverSourcesHash } from "../../packaging/project";
import { FORMER_TYPES, token, withFormerType } from "../legacy";
import { runNodeFunction } from "../localFunction";

/** Username ACR expects with a token from its OAuth2 exchange. */
export const ACR_TOKEN_USER = "00000000-0000-0000-0000-000000000000";

/**
 * The exchange, run by `node -e` in the command provider: login server and tenant from the
 * environment, the Entra token on stdin (never on a command line), the ACR refresh token on
 * stdout. Self-contained: its source text is the script.
 */
function acrTokenExchangeScript(): void {
  const chunks: Buffer[] = [];
  process.stdin.on("data", (c: Buffer) => chunks.push(c));
  process.stdin.on("end", async () => {
    const server = process.env.ACR_LOGIN_SERVER ?? "";
    const res = await fetch(`https://${server}/oauth2/exchange`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "access_token", service: server, tenant: process.env.ACR_TENANT_ID ?? "", access_token: Buffer.concat(chunks).toString().trim() }),
    });
    const body = (await res.json().catch(() => ({}))) as { refresh_token?: string };
    if (!res.ok || !body.refresh_token) {
      process.stderr.write(`ACR token exchange with ${server} failed: ${res.status} ${res.ok ? "no refresh_token" : res.statusText}\n`);
      process.exit(1);
    }
    process.stdout.write(body.refresh_token);
  });
}

/** The docker password for `loginServer`: an ACR refresh token for the deployer's Entra token (secret). */
export function acrPassword(loginServer: pulumi.Input<string>, tenantId: pulumi.Input<string>, armToken: pulumi.Input<string>, parent: pulumi.Resource): pulumi.Output<string> {
  return runNodeFunction(acrTokenExchangeScript, { ACR_LOGIN_SERVER: loginServer, ACR_TENANT_ID: tenantId }, armToken, parent);
}

export interface ImagesArgs {
  /** The program's folder: services' dependency files and own Dockerfiles are relative to it. */
  projectRoot: string;
  loginServer: pulumi.Input<string>;
  /** Docker password for the ACR (an ACR refresh token), secret. */
  registryPassword: pulumi.Input<string>;
  /** Use this router image instead of building one. */
  routerImage?: string;
}

/** Files the router image is built from: a change to any of them is a new router image. */
const ROUTER_SOURCES = ["core", "router"];
const ROUTER_DOCKERFILE = "router/Dockerfile";

/** The ACR repository holding the build caches, apart from the images (purged on its own). */
export const BUILD_CACHE_REPOSITORY = "aks-inference-buildcache";

/**
 * One cache per recipe (repository, Dockerfile, build arguments), not per content hash: a source
 * change reuses the cache of the build before it, and two environments with different bases or
 * dependencies do not overwrite each other's.
 */
export function cacheTag(repository: string, dockerfile: string, buildArgs: Record<string, string>): string {
  const args = Object.entries(buildArgs).sort(([a], [b]) => a.localeCompare(b));
  const recipe = createHash("sha256").update(JSON.stringify([dockerfile, args])).digest("hex").slice(0, 16);
  return `${repository.replace(/^aks-inference-/, "")}-${recipe}`;
}

export class Images extends pulumi.ComponentResource {
  readonly routerImage: pulumi.Output<string>;
  private readonly environments = new Map<string, pulumi.Output<string>>();
  private serverHash?: string;

  constructor(
    /** Prefixes the image resources' names: two Images components (two environments) never collide. */
    private readonly name: string,
    private readonly args: ImagesArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(token("Images"), name, {}, withFormerType(FORMER_TYPES.Images, opts));
    this.routerImage = args.routerImage
      ? pulumi.output(args.routerImage)
      : this.build("router", "aks-inference-router", this.sourceHash(ROUTER_SOURCES, ROUTER_DOCKERFILE), { file: path.join(PACKAGE_ROOT, ROUTER_DOCKERFILE), name: ROUTER_DOCKERFILE }, {}, {});
    this.registerOutputs({ routerImage: this.routerImage });
  }

  /** Content hash of the package's source folders plus the Dockerfile, the images' lock and the bundler settings. */
  private sourceHash(dirs: string[], dockerfile: string): string {
    const root = PACKAGE_ROOT;
    const parts = dirs.map((d) => hashFiles(path.join(root, d), projectFiles(path.join(root, d))));
    parts.push(hashFiles(root, [dockerfile, ...IMAGE_BUILD_FILES]));
    return createHash("sha256").update(parts.join("")).digest("hex").slice(0, 16);
  }

  /**
   * `dockerfile`: its absolute path, and its name as the package or config gives it (what the
   * cache tag is derived from, so the tag is the same wherever the package is installed);
   * `contexts`: named build contexts (absolute folders) beside the package root.
   */
  private build(resourceName: string, repository: string, tag: string, dockerfile: { file: string; name: string }, buildArgs: Record<string, string>, contexts: Record<string, string>): pulumi.Output<string> {
    const { loginServer, registryPassword } = this.args;
    const cache = pulumi.interpolate`${loginServer}/${BUILD_CACHE_REPOSITORY}:${cacheTag(repository, dockerfile.name, buildArgs)}`;
    const image = new dockerBuild.Image(
      `${this.name}-${resourceName}`,
      {
        tags: [pulumi.interpolate`${loginServer}/${repository}:${tag}`],
        context: {
          location: PACKAGE_ROOT,
          ...(Object.keys(contexts).length > 0 ? { named: Object.fromEntries(Object.entries(contexts).map(([name, location]) => [name, { location }])) } : {}),
        },
        dockerfile: { location: dockerfile.file },
        platforms: [dockerBuild.Platform.Linux_amd64],
        buildArgs,
        push: true,
        buildOnPreview: true,
        cacheFrom: [{ registry: { ref: cache } }],
        // `max`: the dependency stages (npm ci, conda) are the slow ones, and `min` would cache
        // only the final stage. A failed cache write slows the next build, it fails none.
        cacheTo: [{ registry: { ref: cache, mode: dockerBuild.CacheMode.Max, ignoreError: true } }],
        registries: [{ address: loginServer, username: ACR_TOKEN_USER, password: pulumi.secret(registryPassword) }],
      },
      { parent: this },
    );
    // The digest-pinned name (`<tag>@sha256:…`): pods run exactly what was pushed.
    return image.ref;
  }

  /** The environment image of a service; services with the same environment share it. */
  environmentImage(svc: ModelServiceConfig): pulumi.Output<string> {
    // The server's sources are the same for every service: hashed once per stack, not per service.
    this.serverHash ??= serverSourcesHash();
    const { hash, dockerfile, dockerfileName, buildArgs, contexts } = environmentKey(svc, this.args.projectRoot, PACKAGE_ROOT, this.serverHash);
    let image = this.environments.get(hash);
    if (!image) {
      image = this.build(`env-${hash}`, "aks-inference-env", hash, { file: dockerfile, name: dockerfileName }, buildArgs, contexts);
      this.environments.set(hash, image);
    }
    return image;
  }
}
