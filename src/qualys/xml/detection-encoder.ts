/**
 * The fast path of a Host List Detection read. Each DETECTION goes from the response's UTF-8
 * bytes straight to the UTF-8 bytes of its JSON, with no string or object per field: an
 * EncodedDetection, which the record output copies (see README, "Benchmarks"). The host's own
 * fields, a few per fifty detections, are left to the general reader (see detection-reader).
 *
 * It covers what Qualys sends: known elements in CDATA or plain text, attribute-carrying text
 * elements (QDS), wrapped lists (QDS_FACTORS). On anything else — an unknown element, an entity,
 * a value not of its type, a repeated element, a comment, invalid UTF-8, a CR (line ends are
 * the tokenizer's to normalise), a value longer than a field may keep (text-cap) — it gives the
 * HOST up and the general reader (ResponseReader, RecordBuilder) reads it, so both paths give the
 * same records and respect the same bounds. test/source/detection-encoder.test.ts holds them to
 * that. Keyed (the `detections` stream's encoder), each detection also ends with its
 * DETECTION_KEY, made from the bytes its key fields were written as.
 */
import { isUtf8 } from 'node:buffer';

import { RawJson, JsonSink } from '../../shared-json';
import { hasZeroByte, JsonBytes } from './json-bytes';
import {
  DETECTION_KEY_PARTS,
  FastField,
  FastObject,
  fastObject,
  follows,
  nameAt,
  Named,
  sameBytes,
  wordsOf,
} from './fast-shape';
import { LeafType, ObjectShape } from './shape';
import { MAX_FIELD_CHARS } from './text-cap';

const LT = 60;
const GT = 62;
const SLASH = 47;
const BANG = 33;
const AMP = 38;
const EQUALS = 61;
const QUOTE = 34;
const APOS = 39;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;
const COLON = 58;
const CDATA_OPEN = Buffer.from('<![CDATA[');
const CLOSE_BRACE_BYTES = Buffer.from('}');
const CR = 13;
const KEY_OPEN = Buffer.from(',"DETECTION_KEY":"');
const PIPE = 124;
const UNIQUE_VULN_ID = DETECTION_KEY_PARTS.indexOf('UNIQUE_VULN_ID');

/** Fields a detection gets from the QID join; read from XML only by the general path. */
const JOINED_FIELDS = new Set([
  'QID_INFO',
  'MITRE_TACTIC_ID',
  'MITRE_TACTIC_NAME',
  'MITRE_TECHNIQUE_ID',
  'MITRE_TECHNIQUE_NAME',
]);

/**
 * A detection as JSON bytes: `bytes[from, to)` is the object without its closing brace, so that
 * the QID join can append its fields (`tail`) without copying anything.
 */
export class EncodedDetection extends RawJson {
  /** `,"QID_INFO":…,"MITRE_…":[…]}` once joined. */
  tail: Buffer = CLOSE_BRACE_BYTES;

  constructor(
    readonly QID: number,
    private readonly bytes: Buffer,
    private readonly from: number,
    private readonly to: number,
  ) {
    super();
  }

  writeJson(sink: JsonSink): void {
    sink.bytes(this.bytes, this.from, this.to);
    sink.bytes(this.tail);
  }

  /** The detection's fields, without the braces (for a flat `detections` record). */
  writeFields(sink: JsonSink): void {
    sink.bytes(this.bytes, this.from + 1, this.to);
  }
}

/** What the encoder read of a HOST: its DETECTION_LIST's bytes `[from, to)` and detections. */
export interface EncodedHost {
  list?: { from: number; to: number; detections: EncodedDetection[] };
}

/** Thrown to give a HOST up to the general reader; rare, so an exception is cheap enough. */
const GIVE_UP = new (class GiveUp {})();

function giveUp(): never {
  throw GIVE_UP;
}

/** Whitespace as String#trim and XML layout know it, in ASCII. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

const FOUR_SPACES = 0x20202020;

/** The first byte from `i` that is not whitespace, or `to`; indentation four bytes at a time. */
function skipSpace(source: Buffer, view: DataView, i: number, to: number): number {
  for (;;) {
    if (i + 4 <= to && view.getInt32(i) === FOUR_SPACES) i += 4;
    else if (i < to && isSpace(source[i])) i++;
    else return i;
  }
}

