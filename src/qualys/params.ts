/**
 * Request parameters for each list call, in Qualys' own names, derived from the configuration.
 * Detection filters go only to the Host List Detection API; the tag filter applies to hosts and
 * detections alike (API doc §2-3).
 */
import { QualysConfig, tagNames } from '../config';
import { Params } from './client';

/** Assets carrying any of the configured tags (tag_filter), matched by name. */
export function tagFilterParams(config: QualysConfig): Params {
  const tags = tagNames(config.tag_filter);
  if (tags.length === 0) return {};
  return {
    use_tags: '1',
    tag_set_by: 'name',
    tag_include_selector: 'any',
    tag_set_include: tags.join(','),
  };
}

/** Host List: everything the hosts stream records (API doc §2). */
export function hostListParams(config: QualysConfig): Params {
  return {
    details: 'All',
    show_asset_id: '1',
    show_tags: '1',
    show_trurisk: '1',
    host_metadata: 'all',
    show_cloud_tags: '1',
    ...tagFilterParams(config),
  };
}

/** Host List Detection: detections with QDS, reopen info and the configured filters (§3). */
export function detectionParams(config: QualysConfig): Params {
  const params: Params = {
    show_asset_id: '1',
    show_tags: '1',
    show_qds: '1',
    show_qds_factors: '1',
    show_reopened_info: '1',
    show_igs: config.include_information_gathered ? '1' : '0',
    show_results: config.include_results ? '1' : '0',
    include_ignored: config.include_ignored ? '1' : '0',
    include_disabled: config.include_disabled ? '1' : '0',
    // Always explicit: without Fixed, fixed findings never close (field lessons #8).
    status: config.statuses.join(','),
    severities: [...config.severities].sort().join(','),
    ...tagFilterParams(config),
  };
  if (config.finding_types.length === 1) {
    params.include_vuln_type = config.finding_types[0].toLowerCase();
  }
  return params;
}

/** The incremental lower bound, under each API's parameter name. */
export function sinceParams(api: 'hosts' | 'knowledge_base', since: string | undefined): Params {
  if (since === undefined) return {};
  return api === 'hosts' ? { vm_processed_after: since } : { last_modified_after: since };
}
