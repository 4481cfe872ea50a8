/**
 * The hosts one write transaction has read or resolved, by subscription and host ID: identity
 * resolution reads a host's row anyway, so the writer takes its sequence numbers and attributes
 * from here instead of reading the row again. Valid only inside the transaction (another writer
 * may merge assets between two of ours) and until an asset merge or host move in it: both clear it.
 *
 * It also holds the resolver's rows read ahead for a batch of records (AssetResolver.prefetch):
 * each is taken by the first record of its host, and put back only if resolving it changed
 * nothing (a host whose identifiers changed, or a new one, has another row afterwards).
 */

export interface CachedHost {
  readonly seq: number;
  readonly assetKey: string;
  readonly assetSeq: number;
  /** The host's mapped attributes: as stored (JSON text), or as patched in this transaction. */
  attributes: string | Record<string, unknown>;
}

const keyOf = (subscription: string, hostId: string): string => `${subscription}\u0000${hostId}`;

export class HostCache {
  private readonly hosts = new Map<string, CachedHost>();
  /** Read ahead: the host's row, or null when the store has none. */
  private readonly ahead = new Map<string, unknown>();

  preload(subscription: string, hostId: string, row: unknown): void {
    this.ahead.set(keyOf(subscription, hostId), row);
  }

  /** The row read ahead (null: no such host), left for take(); undefined when none was. */
  peek<T>(subscription: string, hostId: string): T | null | undefined {
    return this.ahead.get(keyOf(subscription, hostId)) as T | null | undefined;
  }

  /** The row read ahead (null: no such host), once; undefined when none was. */
  take<T>(subscription: string, hostId: string): T | null | undefined {
    const key = keyOf(subscription, hostId);
    const row = this.ahead.get(key);
    if (row !== undefined) this.ahead.delete(key);
    return row as T | null | undefined;
  }

  get(subscription: string, hostId: string): CachedHost | undefined {
    return this.hosts.get(keyOf(subscription, hostId));
  }

  set(subscription: string, hostId: string, host: CachedHost): void {
    this.hosts.set(keyOf(subscription, hostId), host);
  }

  delete(subscription: string, hostId: string): void {
    this.hosts.delete(keyOf(subscription, hostId));
    this.ahead.delete(keyOf(subscription, hostId));
  }

  forget(): void {
    this.hosts.clear();
    this.ahead.clear();
  }
}
