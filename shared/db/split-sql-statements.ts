export class SqlSplitError extends Error {}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/**
 * Splits a SQL script at the semicolons that end its statements, following PostgreSQL's
 * own lexical rules for what can hide one: '...' strings (E'...' with backslash escapes;
 * plain ones without, as under the default standard_conforming_strings), "..." names,
 * $tag$...$tag$ bodies, -- comments and nested /* *\/ comments. Returns each statement
 * trimmed, without its semicolon, from its first token on (comments before a statement
 * are dropped, as are statements that hold nothing but comments).
 *
 * Throws SqlSplitError for an unterminated string, name, body or comment, and for a
 * `BEGIN ATOMIC` function body: its inner semicolons are hidden by grammar, not by
 * lexing, and a splitter that guesses at grammar can cut a statement in two.
 */
export function splitSqlStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = -1;
  let previousWord = '';
  let i = 0;

  const closing = (from: number, quote: string, backslashEscapes: boolean, what: string): number => {
    for (let j = from + 1; j < sql.length; j++) {
      if (backslashEscapes && sql[j] === '\\') j++;
      else if (sql[j] === quote) {
        if (sql[j + 1] !== quote) return j + 1;
        j++;
      }
    }
    throw new SqlSplitError(`unterminated ${what} starting at offset ${from}`);
  };

  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const from = i;
      let depth = 0;
      do {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < sql.length);
      if (depth > 0) throw new SqlSplitError(`unterminated comment starting at offset ${from}`);
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === ';') {
      if (start !== -1) statements.push(sql.slice(start, i).trim());
      start = -1;
      previousWord = '';
      i++;
      continue;
    }
    if (start === -1) start = i;

    if (IDENT_START.test(c)) {
      let end = i + 1;
      while (end < sql.length && IDENT_PART.test(sql[end]!)) end++;
      const word = sql.slice(i, end).toLowerCase();
      if (word === 'e' && sql[end] === "'") {
        i = closing(end, "'", true, 'string');
        previousWord = '';
        continue;
      }
      if (previousWord === 'begin' && word === 'atomic') {
        throw new SqlSplitError('a BEGIN ATOMIC body cannot be split into statements safely; put it in a file that runs in a transaction');
      }
      previousWord = word;
      i = end;
      continue;
    }
    previousWord = '';
    if (c === "'") i = closing(i, "'", false, 'string');
    else if (c === '"') i = closing(i, '"', false, 'quoted name');
    else if (c === '$') {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql)?.[0];
      if (tag === undefined) {
        i++; // a parameter such as $1
        continue;
      }
      const end = sql.indexOf(tag, i + tag.length);
      if (end === -1) throw new SqlSplitError(`unterminated ${tag} body starting at offset ${i}`);
      i = end + tag.length;
    } else i++;
  }
  if (start !== -1) statements.push(sql.slice(start).trim());
  return statements;
}
