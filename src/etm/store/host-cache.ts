/**
 * The hosts one write transaction has read or resolved, by subscription and host ID: identity
 * resolution reads a host's row anyway, so the writer takes its sequence numbers and attributes
 * from here instead of reading the row again. Valid only inside the transaction (another writer
 * may merge assets between two of ours) and until an asset merge or host move in it: both clear it.
 */

export interface CachedHost {
  readonly seq: number;
  readonly assetKey: string;
  readonly assetSeq: number;
  /** The host's mapped attributes: as stored (JSON text), or as patched in this transaction. */
  attributes: string | Record<string, unknown>;
}

export class HostCache {
  private readonly hosts = new Map<string, CachedHost>();

  get(subscription: string, hostId: string): CachedHost | undefined {
    return this.hosts.get(`${subscription}\u0000${hostId}`);
  }

  set(subscription: string, hostId: string, host: CachedHost): void {
    this.hosts.set(`${subscription}\u0000${hostId}`, host);
  }

  delete(subscription: string, hostId: string): void {
    this.hosts.delete(`${subscription}\u0000${hostId}`);
  }

  forget(): void {
    this.hosts.clear();
  }
}
