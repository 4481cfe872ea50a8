/**
 * Host generation: who a host is (identity: tracking method, IP, DNS names, cloud instance, agent,
 * OS platform and the services it runs) and its host-level state (tags, scan and processing dates),
 * derived from (seed, host index) and replayed through the scan cycles that touched it. Detections
 * live in detections.ts.
 *
 * Identity is generated from the host's origin, an (seed, index) pair that normally equals the
 * host's own; a host shared with an overlapping subscription takes its partner's pair instead, so
 * both subscriptions report the same FQDN, instance ID and agent ID for it (and, detections.ts,
 * the same vulnerabilities).
 */
import { Rng, Stream, hash32 } from './random';
import { TagCatalogue, TagDefinition, assetCriticality } from './tags';
import {
  AWS_REGIONS,
  AZURE_LOCATIONS,
  CLOUD_OPERATING_SYSTEMS,
  CLOUD_TAG_KEYS,
  DATABASE_PORTS,
  DOMAIN_TEMPLATES,
  ENVIRONMENTS,
  GCP_ZONES,
  HOST_COMMENTS,
  HOST_ROLES,
  OPERATING_SYSTEMS,
  OWNERS,
  OperatingSystem,
  OsFamily,
  PLATFORM_PORTS,
  Platform,
  ROLE_PORTS,
} from './vocabulary';

export type TrackingMethod = 'IP' | 'DNS' | 'AGENT';
export type CloudProvider = 'AWS' | 'Azure' | 'GCP';
export type MetadataKind = 'EC2' | 'AZURE' | 'GOOGLE';

export interface MetadataEntry {
  name: string;
  value: string;
  /** A failed lookup: LAST_STATUS Error with LAST_ERROR_DATE/LAST_ERROR, empty VALUE. */
  failed: boolean;
}

export interface CloudIdentity {
  provider: CloudProvider;
  service: string;
  resourceId: string;
  ec2InstanceId?: string;
  metadataKind: MetadataKind;
  metadata: readonly MetadataEntry[];
  tags: readonly { name: string; value: string }[];
}

export interface HostIdentity {
  trackingMethod: TrackingMethod;
  ip: string;
  ipv6?: string;
  dns?: string;
  dnsData?: { hostname?: string; domain?: string; fqdn?: string };
  netbios?: string;
  os: string;
  osFamily: OsFamily;
  platform: Platform;
  /** What the host is for (the first part of its host name): decides the services it runs. */
  role: string;
  /** Ports of the services it runs, ascending: port-based QIDs are found on these only. */
  services: readonly number[];
  cloud?: CloudIdentity;
  agentId?: string;
  serialNumber?: string;
  hardwareUuid?: string;
}

/** The (seed, index) a host's identity and detections are drawn from: see the header. */
export interface HostOrigin {
  seed: number;
  index: number;
}

/** One scan that a scan cycle applied to the host (times in epoch seconds). */
export interface HostScan {
  cycle: number;
  processedSec: number;
  scanSec: number;
}

export interface HostState {
  index: number;
  id: number;
  assetId: number;
  origin: HostOrigin;
  identity: HostIdentity;
  tags: readonly TagDefinition[];
  acs: number;
  firstFoundSec: number;
  /** When the last scan's results were processed: LAST_VULN_SCAN_DATETIME, vm_processed_* (doc §2). */
  processedSec: number;
  /** LAST_VM_SCANNED_DATE (vm_scan_since). */
  scanSec: number;
  scanDuration: number;
  authScanned: boolean;
  authDuration: number;
  lastBootSec?: number;
  metadataSec: number;
  comments?: string;
  /** Initial generation scan, then one per scan cycle that touched the host. */
  scans: HostScan[];
}

/** Generation limits relative to the start clock: every initial date is >= 2 h before it. */
const MIN_AGE_SEC = 2 * 3600;

const IDENTITY_KINDS = ['ip', 'dns', 'agent', 'cloud'] as const;

