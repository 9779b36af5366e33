/**
 * The router's table of services: one balancer per discovered service version (unit key,
 * core/decisions/versions.ts), kept in step with discovery, and the versions grouped back by service.
 */
import type { Logger } from "pino";
import { ServiceBalancer } from "./balancer";
import type { Discovery } from "./types";
import { VersionTable } from "./versionTable";

export interface ServiceTable {
  /** By unit key: the service's name for a service without versions, `<service>.<version>` for a version. */
  balancers: Map<string, ServiceBalancer>;
  versions: VersionTable;
}

/**
 * Resolves once discovery's initial state is in the table; later changes (settings, ready
 * replicas, a service going) are applied as discovery reports them.
 */
export async function trackServices(discovery: Discovery, maxQueueLength: number, log: Logger): Promise<ServiceTable> {
  const balancers = new Map<string, ServiceBalancer>();
  const versions = new VersionTable();
  const sync = (service: string) => {
    const view = discovery.services().get(service);
    const existing = balancers.get(service);
    if (!view) {
      if (existing) {
        balancers.delete(service);
        void existing.close();
        log.info({ service }, "service removed");
      }
      return;
    }
    if (existing) existing.update(view.settings, view.replicas);
    else {
      const b = new ServiceBalancer(view.settings, maxQueueLength);
      b.update(view.settings, view.replicas);
      balancers.set(service, b);
      log.info({ service, replicas: view.replicas.length, auth: view.settings.authMode }, "service discovered");
    }
  };
  const regroup = () => versions.rebuild([...balancers.values()].map((b) => b.settings));
  discovery.onChange((unit) => {
    sync(unit);
    regroup();
  });
  await discovery.ready();
  for (const name of discovery.services().keys()) sync(name);
  regroup();
  return { balancers, versions };
}
