/**
 * The words the generator draws from: operating systems, host roles, domains, cloud regions, KB
 * categories with their real QID ranges, title templates and HTML snippets. Kept apart so the
 * generators read as rules, not as lists. Some strings deliberately carry `&`, `<`, quotes,
 * non-ASCII and `]]>` so clients are exercised on escaping (field lessons §13).
 */

export type OsFamily = 'windows' | 'linux' | 'network';

/**
 * What a QID can require of a host: the OS it runs, at the grain of Qualys' per-distribution KB
 * categories (an Ubuntu notice fits Ubuntu only, a Windows update Windows only). `device` is an
 * IP-tracked host known only by a generic fingerprint.
 */
export type Platform =
  | 'windows'
  | 'ubuntu'
  | 'rhel'
  | 'centos'
  | 'debian'
  | 'suse'
  | 'amazon'
  | 'cisco'
  | 'esxi'
  | 'device';

export interface OperatingSystem {
  name: string;
  family: OsFamily;
  platform: Platform;
}

export const OPERATING_SYSTEMS: readonly OperatingSystem[] = [
  {
    name: 'Windows Server 2019 Datacenter 64 bit Edition Version 1809',
    family: 'windows',
    platform: 'windows',
  },
  {
    name: 'Windows Server 2022 Standard 64 bit Edition Version 21H2',
    family: 'windows',
    platform: 'windows',
  },
  {
    name: 'Windows Server 2016 Standard 64 bit Edition Version 1607',
    family: 'windows',
    platform: 'windows',
  },
  {
    name: 'Windows 10 Enterprise 64 bit Edition Version 22H2',
    family: 'windows',
    platform: 'windows',
  },
  {
    name: 'Windows 11 Enterprise 64 bit Edition Version 23H2',
    family: 'windows',
    platform: 'windows',
  },
  { name: 'Red Hat Enterprise Linux 8.9', family: 'linux', platform: 'rhel' },
  { name: 'Red Hat Enterprise Linux 9.3', family: 'linux', platform: 'rhel' },
  { name: 'Ubuntu 22.04.4 LTS', family: 'linux', platform: 'ubuntu' },
  { name: 'Ubuntu 20.04.6 LTS', family: 'linux', platform: 'ubuntu' },
  { name: 'CentOS Linux 7.9.2009', family: 'linux', platform: 'centos' },
  { name: 'Debian GNU/Linux 11.9', family: 'linux', platform: 'debian' },
  { name: 'SUSE Linux Enterprise Server 15 SP5', family: 'linux', platform: 'suse' },
  { name: 'Cisco IOS XE 17.3.4a', family: 'network', platform: 'cisco' },
  { name: 'Linux 2.6 & newer', family: 'network', platform: 'device' },
  { name: 'VMware ESXi 7.0 U3', family: 'network', platform: 'esxi' },
];

export const CLOUD_OPERATING_SYSTEMS: readonly OperatingSystem[] = [
  { name: 'Amazon Linux 2', family: 'linux', platform: 'amazon' },
  { name: 'Amazon Linux 2023', family: 'linux', platform: 'amazon' },
  { name: 'Ubuntu 22.04.4 LTS', family: 'linux', platform: 'ubuntu' },
  { name: 'Red Hat Enterprise Linux 9.3', family: 'linux', platform: 'rhel' },
  {
    name: 'Windows Server 2022 Datacenter 64 bit Edition Version 21H2',
    family: 'windows',
    platform: 'windows',
  },
];

/**
 * The services (ports) a host runs: every host those of its platform, then those of its role.
 * `db` hosts run one or two of the database ports; `dc` on Windows adds DNS and Kerberos.
 */
export const PLATFORM_PORTS: Readonly<Record<Platform, readonly number[]>> = {
  windows: [135, 139, 445, 3389],
  ubuntu: [22],
  rhel: [22],
  centos: [22],
  debian: [22],
  suse: [22],
  amazon: [22],
  cisco: [22, 161, 443],
  esxi: [22, 443, 902],
  device: [22, 80, 161],
};

