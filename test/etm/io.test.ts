import { Readable } from 'stream';

import { lines } from '../../src/etm/io';

async function collect(chunks: (string | Buffer)[]): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines(Readable.from(chunks))) out.push(line);
  return out;
}

describe('lines', () => {
  test('splits on LF and CRLF, keeps empty lines, and the last line without an end', async () => {
    expect(await collect(['a\nb\r\n\nc'])).toEqual(['a', 'b', '', 'c']);
  });

  test('joins lines that span chunks, including a CRLF split between chunks', async () => {
    expect(await collect(['{"type":', '"RECORD"', '}\r', '\n{"x":1}\n'])).toEqual([
      '{"type":"RECORD"}',
      '{"x":1}',
    ]);
  });

  test('never splits a multi-byte character', async () => {
    const bytes = Buffer.from('é→✓\nnext\n');
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    expect(await collect(chunks)).toEqual(['é→✓', 'next']);
  });

  test('no input, no lines', async () => {
    expect(await collect([])).toEqual([]);
  });
});
