/**
 * Building blocks with arithmetic worth pinning down: the host ID space (index <-> ID without a
 * table), the wire date format and date parameter parsing, CDATA escaping and the seeded PRNG.
 */
import { formatDateTime, parseQualysDate } from '../../src/simulator/clock';
import { HostIdSpace } from '../../src/simulator/host-ids';
import { Rng } from '../../src/simulator/random';
import { cdata } from '../../src/simulator/xml-writer';

test('host IDs ascend, map back to their index, and leave gaps that are not hosts', () => {
  const space = new HostIdSpace(3, 5000);
  const ids = Array.from({ length: 5000 }, (_, i) => space.idAt(i));
  for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]);
  ids.forEach((id, i) => expect(space.indexOf(id)).toBe(i));
  const gaps = [];
  for (let id = ids[0]; id < ids[ids.length - 1]; id++) if (space.indexOf(id) < 0) gaps.push(id);
  expect(gaps.length).toBeGreaterThan(5000);
  for (const id of gaps.slice(0, 500)) {
    const above = space.firstIndexAtOrAbove(id);
    expect(ids[above]).toBeGreaterThan(id);
    expect(above === 0 || ids[above - 1] < id).toBe(true);
    expect(space.lastIndexAtOrBelow(id)).toBe(above - 1);
  }
  expect(space.firstIndexAtOrAbove(0)).toBe(0);
  expect(space.firstIndexAtOrAbove(ids[4999] + 1)).toBe(5000);
  expect(ids[0]).toBe(130_000_000);
});

test('formatDateTime matches toISOString without milliseconds', () => {
  const rng = new Rng(1);
  for (let k = 0; k < 2000; k++) {
    const s = rng.int(0, 4_000_000_000);
    expect(formatDateTime(s)).toBe(new Date(s * 1000).toISOString().replace('.000Z', 'Z'));
  }
});

test.each([
  ['2025-03-14', Date.UTC(2025, 2, 14) / 1000],
  ['2025-03-14T09:12:44Z', Date.UTC(2025, 2, 14, 9, 12, 44) / 1000],
  ['2024-02-29T23:59:59Z', Date.UTC(2024, 1, 29, 23, 59, 59) / 1000],
  ['2025-02-29', undefined],
  ['2025-13-01', undefined],
  ['2025-03-14T24:00:00Z', undefined],
  ['2025-03-14T09:12:44.123Z', undefined],
  ['2025-03-14 09:12:44', undefined],
  ['14/03/2025', undefined],
])('parseQualysDate(%s)', (text, expected) => {
  expect(parseQualysDate(text)).toBe(expected);
});

test('CDATA splits an embedded end marker so the text survives', () => {
  expect(cdata('a]]>b')).toBe('<![CDATA[a]]]]><![CDATA[>b]]>');
  expect(cdata('plain <&>')).toBe('<![CDATA[plain <&>]]>');
});

test('the PRNG is deterministic per seed and uniform enough', () => {
  const draw = (seed: number): number[] =>
    Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextU32()
      )(new Rng(seed)),
    );
  expect(draw(42)).toEqual(draw(42));
  expect(draw(42)).not.toEqual(draw(43));
  const rng = new Rng(9);
  const buckets = new Array(10).fill(0);
  for (let k = 0; k < 100_000; k++) buckets[Math.floor(rng.float() * 10)]++;
  for (const b of buckets) expect(Math.abs(b - 10_000)).toBeLessThan(500);
});
