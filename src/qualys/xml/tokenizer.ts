/**
 * A streaming XML tokenizer for Qualys responses: bytes in, open/text/close events out, with no
 * document held in memory. Handles what Qualys sends (UTF-8, CDATA, comments, DOCTYPE, processing
 * instructions, the five named entities and numeric references) and checks that tags nest.
 *
 * Why not a general SAX library: the fastest we measured (saxes) tokenises a detections document at
 * about 88 MB/s — 10 µs per detection, the whole per-detection budget of the read (see README,
 * "Benchmarks"). This scanner works on whole decoded chunks with indexOf and does no per-character
 * work outside tag names, which leaves room for building and writing records.
 *
 * Its work and memory are bounded whatever a server sends: line ends are normalised as XML 1.0
 * §2.11 says (CR LF and a lone CR become LF), text, CDATA and comments longer than a chunk are
 * passed on or skipped as they arrive instead of being held until they end, a tag or declaration
 * may not exceed MAX_MARKUP_CHARS, and elements may not nest deeper than MAX_DEPTH.
 */
import VError from 'verror';

import { newObject } from './record-object';

export interface XmlHandler {
  /** `attributes` is the raw text after the tag name (parse it with parseAttributes when needed). */
  open(name: string, attributes: string | undefined): void;
  /** Whether the element now open keeps its text; layout whitespace elsewhere is never sliced. */
  wantsText(): boolean;
  /** Decoded character data; CDATA arrives verbatim. May be called more than once per element. */
  text(text: string): void;
  close(name: string): void;
}

export class XmlSyntaxError extends VError {
  constructor(message: string) {
    super(message);
    this.name = 'XmlSyntaxError';
  }
}

/** A response beyond what any Qualys document needs (nesting, tag length, record size). */
export class XmlLimitError extends XmlSyntaxError {
  constructor(message: string) {
    super(message);
    this.name = 'XmlLimitError';
  }
}

/** Qualys documents nest about ten deep (KB: …/VULN/CORRELATION/EXPLOITS/EXPLT_SRC/…). */
export const MAX_DEPTH = 32;
/** The longest tag, comment-free declaration or DOCTYPE; Qualys tags are under 200 characters. */
export const MAX_MARKUP_CHARS = 64 * 1024;
/** Text without a tag longer than this is passed on before its end arrives. */
const TEXT_FLUSH_CHARS = 4096;
/** Longer than any character reference (&#x10FFFF;) or named entity, leading zeros aside. */
const MAX_ENTITY_CHARS = 32;

const BANG = 33; // !
const SLASH = 47; // /
const QUESTION = 63; // ?
const GT = 62; // >
const DASH = 45; // -
const BRACKET = 91; // [
const CR = 13;
const LF = 10;
const CR_LF = /\r\n?/g;

export class XmlTokenizer {
  private rest = '';
  private pendingBytes: Buffer | undefined;
  /** Inside a CDATA section or a comment whose end has not arrived yet. */
  private inside: 'cdata' | 'comment' | undefined;
  /** The last chunk ended with CR: a LF starting the next one belongs to it. */
  private afterCr = false;
  private readonly openNames: string[] = [];
  private rootClosed = false;
  private sawRoot = false;

  constructor(private readonly handler: XmlHandler) {}

  /** True once the root element has been closed: a complete document. */
  get complete(): boolean {
    return this.rootClosed;
  }

  write(chunk: Buffer): void {
    let bytes = chunk;
    if (this.pendingBytes) {
      bytes = Buffer.concat([this.pendingBytes, chunk]);
      this.pendingBytes = undefined;
    }
    const end = completeUtf8Length(bytes);
    if (end < bytes.length) {
      this.pendingBytes = Buffer.from(bytes.subarray(end));
      bytes = bytes.subarray(0, end);
    }
    let decoded = bytes.toString('utf8');
    if (this.afterCr && decoded.length) {
      this.afterCr = false;
      if (decoded.charCodeAt(0) === LF) decoded = decoded.slice(1);
    }
    if (decoded.length) {
      this.afterCr = decoded.charCodeAt(decoded.length - 1) === CR;
      if (decoded.indexOf('\r') >= 0) decoded = decoded.replace(CR_LF, '\n');
    }
    const s = this.rest.length ? this.rest + decoded : decoded;
    this.rest = this.inside === undefined ? this.scan(s, 0) : this.resumeInside(s);
  }

  /** Call at end of input; throws if the document is incomplete (a body cut mid-XML). */
  end(): void {
    if (!this.rootClosed) {
      const where = this.openNames.length ? ` inside <${this.openNames.join('><')}>` : '';
      throw new XmlSyntaxError(
        this.sawRoot ? `XML document ended early${where}` : 'XML document is empty',
      );
    }
  }

