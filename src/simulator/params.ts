/**
 * Request parameters of the three list APIs: which names each API has (API doc §2-4 parameter lists),
 * how each value is validated, and the typed request the server and Dataset.match* work from.
 *   - a name the API does not have            -> 400 SIMPLE_RETURN 1901
 *   - a missing `action`                      -> 400 SIMPLE_RETURN 1903
 *   - a malformed value                       -> 400 SIMPLE_RETURN 1905 naming the parameter
 * Parameters whose data does not exist in the simulated subscription are still honoured with the
 * answer that data implies: asset groups, networks and compliance scans select no host; user
 * customisations of KB entries select no QID. A few display or CSV options the simulator does not
 * model (listed below the KB table) are validated and otherwise ignored.
 */
import { parseQualysDate } from './clock';
import type { DetectionStatus } from './detections';
import type { MetadataKind } from './hosts';

export class ParamError extends Error {
  constructor(
    readonly code: 1901 | 1903 | 1905,
    message: string,
  ) {
    super(message);
  }
}

/** An inclusive range of numeric IDs (host IDs or QIDs). */
export interface IdRange {
  min: number;
  max: number;
}

export interface TagFilter {
  by: 'id' | 'name';
  include?: readonly string[];
  includeAll: boolean;
  exclude?: readonly string[];
  excludeAll: boolean;
}

export interface HostFilter {
  ids?: readonly IdRange[];
  idMin?: number;
  idMax?: number;
  ipRanges?: readonly IdRange[];
  ipv6?: ReadonlySet<string>;
  osPattern?: RegExp;
  vmScanSince?: number;
  noVmScanSince?: number;
  vmProcessedAfter?: number;
  vmProcessedBefore?: number;
  vmScanDateAfter?: number;
  vmScanDateBefore?: number;
  vmAuthScanDateAfter?: number;
  vmAuthScanDateBefore?: number;
  /** A filter on data the subscription does not have (asset groups, networks, compliance): no host. */
  selectsNothing: boolean;
  tags?: TagFilter;
  truriskMin?: number;
  truriskMax?: number;
}

export interface HostDisplay {
  showAssetId: boolean;
  showTags: boolean;
  /** Which METADATA blocks to show (host_metadata), undefined = none. */
  metadata?: ReadonlySet<MetadataKind>;
  metadataFields?: ReadonlySet<string>;
  showCloudTags: boolean;
  cloudTagFields?: ReadonlySet<string>;
}

export interface DetectionFilter {
  statuses?: ReadonlySet<DetectionStatus>;
  severities?: ReadonlySet<number>;
  vulnType?: 'Confirmed' | 'Potential';
  showIgs: boolean;
  includeIgnored: boolean;
  includeDisabled: boolean;
  qids?: readonly IdRange[];
  updatedSince?: number;
  updatedBefore?: number;
  processedAfter?: number;
  processedBefore?: number;
  lastTestedSince?: number;
  lastTestedBefore?: number;
  qdsMin?: number;
  qdsMax?: number;
}

export type HostListDetails = 'Basic' | 'All' | 'None';

export interface HostListRequest {
  api: 'host_list';
  echo: boolean;
  details: HostListDetails;
  truncationLimit: number;
  display: HostDisplay;
  showTrurisk: boolean;
  showArs: boolean;
  filter: HostFilter;
}

export interface DetectionDisplay {
  showResults: boolean;
  showQds: boolean;
  showQdsFactors: boolean;
  showReopenedInfo: boolean;
}

export interface HldRequest {
  api: 'hld';
  echo: boolean;
  truncationLimit: number;
  display: HostDisplay;
  detectionDisplay: DetectionDisplay;
  filter: HostFilter;
  detectionFilter: DetectionFilter;
}

export type KbDetails = 'Basic' | 'All' | 'None';

