/**
 * The host half shared by the `hosts` and `host_detections` converters: both records carry the
 * same Qualys host elements, so both resolve the host to its asset and emit that host's view of
 * the asset through the map's asset rows.
 */
import { VError } from 'verror';

import { DestinationRecord, StreamContext } from '../converter';
import { ASSET, SOURCE } from '../models';

export interface HostRef {
  readonly subscription: string;
  readonly hostId: string;
  readonly assetKey: string;
}

/** The contract's identity of a host record: `subscription` + Qualys host `ID` (src/records.ts). */
export function hostKey(
  stream: string,
  data: Record<string, unknown>,
): { subscription: string; hostId: string } {
  const { subscription, ID } = data;
  if (typeof subscription !== 'string' || subscription.trim() === '') {
    throw new VError('%s record (ID %j) has no subscription label', stream, ID ?? null);
  }
  if ((typeof ID !== 'number' && typeof ID !== 'string') || String(ID).trim() === '') {
    throw new VError('%s record from subscription %j has no host ID', stream, subscription);
  }
  return { subscription, hostId: String(ID).trim() };
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