export function generateIdentity(seed: number, index: number): HostIdentity {
  const rng = Rng.keyed(seed, Stream.identity, index);
  const kind = IDENTITY_KINDS[rng.weighted([35, 15, 22, 28])];
  const label = index.toString(36).padStart(4, '0');
  const role = rng.pick(HOST_ROLES);
  const ipv6 = rng.chance(0.1)
    ? `fd00:${(seed & 0xffff).toString(16)}::${rng.hex(4)}:${rng.hex(4)}`
    : undefined;
  if (kind === 'cloud') return cloudIdentity(rng, seed, index, role, label, ipv6);

  const os = rng.pick(
    kind === 'ip' ? OPERATING_SYSTEMS : OPERATING_SYSTEMS.filter((o) => o.family !== 'network'),
  );
  const hostname = `${role}-${label}`;
  const domain = DOMAIN_TEMPLATES[rng.int(0, DOMAIN_TEMPLATES.length - 1)].replace(
    '{n}',
    String(seed % 1000),
  );
  const fqdn = `${hostname}.${domain}`;
  const identity: HostIdentity = {
    trackingMethod: kind === 'ip' ? 'IP' : kind === 'dns' ? 'DNS' : 'AGENT',
    ip: privateIp(seed, index, 10),
    ipv6,
    ...system(os, role, seed, index),
  };
  const naming =
    kind === 'dns' ? 0 : rng.weighted(kind === 'ip' ? [55, 10, 15, 20] : [85, 15, 0, 0]);
  // 0: DNS + full DNS_DATA, 1: DNS_DATA without FQDN, 2: DNS only (older hosts), 3: no name at all.
  if (naming === 0) {
    identity.dns = fqdn;
    identity.dnsData = { hostname, domain, fqdn };
  } else if (naming === 1) {
    identity.dns = hostname;
    identity.dnsData = { hostname };
  } else if (naming === 2) {
    identity.dns = fqdn;
  }
  if (os.family === 'windows' && naming !== 3 && rng.chance(0.9)) {
    identity.netbios = hostname.replace(/-/g, '').toUpperCase().slice(0, 15);
  }
  if (kind === 'agent') addAgent(identity, rng);
  return identity;
}

function cloudIdentity(
  rng: Rng,
  seed: number,
  index: number,
  role: string,
  label: string,
  ipv6: string | undefined,
): HostIdentity {
  const provider = (['AWS', 'Azure', 'GCP'] as const)[rng.weighted([55, 25, 20])];
  const os = rng.pick(
    provider === 'AWS' ? CLOUD_OPERATING_SYSTEMS : CLOUD_OPERATING_SYSTEMS.slice(2),
  );
  const env = rng.pick(ENVIRONMENTS);
  const identity: HostIdentity = {
    trackingMethod: rng.chance(0.6) ? 'AGENT' : 'IP',
    ip: '',
    ipv6,
    ...system(os, role, seed, index),
  };
  let hostname: string;
  let domain: string;
  let cloud: CloudIdentity;
  if (provider === 'AWS') {
    identity.ip = privateIp(seed, index, 172);
    const region = rng.pick(AWS_REGIONS);
    const instanceId = `i-0${rng.hex(16)}`;
    hostname = `ip-${identity.ip.replace(/\./g, '-')}`;
    domain = `${region}.compute.internal`;
    const metadata: MetadataEntry[] = [
      { name: 'latest/dynamic/instance-identity/document/region', value: region, failed: false },
      {
        name: 'latest/dynamic/instance-identity/document/accountId',
        value: String(rng.int(1e11, 9e11)),
        failed: false,
      },
      {
        name: 'latest/dynamic/instance-identity/document/instanceId',
        value: instanceId,
        failed: false,
      },
      {
        name: 'latest/dynamic/instance-identity/document/instanceType',
        value: rng.pick(['t3.large', 'm5.xlarge', 'c6i.2xlarge']),
        failed: false,
      },
    ];
    const publicIp = rng.weighted([40, 40, 20]);
    if (publicIp === 0) {
      metadata.push({
        name: 'latest/meta-data/public-ipv4',
        value: `3.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`,
        failed: false,
      });
    } else if (publicIp === 2) {
      metadata.push({ name: 'latest/meta-data/public-ipv4', value: '', failed: true });
    }
    cloud = {
      provider,
      service: 'EC2',
      resourceId: instanceId,
      ec2InstanceId: instanceId,
      metadataKind: 'EC2',
      metadata,
      tags: [],
    };
  } else if (provider === 'Azure') {
    identity.ip = privateIp(seed, index, 10, 1);
    const vmId = rng.uuid();
    hostname = `vm-${role}-${label}`;
    domain = 'internal.cloudapp.net';
    cloud = {
      provider,
      service: 'VM',
      resourceId: vmId,
      metadataKind: 'AZURE',
      metadata: [
        { name: 'compute/location', value: rng.pick(AZURE_LOCATIONS), failed: false },
        { name: 'compute/vmId', value: vmId, failed: false },
        { name: 'compute/subscriptionId', value: rng.uuid(), failed: false },
        { name: 'compute/resourceGroupName', value: `rg-${env}-${role}`, failed: false },
      ],
      tags: [],
    };
  } else {
    identity.ip = privateIp(seed, index, 10, 128);
    const zone = rng.pick(GCP_ZONES);
    const instanceId = String(rng.int(1e9, 4e9)) + String(rng.int(1e8, 9e8));
    hostname = `${role}-${label}`;
    domain = `${zone}.c.project-${seed % 1000}.internal`;
    cloud = {
      provider,
      service: 'Compute Engine',
      resourceId: instanceId,
      metadataKind: 'GOOGLE',
      metadata: [
        { name: 'instance/zone', value: zone, failed: false },
        { name: 'instance/id', value: instanceId, failed: false },
        { name: 'project/projectId', value: `project-${seed % 1000}`, failed: false },
      ],
      tags: [],
    };
  }
  if (rng.chance(0.85)) {
    const values = [hostname, env, rng.pick(OWNERS), `cc-${rng.int(100, 999)}`];
    cloud.tags = CLOUD_TAG_KEYS.map((name, k) => ({ name, value: values[k] })).filter(
      (_, k) => k < 2 || rng.chance(0.6),
    );
  }
  const fqdn = `${hostname}.${domain}`;
  identity.dns = fqdn;
  identity.dnsData = { hostname, domain, fqdn };
  if (os.family === 'windows')
    identity.netbios = hostname.replace(/-/g, '').toUpperCase().slice(0, 15);
  identity.cloud = cloud;
  if (identity.trackingMethod === 'AGENT') addAgent(identity, rng);
  return identity;
}