export interface KbFilter {
  ids?: readonly IdRange[];
  idMin?: number;
  idMax?: number;
  isPatchable?: boolean;
  modifiedAfter?: number;
  modifiedBefore?: number;
  /** last_modified_by_user_*: KB entries are never customised here, so any such filter matches none. */
  selectsNothing: boolean;
  publishedAfter?: number;
  publishedBefore?: number;
  codeModifiedAfter?: number;
  codeModifiedBefore?: number;
  discoveryMethod?:
    'Remote' | 'Authenticated' | 'RemoteOnly' | 'AuthenticatedOnly' | 'RemoteAndAuthenticated';
  discoveryAuthTypes?: ReadonlySet<string>;
}

export interface KbRequest {
  api: 'kb';
  echo: boolean;
  details: KbDetails;
  showDisabledFlag: boolean;
  showQidChangeLog: boolean;
  showSupportedModules: boolean;
  filter: KbFilter;
}

type Kind = 'bool' | 'uint' | 'date' | 'idList' | 'list' | 'text' | 'ipList' | readonly string[];

const HOST_SELECTION: Readonly<Record<string, Kind>> = {
  action: ['list'],
  echo_request: 'bool',
  show_asset_id: 'bool',
  truncation_limit: 'uint',
  ips: 'ipList',
  ipv6: 'list',
  ag_ids: 'list',
  ag_titles: 'list',
  ids: 'idList',
  id_min: 'uint',
  id_max: 'uint',
  network_ids: 'list',
  os_pattern: 'text',
  compliance_enabled: 'bool',
  vm_scan_since: 'date',
  no_vm_scan_since: 'date',
  vm_processed_before: 'date',
  vm_processed_after: 'date',
  vm_scan_date_before: 'date',
  vm_scan_date_after: 'date',
  vm_auth_scan_date_before: 'date',
  vm_auth_scan_date_after: 'date',
  use_tags: 'bool',
  show_tags: 'bool',
  tag_set_by: ['id', 'name'],
  tag_include_selector: ['any', 'all'],
  tag_exclude_selector: ['any', 'all'],
  tag_set_include: 'list',
  tag_set_exclude: 'list',
  host_metadata: ['all', 'ec2', 'azure', 'google'],
  host_metadata_fields: 'list',
  show_cloud_tags: 'bool',
  cloud_tag_fields: 'list',
};

/** Host List parameters (doc §2). */
const HOST_LIST_PARAMS: Readonly<Record<string, Kind>> = {
  ...HOST_SELECTION,
  details: ['Basic', 'Basic/AGs', 'All', 'All/AGs', 'None'],
  os_hostname: 'bool',
  compliance_scan_since: 'date',
  no_compliance_scan_since: 'date',
  scap_scan_since: 'date',
  no_scap_scan_since: 'date',
  show_ars: 'bool',
  ars_min: 'uint',
  ars_max: 'uint',
  show_ars_factors: 'bool',
  show_trurisk: 'bool',
  trurisk_min: 'uint',
  trurisk_max: 'uint',
  show_trurisk_factors: 'bool',
};

/** Host List Detection parameters (doc §3). */
const HLD_PARAMS: Readonly<Record<string, Kind>> = {
  ...HOST_SELECTION,
  show_results: 'bool',
  include_vuln_type: ['confirmed', 'potential'],
  output_format: ['XML', 'CSV', 'CSV_NO_METADATA'],
  suppress_duplicated_data_from_csv: 'bool',
  show_igs: 'bool',
  show_reopened_info: 'bool',
  vuln_detection_source: 'text',
  status: 'list',
  include_ignored: 'bool',
  include_disabled: 'bool',
  detection_updated_since: 'date',
  detection_updated_before: 'date',
  max_days_since_detection_updated: 'uint',
  detection_processed_before: 'date',
  detection_processed_after: 'date',
  detection_last_tested_since: 'date',
  detection_last_tested_before: 'date',
  detection_last_tested_since_days: 'uint',
  detection_last_tested_before_days: 'uint',
  arf_kernel_filter: ['0', '1', '2', '3', '4'],
  arf_service_filter: ['0', '1', '2', '3', '4'],
  arf_config_filter: ['0', '1', '2', '3', '4'],
  active_kernels_only: ['0', '1', '2', '3'],
  network_name: 'text',
  max_days_since_last_vm_scan: 'uint',
  qids: 'idList',
  severities: 'idList',
  filter_superseded_qids: 'bool',
  include_search_list_titles: 'text',
  exclude_search_list_titles: 'text',
  include_search_list_ids: 'idList',
  exclude_search_list_ids: 'idList',
  show_qds: 'bool',
  qds_min: 'uint',
  qds_max: 'uint',
  show_qds_factors: 'bool',
};

