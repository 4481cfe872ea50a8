/**
 * Builds one record (a HOST, a VULN, a WARNING…) from tokenizer events, following a compiled
 * shape: numbers become numbers, 0|1 flags booleans, repeatable elements arrays even with one
 * child, and attribute-carrying elements objects. Elements the shape does not know are kept
 * (text, or nested objects) so that new Qualys fields are not lost. An empty number or flag
 * element is omitted; an empty text element is an empty string.
 *
 * Whatever the server sends: objects reach no prototype (record-object: an element named
 * __proto__ or constructor is a field like any other), text longer than its cap
 * keeps a prefix and a marker (text-cap), and a record holding more than MAX_RECORD_WEIGHT is an
 * error rather than a memory blow-up.
 */
import { newObject } from './record-object';
import { capText, MAX_FIELD_CHARS } from './text-cap';
import { parseAttributes, XmlLimitError } from './tokenizer';
import { Field, LeafType, ObjectShape, Shape } from './shape';

type Target = Record<string, unknown> | unknown[];

interface Frame {
  /** undefined: an element the shape does not describe. */
  shape: Shape | undefined;
  /** The object or array being built; undefined for leaves and for unknown elements so far. */
  value: Record<string, unknown> | unknown[] | undefined;
  text: string;
  /** Characters of the text beyond `cap`, counted and not kept. */
  dropped: number;
  cap: number;
  /** Where the finished value goes, and how: set target[property], or push (arrays). */
  target: Target;
  property: string;
  append: boolean;
  /** For a wrapper (TAGS, DETECTION_LIST…): the item element name and shape. */
  item?: string;
  itemShape?: Shape;
}

/** Reports a value that does not fit its field (e.g. text in a number field); it is omitted. */
export type InvalidValueHandler = (element: string, value: string, expected: LeafType) => void;

/** Caps on kept text: `byElement` for elements with their own (RESULTS), MAX_FIELD_CHARS else. */
export type TextCaps = ReadonlyMap<string, number>;

/**
 * What a record may hold: kept text characters plus ELEMENT_WEIGHT per element (an element costs
 * about that many bytes as a JS value). A HOST with 3,000 detections and RESULTS weighs ~20 Mi.
 */
export const MAX_RECORD_WEIGHT = 48 * 1024 * 1024;
const ELEMENT_WEIGHT = 64;

function emptyFrame(): Frame {
  return {
    shape: undefined,
    value: undefined,
    text: '',
    dropped: 0,
    cap: MAX_FIELD_CHARS,
    target: [],
    property: '',
    append: false,
  };
}

export class RecordBuilder {
  /** Frames are reused by depth: building a record allocates only the values it returns. */
  private readonly frames: Frame[] = [];
  private depth = 0;
  private weight = 0;
  private recordName = '';

  constructor(
    private readonly onInvalidValue: InvalidValueHandler = () => undefined,
    private readonly textCaps: TextCaps = new Map(),
  ) {}

  get building(): boolean {
    return this.depth > 0;
  }

  /** Starts a record at its element's open tag. */
  begin(shape: ObjectShape, name: string, attributes: string | undefined): void {
    this.depth = 0;
    this.weight = 0;
    this.recordName = name;
    this.push(shape, attributes, newObject(), 'record', false, name);
  }

  open(name: string, attributes: string | undefined): void {
    const parent = this.frames[this.depth - 1];
    const parentShape = parent.shape;
    if (parent.item !== undefined) {
      if (name === parent.item) {
        this.push(parent.itemShape, attributes, parent.value as unknown[], '', true, name);
      } else {
        this.pushUnknown(newObject(), name);
      }
      return;
    }
    const target = this.objectOf(parent);
    const field = parentShape?.kind === 'object' ? parentShape.fields.get(name) : undefined;
    if (field === undefined) this.pushUnknown(target, name);
    else this.pushField(field, attributes, target, name);
  }

  /** Only leaves, text-carrying objects and unknown leaves keep text (not layout whitespace). */
  wantsText(): boolean {
    const frame = this.frames[this.depth - 1];
    const shape = frame.shape;
    return shape === undefined
      ? frame.item === undefined && frame.value === undefined
      : shape.kind === 'leaf' || shape.textField !== undefined;
  }

  text(text: string): void {
    const frame = this.frames[this.depth - 1];
    const room = frame.cap - frame.text.length;
    let kept = text;
    if (text.length > room) {
      kept = room > 0 ? text.slice(0, room) : '';
      frame.dropped += text.length - kept.length;
    }
    frame.text = frame.text.length ? frame.text + kept : kept;
    this.weigh(kept.length);
  }

