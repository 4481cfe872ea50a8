/**
 * Which QIDs can be found on a host: those of its platform (a Windows update on Windows only, an
 * Ubuntu notice on Ubuntu only) and, for a QID reported on a port, only where the host runs one of
 * its services. A host's detections are drawn from its pool. Pools depend only on the platform and
 * the services, of which few combinations exist, so they are built once per knowledge base.
 */
import type { HostIdentity } from './hosts';
import type { KbEntry, KnowledgeBase } from './kb';

const poolCache = new WeakMap<KnowledgeBase, Map<string, Int32Array>>();

/** The ports of the host's services the QID is reported on (empty for a QID found on no port). */
export function servicePorts(entry: KbEntry, identity: HostIdentity): number[] {
  return entry.ports.filter((port) => identity.services.includes(port));
}

export function fits(entry: KbEntry, identity: HostIdentity): boolean {
  if (entry.platforms && !entry.platforms.includes(identity.platform)) return false;
  return !entry.portBased || servicePorts(entry, identity).length > 0;
}

/** Indices (into kb.entries, ascending) of the QIDs that fit the host. */
export function qidPool(kb: KnowledgeBase, identity: HostIdentity): Int32Array {
  let pools = poolCache.get(kb);
  if (!pools) poolCache.set(kb, (pools = new Map()));
  const key = `${identity.platform}:${identity.services.join(',')}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = Int32Array.from(
      kb.entries.filter((entry) => fits(entry, identity)).map((entry) => entry.index),
    );
    pools.set(key, pool);
  }
  return pool;
}
