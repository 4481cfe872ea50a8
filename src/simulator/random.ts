/**
 * Seeded pseudo-random numbers. Every generated value is keyed by (seed, what, which), so a host or
 * QID can be regenerated on its own, in any order, and always comes out the same: that is what lets
 * the data set be lazy (nothing per host is stored) and responses byte-identical across runs.
 */

/** murmur3's 32-bit finaliser: a cheap, well-mixed hash step. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes up to four integers into one unsigned 32-bit key. */
export function hash32(a: number, b = 0, c = 0, d = 0): number {
  let h = fmix32((a | 0) ^ 0x9e3779b9);
  h = fmix32((h ^ (b | 0)) + 0x7f4a7c15);
  h = fmix32((h ^ (c | 0)) + 0x3c6ef372);
  return fmix32((h ^ (d | 0)) + 0x2545f491);
}

/** A uniform number in [0, 1) from a hash key: for "is this host in the fraction" decisions. */
export function unitFloat(a: number, b = 0, c = 0, d = 0): number {
  return hash32(a, b, c, d) / 4294967296;
}

/** Domains of randomness; one per kind of generated thing so streams never correlate. */
export const Stream = {
  hostIds: 1,
  identity: 2,
  hostState: 3,
  detections: 4,
  knowledgeBase: 6,
  tags: 7,
  scanCycle: 8,
  cycleHosts: 9,
  purge: 10,
  kbModification: 11,
  faults: 13,
  cycleDetections: 14,
  services: 15,
} as const;

/** mulberry32: tiny, fast, good enough statistical quality for synthetic data. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  static keyed(a: number, b = 0, c = 0, d = 0): Rng {
    return new Rng(hash32(a, b, c, d));
  }

  nextU32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)];
  }

  /** Picks an index according to relative weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i];
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** `n` lowercase hex digits. */
  hex(n: number): string {
    let out = '';
    while (out.length < n) out += this.nextU32().toString(16).padStart(8, '0');
    return out.slice(0, n);
  }

  uuid(): string {
    const h = this.hex(32);
    const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
