/**
 * A strict JSON reader for file headers (RFC 8259). `JSON.parse` keeps the last of two
 * equal keys, accepts lone surrogate escapes and overflows the stack on deep nesting;
 * safetensors' reference reader (serde_json) rejects the first two and caps the depth at
 * 128. Objects come back as Maps, so a key such as `__proto__` is just a key.
 * @module
 */

/** A JSON value; objects are Maps in file order. */
export type JsonValue = null | boolean | number | string | JsonValue[] | Map<string, JsonValue>;

/** serde_json's default recursion limit. */
const MAX_DEPTH = 128;

const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether `text` holds a UTF-16 surrogate without its pair (not encodable as UTF-8). */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/**
 * Parses `text` as one JSON value. Throws a plain Error saying what is wrong and at which
 * character; callers wrap it in their own FormatError.
 */
export function parseStrictJson(text: string): JsonValue {
  let at = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${at}`);
  };
  const skipWhitespace = (): void => {
    WHITESPACE.lastIndex = at;
    WHITESPACE.exec(text);
    at = WHITESPACE.lastIndex;
  };
  const token = (pattern: RegExp): string | null => {
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) return null;
    at = pattern.lastIndex;
    return match[0];
  };
  const readString = (): string => {
    const raw = token(STRING) ?? fail('invalid string');
    const value = JSON.parse(raw) as string;
    if (hasLoneSurrogate(value)) fail('unpaired surrogate in a string');
    return value;
  };
  const readValue = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    skipWhitespace();
    const c = text[at];
    if (c === '{') {
      ++at;
      const object = new Map<string, JsonValue>();
      skipWhitespace();
      if (text[at] === '}') {
        ++at;
        return object;
      }
      for (;;) {
        skipWhitespace();
        if (text[at] !== '"') fail('expected a key');
        const keyAt = at;
        const key = readString();
        if (object.has(key)) {
          at = keyAt; // point at the repeated key, not past it
          fail(`duplicate key ${JSON.stringify(key)}`);
        }
        skipWhitespace();
        if (text[at++] !== ':') fail('expected ":"');
        object.set(key, readValue(depth + 1));
        skipWhitespace();
        const next = text[at++];
        if (next === '}') return object;
        if (next !== ',') fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      ++at;
      const array: JsonValue[] = [];
      skipWhitespace();
      if (text[at] === ']') {
        ++at;
        return array;
      }
      for (;;) {
        array.push(readValue(depth + 1));
        skipWhitespace();
        const next = text[at++];
        if (next === ']') return array;
        if (next !== ',') fail('expected "," or "]"');
      }
    }
    if (c === '"') return readString();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return value;
      }
    }
    const number = token(NUMBER);
    if (number === null) return fail('unexpected character');
    return Number(number);
  };
  const value = readValue(1);
  skipWhitespace();
  if (at !== text.length) fail('trailing characters');
  return value;
}