  /** Scans from `i` as far as complete constructs go; returns the unconsumed tail. */
  private scan(s: string, i: number): string {
    for (;;) {
      const lt = s.indexOf('<', i);
      if (lt < 0) return this.trailingText(s, i);
      if (lt > i) this.characters(s, i, lt);
      const c = s.charCodeAt(lt + 1);
      if (c !== c) return s.slice(lt); // NaN: '<' is the last character so far
      const next =
        c === SLASH
          ? this.closeTag(s, lt)
          : c === BANG
            ? this.markup(s, lt)
            : c === QUESTION
              ? afterGt(s, lt)
              : this.openTag(s, lt);
      if (next < 0) return this.incomplete(s, lt);
      i = next;
    }
  }

  /**
   * The construct at `lt` has not ended yet: a CDATA section or comment is passed on (or skipped)
   * as far as it goes, anything else is kept for the next chunk, up to MAX_MARKUP_CHARS.
   */
  private incomplete(s: string, lt: number): string {
    if (s.startsWith('<![CDATA[', lt)) {
      if (this.openNames.length === 0) throw new XmlSyntaxError('CDATA outside the root element');
      this.inside = 'cdata';
      return this.partialCdata(s, lt + 9);
    }
    if (s.startsWith('<!--', lt)) {
      this.inside = 'comment';
      // Keep what could be the start of its end, '--'.
      return s.slice(Math.max(lt + 4, s.length - 2));
    }
    if (s.length - lt > MAX_MARKUP_CHARS) {
      throw new XmlLimitError(`a tag or declaration longer than ${MAX_MARKUP_CHARS} characters`);
    }
    return s.slice(lt);
  }

  /** CDATA content from `from` without its end yet: passes it on but for a possible ']]'. */
  private partialCdata(s: string, from: number): string {
    const keep = Math.max(from, s.length - 2);
    if (keep > from && this.handler.wantsText()) this.handler.text(s.slice(from, keep));
    return s.slice(keep);
  }

  /** Continues a CDATA section or comment that an earlier chunk opened. */
  private resumeInside(s: string): string {
    const cdata = this.inside === 'cdata';
    const e = s.indexOf(cdata ? ']]>' : '-->');
    if (e < 0) return cdata ? this.partialCdata(s, 0) : s.slice(Math.max(0, s.length - 2));
    this.inside = undefined;
    if (cdata && e > 0 && this.handler.wantsText()) this.handler.text(s.slice(0, e));
    return this.scan(s, e + 3);
  }

  /** The open tag at `lt`; returns the index after it, or -1 if incomplete. */
  private openTag(s: string, lt: number): number {
    // One pass over the name finds its end and, for most tags, the '>' too.
    let k = lt + 1;
    let c = 0;
    while (k < s.length) {
      c = s.charCodeAt(k);
      if (c <= 32 || c === GT || c === SLASH) break;
      k++;
    }
    if (k >= s.length) return -1;
    const name = s.slice(lt + 1, k);
    if (this.rootClosed) throw new XmlSyntaxError(`element <${name}> after the root element`);
    if (this.openNames.length >= MAX_DEPTH) {
      throw new XmlLimitError(`elements nested deeper than ${MAX_DEPTH} levels (<${name}>)`);
    }
    this.sawRoot = true;
    if (c === GT) {
      this.openNames.push(name);
      this.handler.open(name, undefined);
      return k + 1;
    }
    const gt = s.indexOf('>', k);
    if (gt < 0) return -1;
    if (gt - lt > MAX_MARKUP_CHARS) {
      throw new XmlLimitError(`a tag or declaration longer than ${MAX_MARKUP_CHARS} characters`);
    }
    const selfClosing = s.charCodeAt(gt - 1) === SLASH;
    const end = selfClosing ? gt - 1 : gt;
    this.openNames.push(name);
    this.handler.open(name, k < end ? s.slice(k, end) : undefined);
    if (selfClosing) this.closed(this.openNames.pop() as string);
    return gt + 1;
  }

  /** The close tag at `lt`, checked against the open element in place; -1 if incomplete. */
  private closeTag(s: string, lt: number): number {
    const expected = this.openNames[this.openNames.length - 1];
    const nameEnd = lt + 2 + (expected?.length ?? 0);
    if (expected !== undefined && nameEnd < s.length) {
      if (s.charCodeAt(nameEnd) === GT && s.startsWith(expected, lt + 2)) {
        this.closed(this.openNames.pop() as string);
        return nameEnd + 1;
      }
    }
    const gt = s.indexOf('>', lt);
    if (gt < 0) return -1;
    const name = s.slice(lt + 2, gt).trim();
    if (expected === undefined) throw new XmlSyntaxError(`unexpected </${name}>`);
    if (name !== expected) {
      throw new XmlSyntaxError(`mismatched tag: expected </${expected}>, got </${name}>`);
    }
    this.closed(this.openNames.pop() as string);
    return gt + 1;
  }

