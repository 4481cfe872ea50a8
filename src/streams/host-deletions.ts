/**
 * Deletion records for hosts no longer listed — purged from Qualys, or outside the tag filter —
 * in Airbyte's CDC convention, for every stream that holds rows of a host (hosts,
 * host_detections, detections). Each carries `_ab_cdc_deleted_at` and, in the stream's cursor field, the
 * same time: the server's time of the listing that no longer has the host. Airbyte's dedup
 * (Postgres, Snowflake, BigQuery) applies a deletion only when its cursor is at least the stored
 * row's, and a stored row's scan time is never later than the server's clock at the listing.
 */
import { formatQualysDate } from '../config';
import { QualysClient } from '../qualys/client';
import { listAllIds } from '../qualys/lists';
import { decodeIdRuns, encodeIdRuns, idsGone, mergeIdRuns } from './id-runs';

/**
 * One listing of every host ID per client, that is per sync: hosts, host_detections and
 * detections then delete the same hosts, and the sync spends one call on it, not two.
 */
const listings = new WeakMap<QualysClient, ReturnType<typeof listAllIds>>();

function allHostIds(client: QualysClient): ReturnType<typeof listAllIds> {
  let listing = listings.get(client);
  if (listing === undefined) {
    listing = listAllIds(client, 'host_list');
    // A failed listing is not kept: the next stream tries again.
    listing.catch(() => listings.delete(client));
    listings.set(client, listing);
  }
  return listing;
}

export interface HostDeletion {
  ID: number;
  subscription: string;
  _ab_cdc_deleted_at: string;
}

/**
 * Lists every host ID now; returns a deletion (with `cursorField` set to its time) for each ID
 * of `previous` (the state's `live`, from encodeIdRuns) not listed any more, and the IDs listed
 * now as the next `live`.
 */
export async function hostDeletions(
  client: QualysClient,
  previous: string | undefined,
  cursorField: string,
): Promise<{ records: HostDeletion[]; live: string }> {
  const listed = await allHostIds(client);
  const live = mergeIdRuns(listed.runs);
  const gone = previous === undefined ? [] : idsGone(decodeIdRuns(previous, 'live'), live);
  // The server's time of the listing; the local clock only if Qualys sent none.
  const deletedAt = listed.datetime ?? formatQualysDate(new Date());
  const records = gone.map((ID) => ({
    ID,
    subscription: client.config.subscription,
    _ab_cdc_deleted_at: deletedAt,
    [cursorField]: deletedAt,
  }));
  return { records, live: encodeIdRuns(live) };
}