export const ROLE_PORTS: Readonly<Record<string, readonly number[]>> = {
  app: [8080, 8443],
  web: [80, 443],
  db: [],
  dc: [389, 636],
  file: [2049],
  mail: [25, 993],
  build: [8080, 443],
  proxy: [80, 443, 8080],
  ws: [],
  'k8s-node': [443, 10250],
};

export const DATABASE_PORTS = [1433, 3306, 5432, 1521];

export const HOST_ROLES = [
  'app',
  'web',
  'db',
  'dc',
  'file',
  'mail',
  'build',
  'proxy',
  'ws',
  'k8s-node',
];

export const DOMAIN_TEMPLATES = [
  'corp{n}.example.com',
  'dmz.corp{n}.example.com',
  'eu.example{n}.net',
];

export const AWS_REGIONS = [
  'us-east-1',
  'us-west-2',
  'eu-west-1',
  'eu-central-1',
  'ap-southeast-2',
];
export const AZURE_LOCATIONS = ['eastus', 'westeurope', 'northeurope', 'uksouth'];
export const GCP_ZONES = ['us-central1-a', 'europe-west1-b', 'asia-east1-c'];

export const CLOUD_TAG_KEYS = ['Name', 'Environment', 'Owner', 'CostCenter'];
export const ENVIRONMENTS = ['prod', 'staging', 'dev'];
export const OWNERS = ['platform-team', 'payments', 'data-eng', 'r&d'];

export const HOST_COMMENTS = [
  'Owner: R&D <lab-ops@example.com>',
  'Decommission after Q3 "Phoenix" migration',
  'Zweigstelle München – Kassensystem',
];

export type VulnType =
  | 'Vulnerability'
  | 'Potential Vulnerability'
  | 'Information Gathered'
  | 'Vulnerability or Potential Vulnerability';

export type ResultsKind = 'package' | 'windows' | 'ssl' | 'web' | 'service' | 'info';

/**
 * One kind of QID of a category. A title about one service or product says so, so that its QIDs
 * are only found where that service runs (OpenSSH on port 22, SQL Server on Windows port 1433).
 */
export interface KbTitle {
  text: string;
  /** Reported on one of these ports (always port-based); default: the category's rule. */
  ports?: readonly number[];
  /** SOFTWARE_LIST product; default: one of the category's. */
  product?: string;
  /** Platforms it applies to, narrower than the category's (default: the category's). */
  platforms?: readonly Platform[];
}

export interface KbCategory {
  name: string;
  /** The only platforms its QIDs are found on (Qualys' per-OS categories); none = any platform. */
  platforms?: readonly Platform[];
  /** Real Qualys QID ranges for the category, so QIDs look familiar. */
  firstQid: number;
  lastQid: number;
  /** Share of the knowledge base, in percent. */
  share: number;
  informationGathered: boolean;
  /** Probability that a QID of this category whose title names no port is reported on a port. */
  portBased: number;
  ports: readonly number[];
  results: ResultsKind;
  authTypes: readonly string[];
  vendor: string;
  products: readonly string[];
  titles: readonly (string | KbTitle)[];
  /** Release suffix of package versions in RESULTS (package checks), e.g. `.el8`. */
  packageSuffix?: string;
}

const SSL_SERVICE_PORTS = [443, 8443, 636, 993, 3389];

const WEB_PORTS = [80, 443, 8080, 8443];