  /** Closes the current element; returns the record when its own element closes. */
  close(name: string): Record<string, unknown> | undefined {
    const frame = this.frames[--this.depth];
    const value = this.finish(frame, name);
    if (value !== undefined) {
      if (frame.append) {
        if (frame.property === '') (frame.target as unknown[]).push(value);
        else {
          const target = frame.target as Record<string, unknown>;
          const list = target[frame.property] as unknown[] | undefined;
          if (list === undefined) target[frame.property] = [value];
          else list.push(value);
        }
      } else {
        (frame.target as Record<string, unknown>)[frame.property] = value;
      }
    }
    if (this.depth === 0) {
      return ((frame.target as Record<string, unknown>).record as Record<string, unknown>) ?? {};
    }
    return undefined;
  }

  private objectOf(frame: Frame): Record<string, unknown> {
    if (frame.value === undefined) frame.value = newObject();
    return frame.value as Record<string, unknown>;
  }

  private weigh(amount: number): void {
    this.weight += amount;
    if (this.weight > MAX_RECORD_WEIGHT) {
      throw new XmlLimitError(
        `a <${this.recordName}> larger than ${MAX_RECORD_WEIGHT / 1024 / 1024} Mi ` +
          `(${ELEMENT_WEIGHT} per element plus its text)`,
      );
    }
  }

  private pushField(
    field: Field,
    attributes: string | undefined,
    target: Record<string, unknown>,
    name: string,
  ) {
    if (field.mode !== 'wrapped') {
      const repeated = field.mode === 'repeated';
      this.push(field.shape, attributes, target, field.property, repeated, name);
      return;
    }
    let list = target[field.property] as unknown[] | undefined;
    if (list === undefined) {
      list = [];
      target[field.property] = list;
    }
    const frame = this.push(undefined, undefined, target, field.property, false, name);
    frame.value = list;
    frame.item = field.item;
    frame.itemShape = field.shape;
  }

  private push(
    shape: Shape | undefined,
    attributes: string | undefined,
    target: Target,
    property: string,
    append: boolean,
    name: string,
  ): Frame {
    let frame = this.frames[this.depth];
    if (frame === undefined) {
      frame = emptyFrame();
      this.frames[this.depth] = frame;
    }
    this.depth++;
    this.weigh(ELEMENT_WEIGHT);
    frame.shape = shape;
    frame.value =
      shape?.kind === 'object' && shape.textField !== undefined
        ? parseAttributes(attributes)
        : undefined;
    frame.text = '';
    frame.dropped = 0;
    frame.cap = this.textCaps.get(name) ?? MAX_FIELD_CHARS;
    frame.target = target;
    frame.property = property;
    frame.append = append;
    frame.item = undefined;
    frame.itemShape = undefined;
    return frame;
  }

  /** An element the shape does not describe; if it repeats it becomes an array (finishUnknown). */
  private pushUnknown(target: Record<string, unknown>, name: string): void {
    this.push(undefined, undefined, target, name, false, name);
  }

  private finish(frame: Frame, name: string): unknown {
    const shape = frame.shape;
    if (frame.item !== undefined) return undefined; // the wrapper's array is already in place
    if (frame.dropped > 0) {
      frame.text = capText(frame.text, frame.text.length + frame.dropped, frame.cap);
    }
    if (shape === undefined) return this.finishUnknown(frame);
    if (shape.kind === 'leaf') return this.convert(frame.text, shape.type, name);
    if (shape.textField !== undefined) {
      const value = this.objectOf(frame);
      const text = this.convert(frame.text, shape.textType ?? 'string', name);
      if (text !== undefined) value[shape.textField] = text;
      return value;
    }
    return this.objectOf(frame);
  }

  private finishUnknown(frame: Frame): unknown {
    const value = frame.value ?? (frame.text.length ? frame.text : undefined);
    if (value === undefined) return undefined;
    const target = frame.target as Record<string, unknown>;
    const existing = target[frame.property];
    if (existing !== undefined) {
      // A repeated unknown element: collect the occurrences into an array.
      if (Array.isArray(existing)) existing.push(value);
      else target[frame.property] = [existing, value];
      return undefined;
    }
    return value;
  }

  private convert(text: string, type: LeafType, name: string): unknown {
    // A present but empty text element stays an empty string (e.g. a failed metadata VALUE).
    if (type === 'string') return text;
    const trimmed = text.trim();
    if (!trimmed.length) return undefined;
    if (type === 'boolean') {
      if (trimmed === '1' || trimmed === 'true') return true;
      if (trimmed === '0' || trimmed === 'false') return false;
    } else {
      const n = Number(trimmed);
      if (n === n && (type === 'number' || Number.isInteger(n))) return n;
    }
    this.onInvalidValue(name, trimmed, type);
    return undefined;
  }
}
