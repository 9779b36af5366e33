/**
 * Which version of a service a request goes to. Discovery sees each version on its own (a unit,
 * core/decisions/versions.ts); this table groups them back by service and assembles the split from the
 * shares each version's settings carry, so that `aks-inference traffic` (which patches those
 * settings) takes effect as soon as discovery reports the change.
 */
import type { ServiceRoutingSettings } from "../core/contracts/routingSettings";
import { IMPLICIT_VERSION, mirrors, pickVersion, unitOf, type TrafficSplit } from "../core/decisions/versions";

/** Where one request goes: the version that answers it, and the mirror that gets a copy, if any. */
export interface VersionChoice {
  version: string;
  unit: string;
  /** The mirror version's unit, when this request is to be copied there. */
  mirrorUnit?: string;
}

interface ServiceVersions {
  split: TrafficSplit;
  units: Map<string, string>;
  /** The live shares as weights scaled to sum to 100 (a half-applied change may not); none live: empty. */
  weights: TrafficSplit;
  /** The choice for every unpinned request when one version takes all traffic and nothing is mirrored (no draw needed). */
  only?: VersionChoice;
}

export class VersionTable {
  private readonly services = new Map<string, ServiceVersions>();

  /** Rebuilds the table from every unit's settings (called when discovery reports a change). */
  rebuild(settings: Iterable<ServiceRoutingSettings>): void {
    const grouped = new Map<string, ServiceRoutingSettings[]>();
    for (const s of settings) grouped.set(s.name, [...(grouped.get(s.name) ?? []), s]);
    this.services.clear();
    for (const [name, all] of grouped) {
      const units = new Map(all.map((s) => [s.version?.name ?? IMPLICIT_VERSION, unitOf(name, s.version?.name)]));
      const live = all.filter((s) => !s.version || s.version.traffic > 0).map((s) => ({ name: s.version?.name ?? IMPLICIT_VERSION, traffic: s.version?.traffic ?? 100 }));
      const mirror = all.find((s) => (s.version?.mirrorPercent ?? 0) > 0);
      const split: TrafficSplit = { versions: live, ...(mirror?.version ? { mirror: { name: mirror.version.name, percent: mirror.version.mirrorPercent } } : {}) };
      // While a split is being changed version by version, the shares may not sum to 100: they
      // are weights, so the request still goes somewhere sensible.
      const total = live.reduce((sum, v) => sum + v.traffic, 0);
      const weights: TrafficSplit = { versions: total > 0 ? live.map((v) => ({ name: v.name, traffic: (v.traffic * 100) / total })) : [] };
      const only = live.length === 1 && !split.mirror ? { version: live[0].name, unit: units.get(live[0].name)! } : undefined;
      this.services.set(name, { units, split, weights, ...(only ? { only } : {}) });
    }
  }

  has(service: string): boolean {
    return this.services.has(service);
  }

  /** Every unit of a service (its versions), for what concerns them all (readiness). */
  unitsOf(service: string): string[] {
    return [...(this.services.get(service)?.units.values() ?? [])];
  }

  /** The service's split as the router applies it. */
  splitOf(service: string): TrafficSplit | undefined {
    return this.services.get(service)?.split;
  }

  /**
   * The version for one request: the one `pinned` names (the azureml-model-deployment header),
   * else one by weight. Undefined with a reason when the service cannot take the request.
   */
  choose(service: string, pinned: string | undefined, random: () => number): VersionChoice | { error: string } {
    const s = this.services.get(service);
    if (!s) return { error: `service '${service}' does not exist` };
    let version: string;
    if (pinned !== undefined) {
      if (!s.units.has(pinned)) return { error: `service '${service}' has no version '${pinned}' (it has ${[...s.units.keys()].map((v) => `'${v}'`).join(", ")})` };
      version = pinned;
    } else {
      // Every request of a service without versions takes this path: no draw, no allocation.
      if (s.only) return s.only;
      if (s.weights.versions.length === 0) return { error: `service '${service}' has no version taking live traffic` };
      version = pickVersion(s.weights, random);
    }
    const unit = s.units.get(version)!;
    // A pinned request for the mirror itself is a live request to it, not mirrored again.
    const mirrorUnit = s.split.mirror && s.split.mirror.name !== version && mirrors(s.split, random) ? s.units.get(s.split.mirror.name) : undefined;
    return { version, unit, ...(mirrorUnit ? { mirrorUnit } : {}) };
  }
}