/** KnowledgeBase parameters (doc §4). No truncation_limit: the KB API has none. */
const KB_PARAMS: Readonly<Record<string, Kind>> = {
  action: ['list'],
  echo_request: 'bool',
  details: ['Basic', 'All', 'None'],
  ids: 'idList',
  id_min: 'uint',
  id_max: 'uint',
  is_patchable: 'bool',
  last_modified_after: 'date',
  last_modified_before: 'date',
  last_modified_by_user_after: 'date',
  last_modified_by_user_before: 'date',
  last_modified_by_service_after: 'date',
  last_modified_by_service_before: 'date',
  published_after: 'date',
  published_before: 'date',
  code_modified_after: 'date',
  code_modified_before: 'date',
  discovery_method: [
    'Remote',
    'Authenticated',
    'RemoteOnly',
    'AuthenticatedOnly',
    'RemoteAndAuthenticated',
  ],
  discovery_auth_types: 'list',
  show_supported_modules_info: 'bool',
  show_disabled_flag: 'bool',
  show_pci_reasons: 'bool',
  show_qid_change_log: 'bool',
};

// Real parameters validated but not acted on: the CSV-only switch (suppress_duplicated_data_from_csv),
// vuln_detection_source, the kernel/service/config applicability filters (arf_*, active_kernels_only:
// simulated detections carry no such flags), filter_superseded_qids and the search-list filters (no
// search lists exist), show_ars_factors / show_trurisk_factors / show_pci_reasons (their content is
// not documented [U], so nothing is emitted rather than something invented), and os_hostname.

const STATUS_VALUES: Readonly<Record<string, DetectionStatus>> = {
  new: 'New',
  active: 'Active',
  fixed: 'Fixed',
  're-opened': 'Re-Opened',
};

const MAX_TRUNCATION_LIMIT = 1_000_000;

export type ParamPairs = readonly (readonly [string, string])[];

function invalid(name: string, value: string, reason?: string): ParamError {
  return new ParamError(
    1905,
    `parameter ${name} has invalid value: ${value}${reason ? ` (${reason})` : ''}`,
  );
}

/** Checks names against the API's list and every value against its kind; returns name -> value. */
function validate(pairs: ParamPairs, spec: Readonly<Record<string, Kind>>): Map<string, string> {
  const unknown = pairs.map(([name]) => name).filter((name) => !(name in spec));
  if (unknown.length > 0) {
    throw new ParamError(1901, `Unrecognized parameter(s): ${[...new Set(unknown)].join(', ')}`);
  }
  const values = new Map<string, string>();
  for (const [name, value] of pairs) {
    if (values.has(name)) throw invalid(name, value, 'given more than once');
    checkValue(name, value, spec[name]);
    values.set(name, value);
  }
  if (!values.has('action')) throw new ParamError(1903, 'Missing required parameter(s): action');
  return values;
}

function checkValue(name: string, value: string, kind: Kind): void {
  if (Array.isArray(kind)) {
    const caseless = name === 'include_vuln_type' || name === 'host_metadata';
    const ok = caseless ? kind.includes(value.toLowerCase()) : kind.includes(value);
    if (!ok) throw invalid(name, value);
    return;
  }
  switch (kind) {
    case 'bool':
      if (value !== '0' && value !== '1') throw invalid(name, value);
      return;
    case 'uint':
      if (!/^\d+$/.test(value)) throw invalid(name, value, 'not a non-negative integer');
      return;
    case 'date':
      if (parseQualysDate(value) === undefined)
        throw invalid(name, value, 'expected YYYY-MM-DD[THH:MM:SSZ]');
      return;
    case 'idList':
      parseIdList(name, value);
      return;
    case 'ipList':
      parseIpList(name, value);
      return;
    case 'list':
      if (value.split(',').some((item) => item.trim() === ''))
        throw invalid(name, value, 'empty list item');
      return;
    case 'text':
      return;
  }
}