export const KB_CATEGORIES: readonly KbCategory[] = [
  {
    name: 'Database',
    firstQid: 19000,
    lastQid: 22999,
    share: 5,
    informationGathered: false,
    portBased: 1,
    ports: DATABASE_PORTS,
    results: 'service',
    authTypes: [],
    vendor: 'oracle',
    products: ['mysql', 'postgresql', 'sql_server'],
    titles: [
      {
        text: 'Oracle MySQL Server Multiple Vulnerabilities ({advisory})',
        ports: [3306],
        product: 'mysql',
      },
      {
        text: 'PostgreSQL Prior to {version} Multiple Vulnerabilities',
        ports: [5432],
        product: 'postgresql',
      },
      {
        text: 'Microsoft SQL Server Elevation of Privilege Vulnerability ({kb})',
        ports: [1433],
        product: 'sql_server',
        platforms: ['windows'],
      },
      {
        text: 'Oracle Database Server Critical Patch Update - {month} {year}',
        ports: [1521],
        product: 'database_server',
      },
    ],
  },
  {
    name: 'General remote services',
    firstQid: 38000,
    lastQid: 41999,
    share: 6,
    informationGathered: false,
    portBased: 1,
    ports: [22, 443, 8443, 25, 161, 123],
    results: 'ssl',
    authTypes: [],
    vendor: 'openbsd',
    products: ['openssh', 'openssl'],
    titles: [
      { text: 'SSL/TLS Server supports TLSv1.0', ports: SSL_SERVICE_PORTS, product: 'openssl' },
      {
        text: 'Weak SSL/TLS Cipher Suites Supported (RC4 & 3DES)',
        ports: SSL_SERVICE_PORTS,
        product: 'openssl',
      },
      {
        text: 'OpenSSH Prior to {version} Multiple Vulnerabilities',
        ports: [22],
        product: 'openssh',
      },
      { text: 'SSL Certificate - Self-Signed Certificate', ports: SSL_SERVICE_PORTS },
      { text: 'SNMP Default Community Name (public)', ports: [161] },
    ],
  },
  {
    name: 'Hardware',
    platforms: ['cisco'],
    firstQid: 42000,
    lastQid: 44999,
    share: 4,
    informationGathered: false,
    portBased: 0.6,
    ports: [443, 22, 161],
    results: 'service',
    authTypes: ['Unix'],
    vendor: 'cisco',
    products: ['ios_xe', 'asa_software'],
    titles: [
      'Cisco IOS XE Software Web UI Privilege Escalation Vulnerability (cisco-sa-{advisory})',
      'Cisco Adaptive Security Appliance "WebVPN" Denial of Service Vulnerability',
    ],
  },
  {
    name: 'Information gathering',
    firstQid: 45000,
    lastQid: 49999,
    share: 8,
    informationGathered: true,
    portBased: 0,
    ports: [],
    results: 'info',
    authTypes: [],
    vendor: 'qualys',
    products: ['scanner'],
    titles: [
      'Host Scan Time - Scanner',
      'Open TCP Services List',
      'Operating System Detected',
      { text: 'SSL Certificate - Information', ports: SSL_SERVICE_PORTS },
      'Traceroute',
      'DNS Host Name',
      { text: 'Installed Applications Enumerated From Windows Installer', platforms: ['windows'] },
    ],
  },
  {
    name: 'Web server',
    firstQid: 86000,
    lastQid: 89999,
    share: 6,
    informationGathered: false,
    portBased: 1,
    ports: WEB_PORTS,
    results: 'web',
    authTypes: [],
    vendor: 'apache',
    products: ['http_server', 'nginx', 'tomcat'],
    titles: [
      {
        text: 'Apache HTTP Server Prior to {version} Multiple Vulnerabilities',
        ports: [80, 443],
        product: 'http_server',
      },
      {
        text: 'nginx HTTP/2 "Rapid Reset" Denial of Service Vulnerability',
        ports: [80, 443],
        product: 'nginx',
      },
      {
        text: 'Apache Tomcat Information Disclosure Vulnerability ({advisory})',
        ports: [8080, 8443],
        product: 'tomcat',
      },
    ],
  },
  {
    name: 'Windows',
    platforms: ['windows'],
    firstQid: 90000,
    lastQid: 99999,
    share: 17,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'windows',
    authTypes: ['Windows'],
    vendor: 'microsoft',
    products: ['windows_server_2019', 'windows_10', 'windows_server_2022'],
    titles: [
      'Microsoft Windows Security Update for {month} {year}',
      'Microsoft Windows SMB Remote Code Execution Vulnerability ({kb})',
      'Microsoft Edge (Chromium-based) <= {version} "Use-after-free" & Type Confusion',
    ],
  },
  {
    name: 'Local',
    platforms: ['windows'],
    firstQid: 100000,
    lastQid: 119999,
    share: 10,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'windows',
    authTypes: ['Windows'],
    vendor: 'microsoft',
    products: ['.net_framework', 'office', 'visual_c++'],
    titles: [
      {
        text: 'Microsoft .NET Framework Security Update for {month} {year}',
        product: '.net_framework',
      },
      { text: 'Microsoft Office Remote Code Execution Vulnerability ({kb})', product: 'office' },
      { text: 'Oracle Java SE Critical Patch Update - {month} {year}', product: 'jre' },
    ],
  },
  {
    name: 'Security Policy',
    platforms: ['windows'],
    firstQid: 125000,
    lastQid: 129999,
    share: 3,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'windows',
    authTypes: ['Windows'],
    vendor: 'microsoft',
    products: ['windows'],
    titles: [
      'Microsoft Windows Explorer AutoPlay Not Disabled',
      'Windows Remote Desktop "NLA" Not Enforced',
    ],
  },
  {
    name: 'Web Application',
    firstQid: 150000,
    lastQid: 159999,
    share: 5,
    informationGathered: false,
    portBased: 1,
    ports: WEB_PORTS,
    results: 'web',
    authTypes: [],
    vendor: 'apache',
    products: ['log4j', 'struts'],
    titles: [
      {
        text: 'Apache Log4j Remote Code Execution (Log4Shell)',
        ports: [8080, 8443],
        product: 'log4j',
      },
      'Cross-Site Scripting (XSS) in "<search>" Parameter',
      'XML External Entity (XXE) Injection',
    ],
  },
  {
    name: 'Debian',
    platforms: ['debian'],
    firstQid: 170000,
    lastQid: 189999,
    share: 4,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'package',
    authTypes: ['Unix'],
    vendor: 'debian',
    products: ['debian_linux'],
    titles: ['Debian Security Update for {package} (DSA {advisory}-1)'],
    packageSuffix: '+deb11u1',
  },
  {
    name: 'Ubuntu',
    platforms: ['ubuntu'],
    firstQid: 196000,
    lastQid: 215999,
    share: 9,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'package',
    authTypes: ['Unix'],
    vendor: 'canonical',
    products: ['ubuntu_linux'],
    titles: ['Ubuntu Security Notification for {package} Vulnerabilities (USN-{advisory}-1)'],
    packageSuffix: '-0ubuntu0.22.04.1',
  },
  {
    name: 'VMware',
    platforms: ['esxi'],
    firstQid: 216000,
    lastQid: 217999,
    share: 2,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'service',
    authTypes: ['Unix'],
    vendor: 'vmware',
    products: ['esxi'],
    titles: ['VMware ESXi Multiple Security Vulnerabilities (VMSA-{year}-{advisory})'],
  },
  {
    name: 'Red Hat',
    platforms: ['rhel'],
    firstQid: 236000,
    lastQid: 245999,
    share: 7,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'package',
    authTypes: ['Unix'],
    vendor: 'redhat',
    products: ['enterprise_linux'],
    titles: ['Red Hat Update for {package} (RHSA-{year}:{advisory})'],
    packageSuffix: '.el9',
  },
  {
    name: 'CentOS',
    platforms: ['centos'],
    firstQid: 256000,
    lastQid: 265999,
    share: 5,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'package',
    authTypes: ['Unix'],
    vendor: 'centos',
    products: ['centos'],
    titles: ['CentOS Security Update for {package} (CESA-{year}:{advisory})'],
    packageSuffix: '.el7',
  },
  {
    name: 'Amazon Linux',
    platforms: ['amazon'],
    firstQid: 350000,
    lastQid: 359999,
    share: 6,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'package',
    authTypes: ['Unix'],
    vendor: 'amazon',
    products: ['amazon_linux'],
    titles: ['Amazon Linux Security Advisory for {package}: ALAS2-{year}-{advisory}'],
    packageSuffix: '.amzn2',
  },
  {
    name: 'SUSE',
    platforms: ['suse'],
    firstQid: 750000,
    lastQid: 759999,
    share: 3,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'package',
    authTypes: ['Unix'],
    vendor: 'suse',
    products: ['linux_enterprise_server'],
    titles: ['SUSE Enterprise Linux Security Update for {package} (SUSE-SU-{year}:{advisory}-1)'],
    packageSuffix: '-150500.3.1',
  },
];

