/**
 * Qualys limits (API doc §5): per-API concurrency (409 1960, checked first) and rolling rate window
 * (409 1965), their headers on every response, blocked calls not using up the window, and a
 * concurrency slot held until the body is written or the client has gone. Waits are on observed
 * state (stats), never on guessed timings, so the tests hold on a loaded machine.
 */
import http from 'node:http';
import { ApiLimiter } from '../../src/simulator/limits';
import { Simulator } from '../../src/simulator';
import { SMALL, basic, call, parseXml, path, until, withSimulator } from './helpers';

const HLD = '/api/4.0/fo/asset/host/vm/detection/?action=list';

function refusal(body: string): { code?: string; text?: string; items: [string, string][] } {
  const response = path(parseXml(body), 'RESPONSE')!;
  return {
    code: path(response, 'CODE')?.text,
    text: path(response, 'TEXT')?.text,
    items: (path(response, 'ITEM_LIST')?.children ?? []).map((i) => [
      path(i, 'KEY')!.text,
      path(i, 'VALUE')!.text,
    ]),
  };
}

/** Calls that have been admitted (hold a slot) so far, from the simulator's own statistics. */
function admitted(sim: Simulator, api: 'hld' | 'about'): number {
  return sim.stats().maxRunning[api];
}

describe('concurrency limit', () => {
  test('a call beyond the limit gets 409 1960 while the others run; other APIs are not affected', async () => {
    await withSimulator({ ...SMALL, concurrencyLimit: 2, latencyMs: 500 }, async (sim) => {
      const running = [call(sim, HLD), call(sim, HLD)];
      await until(() => admitted(sim, 'hld') === 2);
      const refused = await call(sim, HLD);
      expect(refused.status).toBe(409);
      expect(refusal(refused.body)).toEqual({
        code: '1960',
        text: 'This API cannot be run again until 1 currently running API instance has finished.',
        items: [['CALLS_TO_FINISH', '1']],
      });
      expect(refused.headers['x-concurrency-limit-limit']).toBe('2');
      expect(refused.headers['x-concurrency-limit-running']).toBe('2');
      expect(refused.headers['x-ratelimit-remaining']).toBe('298');
      const kb = await call(sim, '/api/4.0/fo/knowledge_base/vuln/?action=list&ids=1');
      expect(kb.status).toBe(200);
      expect((await Promise.all(running)).map((r) => r.status)).toEqual([200, 200]);
      const after = await call(sim, HLD);
      expect(after.status).toBe(200);
      expect(after.headers['x-concurrency-limit-running']).toBe('1');
      const stats = sim.stats();
      expect(stats.maxConcurrent.hld).toBe(3);
      expect(stats.maxRunning.hld).toBe(2);
      expect(stats.conflicts).toEqual({ '1960': 1, '1965': 0 });
      expect(stats.statusCodesByEndpoint.hld).toEqual({ '200': 3, '409': 1 });
    });
  });

  test('the slot is held until the body is fully written', async () => {
    await withSimulator({ ...SMALL, concurrencyLimit: 1, bytesPerSec: 20_000 }, async (sim) => {
      let finished = false;
      const slow = call(sim, `${HLD}&show_igs=1&ids=${sim.dataset.hostIds()[0]}`).then(
        (r) => ((finished = true), r),
      );
      await until(() => sim.stats().bytesByEndpoint.hld > 0);
      const refused = await call(sim, HLD);
      expect([refused.status, finished]).toEqual([409, false]);
      const body = (await slow).body;
      expect(body.length).toBeGreaterThan(4000);
      expect((await call(sim, `${HLD}&ids=1`)).status).toBe(200);
    });
  });

  test('the slot is released when the client disconnects mid-body', async () => {
    await withSimulator({ ...SMALL, concurrencyLimit: 1, bytesPerSec: 2_000 }, async (sim) => {
      const received = await new Promise<number>((resolve) => {
        const req = http.get(`${sim.baseUrl}${HLD}`, {
          headers: { authorization: basic(sim.username, sim.password), 'x-requested-with': 't' },
        });
        req.on('response', (res) =>
          res.once('data', (chunk: Buffer) => (req.destroy(), resolve(chunk.length))),
        );
      });
      expect(received).toBeGreaterThan(0);
      // The whole body would take ~15 s at 2 kB/s: only the disconnect can free the slot this soon.
      let next = await call(sim, `${HLD}&ids=1`);
      for (let i = 0; i < 100 && next.status === 409; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        next = await call(sim, `${HLD}&ids=1`);
      }
      expect(next.status).toBe(200);
      expect(next.headers['x-concurrency-limit-running']).toBe('1');
    });
  });
});

