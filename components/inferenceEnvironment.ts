/**
 * One inference environment: network and egress first, then the cluster, registry and storage,
 * then what runs in the cluster (images, router, model services), in the order Azure ML v1's
 * connectivity chronology demands; each phase is a file of components/environment/. Its args are
 * a stack's config (core/config/environmentArgs.ts), its outputs what the stack exports; this
 * repository's program (program.ts) builds one per stack from the stack's validated config
 * (`fromStackConfig`), and other programs, in any Pulumi language, build as many as they need.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../core/config";
import { EnvironmentArgsError, deferredArgPaths, parseEnvironmentArgs, type InferenceEnvironmentArgs } from "../core/config/environmentArgs";
import { missingServiceFiles } from "../packaging/project";
import { environmentContext } from "./environment/context";
import { createInCluster } from "./environment/inCluster";
import { createNetworkAndEgress } from "./environment/network";
import { createPlatform } from "./environment/platform";
import { placement, token } from "./legacy";

export type { InferenceEnvironmentArgs } from "../core/config/environmentArgs";

/** What a program in TypeScript may add; other languages get the defaults. */
export interface InferenceEnvironmentOptions extends pulumi.ComponentResourceOptions {
  /**
   * This environment takes over a stack deployed before the component existed, whose resources
   * were registered under the stack itself with bare names ("rg", "aks", ...) and the former
   * tokens (`aks-inference:cluster:Cluster`, ...): its children keep those names (instead of
   * `<name>-rg`, ...) and get an alias to where they were, so nothing is replaced. One
   * environment per stack at most (two resources may not claim one alias).
   */
  formerStackLayout?: boolean;
}

/** A model service's endpoints. */
export interface ServiceEndpoint {
  scoringUri: string;
  swaggerUri: string;
  /** Kubernetes Deployment serving it (a service without versions). */
  deployment?: string;
  /** The Deployment of each version, by version (a service with versions). */
  deployments?: Record<string, string>;
}

/** A key-auth service's keys. */
export interface ServiceKeys {
  primaryKey: string;
  secondaryKey: string;
}

/**
 * A config `parseStackConfig` validated, handed from `fromStackConfig` to the constructor beside
 * the args: the constructor's signature is the component's schema for other languages, which
 * only know args.
 */
const VALIDATED = Symbol("validated stack config");
interface ValidatedOptions extends InferenceEnvironmentOptions {
  [VALIDATED]?: StackConfig;
}

/**
 * The args validated, as the environment `name`'s config. Checked before anything is registered;
 * the name stands in for the stack name: derived Azure names and the `stack` tag come from it.
 */
function validateArgs(name: string, args: InferenceEnvironmentArgs): StackConfig {
  // Through `construct` (another language's program) a secret arrives as an output at the top
  // level and as the wire's secret wrapper further down.
  const deferred = deferredArgPaths(args, (v) => pulumi.Output.isInstance(v) || v instanceof Promise || pulumi.runtime.isRpcSecret(v));
  if (deferred.length > 0) throw new EnvironmentArgsError(name, deferred.map((p) => `${p}: must be a plain value known when the program starts (an output, secret or promise was given)`));
  return parseEnvironmentArgs(args, name);
}

export class InferenceEnvironment extends pulumi.ComponentResource {
  readonly resourceGroupName: pulumi.Output<string>;
  readonly clusterName: pulumi.Output<string>;
  /** Cluster user kubeconfig (secret). */
  readonly kubeconfig: pulumi.Output<string>;
  readonly registryLoginServer: pulumi.Output<string>;
  readonly storageAccountName: pulumi.Output<string>;
  readonly storageBlobEndpoint: pulumi.Output<string>;
  /** Public IP clients reach the router on. */
  readonly endpointIp: pulumi.Output<string>;
  readonly endpointFqdn: pulumi.Output<string>;
  /** Host name of the scoring URIs. */
  readonly scoringHost: pulumi.Output<string>;
  /** Hosts the cluster must resolve and reach. */
  readonly requiredHosts: pulumi.Output<string[]>;
  /** With firewall egress. */
  readonly firewallPrivateIp: pulumi.Output<string | undefined>;
  /** With firewall egress. */
  readonly firewallPublicIp: pulumi.Output<string | undefined>;
  readonly routerImage: pulumi.Output<string>;
  /** Per service: scoring URI, swagger URI, Deployment name. */
  readonly services: pulumi.Output<Record<string, ServiceEndpoint>>;
  /** Per key-auth service: primary and secondary key (secret). */
  readonly serviceKeys: pulumi.Output<Record<string, ServiceKeys>>;

