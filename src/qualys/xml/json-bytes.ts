/**
 * Append-only UTF-8 output for JSON written byte by byte (see detection-encoder). Values written
 * into an arena stay where they are, so many small JSON values can point into one large buffer;
 * a full arena is left to the values that use it and a new one starts.
 */

const ARENA_BYTES = 1 << 20;

const QUOTE = 34;
const BACKSLASH = 92;
const HEX = '0123456789abcdef';
/** JSON.stringify's short escapes for control characters. */
const SHORT_ESCAPES: Record<number, number> = { 8: 98, 9: 116, 10: 110, 12: 102, 13: 114 };

/** Whether any byte of the 32-bit word `w` is zero (the classic bit trick; exact as a test). */
export function hasZeroByte(w: number): number {
  return (w - 0x01010101) & ~w & 0x80808080;
}

/** Whether a word of UTF-8 has a byte a JSON string escapes: a control character, '"' or '\\'. */
function needsEscape(w: number): number {
  return (
    ((w - 0x20202020) & ~w & 0x80808080) | hasZeroByte(w ^ 0x22222222) | hasZeroByte(w ^ 0x5c5c5c5c)
  );
}

export class JsonBytes {
  buffer = Buffer.allocUnsafe(ARENA_BYTES);
  /** `buffer` as a DataView, to write four bytes at once. */
  private view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.length);
  length = 0;
  /** Start of the value being written: moved to the new arena when this one fills up. */
  mark = 0;

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const pending = this.length - this.mark;
    const next = Buffer.allocUnsafe(Math.max(ARENA_BYTES, (pending + n) * 2));
    this.buffer.copy(next, 0, this.mark, this.length);
    this.buffer = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
    this.mark = 0;
    this.length = pending;
  }

  byte(c: number): void {
    this.reserve(1);
    this.buffer[this.length++] = c;
  }

  bytes(source: Buffer): void {
    this.reserve(source.length);
    // TypedArray#set: measured 3-5% faster for the encoder than a byte loop (bench/parse.js).
    this.buffer.set(source, this.length);
    this.length += source.length;
  }

  /** `source[from, to)` as it is. */
  raw(source: Buffer, from: number, to: number): void {
    this.reserve(to - from);
    const buffer = this.buffer;
    let at = this.length;
    for (let i = from; i < to; i++) buffer[at++] = source[i];
    this.length = at;
  }

  /** ASCII text (numbers). */
  ascii(text: string): void {
    this.reserve(text.length);
    for (let i = 0; i < text.length; i++) this.buffer[this.length++] = text.charCodeAt(i);
  }

  /**
   * `source[from, to)` (valid UTF-8) as a JSON string, escaped exactly as JSON.stringify escapes
   * it: quote, backslash and control characters; everything else is copied as it is. `view` is
   * `source` as a DataView: four bytes at a time are tested and copied.
   */
  quoted(source: Buffer, view: DataView, from: number, to: number): void {
    // Worst case: every byte a \u00XX escape.
    this.reserve((to - from) * 6 + 2);
    const buffer = this.buffer;
    const out = this.view;
    let at = this.length;
    buffer[at++] = QUOTE;
    let i = from;
    for (;;) {
      while (i + 4 <= to) {
        const w = view.getInt32(i);
        if (needsEscape(w) !== 0) break;
        out.setInt32(at, w);
        at += 4;
        i += 4;
      }
      if (i >= to) break;
      // A word with a byte to escape, or the last bytes: one at a time.
      const end = Math.min(to, i + 4);
      for (; i < end; i++) at = escaped(buffer, at, source[i]);
    }
    buffer[at++] = QUOTE;
    this.length = at;
  }
}

/** Writes the byte `c` of a JSON string at `at`, escaped if need be; returns the end. */
function escaped(buffer: Buffer, at: number, c: number): number {
  if (c >= 32 && c !== QUOTE && c !== BACKSLASH) {
    buffer[at++] = c;
    return at;
  }
  buffer[at++] = BACKSLASH;
  if (c === QUOTE || c === BACKSLASH) buffer[at++] = c;
  else if (SHORT_ESCAPES[c] !== undefined) buffer[at++] = SHORT_ESCAPES[c];
  else {
    buffer[at++] = 117; // u
    buffer[at++] = 48;
    buffer[at++] = 48;
    buffer[at++] = HEX.charCodeAt(c >> 4);
    buffer[at++] = HEX.charCodeAt(c & 15);
  }
  return at;
}