/**
 * `1,5,10-20`: positive integers and ascending ranges. The error text copies the real one
 * (doc §3: "neither a positive integer nor a range: abc123").
 */
export function parseIdList(name: string, value: string): IdRange[] {
  return value.split(',').map((token) => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(token);
    const min = m ? Number(m[1]) : NaN;
    const max = m && m[2] !== undefined ? Number(m[2]) : min;
    if (!m || min <= 0 || max < min) {
      throw invalid(name, value, `neither a positive integer nor a range: ${token}`);
    }
    return { min, max };
  });
}

export function ipToNumber(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip.trim());
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return ((octets[0] * 256 + octets[1]) * 256 + octets[2]) * 256 + octets[3];
}

/** `10.0.0.1`, `10.0.0.1-10.0.0.9` or `10.0.0.0/24`, comma-separated. */
function parseIpList(name: string, value: string): IdRange[] {
  return value.split(',').map((token) => {
    const [a, b] = token.split('-');
    const cidr = /^(.+)\/(\d{1,2})$/.exec(token.trim());
    if (cidr) {
      const base = ipToNumber(cidr[1]);
      const bits = Number(cidr[2]);
      if (base === undefined || bits > 32)
        throw invalid(name, value, `not an IP, range or CIDR: ${token}`);
      const size = 2 ** (32 - bits);
      const min = Math.floor(base / size) * size;
      return { min, max: min + size - 1 };
    }
    const min = ipToNumber(a);
    const max = b === undefined ? min : ipToNumber(b);
    if (min === undefined || max === undefined || max < min) {
      throw invalid(name, value, `not an IP, range or CIDR: ${token}`);
    }
    return { min, max };
  });
}

function bool(values: Map<string, string>, name: string, fallback = false): boolean {
  const v = values.get(name);
  return v === undefined ? fallback : v === '1';
}

function date(values: Map<string, string>, name: string): number | undefined {
  const v = values.get(name);
  return v === undefined ? undefined : parseQualysDate(v);
}

function uint(values: Map<string, string>, name: string): number | undefined {
  const v = values.get(name);
  return v === undefined ? undefined : Number(v);
}

function list(values: Map<string, string>, name: string): string[] | undefined {
  return values
    .get(name)
    ?.split(',')
    .map((item) => item.trim());
}

function truncationLimit(values: Map<string, string>): number {
  const limit = uint(values, 'truncation_limit') ?? 1000;
  if (limit > MAX_TRUNCATION_LIMIT) {
    throw invalid('truncation_limit', String(limit), `maximum is ${MAX_TRUNCATION_LIMIT}`);
  }
  return limit;
}

function hostDisplay(values: Map<string, string>): HostDisplay {
  const metadata = values.get('host_metadata')?.toLowerCase();
  const kinds: Record<string, MetadataKind[]> = {
    all: ['EC2', 'AZURE', 'GOOGLE'],
    ec2: ['EC2'],
    azure: ['AZURE'],
    google: ['GOOGLE'],
  };
  const metadataFields = list(values, 'host_metadata_fields');
  const cloudTagFields = list(values, 'cloud_tag_fields');
  return {
    showAssetId: bool(values, 'show_asset_id'),
    showTags: bool(values, 'show_tags'),
    metadata: metadata === undefined ? undefined : new Set(kinds[metadata]),
    metadataFields: metadataFields && new Set(metadataFields),
    showCloudTags: bool(values, 'show_cloud_tags'),
    cloudTagFields: cloudTagFields && new Set(cloudTagFields),
  };
}

