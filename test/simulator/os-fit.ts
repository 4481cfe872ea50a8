/**
 * How many of a simulated subscription's OS-specific findings sit on a host of another platform
 * (an Ubuntu notice on Windows 11, a Microsoft Office update on Red Hat). Read from the public
 * accessors only (host OS text, KB CATEGORY), as a security engineer would read the data, so the
 * same measure runs against any version of the simulator.
 */

/** The accessors of Dataset this measure reads (structural, so older Dataset versions fit too). */
export interface DatasetView {
  hostIds(): number[];
  host(id: number): { OS?: string } | undefined;
  detections(id: number): { QID: number }[] | undefined;
  kb(qid: number): { CATEGORY?: string } | undefined;
}

export type Family = 'windows' | 'linux' | 'network';

export interface Platform {
  /** Distribution or device kind: windows, ubuntu, rhel, centos, debian, suse, amazon, cisco, esxi. */
  name: string;
  family: Family;
}

const HOST_PLATFORMS: readonly [RegExp, Platform][] = [
  [/^Windows/, { name: 'windows', family: 'windows' }],
  [/^Ubuntu/, { name: 'ubuntu', family: 'linux' }],
  [/^Red Hat/, { name: 'rhel', family: 'linux' }],
  [/^CentOS/, { name: 'centos', family: 'linux' }],
  [/^Debian/, { name: 'debian', family: 'linux' }],
  [/^SUSE/, { name: 'suse', family: 'linux' }],
  [/^Amazon Linux/, { name: 'amazon', family: 'linux' }],
  [/^Cisco/, { name: 'cisco', family: 'network' }],
  [/^VMware ESXi/, { name: 'esxi', family: 'network' }],
];

/** KB categories whose QIDs only apply to one platform (Qualys' own category names). */
const CATEGORY_PLATFORMS: Readonly<Record<string, Platform>> = {
  Windows: { name: 'windows', family: 'windows' },
  Local: { name: 'windows', family: 'windows' },
  'Security Policy': { name: 'windows', family: 'windows' },
  Ubuntu: { name: 'ubuntu', family: 'linux' },
  'Red Hat': { name: 'rhel', family: 'linux' },
  CentOS: { name: 'centos', family: 'linux' },
  Debian: { name: 'debian', family: 'linux' },
  SUSE: { name: 'suse', family: 'linux' },
  'Amazon Linux': { name: 'amazon', family: 'linux' },
  Hardware: { name: 'cisco', family: 'network' },
  VMware: { name: 'esxi', family: 'network' },
};

/** The host's platform from its OS text; undefined for a generic fingerprint ("Linux 2.6 & newer"). */
export function hostPlatform(os: string): Platform | undefined {
  return HOST_PLATFORMS.find(([pattern]) => pattern.test(os))?.[1];
}

export function qidPlatform(category: string | undefined): Platform | undefined {
  return category === undefined ? undefined : CATEGORY_PLATFORMS[category];
}

export interface OsFit {
  /** Findings (detections of every status) whose QID belongs to one platform. */
  osSpecific: number;
  /** Of those, on a host of another OS family (Windows / Linux / network device). */
  wrongFamily: number;
  /** Of those, on a host of another platform (also counts an Ubuntu notice on Debian). */
  wrongPlatform: number;
}

export function measureOsFit(dataset: DatasetView): OsFit {
  const fit: OsFit = { osSpecific: 0, wrongFamily: 0, wrongPlatform: 0 };
  const categories = new Map<number, string | undefined>();
  for (const id of dataset.hostIds()) {
    const host = hostPlatform(dataset.host(id)?.OS ?? '');
    for (const d of dataset.detections(id) ?? []) {
      if (!categories.has(d.QID)) categories.set(d.QID, dataset.kb(d.QID)?.CATEGORY);
      const qid = qidPlatform(categories.get(d.QID));
      if (!qid) continue;
      fit.osSpecific++;
      if (qid.family !== host?.family) fit.wrongFamily++;
      if (qid.name !== host?.name) fit.wrongPlatform++;
    }
  }
  return fit;
}