/** Reads HOST elements whose detections it encodes; see the module comment. */
export class HostEncoder {
  private readonly detection: FastObject;
  private readonly detectionList: Buffer;
  private readonly detectionItem: Named;
  private readonly out = new JsonBytes();
  /** Per field index, the detection that last had it (repeated elements are given up on). */
  private seen: number[] = [];
  private serial = 0;
  /** Set by scanName: the hash of the name just scanned. */
  private hash = 0;
  /** Set by leafContent: the value's byte range. */
  private valueFrom = 0;
  private valueTo = 0;
  /** Set when a detection's QID is written. */
  private qid: number | undefined;
  /** The source being read, as a DataView for reading four bytes at once. */
  private view: DataView = new DataView(new ArrayBuffer(0));
  /**
   * Per key part, the written value's bytes (from the detection's start), and the detection that
   * last had it; only with `keyed`.
   */
  private readonly keyFrom = new Int32Array(DETECTION_KEY_PARTS.length);
  private readonly keyTo = new Int32Array(DETECTION_KEY_PARTS.length);
  private readonly keySerial = new Float64Array(DETECTION_KEY_PARTS.length);

  /**
   * @param keyed whether each detection ends with its DETECTION_KEY (the `detections` stream's;
   *   see detectionKey in records.ts), made from the bytes of the values it was written with
   * @param dropped detection fields to leave out (columns the catalog does not select); key
   *   parts are always written
   */
  constructor(
    hostShape: ObjectShape,
    private readonly keyed = false,
    dropped?: ReadonlySet<string>,
  ) {
    const field = [...hostShape.fields.entries()].find(([, f]) => f.property === 'VULNERABILITIES');
    if (!field || field[1].mode !== 'wrapped' || field[1].shape.kind !== 'object') {
      throw new Error('the host shape has no wrapped VULNERABILITIES object list');
    }
    this.detectionList = Buffer.from(field[0], 'utf8');
    const item = Buffer.from(field[1].item as string, 'utf8');
    this.detectionItem = { name: item, words: wordsOf(item) };
    this.detection = fastObject(field[1].shape, JOINED_FIELDS, dropped);
  }

  /**
   * The detections of the HOST element in `source[from, to)` (from its `<HOST>` to its
   * `</HOST>`) and where its DETECTION_LIST is, or undefined when the HOST has to be read by the
   * general path. The host's other fields are for the general reader (they are few).
   */
  encode(source: Buffer, from: number, to: number): EncodedHost | undefined {
    const bytes = source.subarray(from, to);
    if (!isUtf8(bytes) || bytes.indexOf(CR) >= 0) return undefined;
    const view = this.view;
    if (
      view.buffer !== source.buffer ||
      view.byteOffset !== source.byteOffset ||
      view.byteLength !== source.length
    ) {
      this.view = new DataView(source.buffer, source.byteOffset, source.length);
    }
    try {
      return this.host(source, from, to);
    } catch (err) {
      // What was written for the host stays unused in the arena.
      if (err === GIVE_UP) return undefined;
      throw err;
    }
  }

  private host(source: Buffer, from: number, to: number): EncodedHost {
    const hostNameTo = this.scanName(source, from + 1, to);
    if (source[hostNameTo] !== GT) giveUp();
    let i = hostNameTo + 1;
    let list: EncodedHost['list'];
    for (;;) {
      i = skipSpace(source, this.view, i, to);
      if (i >= to || source[i] !== LT) giveUp();
      const c = source[i + 1];
      if (c === SLASH) {
        i = closeTag(source, this.view, i, to, from + 1, hostNameTo);
        if (i !== to) giveUp();
        return { list };
      }
      if (c === BANG || c === 63) giveUp(); // comment, CDATA or a processing instruction
      const nameTo = this.scanName(source, i + 1, to);
      if (sameBytes(this.detectionList, source, i + 1, nameTo)) {
        if (list !== undefined || source[nameTo] !== GT) giveUp();
        const { next, detections } = this.detectionsOf(source, nameTo + 1, to, i + 1, nameTo);
        list = { from: i, to: next, detections };
        i = next;
      } else {
        i = skipElement(source, i, to);
      }
    }
  }