  private closed(name: string): void {
    this.handler.close(name);
    if (this.openNames.length === 0) this.rootClosed = true;
  }

  /** Comment, CDATA or DOCTYPE at `lt`; returns the index after it, or -1 if incomplete. */
  private markup(s: string, lt: number): number {
    const c2 = s.charCodeAt(lt + 2);
    if (c2 === BRACKET) {
      if (s.length < lt + 9) return -1;
      if (!s.startsWith('<![CDATA[', lt)) throw new XmlSyntaxError('malformed <![ section');
      const e = s.indexOf(']]>', lt + 9);
      if (e < 0) return -1;
      if (this.openNames.length === 0) throw new XmlSyntaxError('CDATA outside the root element');
      if (this.handler.wantsText()) this.handler.text(s.slice(lt + 9, e));
      return e + 3;
    }
    if (c2 === DASH) {
      const e = s.indexOf('-->', lt + 4);
      return e < 0 ? -1 : e + 3;
    }
    // <!DOCTYPE …> with an optional [internal subset]
    const bracket = s.indexOf('[', lt);
    const gt = s.indexOf('>', lt);
    if (gt < 0) return -1;
    if (bracket >= 0 && bracket < gt) {
      const e = s.indexOf(']>', bracket);
      return e < 0 ? -1 : e + 2;
    }
    return gt + 1;
  }

  private characters(s: string, from: number, to: number): void {
    if (this.openNames.length === 0) {
      if (s.slice(from, to).trim()) throw new XmlSyntaxError('text outside the root element');
      return;
    }
    if (!this.handler.wantsText()) return;
    const raw = s.slice(from, to);
    this.handler.text(raw.indexOf('&') < 0 ? raw : decodeEntities(raw));
  }

  /**
   * Text after the last tag: kept for the next chunk (it may end inside an entity), but text
   * nobody wants is checked and dropped, and long text is passed on up to a possible entity.
   */
  private trailingText(s: string, from: number): string {
    if (from >= s.length) return '';
    if (s.length - from <= TEXT_FLUSH_CHARS) return s.slice(from);
    if (this.openNames.length === 0 || !this.handler.wantsText()) {
      this.characters(s, from, s.length);
      return '';
    }
    let cut = s.length;
    const amp = s.lastIndexOf('&');
    if (amp >= from && amp > s.length - MAX_ENTITY_CHARS && s.indexOf(';', amp) < 0) cut = amp;
    this.characters(s, from, cut);
    return s.slice(cut);
  }
}

/** The index after the next '>' from `from`, or -1. */
function afterGt(s: string, from: number): number {
  const gt = s.indexOf('>', from);
  return gt < 0 ? -1 : gt + 1;
}

/** Length of the longest prefix of `bytes` that ends on a UTF-8 character boundary. */
function completeUtf8Length(bytes: Buffer): number {
  let i = bytes.length - 1;
  if (i < 0 || bytes[i] < 0x80) return bytes.length;
  let continuation = 0;
  while (i >= 0 && continuation < 3 && (bytes[i] & 0xc0) === 0x80) {
    i--;
    continuation++;
  }
  if (i < 0) return bytes.length;
  const lead = bytes[i];
  const needed = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return bytes.length - i >= needed ? bytes.length : i;
}

const NAMED_ENTITIES: Record<string, string> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};

const ENTITY = /&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g;

export function decodeEntities(text: string): string {
  return text.replace(ENTITY, (whole, ref: string) => {
    if (ref.charCodeAt(0) === 35) {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      // Not characters XML allows (NUL, surrogate halves, beyond Unicode): kept as written.
      const allowed = code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff);
      return allowed ? String.fromCodePoint(code) : whole;
    }
    const named = NAMED_ENTITIES[ref];
    if (named === undefined) throw new XmlSyntaxError(`unknown entity ${whole}`);
    return named;
  });
}

/** Parses `name="value"` pairs (single or double quotes); a hand loop, as it runs per QDS_FACTOR. */
export function parseAttributes(raw: string | undefined): Record<string, string> {
  // An attribute named __proto__ is a field like any other (record-object).
  const attributes = newObject() as Record<string, string>;
  if (!raw) return attributes;
  let i = 0;
  for (;;) {
    const eq = raw.indexOf('=', i);
    if (eq < 0) return attributes;
    const name = raw.slice(i, eq).trim();
    let q = eq + 1;
    while (q < raw.length && raw.charCodeAt(q) <= 32) q++;
    const quote = raw[q];
    if (quote !== '"' && quote !== "'") throw new XmlSyntaxError(`unquoted attribute ${name}`);
    const close = raw.indexOf(quote, q + 1);
    if (close < 0) throw new XmlSyntaxError(`unterminated attribute ${name}`);
    const value = raw.slice(q + 1, close);
    attributes[name] = value.indexOf('&') < 0 ? value : decodeEntities(value);
    i = close + 1;
  }
}
