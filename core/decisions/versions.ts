/**
 * Versions behind one scoring URI: the traffic split between the versions of a service that take
 * live traffic, and at most one mirror version that gets a copy of a share of the requests. Azure
 * ML v1 had this as AksEndpoint versions (`traffic_percentile`, one default version); v2 online
 * endpoints as `traffic` and `mirror_traffic`. The same rules serve the stack's config, the policy
 * pack, the router's settings and the CLI's `traffic` command.
 */

/** The request header that pins a version, and the response header that names the one that answered (as Azure ML's). */
export const VERSION_HEADER = "azureml-model-deployment";

/** The one version of a service that declares no `versions`. */
export const IMPLICIT_VERSION = "default";

/** At most this share of requests is mirrored (as Azure ML v2's `mirror_traffic`). */
export const MAX_MIRROR_PERCENT = 50;

/** Bodies above this size are not mirrored (counted instead): a copy is held for the mirror's request. */
export const MAX_MIRRORED_BODY_BYTES = 1024 * 1024;

/**
 * The key of one version of a service inside the router and local mode: its balancer, its
 * autoscaling, its replicas. The service's own name for its implicit version (so a service
 * without versions is keyed as it always was), `<service>.<version>` for a declared one (neither
 * name can hold a '.').
 */
export function unitOf(service: string, version?: string): string {
  return version === undefined ? service : `${service}.${version}`;
}

/** The service and version (undefined: the implicit one) a unit key stands for. */
export function parseUnit(unit: string): { service: string; version?: string } {
  const dot = unit.indexOf(".");
  return dot < 0 ? { service: unit } : { service: unit.slice(0, dot), version: unit.slice(dot + 1) };
}

/** A version's name: part of Kubernetes object names and of a header value. */
const VERSION_NAME = /^[a-z]([-a-z0-9]{0,14}[a-z0-9])?$/;

/** Whether `name` has a version name's form (the implicit version's name has it too). */
export function isVersionName(name: string): boolean {
  return VERSION_NAME.test(name);
}

export interface VersionShare {
  name: string;
  /** Percent of live traffic, an integer; the shares of a service sum to 100. */
  traffic: number;
}

export interface TrafficSplit {
  versions: VersionShare[];
  /** The version that gets a copy of `percent` % of requests; it takes no live traffic. */
  mirror?: { name: string; percent: number };
}

/** What a service's config says of one version (the fields the split depends on). */
export interface VersionSplitInput {
  name: string;
  traffic?: number;
  mirrorPercent?: number;
}

/** A problem found in a split: the key path below the service's `versions`, and the message. */
export type SplitProblem = [path: (string | number)[], message: string];

/** What is wrong with one version's own name and shares (keys below the version). */
export function shareProblems(v: VersionSplitInput): [key: string, message: string][] {
  const problems: [string, string][] = [];
  if (typeof v.name !== "string" || !isVersionName(v.name)) problems.push(["name", `'${v.name}' is not a version name: lower-case letters, digits and '-', starting with a letter, at most 16 characters`]);
  else if (v.name === IMPLICIT_VERSION) problems.push(["name", `'${IMPLICIT_VERSION}' names the one version of a service without versions; choose another name`]);
  const traffic = v.traffic ?? 0;
  if (!Number.isInteger(traffic) || traffic < 0 || traffic > 100) problems.push(["traffic", `must be an integer percent from 0 to 100, got ${traffic}`]);
  const mirror = v.mirrorPercent ?? 0;
  if (!Number.isInteger(mirror) || mirror < 0 || mirror > MAX_MIRROR_PERCENT) problems.push(["mirrorPercent", `must be an integer percent from 0 to ${MAX_MIRROR_PERCENT}, got ${mirror}`]);
  else if (mirror > 0 && traffic > 0) problems.push(["mirrorPercent", `version '${v.name}' takes live traffic (${traffic} %): a mirror version takes none`]);
  return problems;
}

/**
 * What is wrong with a service's versions, each problem with the key it concerns (empty when the
 * split is valid). `service` names the service in messages.
 */
