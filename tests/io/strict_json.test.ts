import { expect, it } from 'vitest';

import { parseStrictJson, type JsonValue } from '../../lib/io/strict_json.js';

/** Maps back to plain objects, to compare with JSON.parse. */
const plain = (v: JsonValue): unknown =>
  v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [k, plain(x)])) : Array.isArray(v) ? v.map(plain) : v;

it('reads what JSON.parse reads, with objects as Maps in file order', () => {
  const texts = [
    '{}', '[]', ' {"a" : [1, -2.5e3, 0, true, false, null, "x\\"y\\\\z\\u00e9\\ud83d\\ude00"]}\n\t', '"s"', '-0', '1E+2',
    '{"b":{"c":[[],[{}]]},"a":1}', '{"__proto__":{"x":1}}',
  ];
  for (const text of texts) expect(plain(parseStrictJson(text))).toEqual(JSON.parse(text));
  expect([...(parseStrictJson('{"b":1,"a":2,"1":3}') as Map<string, JsonValue>).keys()]).toEqual(['b', 'a', '1']); // not JS key order
});

it('rejects what RFC 8259 or the reference reader rejects, saying what and where', () => {
  const cases: Array<[string, RegExp]> = [
    ['{"a":1,"a":2}', /duplicate key "a" at character 7/],
    ['{"a":{"b":1,"b":1}}', /duplicate key "b"/],
    ['"\\ud800"', /unpaired surrogate/],
    ['"\\udc00x"', /unpaired surrogate/],
    [`${'['.repeat(129)}${']'.repeat(129)}`, /nesting deeper than 128/],
    ['{"a":1,}', /expected a key/],
    ['[1,]', /unexpected character/],
    ['01', /trailing characters/],
    ['{"a":1} x', /trailing characters/],
    ['"tab\there"', /invalid string/],
    ["{'a':1}", /expected a key/],
    ['NaN', /unexpected character/],
    ['\ufeff{}', /unexpected character at character 0/],
    ['', /unexpected character/],
    ['[1 2]', /expected "," or "]"/],
    ['{"a" 1}', /expected ":"/],
  ];
  for (const [text, message] of cases) expect(() => parseStrictJson(text), text).toThrow(message);
  expect(parseStrictJson(`${'['.repeat(128)}${']'.repeat(128)}`)).toBeInstanceOf(Array);
});
