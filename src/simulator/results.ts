/**
 * RESULTS text of a detection (show_results=1), regenerated from the detection's seed. Shapes follow
 * real output (doc §3): tab/newline tables for packages and ciphers, file-version lines for Windows,
 * HTTP exchanges for web QIDs. Some texts carry `<`, `&`, quotes and `]]>` on purpose, and some the
 * entity references real RESULTS have inside their CDATA (`don&apos;t`, `-&gt;&gt;HEADER&lt;&lt;-`:
 * real-captures hld-*.xml), which are literal text to an XML parser. They stay
 * ASCII: one non-Latin-1 character turns a whole host's string into two-byte form and halves the
 * serving rate (non-ASCII text is exercised by host COMMENTS and KB texts instead).
 */
import { Rng } from './random';
import type { KbEntry } from './kb';
import { PACKAGES } from './vocabulary';

export function resultsText(entry: KbEntry, resultsSeed: number): string {
  const rng = new Rng(resultsSeed);
  const v = (): string => `${rng.int(1, 9)}.${rng.int(0, 20)}.${rng.int(0, 99)}`;
  switch (entry.category.results) {
    case 'package': {
      const release = entry.category.packageSuffix ?? '';
      let out = 'Package\tInstalled Version\tRequired Version';
      for (let k = rng.int(1, 3); k > 0; k--)
        out += `\n${rng.pick(PACKAGES)}\t${v()}-${rng.int(1, 30)}${release}\t${v()}-${rng.int(31, 60)}${release}`;
      return out;
    }
    case 'windows':
      return rng.chance(0.5)
        ? `%windir%\\System32\\ntoskrnl.exe  Version is  10.0.17763.${rng.int(1000, 5999)}`
        : `KB${rng.int(4000000, 5099999)} is not installed`;
    case 'ssl':
      return (
        'CIPHER\tKEY-EXCHANGE\tAUTHENTICATION\tMAC\tENCRYPTION(KEY-STRENGTH)\tGRADE\n' +
        `TLSv1.0 WITH RC4 CIPHERs IS SUPPORTED\nRC4-SHA\tRSA\tRSA\tSHA1\tRC4(128)\t${rng.pick(['MEDIUM', 'LOW'])}`
      );
    case 'web':
      return rng.chance(0.7)
        ? `GET /search?q=%3Cscript%3E&id=${rng.int(1, 999)} HTTP/1.1\n\n` +
            `<html><body>Warning: mysql_fetch_array() & "error" near ']]>' - ${rng.int(100, 999)}</body></html>`
        : `HTTP/1.1 200 OK\nServer: Apache\n\n-&gt;&gt;HEADER&lt;&lt;- opcode: QUERY, id: ${rng.int(1, 65535)}\n` +
            'Please don&apos;t rely on &quot;Server&quot; banners.';
    case 'service':
      return `Vulnerable version detected: ${v()} < fixed in ${v()} (size < 1 MB & "patched")`;
    default:
      return rng.chance(0.5)
        ? `Scan duration: ${rng.int(60, 3000)} seconds\n\nStart time: Mon, Jun 02 2025, 09:12:44 GMT`
        : `Operating System\tTechnique\tID\nLinux 2.6\tTCP/IP Fingerprint\tU${rng.int(1000, 9999)}:443`;
  }
}
