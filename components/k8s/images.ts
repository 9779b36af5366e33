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
 * exchanged for an ACR refresh token (what `az acr login --expose-token` does) at deploy time.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as dockerBuild from "@pulumi/docker-build";
import type { ModelServiceConfig } from "../../core/config";
import { IMAGE_BUILD_FILES, environmentKey, hashFiles, projectFiles, serverSourcesHash } from "../../packaging/project";
import { FORMER_TYPES, token, withFormerType } from "../legacy";

/** Username ACR expects with a token from its OAuth2 exchange. */
export const ACR_TOKEN_USER = "00000000-0000-0000-0000-000000000000";

/** Exchanges an Entra access token for an ACR refresh token usable as a docker password. */
export type AcrTokenExchange = (loginServer: string, tenantId: string, armToken: string) => Promise<string>;

export const exchangeAcrToken: AcrTokenExchange = async (loginServer, tenantId, armToken) => {
  const res = await fetch(`https://${loginServer}/oauth2/exchange`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "access_token", service: loginServer, tenant: tenantId, access_token: armToken }),
  });
  if (!res.ok) throw new Error(`ACR token exchange with ${loginServer} failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { refresh_token?: string };
  if (!body.refresh_token) throw new Error(`ACR token exchange with ${loginServer} returned no refresh_token`);
  return body.refresh_token;
};

export interface ImagesArgs {
  repoRoot: string;
  loginServer: pulumi.Input<string>;
  /** Docker password for the ACR (an ACR refresh token), secret. */
  registryPassword: pulumi.Input<string>;
  /** Use this router image instead of building one. */
  routerImage?: string;
}

/** Files the router image is built from: a change to any of them is a new router image. */
const ROUTER_SOURCES = ["core", "router"];

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
      : this.build("router", "aks-inference-router", this.sourceHash(ROUTER_SOURCES, "router/Dockerfile"), "router/Dockerfile", {});
    this.registerOutputs({ routerImage: this.routerImage });
  }

  /** Content hash of source folders plus the Dockerfile, the lock file and the bundler settings. */
  private sourceHash(dirs: string[], dockerfile: string): string {
    const root = this.args.repoRoot;
    const parts = dirs.map((d) => hashFiles(path.join(root, d), projectFiles(path.join(root, d))));
    parts.push(hashFiles(root, [dockerfile, ...IMAGE_BUILD_FILES]));
    return createHash("sha256").update(parts.join("")).digest("hex").slice(0, 16);
  }

  private build(resourceName: string, repository: string, tag: string, dockerfile: string, buildArgs: Record<string, string>): pulumi.Output<string> {
    const { loginServer, registryPassword, repoRoot } = this.args;
    const cache = pulumi.interpolate`${loginServer}/${BUILD_CACHE_REPOSITORY}:${cacheTag(repository, dockerfile, buildArgs)}`;
    const image = new dockerBuild.Image(
      `${this.name}-${resourceName}`,
      {
        tags: [pulumi.interpolate`${loginServer}/${repository}:${tag}`],
        context: { location: repoRoot },
        dockerfile: { location: path.join(repoRoot, dockerfile) },
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
    this.serverHash ??= serverSourcesHash(this.args.repoRoot);
    const { hash, dockerfile, buildArgs } = environmentKey(svc, this.args.repoRoot, this.serverHash);
    let image = this.environments.get(hash);
    if (!image) {
      image = this.build(`env-${hash}`, "aks-inference-env", hash, dockerfile, buildArgs);
      this.environments.set(hash, image);
    }
    return image;
  }
}
