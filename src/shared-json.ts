/**
 * Values that many records share (a QID's QID_INFO is on every detection of that QID). Plain
 * JSON.stringify serializes them like any object; while a SharedJsonEncoder is encoding a record,
 * each stands in as a short token, and the encoder splices in its JSON, encoded once.
 */

/** The encoder active during its own JSON.stringify call, if any (JSON.stringify is synchronous). */
const encoding: { active?: SharedJsonEncoder } = {};

export abstract class SharedJson {
  toJSON(): unknown {
    return encoding.active ? encoding.active.token(this) : this;
  }
}

/** Per-process random part of the tokens, so that no Qualys text can be mistaken for one. */
const NONCE = Math.random().toString(36).slice(2, 10);
/** A token as JSON.stringify writes it: "\u0000<nonce>:<n>" (the NUL is escaped to 6 characters). */
const TOKEN_PREFIX = `"\\u0000${NONCE}:`;

/** Where encoded JSON goes: text as it is, shared values as their cached UTF-8 bytes. */
/**
 * Arrays longer than this are encoded one element at a time (see encodeObject). A detection's
 * JSON is about 0.8 KB with its shared parts as tokens, so shorter arrays stay well under 128 KB.
 */
const SPLIT_ARRAYS_LONGER_THAN = 100;

export interface JsonSink {
  text(text: string): void;
  /** `bytes[from, to)`, the whole buffer by default. */
  bytes(bytes: Buffer, from?: number, to?: number): void;
}

/**
 * A value whose JSON is already encoded, as UTF-8 bytes (a detection read by the fast path,
 * qualys/xml/detection-encoder): the encoder copies them.
 */
export abstract class RawJson {
  abstract writeJson(sink: JsonSink): void;

  /** For plain JSON.stringify (tests, logs): the value itself, decoded. */
  toJSON(): unknown {
    const parts: Buffer[] = [];
    this.writeJson({
      text: (text) => parts.push(Buffer.from(text, 'utf8')),
      bytes: (bytes, from = 0, to = bytes.length) => parts.push(bytes.subarray(from, to)),
    });
    return JSON.parse(Buffer.concat(parts).toString('utf8'));
  }
}

export class SharedJsonEncoder {
  private readonly ids = new WeakMap<SharedJson, number>();
  private readonly encoded: Buffer[] = [];

  token(value: SharedJson): string {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.encoded.length;
      // Encoded with the encoder inactive, so the value serializes as itself.
      const previous = encoding.active;
      encoding.active = undefined;
      this.encoded.push(Buffer.from(JSON.stringify(value), 'utf8'));
      encoding.active = previous;
      this.ids.set(value, id);
    }
    return `\u0000${NONCE}:${id}`;
  }

  /**
   * Writes the JSON of the object `value` to `sink` (the same JSON as JSON.stringify), shared
   * values from their cached bytes, RawJson values as their bytes. Long arrays (a host's
   * detections) are encoded element by element, so that no string is large: V8 allocates strings
   * over 128 KB straight into the old generation, which then fills with garbage that only a full
   * collection frees.
   */
  encodeObject(value: Record<string, unknown>, sink: JsonSink): void {
    let separator = '{';
    for (const key in value) {
      const item = value[key];
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
      sink.text(`${separator}${JSON.stringify(key)}:`);
      separator = ',';
      if (
        Array.isArray(item) &&
        (item.length > SPLIT_ARRAYS_LONGER_THAN || item[0] instanceof RawJson)
      ) {
        for (let i = 0; i < item.length; i++) {
          sink.text(i === 0 ? '[' : ',');
          const element: unknown = item[i];
          if (element instanceof RawJson) element.writeJson(sink);
          else this.encode(element ?? null, sink);
        }
        sink.text(item.length ? ']' : '[]');
      } else {
        this.encode(item, sink);
      }
    }
    sink.text(separator === '{' ? '{}' : '}');
  }

  /** Writes the JSON of `value` to `sink`, shared values from their cached bytes. */
  encode(value: unknown, sink: JsonSink): void {
    encoding.active = this;
    let json: string;
    try {
      json = JSON.stringify(value);
    } finally {
      encoding.active = undefined;
    }
    let from = 0;
    for (let at = json.indexOf(TOKEN_PREFIX); at >= 0; at = json.indexOf(TOKEN_PREFIX, from)) {
      const end = json.indexOf('"', at + TOKEN_PREFIX.length);
      if (at > from) sink.text(json.slice(from, at));
      sink.bytes(this.encoded[Number(json.slice(at + TOKEN_PREFIX.length, end))]);
      from = end + 1;
    }
    if (from < json.length) sink.text(from === 0 ? json : json.slice(from));
  }
}
