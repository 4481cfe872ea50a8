/**
 * Long text is cut to a prefix that ends with a marker saying how many characters were dropped
 * (field lessons #15: RESULTS can be huge; a hostile server can send a field of any size). The
 * reader keeps only a prefix of a long text as it arrives, so memory never holds the whole of it.
 */

/** Any text field, whatever its element; RESULTS has its own, configured cap (results_max_length). */
export const MAX_FIELD_CHARS = 1024 * 1024;

function marker(dropped: number): string {
  return `\n[… ${dropped} more characters truncated]`;
}

/**
 * A text of `length` characters of which `prefix` holds the first ones (at least `max` of them,
 * or all), cut to at most `max` characters: the kept characters, then a marker counting exactly
 * the characters that are not kept. Text of at most `max` characters is returned as it is.
 */
export function capText(prefix: string, length: number, max: number): string {
  if (length <= max) return prefix;
  // The marker's length depends on the count it shows, which depends on the marker's length.
  let dropped = length - max;
  for (;;) {
    let kept = Math.max(0, max - marker(dropped).length);
    // Never end on the first half of a surrogate pair.
    if (kept > 0 && isHighSurrogate(prefix.charCodeAt(kept - 1))) kept--;
    if (length - kept === dropped) return prefix.slice(0, kept) + marker(dropped);
    dropped = length - kept;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