  /** The DETECTIONs of a DETECTION_LIST, from after its open tag; `next` is after its close tag. */
  private detectionsOf(
    source: Buffer,
    from: number,
    to: number,
    nameFrom: number,
    nameTo: number,
  ): { next: number; detections: EncodedDetection[] } {
    const detections: EncodedDetection[] = [];
    const out = this.out;
    let i = from;
    for (;;) {
      i = skipSpace(source, this.view, i, to);
      if (i >= to || source[i] !== LT) giveUp();
      if (source[i + 1] === SLASH) {
        return { next: closeTag(source, this.view, i, to, nameFrom, nameTo), detections };
      }
      const itemTo = i + 1 + this.detectionItem.name.length;
      if (!nameAt(this.detectionItem, source, this.view, i + 1, to) || source[itemTo] !== GT)
        giveUp();
      out.mark = out.length;
      this.qid = undefined;
      this.serial++;
      out.byte(OPEN_BRACE);
      i = this.objectFields(source, itemTo + 1, to, this.detection, i + 1, itemTo);
      if (this.qid === undefined) giveUp();
      if (this.keyed) this.writeKey();
      detections.push(new EncodedDetection(this.qid, out.buffer, out.mark, out.length));
      out.mark = out.length;
    }
  }

  /**
   * Appends `,"DETECTION_KEY":"…"` to the detection being written: its UNIQUE_VULN_ID, or else
   * its other key parts joined by '|' (each as written: numbers and flags as their JSON, strings
   * as their escaped content), as detectionKey() makes it from a parsed detection.
   */
  private writeKey(): void {
    const out = this.out;
    const serial = this.serial;
    const parts = DETECTION_KEY_PARTS.length;
    const only = this.keySerial[UNIQUE_VULN_ID] === serial;
    let length = KEY_OPEN.length + 1 + parts;
    for (let k = 0; k < parts; k++) length += this.keyTo[k] - this.keyFrom[k];
    // Reserving may move the detection to a new arena: offsets are from its start (mark).
    out.reserve(length);
    const buffer = out.buffer;
    out.bytes(KEY_OPEN);
    const from = only ? UNIQUE_VULN_ID : UNIQUE_VULN_ID + 1;
    const to = only ? UNIQUE_VULN_ID + 1 : parts;
    for (let k = from; k < to; k++) {
      if (k > from) buffer[out.length++] = PIPE;
      if (this.keySerial[k] !== serial) continue;
      let valueFrom = out.mark + this.keyFrom[k];
      let valueTo = out.mark + this.keyTo[k];
      if (buffer[valueFrom] === QUOTE) {
        valueFrom++;
        valueTo--;
      }
      buffer.copyWithin(out.length, valueFrom, valueTo);
      out.length += valueTo - valueFrom;
    }
    buffer[out.length++] = QUOTE;
  }

