/**
 * The host half shared by the host converters: `hosts` and `host_detections` records carry the
 * same Qualys host elements, so both resolve the host to its asset and emit that host's view of
 * the asset through the map's asset rows (`detections` does so for hosts the store does not
 * know yet); a purged host's deletion record, of `hosts` or `detections`, withdraws that view.
 */
import { VError } from 'verror';

import { ASSET_DELETION, DestinationRecord, StreamContext } from '../converter';
import { ASSET, SOURCE } from '../models';
import { normaliseDatetime } from '../normalisers';

/** Airbyte's CDC convention: set on a record that says its rows are gone. */
export const CDC_DELETED_AT = '_ab_cdc_deleted_at';

export interface HostRef {
  readonly subscription: string;
  readonly hostId: string;
  readonly assetKey: string;
}

/**
 * The contract's identity of a host record: `subscription` + Qualys host `ID` (src/records.ts);
 * a `detections` record names its host in `HOST_ID`.
 */
export function hostKey(
  stream: string,
  data: Record<string, unknown>,
  idField: 'ID' | 'HOST_ID' = 'ID',
): { subscription: string; hostId: string } {
  const { subscription } = data;
  const id = data[idField];
  if (typeof subscription !== 'string' || subscription.trim() === '') {
    throw new VError('%s record (%s %j) has no subscription label', stream, idField, id ?? null);
  }
  if ((typeof id !== 'number' && typeof id !== 'string') || String(id).trim() === '') {
    const missing = idField === 'ID' ? 'host ID' : idField;
    throw new VError('%s record from subscription %j has no %s', stream, subscription, missing);
  }
  return { subscription, hostId: String(id).trim() };
}

/** The host and the asset it resolves to (created or merged as the identification rules say). */
export async function hostRef(
  stream: string,
  data: Record<string, unknown>,
  ctx: StreamContext,
): Promise<HostRef> {
  const { subscription, hostId } = hostKey(stream, data);
  return { subscription, hostId, assetKey: await ctx.assets.resolve(subscription, hostId, data) };
}

export function assetRecord(
  host: HostRef,
  data: Record<string, unknown>,
  ctx: StreamContext,
): DestinationRecord {
  return {
    model: ASSET,
    record: {
      assetKey: host.assetKey,
      source: SOURCE,
      subscriptions: [host.subscription],
      qualysHosts: [{ subscription: host.subscription, hostId: host.hostId }],
      ...ctx.map.asset.map(data, ctx.reject),
    },
  };
}

/** The host withdrawn (purged from Qualys, or out of the tag filter) at `deletedAt`. */
export function hostDeletion(
  stream: string,
  where: { subscription: string; hostId: string },
  deletedAt: unknown,
): DestinationRecord {
  const at = normaliseDatetime(deletedAt);
  if (at === null) {
    throw new VError(
      '%s deletion record for host %s/%s: %s %j is not a date-time',
      stream,
      where.subscription,
      where.hostId,
      CDC_DELETED_AT,
      deletedAt,
    );
  }
  return { model: ASSET_DELETION, record: { where, deletedAt: at } };
}
