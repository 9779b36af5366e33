/**
 * How deep a JSON text nests, found without parsing it: a body of 100,000 nested arrays made
 * the scoring server's parse recurse until the stack ran out (a 500 for what is the caller's
 * fault). The scan stops as soon as the limit is passed, so it costs little on any body.
 */

/** Nesting a scoring body may have: far beyond any tensor or record, well within Python's recursion limit. */
export const MAX_JSON_DEPTH = 512;

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether the JSON in `chunks` nests deeper than `limit` (brackets inside strings do not count). */
export function jsonDeeperThan(chunks: readonly Buffer[], limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
      } else if (c === QUOTE) inString = true;
      else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        if (++depth > limit) return true;
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
    }
  }
  return false;
}
