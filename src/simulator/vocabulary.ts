/**
 * The words the generator draws from: operating systems, host roles, domains, cloud regions, KB
 * categories with their real QID ranges, title templates and HTML snippets. Kept apart so the
 * generators read as rules, not as lists. Some strings deliberately carry `&`, `<`, quotes,
 * non-ASCII and `]]>` so clients are exercised on escaping (field lessons §13).
 */

export type OsFamily = 'windows' | 'linux' | 'network';

export interface OperatingSystem {
  name: string;
  family: OsFamily;
}

export const OPERATING_SYSTEMS: readonly OperatingSystem[] = [
  { name: 'Windows Server 2019 Datacenter 64 bit Edition Version 1809', family: 'windows' },
  { name: 'Windows Server 2022 Standard 64 bit Edition Version 21H2', family: 'windows' },
  { name: 'Windows Server 2016 Standard 64 bit Edition Version 1607', family: 'windows' },
  { name: 'Windows 10 Enterprise 64 bit Edition Version 22H2', family: 'windows' },
  { name: 'Windows 11 Enterprise 64 bit Edition Version 23H2', family: 'windows' },
  { name: 'Red Hat Enterprise Linux 8.9', family: 'linux' },
  { name: 'Red Hat Enterprise Linux 9.3', family: 'linux' },
  { name: 'Ubuntu 22.04.4 LTS', family: 'linux' },
  { name: 'Ubuntu 20.04.6 LTS', family: 'linux' },
  { name: 'CentOS Linux 7.9.2009', family: 'linux' },
  { name: 'Debian GNU/Linux 11.9', family: 'linux' },
  { name: 'SUSE Linux Enterprise Server 15 SP5', family: 'linux' },
  { name: 'Cisco IOS XE 17.3.4a', family: 'network' },
  { name: 'Linux 2.6 & newer', family: 'network' },
  { name: 'VMware ESXi 7.0 U3', family: 'network' },
];

export const CLOUD_OPERATING_SYSTEMS: readonly OperatingSystem[] = [
  { name: 'Amazon Linux 2', family: 'linux' },
  { name: 'Amazon Linux 2023', family: 'linux' },
  { name: 'Ubuntu 22.04.4 LTS', family: 'linux' },
  { name: 'Red Hat Enterprise Linux 9.3', family: 'linux' },
  { name: 'Windows Server 2022 Datacenter 64 bit Edition Version 21H2', family: 'windows' },
];

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

export interface KbCategory {
  name: string;
  /** Real Qualys QID ranges for the category, so QIDs look familiar. */
  firstQid: number;
  lastQid: number;
  /** Share of the knowledge base, in percent. */
  share: number;
  informationGathered: boolean;
  /** Probability that a QID of this category is reported on a port. */
  portBased: number;
  ports: readonly number[];
  results: ResultsKind;
  authTypes: readonly string[];
  vendor: string;
  products: readonly string[];
  titles: readonly string[];
}

const WEB_PORTS = [80, 443, 8080, 8443];