/** Host selection shared by Host List and HLD; relative-day parameters count from the clock. */
function hostFilter(values: Map<string, string>, nowSec: number): HostFilter {
  const filter: HostFilter = {
    ids: values.has('ids') ? parseIdList('ids', values.get('ids') ?? '') : undefined,
    idMin: uint(values, 'id_min'),
    idMax: uint(values, 'id_max'),
    ipRanges: values.has('ips') ? parseIpList('ips', values.get('ips') ?? '') : undefined,
    ipv6: values.has('ipv6') ? new Set(list(values, 'ipv6')) : undefined,
    vmScanSince: date(values, 'vm_scan_since'),
    noVmScanSince: date(values, 'no_vm_scan_since'),
    vmProcessedAfter: date(values, 'vm_processed_after'),
    vmProcessedBefore: date(values, 'vm_processed_before'),
    vmScanDateAfter: date(values, 'vm_scan_date_after'),
    vmScanDateBefore: date(values, 'vm_scan_date_before'),
    vmAuthScanDateAfter: date(values, 'vm_auth_scan_date_after'),
    vmAuthScanDateBefore: date(values, 'vm_auth_scan_date_before'),
    selectsNothing:
      [
        'ag_ids',
        'ag_titles',
        'network_ids',
        'network_name',
        'compliance_scan_since',
        'scap_scan_since',
      ].some((n) => values.has(n)) || bool(values, 'compliance_enabled'),
    truriskMin: uint(values, 'trurisk_min') ?? uint(values, 'ars_min'),
    truriskMax: uint(values, 'trurisk_max') ?? uint(values, 'ars_max'),
  };
  const days = uint(values, 'max_days_since_last_vm_scan');
  if (days !== undefined)
    filter.vmScanSince = Math.max(filter.vmScanSince ?? -Infinity, nowSec - days * 86400);
  const pattern = values.get('os_pattern');
  if (pattern !== undefined) {
    try {
      filter.osPattern = new RegExp(pattern);
    } catch {
      throw invalid('os_pattern', pattern, 'not a valid regular expression');
    }
  }
  if (bool(values, 'use_tags')) {
    const by = values.get('tag_set_by') === 'name' ? 'name' : 'id';
    const include = list(values, 'tag_set_include');
    const exclude = list(values, 'tag_set_exclude');
    if (by === 'id') {
      for (const [name, ids] of [
        ['tag_set_include', include],
        ['tag_set_exclude', exclude],
      ] as const) {
        if (ids?.some((id) => !/^\d+$/.test(id)))
          throw invalid(name, values.get(name) ?? '', 'tag IDs expected');
      }
    }
    filter.tags = {
      by,
      include,
      includeAll: values.get('tag_include_selector') === 'all',
      exclude,
      excludeAll: values.get('tag_exclude_selector') === 'all',
    };
  }
  return filter;
}

export function parseHostListRequest(pairs: ParamPairs, nowSec: number): HostListRequest {
  const values = validate(pairs, HOST_LIST_PARAMS);
  const details = (values.get('details') ?? 'Basic').replace('/AGs', '') as HostListDetails;
  return {
    api: 'host_list',
    echo: bool(values, 'echo_request'),
    details,
    truncationLimit: truncationLimit(values),
    display: hostDisplay(values),
    showTrurisk: bool(values, 'show_trurisk'),
    showArs: bool(values, 'show_ars'),
    filter: hostFilter(values, nowSec),
  };
}