/**
 * The OS fields and the services a host runs: its platform's (SSH on Linux, SMB and RDP on Windows),
 * its role's (a web server's HTTP ports, a database's one or two database ports) and now and then
 * HTTPS or NTP. Drawn on a stream of their own, so the rest of the identity does not depend on them.
 */
function system(
  os: OperatingSystem,
  role: string,
  seed: number,
  index: number,
): Pick<HostIdentity, 'os' | 'osFamily' | 'platform' | 'role' | 'services'> {
  const rng = Rng.keyed(seed, Stream.services, index);
  const ports = new Set<number>(PLATFORM_PORTS[os.platform]);
  if (os.family !== 'network') {
    for (const port of ROLE_PORTS[role] ?? []) ports.add(port);
    if (role === 'db') {
      if (os.family === 'windows') ports.add(1433);
      else ports.add(rng.pick(DATABASE_PORTS.slice(1)));
      if (rng.chance(0.3)) ports.add(rng.pick(DATABASE_PORTS.slice(1)));
    }
    if (role === 'dc' && os.family === 'windows') [53, 88].forEach((p) => ports.add(p));
    if (rng.chance(0.25)) ports.add(443);
    if (os.family === 'linux' && rng.chance(0.2)) ports.add(123);
  }
  return {
    os: os.name,
    osFamily: os.family,
    platform: os.platform,
    role,
    services: [...ports].sort((a, b) => a - b),
  };
}

function addAgent(identity: HostIdentity, rng: Rng): void {
  identity.agentId = rng.uuid();
  identity.serialNumber = `VMware-42 ${rng.hex(2)} ${rng.hex(2)} ${rng.hex(2)}`;
  identity.hardwareUuid = rng.uuid().toUpperCase();
}

/** Unique per (seed, index) within a subscription: `first.x.y.z` with the seed in the x octet. */
function privateIp(seed: number, index: number, first: number, second?: number): string {
  const z = (index % 250) + 2;
  const y = Math.floor(index / 250) % 256;
  const x = second ?? (seed + Math.floor(index / 64000)) % 256;
  return first === 172 ? `172.${16 + (x % 16)}.${y}.${z}` : `${first}.${x}.${y}.${z}`;
}