  /**
   * The fields of an object element, from after its open tag to after its close tag, written
   * without the braces.
   */
  private objectFields(
    source: Buffer,
    from: number,
    to: number,
    object: FastObject,
    nameFrom: number,
    nameTo: number,
  ): number {
    const out = this.out;
    const serial = this.serial;
    let previous: FastField | undefined;
    let first = true;
    let i = from;
    for (;;) {
      i = skipSpace(source, this.view, i, to);
      if (i >= to || source[i] !== LT) giveUp();
      const c = source[i + 1];
      if (c === SLASH) return closeTag(source, this.view, i, to, nameFrom, nameTo);
      if (c === BANG || c === 63) giveUp();
      const fieldFrom = i + 1;
      const candidates = previous === undefined ? object.leaders : previous.followers;
      let field: FastField | undefined;
      for (let k = 0; k < candidates.length; k++) {
        if (nameAt(candidates[k], source, this.view, fieldFrom, to)) {
          field = candidates[k];
          break;
        }
      }
      let fieldTo: number;
      if (field !== undefined) {
        fieldTo = fieldFrom + field.name.length;
      } else {
        fieldTo = this.scanName(source, fieldFrom, to);
        field = object.fields.get(source, fieldFrom, fieldTo, this.hash);
        if (field === undefined) return giveUp();
        follows(candidates, field);
      }
      previous = field;
      if (object === this.detection) {
        if (this.seen[field.index] === serial) giveUp();
        this.seen[field.index] = serial;
        if (field.dropped) {
          i = skipElement(source, fieldFrom - 1, to);
          continue;
        }
      }
      // The open tag's end, and its attributes when it has some.
      let gt = fieldTo;
      while (gt < to && source[gt] !== GT) gt++;
      if (gt >= to || source[gt - 1] === SLASH) giveUp(); // self-closing: rare, general path
      const attributesFrom = fieldTo;
      i = gt + 1;
      if (field.kind === 'leaf') {
        if (attributesFrom !== gt) giveUp();
        i = this.leafContent(source, i, to, fieldFrom, fieldTo);
        if (this.valueWanted(source, field.type)) {
          out.bytes(first ? field.first : field.next);
          // From the detection's start: writing may move it to a new arena.
          const valueAt = out.length - out.mark;
          this.writeValue(source, field);
          first = false;
          if (field.keyPart >= 0 && object === this.detection) {
            this.keyFrom[field.keyPart] = valueAt;
            this.keyTo[field.keyPart] = out.length - out.mark;
            this.keySerial[field.keyPart] = serial;
          }
        }
        continue;
      }
      out.bytes(first ? field.first : field.next);
      first = false;
      i = this.compoundValue(source, i, to, field, attributesFrom, gt, fieldFrom, fieldTo);
    }
  }

  /**
   * The content of a text object, object or wrapper element, from after its open tag (whose
   * attributes are `source[attributesFrom, attributesTo)`) to after its close tag.
   */
  private compoundValue(
    source: Buffer,
    from: number,
    to: number,
    field: FastField,
    attributesFrom: number,
    attributesTo: number,
    nameFrom: number,
    nameTo: number,
  ): number {
    if (field.kind === 'text') {
      return this.textObject(
        source,
        from,
        to,
        field,
        attributesFrom,
        attributesTo,
        nameFrom,
        nameTo,
      );
    }
    if (attributesFrom !== attributesTo) giveUp();
    if (field.kind === 'wrapped')
      return this.wrappedItems(source, from, to, field, nameFrom, nameTo);
    if (field.kind !== 'object') giveUp();
    this.out.byte(OPEN_BRACE);
    const next = this.objectFields(source, from, to, field.object as FastObject, nameFrom, nameTo);
    this.out.byte(CLOSE_BRACE);
    return next;
  }

  /** A wrapper's items, from after its open tag to after its close tag, written as an array. */
  private wrappedItems(
    source: Buffer,
    from: number,
    to: number,
    field: FastField,
    nameFrom: number,
    nameTo: number,
  ): number {
    const out = this.out;
    const item = field.itemField as FastField;
    out.byte(OPEN_BRACKET);
    let first = true;
    let i = from;
    for (;;) {
      i = skipSpace(source, this.view, i, to);
      if (i >= to || source[i] !== LT) giveUp();
      if (source[i + 1] === SLASH) {
        out.byte(CLOSE_BRACKET);
        return closeTag(source, this.view, i, to, nameFrom, nameTo);
      }
      const itemFrom = i + 1;
      if (!nameAt(item, source, this.view, itemFrom, to)) giveUp();
      const itemTo = itemFrom + item.name.length;
      let gt = itemTo;
      while (gt < to && source[gt] !== GT) gt++;
      if (gt >= to || source[gt - 1] === SLASH) giveUp();
      i = gt + 1;
      if (item.kind === 'leaf') {
        if (itemTo !== gt) giveUp();
        i = this.leafContent(source, i, to, itemFrom, itemTo);
        if (!this.valueWanted(source, item.type)) continue; // an empty number is not an item
        if (!first) out.byte(COMMA);
        this.writeValue(source, item);
      } else {
        if (!first) out.byte(COMMA);
        i = this.compoundValue(source, i, to, item, itemTo, gt, itemFrom, itemTo);
      }
      first = false;
    }
  }

