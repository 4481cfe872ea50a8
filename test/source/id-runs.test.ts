import { decodeIdRuns, encodeIdRuns, idsGone, mergeIdRuns } from '../../src/streams/id-runs';

describe('ID runs (the hosts stream state `live`)', () => {
  it('merges ID_SET entries in any order into sorted runs of consecutive IDs', () => {
    expect(
      mergeIdRuns([
        [110002206, 110002206],
        [110002200, 110002203],
        [110002204, 110002204],
        [110002202, 110002202],
        [5, 9],
      ]),
    ).toEqual([
      [5, 9],
      [110002200, 110002204],
      [110002206, 110002206],
    ]);
  });

  it('writes runs as base-36 gap.length pairs and reads them back', () => {
    const runs: [number, number][] = [
      [110002200, 110002204],
      [110002206, 110002206],
      [900000000000, 900000000999],
    ];
    const text = encodeIdRuns(runs);
    expect(text).toBe('1thq8o.4,2.0,bhej9q76.rr');
    expect(decodeIdRuns(text, 'hosts.live')).toEqual(runs);
    expect(encodeIdRuns([])).toBe('');
    expect(decodeIdRuns('', 'hosts.live')).toEqual([]);
  });

  it('rejects a state that is not runs, naming the field', () => {
    expect(() => decodeIdRuns('1ti0jc.4,oops', 'hosts.live')).toThrow(
      'hosts.live: "oops" is not a gap.length pair',
    );
    expect(() => decodeIdRuns('1ti0jc.4,0.1', 'hosts.live')).toThrow(
      'hosts.live: runs out of order at "0.1"',
    );
  });

  it('lists the IDs of the old runs missing from the new ones', () => {
    const before: [number, number][] = [
      [1, 10],
      [20, 22],
      [30, 30],
    ];
    const after: [number, number][] = [
      [2, 4],
      [6, 6],
      [9, 21],
      [40, 50],
    ];
    expect(idsGone(before, after)).toEqual([1, 5, 7, 8, 22, 30]);
    expect(idsGone(before, [])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 21, 22, 30]);
    expect(idsGone([], after)).toEqual([]);
    expect(idsGone(before, before)).toEqual([]);
  });
});
