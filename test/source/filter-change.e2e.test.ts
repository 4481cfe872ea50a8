/**
 * Filters changed on an existing connection (issue: widening `severities` read nothing new): the
 * stream state keeps the filters it was read with, and other filters re-read the whole window.
 */
import { catalog, configFor, lastState, Message, recordsOf, runMain, simulator } from './harness';

const detections = (run: Parameters<typeof recordsOf>[0]) =>
  recordsOf<{ ID: number; VULNERABILITIES: { QID: number; SEVERITY: number }[] }>(
    run,
    'host_detections',
  )
    .flatMap((h) => h.VULNERABILITIES.map((d) => `${h.ID}:${d.QID}:${d.SEVERITY}`))
    .sort();

test('a wider severities filter re-reads the window; the same filters read only changes', async () => {
  const sim = await simulator({ hosts: 30, detectionsPerHost: 6, qids: 80, seed: 17 });
  try {
    const streams = catalog(['host_detections']);
    const severe = configFor(sim, { severities: [5] });
    const wider = configFor(sim, { severities: [4, 5] });
    const first = await runMain('read', { config: severe, catalog: streams });
    expect(first.code).toBe(0);
    expect(detections(first).every((d) => d.endsWith(':5'))).toBe(true);
    const state = lastState(first);
    expect((state[0] as Message).stream.stream_state.filters).toMatchObject({ severities: [5] });

    const again = await runMain('read', { config: severe, catalog: streams, state });
    expect(again.code).toBe(0);
    expect(detections(again)).toEqual([]);

    const widened = await runMain('read', { config: wider, catalog: streams, state });
    expect(widened.code).toBe(0);
    const whole = await runMain('read', { config: wider, catalog: streams });
    expect(detections(widened)).toEqual(detections(whole));
    expect(detections(widened).some((d) => d.endsWith(':4'))).toBe(true);
    expect(
      widened.messages.some(
        (m) =>
          m.type === 'LOG' &&
          m.log.message ===
            'host_detections: filters changed since the last sync (severities [5] → [4,5]): reading the whole window again',
      ),
    ).toBe(true);
  } finally {
    await sim.close();
  }
});