  /**
   * The environment of a stack config `parseStackConfig` already validated, named after its
   * stack: the config is used as it is, not turned into args and validated again.
   * @internal For this repository's program (program.ts); the package's declarations leave it
   * out, as they leave out every type that reaches zod (core/config/enums.ts).
   */
  static fromStackConfig(cfg: StackConfig, opts: InferenceEnvironmentOptions & Pick<InferenceEnvironmentArgs, "projectRoot"> = {}): InferenceEnvironment {
    const { projectRoot, ...options } = opts;
    const validated: ValidatedOptions = { ...options, [VALIDATED]: cfg };
    return new InferenceEnvironment(cfg.stack, { location: cfg.location, projectRoot }, validated);
  }

  constructor(name: string, args: InferenceEnvironmentArgs, opts: InferenceEnvironmentOptions = {}) {
    const { [VALIDATED]: validated, ...options } = opts as ValidatedOptions;
    const cfg = validated ?? validateArgs(name, args);
    super(token("InferenceEnvironment"), name, {}, options);
    // The program's files (models, project folders, environment files) are relative to it; the
    // package's own (Dockerfiles, the router's and server's sources) are found by the package.
    const projectRoot = path.resolve(args.projectRoot ?? process.cwd());
    const missing = missingServiceFiles(cfg.services, projectRoot);
    if (missing.length > 0) throw new EnvironmentArgsError(name, missing);

    const ctx = environmentContext(this, placement(this, name, options.formerStackLayout === true), cfg, projectRoot);
    const network = createNetworkAndEgress(ctx);
    const platform = createPlatform(ctx, network);
    const { images, services } = createInCluster(ctx, network, platform);
    const { cluster, registry, storage } = platform;
    const { endpoint, firewall } = network;

    this.resourceGroupName = ctx.group.name;
    this.clusterName = cluster.name;
    this.kubeconfig = cluster.kubeconfig;
    this.registryLoginServer = registry.loginServer;
    this.storageAccountName = storage.accountName;
    this.storageBlobEndpoint = storage.blobEndpoint;
    this.endpointIp = endpoint.ipAddress;
    this.endpointFqdn = endpoint.fqdn;
    this.scoringHost = network.host;
    this.requiredHosts = pulumi.output(network.hosts.map((h) => h.host));
    this.firewallPrivateIp = pulumi.output(firewall?.privateIp);
    this.firewallPublicIp = pulumi.output(firewall?.publicIp);
    this.routerImage = images.routerImage;
    this.services = pulumi.output(
      Object.fromEntries(services.map((s) => [s.serviceName, { scoringUri: s.scoringUri, swaggerUri: s.swaggerUri, ...(s.deployments ? { deployments: s.deployments } : { deployment: s.deploymentNames[0] }) }])),
    );
    this.serviceKeys = pulumi.secret(pulumi.all(Object.fromEntries(services.filter((s) => s.keys).map((s) => [s.serviceName, s.keys!]))));
    this.registerOutputs({
      resourceGroupName: this.resourceGroupName,
      clusterName: this.clusterName,
      kubeconfig: this.kubeconfig,
      registryLoginServer: this.registryLoginServer,
      storageAccountName: this.storageAccountName,
      storageBlobEndpoint: this.storageBlobEndpoint,
      endpointIp: this.endpointIp,
      endpointFqdn: this.endpointFqdn,
      scoringHost: this.scoringHost,
      requiredHosts: this.requiredHosts,
      firewallPrivateIp: this.firewallPrivateIp,
      firewallPublicIp: this.firewallPublicIp,
      routerImage: this.routerImage,
      services: this.services,
      serviceKeys: this.serviceKeys,
    });
  }
}