describe('rate limit', () => {
  test('rateLimit calls per window, then 409 1965 with the wait in text, item and headers', async () => {
    await withSimulator({ ...SMALL, rateLimit: 3, rateWindowSec: 3600 }, async (sim) => {
      const ok = [];
      for (let i = 0; i < 3; i++) ok.push(await call(sim, HLD));
      expect(ok.map((r) => [r.status, r.headers['x-ratelimit-remaining']])).toEqual([
        [200, '2'],
        [200, '1'],
        [200, '0'],
      ]);
      expect(ok.slice(0, 2).map((r) => r.headers['x-ratelimit-towait-sec'])).toEqual(['0', '0']);
      expect(Number(ok[2].headers['x-ratelimit-towait-sec'])).toBeGreaterThan(3590);
      for (let i = 0; i < 2; i++) {
        const refused = await call(sim, HLD);
        expect(refused.status).toBe(409);
        const { code, text, items } = refusal(refused.body);
        const wait = Number(items[0][1]);
        expect([code, items[0][0]]).toEqual(['1965', 'SECONDS_TO_WAIT']);
        expect(wait).toBeGreaterThan(3590);
        expect(wait).toBeLessThanOrEqual(3600);
        const [m, s] = [Math.floor(wait / 60) % 60, wait % 60];
        expect(text).toBe(
          `This API cannot be run again for another ${Math.floor(wait / 3600)} hours, ${m} minutes and ${s} seconds.`,
        );
        expect(refused.headers['x-ratelimit-towait-sec']).toBe(String(wait));
        expect(refused.headers['x-ratelimit-remaining']).toBe('0');
        expect(refused.headers['x-ratelimit-limit']).toBe('3');
        expect(refused.headers['x-ratelimit-window-sec']).toBe('3600');
      }
      expect((await call(sim, '/api/4.0/fo/asset/host/?action=list')).status).toBe(200);
      expect(sim.stats().conflicts).toEqual({ '1960': 0, '1965': 2 });
    });
  });

  test('the window rolls and blocked calls do not use it up (simulated time)', () => {
    let now = 0;
    const limiter = new ApiLimiter(
      { rateLimit: 2, rateWindowSec: 10, concurrencyLimit: 5 },
      () => now,
    );
    limiter.acquire()();
    now = 4000;
    limiter.acquire()();
    expect(limiter.check()).toEqual({ allowed: false, code: 1965, secondsToWait: 6 });
    now = 9000;
    expect(limiter.check()).toEqual({ allowed: false, code: 1965, secondsToWait: 1 });
    now = 10_001;
    expect(limiter.check()).toEqual({ allowed: true });
    expect(limiter.headers()['X-RateLimit-Remaining']).toBe('1');
    limiter.acquire()();
    expect(limiter.check()).toEqual({ allowed: false, code: 1965, secondsToWait: 4 });
    now = 14_001;
    expect(limiter.headers()['X-RateLimit-Remaining']).toBe('1');
  });

  test('concurrency is checked before the rate window', async () => {
    await withSimulator(
      { ...SMALL, rateLimit: 1, concurrencyLimit: 1, latencyMs: 300 },
      async (sim) => {
        const running = call(sim, HLD);
        await until(() => admitted(sim, 'hld') === 1);
        expect(refusal((await call(sim, HLD)).body).code).toBe('1960');
        expect((await running).status).toBe(200);
        expect(refusal((await call(sim, HLD)).body).code).toBe('1965');
      },
    );
  });
});
