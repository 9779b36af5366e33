/** Test helpers: the shipped stack files, variations of them, and lookups in an offline run. */
import * as path from "node:path";
import { parseStackConfig, type StackConfig } from "../../core/config";
import { readStackFile, stackFilePath } from "../../core/config/stackFile";
import type { Res } from "../../policies/rules";
import { runOffline, type ExistingNetwork, type PlannedResource } from "../../scripts/offline";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** Raw config of a shipped `Pulumi.<stack>.yaml`. */
export function rawStack(stack: string): Record<string, unknown> {
  return readStackFile(stackFilePath(stack, REPO_ROOT));
}

/**
 * A shipped stack as it was before its services declared versions (issue 14): every service's
 * `versions` dropped. Turning a service into versions replaces its Deployment and Service by
 * design; tests about code changes compare with this.
 */
export function stackWithoutVersions(stack: string): StackConfig {
  const raw = rawStack(stack);
  const services = raw["aks-inference:services"] as Record<string, unknown>[] | undefined;
  return parseStackConfig({ ...raw, ...(services ? { "aks-inference:services": services.map(({ versions: _v, ...s }) => s) } : {}) }, stack);
}

/** A shipped stack with some keys replaced (`{ "aks-inference:egress": "firewall" }`), validated. */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): StackConfig {
  return parseStackConfig({ ...rawStack(stack), ...overrides }, stack);
}

const sharedPlans = new Map<string, Promise<Plan>>();

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export class Plan {
  constructor(readonly resources: PlannedResource[]) {}

  /** `existing`: what Azure answers about the network team's resources (default: as documented for `cfg`). */
  static async of(cfg: StackConfig, preview = false, existing?: ExistingNetwork): Promise<Plan> {
    return new Plan(await runOffline(cfg, { preview, existing }));
  }

  /**
   * The same plan for the same config, computed once per test process: for tests that only read
   * a plan (the policy pack's, which also run under mutation testing, where each mutant would
   * otherwise re-run the Pulumi program for plans the mutated code cannot change). Never for a
   * test that changes files the stack reads between plans. The plan is frozen: a test that
   * writes to it throws instead of changing what the next test reads.
   */
  static shared(cfg: StackConfig, preview = false): Promise<Plan> {
    const key = JSON.stringify([cfg, preview]);
    let plan = sharedPlans.get(key);
    if (!plan) {
      plan = Plan.of(cfg, preview).then((p) => new Plan(deepFreeze(p.resources)));
      sharedPlans.set(key, plan);
    }
    return plan;
  }

  all(type: string): PlannedResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  one(type: string, name?: string): PlannedResource {
    const found = this.all(type).filter((r) => name === undefined || r.name === name);
    if (found.length !== 1) throw new Error(`expected one ${type}${name ? ` '${name}'` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
    return found[0];
  }

  byUrn(urn: string): PlannedResource | undefined {
    return this.resources.find((r) => r.urn === urn);
  }

  /** Whether `r` depends on `on`, directly or through other resources. */
  dependsOn(r: PlannedResource, on: PlannedResource, seen = new Set<string>()): boolean {
    for (const urn of r.dependencies) {
      if (urn === on.urn) return true;
      if (seen.has(urn)) continue;
      seen.add(urn);
      const next = this.byUrn(urn);
      if (next && this.dependsOn(next, on, seen)) return true;
    }
    return false;
  }
}

/** Reads a nested input: `input(r, "networkProfile", "outboundType")`. */
export function input(r: PlannedResource, ...keys: (string | number)[]): unknown {
  let v: unknown = r.inputs;
  for (const k of keys) v = v === undefined || v === null ? undefined : (v as Record<string | number, unknown>)[k];
  return v;
}

/** Planned resources as the policy pack sees them (custom resources, inputs as props, copied so tests may alter them). */
export const asRes = (resources: PlannedResource[]): Res[] => resources.filter((r) => r.custom).map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: structuredClone(r.inputs) }));