export const KB_CATEGORIES: readonly KbCategory[] = [
  {
    name: 'Database',
    firstQid: 19000,
    lastQid: 22999,
    share: 5,
    informationGathered: false,
    portBased: 1,
    ports: [1433, 3306, 5432, 1521],
    results: 'service',
    authTypes: [],
    vendor: 'oracle',
    products: ['mysql', 'postgresql', 'sql_server'],
    titles: [
      'Oracle MySQL Server Multiple Vulnerabilities ({advisory})',
      'PostgreSQL Prior to {version} Multiple Vulnerabilities',
      'Microsoft SQL Server Elevation of Privilege Vulnerability ({kb})',
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
      'SSL/TLS Server supports TLSv1.0',
      'Weak SSL/TLS Cipher Suites Supported (RC4 & 3DES)',
      'OpenSSH Prior to {version} Multiple Vulnerabilities',
      'SSL Certificate - Self-Signed Certificate',
    ],
  },
  {
    name: 'Hardware',
    firstQid: 42000,
    lastQid: 44999,
    share: 5,
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
    portBased: 0.3,
    ports: [443, 22, 3389],
    results: 'info',
    authTypes: [],
    vendor: 'qualys',
    products: ['scanner'],
    titles: [
      'Host Scan Time - Scanner',
      'Open TCP Services List',
      'Operating System Detected',
      'SSL Certificate - Information',
      'Traceroute',
      'DNS Host Name',
      'Installed Applications Enumerated From Windows Installer',
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
      'Apache HTTP Server Prior to {version} Multiple Vulnerabilities',
      'nginx HTTP/2 "Rapid Reset" Denial of Service Vulnerability',
      'Apache Tomcat Information Disclosure Vulnerability ({advisory})',
    ],
  },
  {
    name: 'Windows',
    firstQid: 90000,
    lastQid: 99999,
    share: 20,
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
    firstQid: 100000,
    lastQid: 119999,
    share: 12,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'windows',
    authTypes: ['Windows'],
    vendor: 'microsoft',
    products: ['.net_framework', 'office', 'visual_c++'],
    titles: [
      'Microsoft .NET Framework Security Update for {month} {year}',
      'Microsoft Office Remote Code Execution Vulnerability ({kb})',
      'Oracle Java SE Critical Patch Update - {month} {year}',
    ],
  },
  {
    name: 'Security Policy',
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
      'Apache Log4j Remote Code Execution (Log4Shell)',
      'Cross-Site Scripting (XSS) in "<search>" Parameter',
      'XML External Entity (XXE) Injection',
    ],
  },
  {
    name: 'Ubuntu',
    firstQid: 196000,
    lastQid: 215999,
    share: 12,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'package',
    authTypes: ['Unix'],
    vendor: 'canonical',
    products: ['ubuntu_linux'],
    titles: ['Ubuntu Security Notification for {package} Vulnerabilities (USN-{advisory}-1)'],
  },
  {
    name: 'CentOS',
    firstQid: 256000,
    lastQid: 265999,
    share: 10,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'package',
    authTypes: ['Unix'],
    vendor: 'centos',
    products: ['centos'],
    titles: ['CentOS Security Update for {package} (CESA-{year}:{advisory})'],
  },
  {
    name: 'Amazon Linux',
    firstQid: 350000,
    lastQid: 359999,
    share: 8,
    informationGathered: false,
    portBased: 0,
    ports: [],
    results: 'package',
    authTypes: ['Unix'],
    vendor: 'amazon',
    products: ['amazon_linux'],
    titles: ['Amazon Linux Security Advisory for {package}: ALAS2-{year}-{advisory}'],
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

export const DIAGNOSIS_TEMPLATES = [
  '{title} affects the installed {product}.<P>QID Detection Logic (Authenticated):<BR>Checks the installed version of {product}.',
  'A flaw in {product} lets a remote attacker send crafted requests.<P>Affected versions: &lt; {version}<BR>See the vendor advisory.',
  'The service accepts an XML payload such as <![CDATA[<!ENTITY xxe SYSTEM "file:///etc/passwd">]]> and resolves it.',
];

export const CONSEQUENCE_TEMPLATES = [
  'Successful exploitation could allow remote code execution.',
  'An attacker may obtain sensitive information & escalate privileges.',
  'Exploitation could cause a denial of service – the affected service stops responding.',
];

export const SOLUTION_TEMPLATES = [
  'Customers are advised to apply <A HREF="https://support.example.com/{kb}" TARGET="_blank">{kb}</A>.',
  'Upgrade {product} to version {version} or later.<P>Patch:<BR>Following are links for downloading patches to fix the vulnerabilities.',
  'Refer to the vendor advisory and apply the update. Workaround: disable the affected feature.',
];

export const PORT_PROTOCOLS: Readonly<Record<number, 'tcp' | 'udp'>> = { 161: 'udp', 123: 'udp' };
export const SSL_PORTS = new Set([443, 8443, 636, 993, 1433, 3389]);
