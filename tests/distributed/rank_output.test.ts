import { expect, it } from 'vitest';

import { LineSplitter, RankLog, TAIL_LINES } from '../../lib/distributed/rank_output.js';

it('LineSplitter returns whole lines across chunks, and the unterminated rest at the end', () => {
  const lines = new LineSplitter();
  expect(lines.push('a')).toEqual([]);
  expect(lines.push('b\nc\r\n\nd')).toEqual(['ab', 'c', '']);
  expect(lines.push('e\n')).toEqual(['de']);
  expect(lines.flush()).toEqual([]);
  expect(lines.push('tail')).toEqual([]);
  expect(lines.flush()).toEqual(['tail']);
  expect(lines.flush()).toEqual([]);
});

it('RankLog prefixes each line with its rank and keeps the last stderr lines per rank', () => {
  let out = '';
  let err = '';
  const log = new RankLog({ write: (text) => (out += text) }, { write: (text) => (err += text) });
  log.line(0, 'stdout', 'hello');
  log.line(1, 'stderr', 'oops');
  expect(out).toBe('[rank 0] hello\n');
  expect(err).toBe('[rank 1] oops\n');
  expect(log.tail(0)).toEqual([]); // stdout is not kept
  expect(log.tail(1)).toEqual(['oops']);
  for (let i = 0; i < TAIL_LINES + 5; ++i) log.line(2, 'stderr', `line ${i}`);
  expect(TAIL_LINES).toBe(20);
  expect(log.tail(2)).toEqual(Array.from({ length: TAIL_LINES }, (_, i) => `line ${i + 5}`));
});
