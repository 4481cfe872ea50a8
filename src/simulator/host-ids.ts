/**
 * Qualys host IDs of the simulated subscription. IDs ascend with the host index, mostly in runs of
 * consecutive numbers (hosts added in bulk) separated by gaps, so `details=None` output has both ID
 * and ID_RANGE elements. Index <-> ID is O(1) arithmetic, never a table: blocks of 16 hosts sit 64
 * IDs apart, and each block has one seeded gap.
 */
import { hash32, Stream } from './random';

const BLOCK_HOSTS = 16;
const BLOCK_SPAN = 64;

/** The first host ID of a subscription: seeds give different bases (max 2.5M hosts per base). */
export function hostIdBase(seed: number): number {
  return 100_000_000 + (seed % 90) * 10_000_000;
}

export class HostIdSpace {
  constructor(
    private readonly seed: number,
    readonly count: number,
    readonly base: number = hostIdBase(seed),
  ) {}

  /** Position in the block from which IDs jump by gapLength (16 = no gap in this block). */
  private gapStart(block: number): number {
    return 1 + (hash32(this.seed, Stream.hostIds, block) % BLOCK_HOSTS);
  }

  private gapLength(block: number): number {
    return 1 + (hash32(this.seed, Stream.hostIds, block, 1) % 30);
  }

  idAt(index: number): number {
    const block = Math.floor(index / BLOCK_HOSTS);
    const position = index % BLOCK_HOSTS;
    const shift = position >= this.gapStart(block) ? this.gapLength(block) : 0;
    return this.base + block * BLOCK_SPAN + position + shift;
  }

  /** Index of host `id`, or -1 when no host has that ID. */
  indexOf(id: number): number {
    const index = this.firstIndexAtOrAbove(id);
    return index < this.count && this.idAt(index) === id ? index : -1;
  }

  /** Smallest index whose ID is >= id (count when none). */
  firstIndexAtOrAbove(id: number): number {
    const offset = id - this.base;
    if (offset <= 0) return 0;
    const block = Math.floor(offset / BLOCK_SPAN);
    for (let index = block * BLOCK_HOSTS; index < (block + 1) * BLOCK_HOSTS; index++) {
      if (index >= this.count) return this.count;
      if (this.idAt(index) >= id) return index;
    }
    return Math.min(this.count, (block + 1) * BLOCK_HOSTS);
  }

  /** Largest index whose ID is <= id (-1 when none). */
  lastIndexAtOrBelow(id: number): number {
    return this.firstIndexAtOrAbove(id + 1) - 1;
  }
}
