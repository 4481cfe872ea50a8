import { PassThrough } from 'stream';

import { lines } from '../../src/etm/io';
import { readAhead } from '../../src/etm/sync/read-ahead';

describe('readAhead', () => {
  test('yields every line in order, reading ahead no more than its limit', async () => {
    let read = 0;
    async function* source(): AsyncGenerator<string> {
      for (let i = 0; i < 1000; i++) {
        read++;
        yield `line ${i}`;
      }
    }
    const out: string[] = [];
    const ahead: number[] = [];
    for await (const line of readAhead(source(), 100)) {
      out.push(line);
      // Let the pump run as far as the limit allows before taking the next line.
      await new Promise((resolve) => setImmediate(resolve));
      ahead.push(read - out.length);
    }
    expect(out).toEqual(Array.from({ length: 1000 }, (_, i) => `line ${i}`));
    // 100 characters are 12 to 15 lines of 6 to 8: never more than that ahead.
    expect(Math.max(...ahead)).toBeLessThanOrEqual(16);
    expect(Math.max(...ahead)).toBeGreaterThan(1);
  });

  test('a consumer that stops early stops the pump, which closes its input', async () => {
    const pipe = new PassThrough();
    for (let i = 0; i < 100; i++) pipe.write(`${'x'.repeat(50)} ${i}\n`);
    const got: string[] = [];
    for await (const line of readAhead(lines(pipe), 200)) {
      got.push(line);
      if (got.length === 3) break;
    }
    expect(got).toEqual([0, 1, 2].map((i) => `${'x'.repeat(50)} ${i}`));
    // The pump is blocked at its limit; the early stop must release it and destroy the stream.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pipe.destroyed).toBe(true);
  });

  test('a failure of the input is thrown to the consumer after the lines before it', async () => {
    async function* source(): AsyncGenerator<string> {
      yield 'a';
      yield 'b';
      throw new Error('source broke');
    }
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const line of readAhead(source(), 1000)) got.push(line);
      })(),
    ).rejects.toThrow('source broke');
    expect(got).toEqual(['a', 'b']);
  });
});