export const PACKAGES = [
  'openssl-libs',
  'kernel',
  'glibc',
  'sudo',
  'curl',
  'libxml2',
  'python3',
  'bind-utils',
  'zlib',
];
export const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
];

export const THREAT_INTEL: readonly { id: number; name: string }[] = [
  { id: 2, name: 'Exploit_Public' },
  { id: 4, name: 'High_Lateral_Movement' },
  { id: 5, name: 'Easy_Exploit' },
  { id: 6, name: 'High_Data_Loss' },
  { id: 7, name: 'Denial_of_Service' },
  { id: 8, name: 'No_Patch' },
  { id: 11, name: 'Wormable' },
  { id: 13, name: 'Privilege_Escalation' },
  { id: 14, name: 'Unauthenticated_Exploitation' },
  { id: 15, name: 'Remote_Code_Execution' },
  { id: 18, name: 'Cisa_Known_Exploited_Vulns' },
];

export const EXPLOIT_SOURCES: readonly { name: string; link: string }[] = [
  { name: 'The Exploit-DB', link: 'http://www.exploit-db.com/exploits/' },
  { name: 'Metasploit', link: 'https://www.rapid7.com/db/modules/exploit/' },
  { name: 'Qualys', link: 'https://github.com/qualys/exploits/' },
  { name: 'nvd', link: 'https://nvd.nist.gov/vuln/detail/' },
];