  /** `<QDS severity="HIGH">72</QDS>` → {"severity":"HIGH","value":72}. */
  private textObject(
    source: Buffer,
    from: number,
    to: number,
    field: FastField,
    attributesFrom: number,
    attributesTo: number,
    nameFrom: number,
    nameTo: number,
  ): number {
    const out = this.out;
    out.byte(OPEN_BRACE);
    let first = true;
    let i = attributesFrom;
    for (;;) {
      while (i < attributesTo && isSpace(source[i])) i++;
      if (i >= attributesTo) break;
      const nameStart = i;
      while (i < attributesTo && source[i] !== EQUALS && !isSpace(source[i])) i++;
      const nameEnd = i;
      while (i < attributesTo && isSpace(source[i])) i++;
      if (nameEnd === nameStart || source[i] !== EQUALS) giveUp();
      i++;
      while (i < attributesTo && isSpace(source[i])) i++;
      const quote = source[i];
      if (quote !== QUOTE && quote !== APOS) giveUp();
      const valueFrom = ++i;
      while (i < attributesTo && source[i] !== quote) {
        if (source[i] === AMP || source[i] === LT) giveUp();
        i++;
      }
      if (i >= attributesTo) giveUp();
      if (!first) out.byte(COMMA);
      out.quoted(source, this.view, nameStart, nameEnd);
      out.byte(COLON);
      out.quoted(source, this.view, valueFrom, i);
      first = false;
      i++;
    }
    const next = this.leafContent(source, from, to, nameFrom, nameTo);
    if (this.valueWanted(source, field.type)) {
      out.bytes(first ? (field.textFirst as Buffer) : (field.textNext as Buffer));
      this.writeValue(source, field);
    }
    out.byte(CLOSE_BRACE);
    return next;
  }

  /**
   * A leaf's text, from after its open tag to after its close tag: plain text without entities
   * or one CDATA section. Sets valueFrom/valueTo.
   */
  private leafContent(
    source: Buffer,
    from: number,
    to: number,
    nameFrom: number,
    nameTo: number,
  ): number {
    const view = this.view;
    let i = from;
    // Four bytes at a time to the first '<' or '&'.
    while (i + 4 <= to) {
      const w = view.getInt32(i);
      if ((hasZeroByte(w ^ 0x3c3c3c3c) | hasZeroByte(w ^ 0x26262626)) !== 0) break;
      i += 4;
    }
    while (i < to && source[i] !== LT) {
      if (source[i] === AMP) giveUp();
      i++;
    }
    if (i >= to) giveUp();
    if (source[i + 1] === BANG) {
      if (i !== from || !sameBytes(CDATA_OPEN, source, i, i + CDATA_OPEN.length)) giveUp();
      const contentFrom = i + CDATA_OPEN.length;
      let end = contentFrom;
      // Four bytes at a time to the first ']'.
      while (end + 4 <= to && hasZeroByte(view.getInt32(end) ^ 0x5d5d5d5d) === 0) end += 4;
      while (
        end + 2 < to &&
        !(
          source[end] === CLOSE_BRACKET &&
          source[end + 1] === CLOSE_BRACKET &&
          source[end + 2] === GT
        )
      ) {
        end++;
      }
      if (end + 2 >= to) giveUp();
      this.valueFrom = contentFrom;
      this.valueTo = end;
      i = end + 3;
      if (source[i] !== LT) giveUp(); // text after the CDATA section
    } else {
      this.valueFrom = from;
      this.valueTo = i;
    }
    // A UTF-8 byte is at most one UTF-16 character: within the cap, no value needs cutting.
    if (this.valueTo - this.valueFrom > MAX_FIELD_CHARS) giveUp();
    return closeTag(source, this.view, i, to, nameFrom, nameTo);
  }

  /**
   * Whether the value just read is written: an empty number or flag is omitted, as by
   * RecordBuilder. Trims the value of a number or flag.
   */
  private valueWanted(source: Buffer, type: LeafType): boolean {
    if (type === 'string') return true;
    let from = this.valueFrom;
    let to = this.valueTo;
    while (from < to && isSpace(source[from])) from++;
    while (to > from && isSpace(source[to - 1])) to--;
    this.valueFrom = from;
    this.valueTo = to;
    return from < to;
  }

