/**
 * Qualys limits (API doc §5): per-API concurrency (409 1960, checked first) and rolling rate window
 * (409 1965), their headers on every response, blocked calls not using up the window, and a
 * concurrency slot held until the body is written or the client has gone.
 */
import http from 'node:http';
import { SMALL, basic, call, parseXml, path, withSimulator } from './helpers';

const HLD = '/api/4.0/fo/asset/host/vm/detection/?action=list';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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

describe('concurrency limit', () => {
  test('a call beyond the limit gets 409 1960 while the others run; other APIs are not affected', async () => {
    await withSimulator({ ...SMALL, concurrencyLimit: 2, latencyMs: 400 }, async (sim) => {
      const running = [call(sim, HLD), call(sim, HLD)];
      await sleep(150);
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
      const started = Date.now();
      const slow = call(sim, `${HLD}&show_igs=1&ids=${sim.dataset.hostIds()[0]}`);
      await sleep(100);
      expect((await call(sim, HLD)).status).toBe(409);
      const body = (await slow).body;
      expect(body.length).toBeGreaterThan(4000);
      expect(Date.now() - started).toBeGreaterThanOrEqual((body.length / 20_000) * 1000 - 100);
      expect((await call(sim, '/msp/about.php')).status).toBe(200);
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
      await sleep(100);
      const next = await call(sim, `${HLD}&ids=1`);
      expect(next.status).toBe(200);
      expect(next.headers['x-concurrency-limit-running']).toBe('1');
    });
  });
});

describe('rate limit', () => {
  test('the window allows rateLimit calls, then 409 1965 with the wait; blocked calls do not count', async () => {
    await withSimulator({ ...SMALL, rateLimit: 3, rateWindowSec: 1 }, async (sim) => {
      const started = Date.now();
      const ok = [];
      for (let i = 0; i < 3; i++) ok.push(await call(sim, HLD));
      expect(ok.map((r) => [r.status, r.headers['x-ratelimit-remaining']])).toEqual([
        [200, '2'],
        [200, '1'],
        [200, '0'],
      ]);
      expect(ok.map((r) => r.headers['x-ratelimit-towait-sec'])).toEqual(['0', '0', '1']);
      for (let i = 0; i < 2; i++) {
        const refused = await call(sim, HLD);
        expect(refused.status).toBe(409);
        const { code, text, items } = refusal(refused.body);
        expect(code).toBe('1965');
        expect(items).toEqual([['SECONDS_TO_WAIT', '1']]);
        expect(text).toBe(
          'This API cannot be run again for another 0 hours, 0 minutes and 1 seconds.',
        );
        expect(refused.headers['x-ratelimit-towait-sec']).toBe('1');
        expect(refused.headers['x-ratelimit-remaining']).toBe('0');
        expect(refused.headers['x-ratelimit-limit']).toBe('3');
        expect(refused.headers['x-ratelimit-window-sec']).toBe('1');
      }
      expect((await call(sim, '/api/4.0/fo/asset/host/?action=list')).status).toBe(200);
      await sleep(1100 - (Date.now() - started));
      const again = await call(sim, HLD);
      expect(again.status).toBe(200);
      expect(again.headers['x-ratelimit-remaining']).toBe('2');
      expect(sim.stats().conflicts).toEqual({ '1960': 0, '1965': 2 });
    });
  });

  test('the 1965 text spells hours, minutes and seconds of a long window', async () => {
    await withSimulator({ ...SMALL, rateLimit: 1, rateWindowSec: 86400 }, async (sim) => {
      expect((await call(sim, HLD)).status).toBe(200);
      const { items, text } = refusal((await call(sim, HLD)).body);
      const wait = Number(items[0][1]);
      expect(wait).toBeGreaterThan(86390);
      expect(wait).toBeLessThanOrEqual(86400);
      const [h, m, s] = [Math.floor(wait / 3600), Math.floor((wait % 3600) / 60), wait % 60];
      expect(text).toBe(
        `This API cannot be run again for another ${h} hours, ${m} minutes and ${s} seconds.`,
      );
    });
  });

  test('concurrency is checked before the rate window', async () => {
    await withSimulator(
      { ...SMALL, rateLimit: 1, concurrencyLimit: 1, latencyMs: 300 },
      async (sim) => {
        const running = call(sim, HLD);
        await sleep(100);
        const refused = await call(sim, HLD);
        expect(refusal(refused.body).code).toBe('1960');
        expect((await running).status).toBe(200);
        expect(refusal((await call(sim, HLD)).body).code).toBe('1965');
      },
    );
  });
});