export function parseHldRequest(pairs: ParamPairs, nowSec: number): HldRequest {
  const values = validate(pairs, HLD_PARAMS);
  const format = values.get('output_format');
  if (format !== undefined && format !== 'XML') {
    throw invalid('output_format', format, 'the simulator serves XML only');
  }
  const filter = hostFilter(values, nowSec);
  const detectionFilter: DetectionFilter = {
    showIgs: bool(values, 'show_igs'),
    includeIgnored: bool(values, 'include_ignored'),
    includeDisabled: bool(values, 'include_disabled'),
    qids: values.has('qids') ? parseIdList('qids', values.get('qids') ?? '') : undefined,
    updatedSince: date(values, 'detection_updated_since'),
    updatedBefore: date(values, 'detection_updated_before'),
    processedAfter: date(values, 'detection_processed_after'),
    processedBefore: date(values, 'detection_processed_before'),
    lastTestedSince: date(values, 'detection_last_tested_since'),
    lastTestedBefore: date(values, 'detection_last_tested_before'),
    qdsMin: uint(values, 'qds_min'),
    qdsMax: uint(values, 'qds_max'),
  };
  const statuses = list(values, 'status');
  if (statuses) {
    const parsed = statuses.map((s) => STATUS_VALUES[s.toLowerCase()]);
    if (parsed.some((s) => s === undefined)) throw invalid('status', values.get('status') ?? '');
    detectionFilter.statuses = new Set(parsed);
  }
  const severities = values.get('severities');
  if (severities !== undefined) {
    const set = new Set<number>();
    for (const { min, max } of parseIdList('severities', severities)) {
      if (max > 5) throw invalid('severities', severities, 'severities are 1-5');
      for (let s = min; s <= max; s++) set.add(s);
    }
    detectionFilter.severities = set;
  }
  const vulnType = values.get('include_vuln_type')?.toLowerCase();
  if (vulnType) detectionFilter.vulnType = vulnType === 'confirmed' ? 'Confirmed' : 'Potential';
  const updatedDays = uint(values, 'max_days_since_detection_updated');
  if (updatedDays !== undefined) {
    detectionFilter.updatedSince = Math.max(
      detectionFilter.updatedSince ?? -Infinity,
      nowSec - updatedDays * 86400,
    );
  }
  const testedSinceDays = uint(values, 'detection_last_tested_since_days');
  if (testedSinceDays !== undefined) {
    detectionFilter.lastTestedSince = Math.max(
      detectionFilter.lastTestedSince ?? -Infinity,
      nowSec - testedSinceDays * 86400,
    );
  }
  const testedBeforeDays = uint(values, 'detection_last_tested_before_days');
  if (testedBeforeDays !== undefined) {
    detectionFilter.lastTestedBefore = Math.min(
      detectionFilter.lastTestedBefore ?? Infinity,
      nowSec - testedBeforeDays * 86400,
    );
  }
  return {
    api: 'hld',
    echo: bool(values, 'echo_request'),
    truncationLimit: truncationLimit(values),
    display: hostDisplay(values),
    detectionDisplay: {
      showResults: bool(values, 'show_results'),
      showQds: bool(values, 'show_qds'),
      showQdsFactors: bool(values, 'show_qds_factors'),
      showReopenedInfo: bool(values, 'show_reopened_info'),
    },
    filter,
    detectionFilter,
  };
}

export function parseKbRequest(pairs: ParamPairs): KbRequest {
  const values = validate(pairs, KB_PARAMS);
  const modifiedAfter = [
    date(values, 'last_modified_after'),
    date(values, 'last_modified_by_service_after'),
  ];
  const modifiedBefore = [
    date(values, 'last_modified_before'),
    date(values, 'last_modified_by_service_before'),
  ];
  const defined = (xs: (number | undefined)[]): number[] =>
    xs.filter((x): x is number => x !== undefined);
  const authTypes = list(values, 'discovery_auth_types');
  return {
    api: 'kb',
    echo: bool(values, 'echo_request'),
    details: (values.get('details') ?? 'Basic') as KbDetails,
    showDisabledFlag: bool(values, 'show_disabled_flag'),
    showQidChangeLog: bool(values, 'show_qid_change_log'),
    showSupportedModules: bool(values, 'show_supported_modules_info'),
    filter: {
      ids: values.has('ids') ? parseIdList('ids', values.get('ids') ?? '') : undefined,
      idMin: uint(values, 'id_min'),
      idMax: uint(values, 'id_max'),
      isPatchable: values.has('is_patchable') ? bool(values, 'is_patchable') : undefined,
      modifiedAfter:
        defined(modifiedAfter).length > 0 ? Math.max(...defined(modifiedAfter)) : undefined,
      modifiedBefore:
        defined(modifiedBefore).length > 0 ? Math.min(...defined(modifiedBefore)) : undefined,
      selectsNothing:
        values.has('last_modified_by_user_after') || values.has('last_modified_by_user_before'),
      publishedAfter: date(values, 'published_after'),
      publishedBefore: date(values, 'published_before'),
      codeModifiedAfter: date(values, 'code_modified_after'),
      codeModifiedBefore: date(values, 'code_modified_before'),
      discoveryMethod: values.get('discovery_method') as KbFilter['discoveryMethod'],
      discoveryAuthTypes: authTypes && new Set(authTypes.map((t) => t.toLowerCase())),
    },
  };
}
