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

/**
 * Indices (into kb.entries, ascending) of the QIDs that fit the host. Information-gathered QIDs fit
 * every host, so a pool would hold more of them than the knowledge base does; an even subset of them
 * is kept so that they are the same share of a host's detections as of the knowledge base.
 */
export function qidPool(kb: KnowledgeBase, identity: HostIdentity): Int32Array {
  let pools = poolCache.get(kb);
  if (!pools) poolCache.set(kb, (pools = new Map()));
  const key = `${identity.platform}:${identity.services.join(',')}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = Int32Array.from(
      evenInformationShare(
        kb,
        kb.entries.filter((e) => fits(e, identity)),
      ),
    );
    pools.set(key, pool);
  }
  return pool;
}

function isInformation(entry: KbEntry): boolean {
  return entry.category.informationGathered;
}

function evenInformationShare(kb: KnowledgeBase, fitting: readonly KbEntry[]): number[] {
  const share = kb.entries.filter(isInformation).length / kb.size;
  const information = fitting.filter(isInformation);
  const others = fitting.length - information.length;
  const wanted = Math.min(information.length, Math.round((others * share) / (1 - share)));
  const kept = new Set<KbEntry>();
  for (let k = 0; k < wanted; k++)
    kept.add(information[Math.floor((k * information.length) / wanted)]);
  return fitting.filter((e) => !isInformation(e) || kept.has(e)).map((e) => e.index);
}
