/**
 * Configuration keys that are not the spec's (issue 10 §4): a key close to a known one is a
 * misspelling that would otherwise pass silently ("severites": every severity is read), so it is
 * an error saying "did you mean"; other unknown keys are dropped with a warning.
 */

/** Unknown keys listed in one message: a hostile config may have thousands. */
const MAX_KEYS_NAMED = 10;

export interface KeyCheck {
  /** A copy of the known keys of the config. */
  known: Record<string, unknown>;
  /** The unknown keys close to a known one, with what they may have meant. */
  error?: string;
  /** The other unknown keys, dropped. */
  warning?: string;
}

/** Sorts the keys of a config into known, misspelled and unknown. */
export function checkKeys(raw: Record<string, unknown>, knownKeys: readonly string[]): KeyCheck {
  const known: Record<string, unknown> = {};
  const misspelled: string[] = [];
  const unknown: string[] = [];
  for (const key of Object.keys(raw)) {
    if (knownKeys.includes(key)) {
      known[key] = structuredClone(raw[key]);
      continue;
    }
    const close = closeKeys(key, knownKeys);
    if (close.length > 0) misspelled.push(`${shown(key)} (did you mean ${close.join(' or ')}?)`);
    else unknown.push(shown(key));
  }
  return {
    known,
    error:
      misspelled.length > 0
        ? `Invalid configuration: unknown ${misspelled.length > 1 ? 'keys' : 'key'} ` +
          listed(misspelled)
        : undefined,
    warning:
      unknown.length > 0
        ? `Configuration ${unknown.length > 1 ? 'keys' : 'key'} ${listed(unknown)} ` +
          `${unknown.length > 1 ? 'are' : 'is'} not in the spec: ignored`
        : undefined,
  };
}

function shown(key: string): string {
  return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
}

function listed(items: string[]): string {
  const more = items.length - MAX_KEYS_NAMED;
  return items.slice(0, MAX_KEYS_NAMED).join(', ') + (more > 0 ? ` and ${more} more` : '');
}

/**
 * Known keys a key is probably a misspelling of: a few edits away ("severites"), or sharing a
 * distinctive word, give or take a letter ("tags": tag_filter). Words found in several keys
 * ("include", "size") say nothing.
 */
function closeKeys(key: string, knownKeys: readonly string[]): string[] {
  const name = key.toLowerCase().replace(/[\s-]+/g, '_');
  const misspelt = knownKeys.filter(
    (known) => editDistance(name, known) <= (known.length <= 5 ? 1 : 2),
  );
  if (misspelt.length > 0) return misspelt;
  const words = name.split('_').filter((word) => word.length >= 3);
  return knownKeys.filter((known) =>
    known
      .split('_')
      .filter((word) => word.length >= 3 && !isCommonWord(word, knownKeys))
      .some((word) => words.some((w) => editDistance(w, word) <= 1)),
  );
}

function isCommonWord(word: string, knownKeys: readonly string[]): boolean {
  return knownKeys.filter((known) => known.split('_').includes(word)).length >= 3;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
}