export function splitProblems(service: string, versions: readonly VersionSplitInput[]): SplitProblem[] {
  if (versions.length === 0) return [[[], `service '${service}' declares versions: give at least one`]];
  const problems: SplitProblem[] = [];
  const seen = new Set<string>();
  let mirrors = 0;
  versions.forEach((v, i) => {
    for (const [key, message] of shareProblems(v)) problems.push([[i, key], message]);
    if (seen.has(v.name)) problems.push([[i, "name"], `'${v.name}' is used twice in service '${service}'`]);
    seen.add(v.name);
    if ((v.mirrorPercent ?? 0) > 0 && ++mirrors > 1) problems.push([[i, "mirrorPercent"], `service '${service}' can mirror to one version only`]);
  });
  // Summing to 100 also means some version takes live traffic.
  const sum = versions.reduce((total, v) => total + (v.traffic ?? 0), 0);
  // The message belongs to the last version: the one whose share a person is most likely editing.
  if (sum !== 100) problems.push([[versions.length - 1, "traffic"], `versions of '${service}' must sum to 100, got ${sum}`]);
  return problems;
}

/** The split of a valid set of versions (check `splitProblems` first). */
export function splitOf(versions: readonly VersionSplitInput[]): TrafficSplit {
  const mirror = versions.find((v) => (v.mirrorPercent ?? 0) > 0);
  return {
    versions: versions.filter((v) => (v.traffic ?? 0) > 0).map((v) => ({ name: v.name, traffic: v.traffic ?? 0 })),
    ...(mirror ? { mirror: { name: mirror.name, percent: mirror.mirrorPercent ?? 0 } } : {}),
  };
}

/** The split of a service without versions: all traffic to its one implicit version. */
export const SINGLE_VERSION: TrafficSplit = { versions: [{ name: IMPLICIT_VERSION, traffic: 100 }] };

/**
 * The version one request goes to, by weight. `random` returns a number in [0, 1) (Math.random in
 * the router; a fixed sequence in tests).
 */
export function pickVersion(split: TrafficSplit, random: () => number): string {
  let point = random() * 100;
  for (const v of split.versions) {
    if (point < v.traffic) return v.name;
    point -= v.traffic;
  }
  // Only reached through floating-point rounding at the top end: the last live version.
  return split.versions[split.versions.length - 1].name;
}

/** Whether one request is copied to the mirror version. */
export function mirrors(split: TrafficSplit, random: () => number): boolean {
  return split.mirror !== undefined && random() * 100 < split.mirror.percent;
}

/**
 * The split that `aks-inference traffic <service> blue=90 green=10 [--mirror green=10]` asks for,
 * checked against the versions the service has. Throws with the problem when it is not valid.
 */
export function parseTrafficArgs(service: string, known: readonly string[], shares: readonly string[], mirror?: string): TrafficSplit {
  const parse = (arg: string, what: string): [string, number] => {
    const m = /^([^=]+)=(\d+)$/.exec(arg);
    if (!m) throw new Error(`${what} '${arg}' is not <version>=<percent>`);
    if (!known.includes(m[1])) throw new Error(`service '${service}' has no version '${m[1]}' (it has ${known.map((k) => `'${k}'`).join(", ")})`);
    return [m[1], Number(m[2])];
  };
  const traffic = new Map<string, number>();
  for (const share of shares) {
    const [name, percent] = parse(share, "share");
    if (traffic.has(name)) throw new Error(`version '${name}' is given twice`);
    traffic.set(name, percent);
  }
  const inputs: VersionSplitInput[] = known.map((name) => ({ name, traffic: traffic.get(name) ?? 0 }));
  if (mirror !== undefined) {
    const [name, percent] = parse(mirror, "--mirror");
    inputs.find((v) => v.name === name)!.mirrorPercent = percent;
  }
  const problems = splitProblems(service, inputs);
  if (problems.length) throw new Error(problems.map(([, message]) => message).join("; "));
  return splitOf(inputs);
}

/** A version's own shares under `split` (what its routing settings carry). */
export function sharesOf(split: TrafficSplit, version: string): { traffic: number; mirrorPercent: number } {
  return {
    traffic: split.versions.find((v) => v.name === version)?.traffic ?? 0,
    mirrorPercent: split.mirror?.name === version ? split.mirror.percent : 0,
  };
}