function hostTags(rng: Rng, identity: HostIdentity, catalogue: TagCatalogue): TagDefinition[] {
  const g = catalogue.groups;
  const tags: TagDefinition[] = [g.environment[rng.weighted([60, 25, 15])]];
  tags.push(g.os[identity.osFamily === 'windows' ? 0 : identity.osFamily === 'linux' ? 1 : 2]);
  if (identity.cloud) tags.push(g.cloud[['AWS', 'Azure', 'GCP'].indexOf(identity.cloud.provider)]);
  if (rng.chance(0.5)) tags.push(rng.pick(g.location));
  if (rng.chance(0.3)) tags.push(rng.pick(g.business));
  if (rng.chance(0.6)) tags.push(g.criticality[rng.weighted([10, 25, 35, 20, 10])]);
  if (rng.chance(0.1)) tags.push(g.exposure[0]);
  if (rng.chance(0.08)) tags.push(rng.pick(g.eval));
  return tags.sort((a, b) => a.id - b.id);
}

export interface HostSource {
  seed: number;
  index: number;
  id: number;
  assetId: number;
  origin: HostOrigin;
  identity: HostIdentity;
  startSec: number;
  catalogue: TagCatalogue;
}

/** The host as first generated: last processed between 30 days and 2 hours before the start clock. */
export function generateHostState(src: HostSource): HostState {
  const rng = Rng.keyed(src.seed, Stream.hostState, src.index);
  const tags = hostTags(rng, src.identity, src.catalogue);
  const processedSec = src.startSec - MIN_AGE_SEC - rng.int(0, 30 * 86400);
  const scanSec = processedSec - rng.int(300, 2400);
  const agent = src.identity.agentId !== undefined;
  return {
    index: src.index,
    id: src.id,
    assetId: src.assetId,
    origin: src.origin,
    identity: src.identity,
    tags,
    acs: assetCriticality(tags),
    firstFoundSec: processedSec - rng.int(60, 1500) * 86400,
    processedSec,
    scanSec,
    scanDuration: rng.int(60, 3000),
    authScanned: rng.chance(0.6),
    authDuration: rng.int(60, 3000),
    lastBootSec: agent ? scanSec - rng.int(3600, 40 * 86400) : undefined,
    metadataSec: processedSec - rng.int(0, 6 * 3600),
    comments: rng.chance(0.05) ? rng.pick(HOST_COMMENTS) : undefined,
    scans: [{ cycle: 0, processedSec, scanSec }],
  };
}

export interface CycleWindow {
  /** 1-based scan cycle number. */
  cycle: number;
  /** Clock before the cycle. */
  fromSec: number;
  /** Clock after the cycle. */
  toSec: number;
}

/**
 * Applies one scan cycle to the host-level state: a new scan processed in [from + 1 h, to - 2 h],
 * strictly after the previous clock (so `vm_processed_after = previous DATETIME - 1 h` catches it)
 * and at least 2 h before the new clock (so the next such query does not catch it again).
 */
export function applyHostCycle(state: HostState, seed: number, window: CycleWindow): void {
  const rng = Rng.keyed(seed, Stream.scanCycle, state.index, window.cycle);
  const earliest = window.fromSec + 3600;
  const latest = window.toSec - MIN_AGE_SEC;
  state.processedSec = earliest + rng.int(0, latest - earliest);
  state.scanSec = state.processedSec - rng.int(300, 2400);
  state.scanDuration = rng.int(60, 3000);
  state.authDuration = rng.int(60, 3000);
  state.metadataSec = state.processedSec - rng.int(0, 3600);
  if (state.lastBootSec !== undefined && rng.chance(0.2)) {
    state.lastBootSec = state.scanSec - rng.int(600, 3 * 3600);
  }
  state.scans.push({
    cycle: window.cycle,
    processedSec: state.processedSec,
    scanSec: state.scanSec,
  });
}

/** The 2-hour rule applied at generation; scan cycles need at least 1 h + 2 h of clock movement. */
export const MIN_CYCLE_HOURS = 3;

/** Asset IDs (ASSET_ID, show_asset_id=1): ascending with the host, distinct within a subscription. */
export function assetIdAt(seed: number, index: number): number {
  return (
    20_000_000 + (seed % 90) * 1_000_000 + index * 4 + (hash32(seed, Stream.hostIds, index, 2) % 4)
  );
}