// Real KB texts are HTML with line breaks, and carry entity references inside their CDATA
// (`&quot;`, `&lt;`: real-captures kb-qualysapi-2015-09.xml); both are literal text to an XML parser.
export const DIAGNOSIS_TEMPLATES = [
  '{title} affects the installed {product}.\n<P>\nQID Detection Logic (Authenticated):<BR>\nChecks the installed version of {product}.',
  'A flaw in {product} lets a remote attacker send crafted requests.<P>Affected versions: &lt; {version}<BR>See the vendor advisory.',
  'The service accepts an XML payload such as <![CDATA[<!ENTITY xxe SYSTEM "file:///etc/passwd">]]> and resolves it.',
];

export const CONSEQUENCE_TEMPLATES = [
  'Successful exploitation could allow remote code execution.',
  'An attacker may obtain sensitive information & escalate privileges.',
  'Exploitation could cause a denial of service – the affected service stops responding.',
  'Exploits such as &quot;{product} {version}&quot; are publicly available.\n<P>\nUnauthorized users can run commands on the host.\n\n',
];

export const SOLUTION_TEMPLATES = [
  'Customers are advised to apply <A HREF="https://support.example.com/{kb}" TARGET="_blank">{kb}</A>.',
  'Upgrade {product} to version {version} or later.<P>Patch:<BR>Following are links for downloading patches to fix the vulnerabilities.',
  'Refer to the vendor advisory and apply the update. Workaround: disable the affected feature.',
  'Remove the service if it is not strictly required on this host. \n\n',
];

/** COMPLIANCE_LIST entries (TYPE, SECTION, DESCRIPTION), as older QIDs carry them. */
export const COMPLIANCE_ITEMS: readonly { type: string; section: string; description: string }[] = [
  {
    type: 'CobIT',
    section: 'DS5.9',
    description:
      'Malicious Software Prevention, Detection and Correction\nEnsure that preventive, detective and corrective measures are in place across the organization.\n',
  },
  {
    type: 'HIPAA',
    section: '164.306 and 164.312',
    description:
      'Keeping this service patched addresses section(s) 164.306 and 164.312 requirements for system integrity.',
  },
  {
    type: 'GLBA',
    section: '314.4(b) and (c)',
    description:
      'Detecting and correcting this flaw helps meet the Safeguards Rule (314.4(b) & (c)).',
  },
  {
    type: 'SOX',
    section: 'DS5.10',
    description: 'Network Security\nUse security techniques and related management procedures.',
  },
];

export const PORT_PROTOCOLS: Readonly<Record<number, 'tcp' | 'udp'>> = { 161: 'udp', 123: 'udp' };
export const SSL_PORTS = new Set([443, 8443, 636, 993, 1433, 3389]);
