/**
 * The router and environment images, built with `@pulumi/docker` and pushed to the stack's ACR,
 * tagged by content hash: an unchanged environment is never rebuilt or re-pushed, and services
 * with the same environment share one image (one resource per distinct hash).
 *
 * The ACR admin user is off, so pushes authenticate with Entra: the deployer's ARM token is
 * exchanged for an ACR refresh token (what `az acr login --expose-token` does) at deploy time.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
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
    const image = new docker.Image(
      `${this.name}-${resourceName}`,
      {
        imageName: pulumi.interpolate`${this.args.loginServer}/${repository}:${tag}`,
        build: { context: this.args.repoRoot, dockerfile: path.join(this.args.repoRoot, dockerfile), platform: "linux/amd64", args: buildArgs },
        registry: { server: this.args.loginServer, username: ACR_TOKEN_USER, password: this.args.registryPassword },
      },
      { parent: this },
    );
    // The digest-pinned name: pods run exactly what was pushed.
    return image.repoDigest;
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
