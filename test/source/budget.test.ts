import { CallBudget, Slot } from '../../src/qualys/budget';

/** Headers as Qualys sends them (API doc §5, real capture from qg3). */
function headers(values: {
  limit?: number;
  running?: number;
  remaining?: number;
  toWait?: number;
}): Record<string, string> {
  const h: Record<string, string> = {
    'x-ratelimit-limit': '300',
    'x-ratelimit-window-sec': '3600',
  };
  if (values.limit !== undefined) h['x-concurrency-limit-limit'] = String(values.limit);
  if (values.running !== undefined) h['x-concurrency-limit-running'] = String(values.running);
  if (values.remaining !== undefined) h['x-ratelimit-remaining'] = String(values.remaining);
  if (values.toWait !== undefined) h['x-ratelimit-towait-sec'] = String(values.toWait);
  return h;
}

/** Starts `n` acquisitions and returns the slots granted so far (after pending callbacks run). */
async function tryAcquire(budget: CallBudget, api: 'detection' | 'knowledge_base', n: number) {
  const granted: Slot[] = [];
  for (let i = 0; i < n; i++) void budget.acquire(api).then((slot) => granted.push(slot));
  await flush();
  return granted;
}

async function flush() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('CallBudget', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2025-03-14T09:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('runs one call until the limit is known, then as many as X-Concurrency-Limit-Limit', async () => {
    const budget = new CallBudget(8);
    const granted = await tryAcquire(budget, 'detection', 3);
    expect(granted).toHaveLength(1);
    budget.observe('detection', headers({ limit: 2, running: 1, remaining: 299 }));
    await flush();
    expect(granted).toHaveLength(2);
    granted[0].release();
    await flush();
    expect(granted).toHaveLength(3);
    expect(budget.stats()).toMatchObject({ calls: 3, inFlight: 2, maxInFlight: 2 });
  });

  it('never exceeds max_concurrency, whatever the server allows', async () => {
    const budget = new CallBudget(1);
    budget.observe('detection', headers({ limit: 5, running: 0, remaining: 299 }));
    expect(await tryAcquire(budget, 'detection', 3)).toHaveLength(1);
  });

  it('leaves room for calls other clients of the subscription are running', async () => {
    const budget = new CallBudget(8);
    const [first] = await tryAcquire(budget, 'detection', 1);
    // Running counts this call and two of another tool: one slot of three is ours to use.
    budget.observe('detection', headers({ limit: 3, running: 3, remaining: 200 }));
    expect(await tryAcquire(budget, 'detection', 2)).toHaveLength(0);
    first.release();
    await flush();
    expect(budget.stats().inFlight).toBe(1);
  });

  it('starts no more calls than X-RateLimit-Remaining allows', async () => {
    const budget = new CallBudget(8);
    budget.observe('detection', headers({ limit: 4, running: 0, remaining: 2 }));
    expect(await tryAcquire(budget, 'detection', 4)).toHaveLength(2);
  });

  it('waits X-RateLimit-ToWait-Sec before the next call when the window is spent', async () => {
    const waits: string[] = [];
    const budget = new CallBudget(8, (message) => waits.push(message));
    budget.observe('detection', headers({ limit: 2, running: 0, remaining: 0, toWait: 30 }));
    const granted = await tryAcquire(budget, 'detection', 1);
    expect(granted).toHaveLength(0);
    jest.advanceTimersByTime(29_000);
    await flush();
    expect(granted).toHaveLength(0);
    jest.advanceTimersByTime(1_100);
    await flush();
    expect(granted).toHaveLength(1);
    expect(waits).toEqual([
      'Rate limit of the detection API reached (X-RateLimit-ToWait-Sec): waiting 30 s',
    ]);
    expect(budget.stats()).toMatchObject({ rateWaits: 1 });
  });

  it('blocks an API for the SECONDS_TO_WAIT of a 1965, and only that API', async () => {
    const budget = new CallBudget(8);
    budget.observe('detection', headers({ limit: 2, running: 0, remaining: 10 }));
    budget.blockFor('detection', 60, 'code 1965');
    expect(await tryAcquire(budget, 'detection', 1)).toHaveLength(0);
    expect(await tryAcquire(budget, 'knowledge_base', 1)).toHaveLength(1);
    jest.advanceTimersByTime(60_100);
    await flush();
    expect(budget.stats().inFlight).toBe(2);
  });

  it('lets one call probe a spent window that gave no wait (its 1965 will say how long)', async () => {
    const budget = new CallBudget(8);
    budget.observe('detection', headers({ limit: 2, running: 0, remaining: 0, toWait: 0 }));
    expect(await tryAcquire(budget, 'detection', 2)).toHaveLength(1);
  });

  it('applies a limit learned on one API to the first calls of another', async () => {
    const budget = new CallBudget(8);
    budget.observe('detection', headers({ limit: 2, running: 0, remaining: 100 }));
    expect(await tryAcquire(budget, 'knowledge_base', 3)).toHaveLength(2);
  });

  it('tells rate-limit listeners when a wait starts and until when, once per refusal', () => {
    const budget = new CallBudget(8);
    const heard: [string, string][] = [];
    const stop = budget.onRateLimit((api, until) =>
      heard.push([api, new Date(until).toISOString()]),
    );
    // A 409 1965: its headers (ToWait-Sec), then its body (SECONDS_TO_WAIT), say the same wait.
    budget.observe('detection', headers({ remaining: 0, toWait: 30 }));
    budget.blockFor('detection', 30, 'SIMPLE_RETURN 1965');
    budget.blockFor('knowledge_base', 5, 'SIMPLE_RETURN 1965');
    stop();
    budget.blockFor('detection', 90, 'SIMPLE_RETURN 1965');
    expect(heard).toEqual([
      ['detection', '2025-03-14T09:00:30.000Z'],
      ['knowledge_base', '2025-03-14T09:00:05.000Z'],
    ]);
  });
});