  /** Writes the value just read as its field's type; gives up on a value not of that type. */
  private writeValue(source: Buffer, field: FastField): void {
    const out = this.out;
    const from = this.valueFrom;
    const to = this.valueTo;
    const type = field.type;
    if (type === 'string') {
      out.quoted(source, this.view, from, to);
      return;
    }
    if (type === 'boolean') {
      const flag = flagOf(source, from, to);
      if (flag === undefined) giveUp();
      out.bytes(flag ? TRUE : FALSE);
      return;
    }
    let value = plainInteger(source, from, to);
    if (value !== undefined) {
      out.raw(source, from, to);
    } else {
      value = Number(source.toString('latin1', from, to));
      if (!Number.isFinite(value) || (type === 'integer' && !Number.isInteger(value))) giveUp();
      out.ascii(String(value));
    }
    if (field.isQid) this.qid = value;
  }

  /** Scans an element name from `from`; sets `hash` (as fast-shape hashOf); returns its end. */
  private scanName(source: Buffer, from: number, to: number): number {
    let hash = 0;
    let i = from;
    while (i < to) {
      const c = source[i];
      if (c <= 32 || c === GT || c === SLASH) break;
      hash = (Math.imul(hash, 31) + c) | 0;
      i++;
    }
    this.hash = hash;
    return i;
  }
}

/** The close tag at `at` must close the element named `source[nameFrom, nameTo)`; returns after it. */
function closeTag(
  source: Buffer,
  view: DataView,
  at: number,
  to: number,
  nameFrom: number,
  nameTo: number,
): number {
  const length = nameTo - nameFrom;
  if (at + length + 3 > to || source[at] !== LT || source[at + 1] !== SLASH) giveUp();
  // Four bytes at a time: names are long (LAST_PROCESSED_DATETIME), and this is per element.
  const from = at + 2;
  let k = 0;
  for (; k + 4 <= length; k += 4) {
    if (view.getInt32(from + k) !== view.getInt32(nameFrom + k)) giveUp();
  }
  for (; k < length; k++) if (source[from + k] !== source[nameFrom + k]) giveUp();
  if (source[from + length] !== GT) giveUp();
  return from + length + 1;
}

/** Skips the element whose open tag is at `from` (any content); returns the index after it. */
function skipElement(source: Buffer, from: number, to: number): number {
  let depth = 0;
  let i = from;
  while (i < to) {
    if (source[i] !== LT) {
      i++;
      continue;
    }
    const c = source[i + 1];
    if (c === BANG) {
      if (!sameBytes(CDATA_OPEN, source, i, i + CDATA_OPEN.length)) giveUp();
      const end = source.indexOf(']]>', i + CDATA_OPEN.length);
      if (end < 0 || end + 3 > to) giveUp();
      i = end + 3;
      continue;
    }
    if (c === 63) giveUp();
    let gt = i + 1;
    while (gt < to && source[gt] !== GT) gt++;
    if (gt >= to) giveUp();
    if (c === SLASH) depth--;
    else if (source[gt - 1] !== SLASH) depth++;
    i = gt + 1;
    if (depth === 0) return i;
    if (depth < 0) giveUp();
  }
  giveUp();
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');

function flagOf(source: Buffer, from: number, to: number): boolean | undefined {
  // Qualys sends 0 or 1: read the byte rather than make a string of it.
  if (to - from === 1 && (source[from] === 48 || source[from] === 49)) return source[from] === 49;
  const text = source.toString('latin1', from, to);
  if (text === '1' || text === 'true') return true;
  if (text === '0' || text === 'false') return false;
  return undefined;
}

/**
 * The value of an integer written as JSON would write it (no sign but '-', no leading zero, at
 * most 15 digits, so exact), or undefined for any other number text.
 */
function plainInteger(source: Buffer, from: number, to: number): number | undefined {
  let i = from;
  const negative = source[i] === 45;
  if (negative) i++;
  const digits = to - i;
  if (digits < 1 || digits > 15 || (source[i] === 48 && (digits > 1 || negative))) return undefined;
  let value = 0;
  for (; i < to; i++) {
    const d = source[i] - 48;
    if (d < 0 || d > 9) return undefined;
    value = value * 10 + d;
  }
  return negative ? -value : value;
}
