/**
 * Record shapes (shape.ts) compiled for the detection encoder's byte-level reading: element names
 * as bytes with a hash table to find them, JSON keys encoded once, and per field the fields that
 * followed it lately, so that the next element's name is checked rather than looked up.
 */
import { Field, LeafType, ObjectShape, Shape } from './shape';

const GT = 62;
const SLASH = 47;

export interface FastObject {
  fields: NameTable<FastField>;
  count: number;
  /** The fields that came first lately, newest first (see FastField.followers). */
  leaders: FastField[];
}

export interface FastField extends Named {
  index: number;
  first: Buffer; // "PROPERTY":
  next: Buffer; // ,"PROPERTY":
  isQid: boolean;
  /** Its place in a detection's key (DETECTION_KEY_PARTS), or -1. */
  keyPart: number;
  /** Read but not written: a column the catalog does not select (never a key part). */
  dropped: boolean;
  kind: 'leaf' | 'text' | 'object' | 'wrapped';
  type: LeafType; // leaf, or the text of a text object
  textFirst?: Buffer; // "value": of a text object
  textNext?: Buffer;
  object?: FastObject;
  itemField?: FastField; // wrapped: how an item (named itemField.name) is read; keys unused
  /**
   * The fields that followed this one lately, the newest learned first (a match does not reorder
   * them): with optional elements, a field has a few followers, and the next element's name is
   * checked against them before any lookup.
   */
  followers: FastField[];
}

/**
 * The detection fields its `detections` key is made of: UNIQUE_VULN_ID where Qualys sends it,
 * else the others (see detectionKey in records.ts).
 */
export const DETECTION_KEY_PARTS = [
  'UNIQUE_VULN_ID',
  'QID',
  'PORT',
  'PROTOCOL',
  'SSL',
  'FQDN',
  'INSTANCE',
] as const;

/** How many recent followers a field keeps: enough for a couple of optional elements. */
const FOLLOWERS = 3;

/** Records that `field` came after one whose recent followers are `followers`. */
export function follows(followers: FastField[], field: FastField): void {
  if (followers.length === FOLLOWERS) followers.pop();
  followers.unshift(field);
}

function key(property: string, comma: boolean): Buffer {
  return Buffer.from(`${comma ? ',' : ''}${JSON.stringify(property)}:`, 'utf8');
}

/**
 * @param exclude properties left to the general path (an element of one gives its host up)
 * @param dropped properties read but not written (see FastField.dropped)
 */
export function fastObject(
  shape: ObjectShape,
  exclude?: ReadonlySet<string>,
  dropped?: ReadonlySet<string>,
): FastObject {
  const fields = new NameTable<FastField>();
  let count = 0;
  for (const [element, field] of shape.fields) {
    if (field.mode === 'repeated' || exclude?.has(field.property)) continue;
    const fast = fastField(element, field.property, field.shape, count++, field);
    fast.dropped = !!dropped?.has(field.property) && fast.keyPart < 0;
    fields.add(element, fast);
  }
  return { fields, count, leaders: [] };
}

function fastField(
  element: string,
  property: string,
  shape: Shape,
  index: number,
  field?: Field,
): FastField {
  // Every field has every property, in one order: one hidden class, so that the encoder's
  // property reads stay monomorphic.
  const name = Buffer.from(element, 'utf8');
  const fast: FastField = {
    name,
    words: wordsOf(name),
    index,
    first: key(property, false),
    next: key(property, true),
    isQid: property === 'QID',
    keyPart: DETECTION_KEY_PARTS.indexOf(property as (typeof DETECTION_KEY_PARTS)[number]),
    dropped: false,
    kind: 'leaf',
    type: 'string',
    textFirst: undefined,
    textNext: undefined,
    object: undefined,
    itemField: undefined,
    followers: [],
  };
  if (field?.mode === 'wrapped') {
    fast.kind = 'wrapped';
    fast.itemField = fastField(field.item as string, property, shape, 0);
  } else if (shape.kind === 'leaf') {
    fast.type = shape.type;
  } else if (shape.textField !== undefined) {
    fast.kind = 'text';
    fast.type = shape.textType ?? 'string';
    fast.textFirst = key(shape.textField, false);
    fast.textNext = key(shape.textField, true);
  } else {
    fast.kind = 'object';
    fast.object = fastObject(shape);
  }
  return fast;
}

/** Element names → values, looked up by the bytes of a name and a hash computed while scanning. */
export class NameTable<T> {
  private readonly buckets = new Map<number, { name: Buffer; value: T }[]>();

  add(name: string, value: T): void {
    const bytes = Buffer.from(name, 'utf8');
    const hash = hashOf(bytes, 0, bytes.length);
    const bucket = this.buckets.get(hash) ?? [];
    bucket.push({ name: bytes, value });
    this.buckets.set(hash, bucket);
  }

  get(source: Buffer, from: number, to: number, hash: number): T | undefined {
    const bucket = this.buckets.get(hash);
    if (bucket === undefined) return undefined;
    for (const entry of bucket) {
      if (sameBytes(entry.name, source, from, to)) return entry.value;
    }
    return undefined;
  }
}

/** The hash NameTable files names under; HostEncoder.scanName computes the same while scanning. */
function hashOf(bytes: Buffer, from: number, to: number): number {
  let hash = 0;
  for (let i = from; i < to; i++) hash = (Math.imul(hash, 31) + bytes[i]) | 0;
  return hash;
}

export function sameBytes(name: Buffer, source: Buffer, from: number, to: number): boolean {
  if (to - from !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (source[from + i] !== name[i]) return false;
  return true;
}

/** An element name to match: its bytes, and its whole four-byte groups as big-endian words. */
export interface Named {
  name: Buffer;
  words: Int32Array;
}

export function wordsOf(name: Buffer): Int32Array {
  const view = new DataView(name.buffer, name.byteOffset, name.length);
  return Int32Array.from({ length: name.length >> 2 }, (_, k) => view.getInt32(k * 4));
}

/**
 * Whether the element name at `from` is `named` (followed by '>', '/' or a space), four bytes at
 * a time; `view` is `source` as a DataView. False when `source` ends before `to` would tell.
 */
export function nameAt(
  named: Named,
  source: Buffer,
  view: DataView,
  from: number,
  to: number,
): boolean {
  const { name, words } = named;
  const length = name.length;
  if (from + length >= to) return false;
  let k = 0;
  for (; k < words.length; k++) if (view.getInt32(from + k * 4) !== words[k]) return false;
  for (k *= 4; k < length; k++) if (source[from + k] !== name[k]) return false;
  const c = source[from + length];
  return c === GT || c <= 32 || c === SLASH;
}
