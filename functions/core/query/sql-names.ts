/**
 * Table names in a SQL statement, found without a full SQL parser.
 *
 * How: the text is cut into tokens (whitespace and comments dropped; strings, quoted
 * identifiers, numbers, words and single punctuation characters kept with their offsets).
 * One pass over the tokens keeps a stack of parenthesis frames. A frame is either a function
 * call (a `(` right after a function-like word, so FROM inside it belongs to syntax such as
 * `EXTRACT(YEAR FROM ts)`) or a group (subquery, join group, value list). In a group, FROM and
 * JOIN open a FROM list; the dotted chain right after them, or after a comma of that list at
 * the same depth, is a table unless a `(` follows it (a table function). Clause keywords such
 * as WHERE, GROUP or UNION close the list. `WITH name [(columns)] AS (` records a CTE name.
 *
 * Limits (known, accepted):
 * - Keywords are recognised by spelling, not by grammar, so a table literally named like a
 *   clause keyword (`values`, `window`, ...) is only found when quoted.
 * - Only FROM, JOIN, FROM-list commas and a query-level `TABLE t` are table positions. Targets
 *   of INSERT INTO, UPDATE and MERGE are not reported; DuckDB replacement scans
 *   (`FROM 'file.parquet'`) and table functions (`FROM read_csv(...)`) are not names either,
 *   so callers that confine access must check those separately.
 * - Chains of more than three parts are ignored. Block comments do not nest.
 * - Dialect clauses inside a FROM list that are not listed below (PIVOT, MATCH_RECOGNIZE, ...)
 *   may make a later comma look like the start of another table.
 */

export interface TableName {
  /** 1 to 3 parts, unquoted and unescaped, as written (case kept). */
  parts: string[];
  /** Offsets of the whole dotted chain in the statement text: text.slice(start, end). */
  start: number;
  end: number;
}

export interface NameScan {
  /** Table references in source order (CTE references included; see `ctes`). */
  tables: TableName[];
  /** Names defined by WITH, lower-cased, so callers can skip them. */
  ctes: string[];
}

export class SqlSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlSyntaxError';
  }
}

export type Statement =
  | { kind: 'query' }
  | { kind: 'show-catalogs' }
  | { kind: 'show-schemas'; from?: string[] }
  | { kind: 'show-tables'; from?: string[] }
  | { kind: 'show-columns'; table: TableName }
  | { kind: 'create-schema'; name: string[]; ifNotExists: boolean }
  | { kind: 'drop-schema'; name: string[]; ifExists: boolean; cascade: boolean }
  | { kind: 'drop-table'; table: TableName; ifExists: boolean }
  | { kind: 'create-table'; table: TableName }
  | { kind: 'other'; keyword: string };

// ---------------------------------------------------------------------------------------------
// Tokens

type TokenKind = 'word' | 'ident' | 'string' | 'number' | 'punct';

interface Token {
  kind: TokenKind;
  /** Words as written; identifiers and strings without quotes and escapes; punctuation as is. */
  value: string;
  start: number;
  end: number;
}

const WORD = /[\p{L}_][\p{L}\p{M}\p{N}_$]*/uy;
const NUMBER = /\d+(?:\.\d*)?(?:[eE][+-]?\d+)?[\p{L}\p{N}_]*/uy;
const DOLLAR_TAG = /\$(?:[\p{L}_][\p{L}\p{N}_]*)?\$/uy;
const SPACE = /\s/u;

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < sql.length) {
    const skipped = skipBlank(sql, at);
    if (skipped > at) {
      at = skipped;
      continue;
    }
    const token = readToken(sql, at);
    tokens.push(token);
    at = token.end;
  }
  return tokens;
}

/** The offset after whitespace or a comment starting at `at`, or `at` itself. */
function skipBlank(sql: string, at: number): number {
  if (SPACE.test(sql.charAt(at))) return at + 1;
  if (sql.startsWith('--', at)) {
    const eol = sql.indexOf('\n', at);
    return eol < 0 ? sql.length : eol + 1;
  }
  if (sql.startsWith('/*', at)) {
    const close = sql.indexOf('*/', at + 2);
    if (close < 0) throw new SqlSyntaxError(`Unterminated block comment at offset ${at}`);
    return close + 2;
  }
  return at;
}

function readToken(sql: string, at: number): Token {
  const c = sql.charAt(at);
  if (c === "'") return readQuoted(sql, at, 'string');
  if (c === '"' || c === '`') return readQuoted(sql, at, 'ident');
  if ((c === 'e' || c === 'E') && sql.charAt(at + 1) === "'") return readEscapeString(sql, at);
  if (c === '$') return readDollarString(sql, at) ?? punct(sql, at);
  return readPattern(sql, at, WORD, 'word') ?? readPattern(sql, at, NUMBER, 'number') ?? punct(sql, at);
}

function punct(sql: string, at: number): Token {
  const value = String.fromCodePoint(sql.codePointAt(at) ?? 0);
  return { kind: 'punct', value, start: at, end: at + value.length };
}

function readPattern(sql: string, at: number, pattern: RegExp, kind: TokenKind): Token | undefined {
  pattern.lastIndex = at;
  const match = pattern.exec(sql);
  return match ? { kind, value: match[0], start: at, end: at + match[0].length } : undefined;
}

/** A string or identifier whose quote character is escaped by doubling it. */
function readQuoted(sql: string, at: number, kind: TokenKind): Token {
  const quote = sql.charAt(at);
  let value = '';
  let from = at + 1;
  for (;;) {
    const close = sql.indexOf(quote, from);
    if (close < 0) throw unterminated(kind, at);
    value += sql.slice(from, close);
    if (sql.charAt(close + 1) !== quote) return { kind, value, start: at, end: close + 1 };
    value += quote;
    from = close + 2;
  }
}

/** `E'...'`: a backslash escapes the next character, `''` still works. */
function readEscapeString(sql: string, at: number): Token {
  let i = at + 2;
  while (i < sql.length) {
    const c = sql.charAt(i);
    if (c === '\\' || (c === "'" && sql.charAt(i + 1) === "'")) i += 2;
    else if (c === "'") return { kind: 'string', value: sql.slice(at + 2, i), start: at, end: i + 1 };
    else i++;
  }
  throw unterminated('string', at);
}

/** `$$...$$` or `$tag$...$tag$` (DuckDB, PostgreSQL). */
function readDollarString(sql: string, at: number): Token | undefined {
  DOLLAR_TAG.lastIndex = at;
  const tag = DOLLAR_TAG.exec(sql)?.[0];
  if (!tag) return undefined;
  const close = sql.indexOf(tag, at + tag.length);
  if (close < 0) throw unterminated('string', at);
  return { kind: 'string', value: sql.slice(at + tag.length, close), start: at, end: close + tag.length };
}

function unterminated(kind: TokenKind, at: number): SqlSyntaxError {
  const what = kind === 'ident' ? 'quoted identifier' : 'string';
  return new SqlSyntaxError(`Unterminated ${what} at offset ${at}`);
}

function keyword(token: Token | undefined): string {
  return token?.kind === 'word' ? token.value.toUpperCase() : '';
}

function isPunct(token: Token | undefined, value: string): boolean {
  return token?.kind === 'punct' && token.value === value;
}

/** The token lists of the statements, split on `;`, empty ones dropped. */
function tokenStatements(tokens: Token[]): Token[][] {
  const statements: Token[][] = [[]];
  for (const token of tokens) {
    if (isPunct(token, ';')) statements.push([]);
    else statements[statements.length - 1]?.push(token);
  }
  return statements.filter((statement) => statement.length > 0);
}

/** Index after the `)` matching the `(` at `at` (or the end when it is never closed). */
function skipGroup(tokens: Token[], at: number): number {
  let depth = 0;
  for (let i = at; i < tokens.length; i++) {
    if (isPunct(tokens[i], '(')) depth++;
    else if (isPunct(tokens[i], ')') && --depth === 0) return i + 1;
  }
  return tokens.length;
}

// ---------------------------------------------------------------------------------------------
// Dotted names

/** Clause keywords that end a FROM list. */
const FROM_LIST_END = new Set([
  'WHERE',
  'GROUP',
  'HAVING',
  'ORDER',
  'LIMIT',
  'OFFSET',
  'UNION',
  'INTERSECT',
  'EXCEPT',
  'WINDOW',
  'QUALIFY',
  'FETCH',
  'SELECT',
  'VALUES',
  'RETURNING',
]);

/** Words that never start an unquoted table name. */
const NOT_A_NAME = new Set([
  ...FROM_LIST_END,
  'FROM',
  'JOIN',
  'LEFT',
  'RIGHT',
  'FULL',
  'INNER',
  'OUTER',
  'CROSS',
  'NATURAL',
  'ON',
  'USING',
  'AS',
  'WITH',
  'LATERAL',
]);

function isName(token: Token | undefined): token is Token {
  return token?.kind === 'ident' || (token?.kind === 'word' && !NOT_A_NAME.has(keyword(token)));
}

/** After a dot any word will do: `db.order` is unambiguous. */
function isNamePart(token: Token | undefined): token is Token {
  return token?.kind === 'ident' || token?.kind === 'word';
}

/** The dotted chain starting at `at` (1 to 3 parts) and the index after it. */
function readChain(tokens: Token[], at: number): { name: TableName; next: number } | undefined {
  const first = tokens[at];
  if (!isName(first)) return undefined;
  const parts = [first.value];
  let last = first;
  let next = at + 1;
  for (let part = tokens[next + 1]; isPunct(tokens[next], '.') && isNamePart(part); part = tokens[next + 1]) {
    parts.push(part.value);
    last = part;
    next += 2;
  }
  if (parts.length > 3) return undefined;
  return { name: { parts, start: first.start, end: last.end }, next };
}

// ---------------------------------------------------------------------------------------------
// Scanning for table references

/** Words after which `(` opens a group (a possible subquery), not a function's arguments. */
const GROUP_OPENERS = new Set([
  'SELECT',
  'FROM',
  'JOIN',
  'IN',
  'EXISTS',
  'AS',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'ON',
  'USING',
  'UNION',
  'INTERSECT',
  'EXCEPT',
  'ALL',
  'ANY',
  'SOME',
  'DISTINCT',
  'LATERAL',
  'WITH',
  'CASE',
  'WHEN',
  'THEN',
  'ELSE',
  'BY',
  'HAVING',
  'QUALIFY',
  'LIMIT',
  'OFFSET',
  'ARRAY',
  'IS',
  'LIKE',
  'ILIKE',
  'BETWEEN',
  'VALUES',
  'RETURNING',
  'EXPLAIN',
  'ANALYZE',
  'INTO',
  'TABLE',
  'MATERIALIZED',
  'RECURSIVE',
  'SET',
]);

/** Tokens before `TABLE` that make it the query `TABLE t`. */
const TABLE_QUERY_AFTER = new Set(['UNION', 'INTERSECT', 'EXCEPT', 'ALL', 'DISTINCT']);

/** Words that may sit between a CTE name and its body. */
const CTE_GLUE = new Set(['AS', 'NOT', 'MATERIALIZED']);

interface Frame {
  /** Parentheses of a function call: FROM inside them is part of the call's syntax. */
  call: boolean;
  /** In a FROM list: a comma at this depth starts another table. */
  fromList: boolean;
  /** In a WITH clause: a comma at this depth starts another CTE. */
  withClause: boolean;
}

function groupFrame(fromList = false): Frame {
  return { call: false, fromList, withClause: false };
}

class NameScanner {
  private readonly tokens: Token[];
  private readonly tables: TableName[] = [];
  private readonly ctes: string[] = [];
  private frames: Frame[] = [groupFrame()];
  /** The next token may start a table reference. */
  private expectTable = false;

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  run(): NameScan {
    let at = 0;
    while (at < this.tokens.length) at = this.step(at);
    return { tables: this.tables, ctes: this.ctes };
  }

  private get frame(): Frame {
    return this.frames[this.frames.length - 1] ?? groupFrame();
  }

  private token(at: number): Token | undefined {
    return this.tokens[at];
  }

  /** Handles the token at `at` and returns the index of the next one to look at. */
  private step(at: number): number {
    const token = this.tokens[at] as Token;
    if (this.expectTable) {
      this.expectTable = false;
      const next = this.takeTable(at);
      if (next !== undefined) return next;
    }
    if (this.frame.withClause && !isCteGlue(token)) this.frame.withClause = false;
    if (token.kind === 'punct') return this.punct(token.value, at);
    if (token.kind === 'word') return this.word(keyword(token), at);
    return at + 1;
  }

  /** A table reference (or what may lead to one) at `at`, or undefined when there is none. */
  private takeTable(at: number): number | undefined {
    const token = this.token(at);
    if (keyword(token) === 'LATERAL') {
      this.expectTable = true;
      return at + 1;
    }
    if (isPunct(token, '(')) {
      this.frames.push(groupFrame(true));
      this.expectTable = true;
      return at + 1;
    }
    const chain = readChain(this.tokens, at);
    if (!chain || isPunct(this.token(chain.next), '(')) return undefined;
    this.tables.push(chain.name);
    return chain.next;
  }

  private punct(value: string, at: number): number {
    if (value === '(') this.open(at);
    else if (value === ')' && this.frames.length > 1) this.frames.pop();
    else if (value === ';') this.frames = [groupFrame()];
    else if (value === ',') return this.comma(at);
    return at + 1;
  }

  private open(at: number): void {
    const call = isFunctionName(this.token(at - 1)) && !startsQuery(this.token(at + 1));
    this.frames.push({ call, fromList: false, withClause: false });
  }

  private comma(at: number): number {
    const frame = this.frame;
    if (frame.withClause) {
      const next = this.takeCte(at + 1);
      if (next !== undefined) return next;
      frame.withClause = false;
    }
    if (frame.fromList) this.expectTable = true;
    return at + 1;
  }

  private word(word: string, at: number): number {
    const frame = this.frame;
    if (frame.call) return at + 1;
    if (word === 'FROM' || word === 'JOIN') {
      frame.fromList = true;
      this.expectTable = true;
    } else if (FROM_LIST_END.has(word)) {
      frame.fromList = false;
    } else if (word === 'WITH') {
      return this.startWith(at);
    } else if (word === 'TABLE' && startsTableQuery(this.token(at - 1))) {
      this.expectTable = true;
    }
    return at + 1;
  }

  private startWith(at: number): number {
    const first = keyword(this.token(at + 1)) === 'RECURSIVE' ? at + 2 : at + 1;
    const next = this.takeCte(first);
    if (next === undefined) return at + 1; // WITH TIME ZONE, WITH ORDINALITY, WITH (options) ...
    this.frame.withClause = true;
    this.frame.fromList = false;
    return next;
  }

  /** Records `name [(columns)] AS` at `at` as a CTE; returns the index after the name. */
  private takeCte(at: number): number | undefined {
    const name = this.token(at);
    if (!isName(name) || keyword(name) === 'ORDINALITY') return undefined;
    const after = isPunct(this.token(at + 1), '(') ? skipGroup(this.tokens, at + 1) : at + 1;
    if (keyword(this.token(after)) !== 'AS') return undefined;
    this.ctes.push(name.value.toLowerCase());
    return at + 1;
  }
}

function isCteGlue(token: Token): boolean {
  return isPunct(token, '(') || isPunct(token, ',') || CTE_GLUE.has(keyword(token));
}

function isFunctionName(token: Token | undefined): boolean {
  return token?.kind === 'ident' || (token?.kind === 'word' && !GROUP_OPENERS.has(keyword(token)));
}

/** `f(SELECT ...)`: whatever `f` is, the parentheses hold a query. */
function startsQuery(token: Token | undefined): boolean {
  const word = keyword(token);
  return word === 'SELECT' || word === 'WITH';
}

function startsTableQuery(previous: Token | undefined): boolean {
  return (
    !previous || isPunct(previous, '(') || isPunct(previous, ';') || TABLE_QUERY_AFTER.has(keyword(previous))
  );
}

/** Throws SqlSyntaxError for an unterminated string, quoted identifier or block comment. */
export function scanTableNames(sql: string): NameScan {
  return new NameScanner(tokenize(sql)).run();
}

/**
 * `sql` with each [start, end) range replaced by its text. Ranges may come in any order but
 * must not overlap.
 */
export function rewriteTableNames(
  sql: string,
  replacements: Array<{ start: number; end: number; text: string }>,
): string {
  const ordered = [...replacements].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const { start, end, text } of ordered) {
    if (start < at || end < start || end > sql.length) {
      throw new RangeError(`Replacement ${start}..${end} overlaps another or lies outside the text`);
    }
    out += sql.slice(at, start) + text;
    at = end;
  }
  return out + sql.slice(at);
}

/**
 * The statements of a script split on top-level `;` (not ones in strings, comments or quoted
 * identifiers). Each runs from its first token to its last, so comments before or after a
 * statement are dropped; statements without tokens are dropped.
 */
export function splitStatements(sql: string): string[] {
  return tokenStatements(tokenize(sql)).map((tokens) => {
    const first = tokens[0] as Token;
    const last = tokens[tokens.length - 1] as Token;
    return sql.slice(first.start, last.end).trim();
  });
}

// ---------------------------------------------------------------------------------------------
// Classifying a statement

/** Reads a statement's tokens front to back. */
class Cursor {
  private readonly tokens: Token[];
  private at = 0;

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  keyword(): string {
    return keyword(this.tokens[this.at]);
  }

  isPunct(value: string): boolean {
    return isPunct(this.tokens[this.at], value);
  }

  acceptPunct(value: string): boolean {
    const matches = this.isPunct(value);
    if (matches) this.at++;
    return matches;
  }

  atEnd(): boolean {
    return this.at >= this.tokens.length;
  }

  skip(count = 1): void {
    this.at += count;
  }

  /** Consumes the words when they come next, in this order. */
  accept(...words: string[]): boolean {
    const matches = words.every((word, i) => keyword(this.tokens[this.at + i]) === word);
    if (matches) this.at += words.length;
    return matches;
  }

  /** Consumes and returns the next word when it is one of `words`. */
  acceptOneOf(...words: string[]): string | undefined {
    const word = this.keyword();
    if (!words.includes(word)) return undefined;
    this.at++;
    return word;
  }

  chain(): TableName | undefined {
    const chain = readChain(this.tokens, this.at);
    if (chain) this.at = chain.next;
    return chain?.name;
  }

  requireChain(what: string): TableName {
    const chain = this.chain();
    if (!chain) throw new SqlSyntaxError(`Expected ${what} ${this.where()}`);
    return chain;
  }

  /** Skips the parenthesised group that starts here. */
  skipGroup(): void {
    this.at = skipGroup(this.tokens, this.at);
  }

  /** Expects the end of the statement, after an optional `LIKE 'pattern' [ESCAPE 'c']`. */
  finish(allowLike = false): void {
    if (allowLike && this.accept('LIKE')) {
      this.at++;
      if (this.accept('ESCAPE')) this.at++;
    }
    if (!this.atEnd()) throw new SqlSyntaxError(`Unexpected ${this.where()}`);
  }

  private where(): string {
    const token = this.tokens[this.at];
    return token ? `"${token.value}" at offset ${token.start}` : 'end of statement';
  }
}

const QUERY_STARTS = new Set(['SELECT', 'VALUES', 'TABLE', 'FROM']);

/**
 * What kind of statement `sql` is (its first statement when it holds several). Throws
 * SqlSyntaxError for an empty text, an unterminated token, or a malformed statement of one of
 * the modelled kinds.
 */
export function classifyStatement(sql: string): Statement {
  const tokens = tokenStatements(tokenize(sql))[0];
  if (!tokens) throw new SqlSyntaxError('The statement is empty');
  return classify(new Cursor(tokens));
}

function classify(cursor: Cursor): Statement {
  if (cursor.isPunct('(')) return { kind: 'query' };
  const word = cursor.keyword();
  if (QUERY_STARTS.has(word)) return { kind: 'query' };
  switch (word) {
    case 'WITH':
      return classifyWith(cursor);
    case 'EXPLAIN':
      return classifyExplain(cursor);
    case 'SHOW':
      return classifyShow(cursor);
    case 'DESCRIBE':
    case 'DESC':
      return classifyDescribe(cursor, word);
    case 'CREATE':
      return classifyCreate(cursor);
    case 'DROP':
      return classifyDrop(cursor);
    default:
      return other(word);
  }
}

function other(keyword: string): Statement {
  return { kind: 'other', keyword };
}

/** Skips the CTE definitions and classifies the statement they belong to. */
function classifyWith(cursor: Cursor): Statement {
  cursor.skip();
  cursor.accept('RECURSIVE');
  do {
    cursor.requireChain('a CTE name');
    if (cursor.isPunct('(')) cursor.skipGroup();
    if (cursor.accept('USING', 'KEY')) cursor.skipGroup();
    if (!cursor.accept('AS')) throw new SqlSyntaxError('Expected AS after a CTE name');
    cursor.accept('NOT');
    cursor.accept('MATERIALIZED');
    if (!cursor.isPunct('(')) throw new SqlSyntaxError('Expected ( before a CTE body');
    cursor.skipGroup();
  } while (cursor.acceptPunct(','));
  return classify(cursor);
}

function classifyExplain(cursor: Cursor): Statement {
  cursor.skip();
  cursor.accept('ANALYZE');
  cursor.accept('VERBOSE');
  if (cursor.isPunct('(')) cursor.skipGroup();
  return classify(cursor).kind === 'query' ? { kind: 'query' } : other('EXPLAIN');
}

function classifyShow(cursor: Cursor): Statement {
  cursor.skip();
  const what = cursor.acceptOneOf('CATALOGS', 'SCHEMAS', 'DATABASES', 'TABLES', 'COLUMNS');
  if (!what) return other('SHOW');
  if (what === 'CATALOGS') {
    cursor.finish(true);
    return { kind: 'show-catalogs' };
  }
  if (what === 'COLUMNS') {
    if (!cursor.acceptOneOf('FROM', 'IN')) throw new SqlSyntaxError('Expected FROM after SHOW COLUMNS');
    const table = cursor.requireChain('a table name');
    cursor.finish(true);
    return { kind: 'show-columns', table };
  }
  const from = cursor.acceptOneOf('FROM', 'IN') ? cursor.requireChain('a name').parts : undefined;
  cursor.finish(true);
  const kind = what === 'TABLES' ? 'show-tables' : 'show-schemas';
  return from ? { kind, from } : { kind };
}

/** `DESCRIBE t`; other DESCRIBE forms (`DESCRIBE SELECT ...`, Trino's `DESCRIBE INPUT x`) are "other". */
function classifyDescribe(cursor: Cursor, word: string): Statement {
  cursor.skip();
  const table = cursor.chain();
  return table && cursor.atEnd() ? { kind: 'show-columns', table } : other(word);
}

/** CREATE SCHEMA and CREATE TABLE; anything after the name (columns, AS query, WITH ...) is allowed. */
function classifyCreate(cursor: Cursor): Statement {
  cursor.skip();
  if (cursor.acceptOneOf('SCHEMA', 'DATABASE')) {
    const ifNotExists = cursor.accept('IF', 'NOT', 'EXISTS');
    return { kind: 'create-schema', name: cursor.requireChain('a schema name').parts, ifNotExists };
  }
  if (cursor.accept('TABLE')) {
    cursor.accept('IF', 'NOT', 'EXISTS');
    return { kind: 'create-table', table: cursor.requireChain('a table name') };
  }
  return other('CREATE');
}

function classifyDrop(cursor: Cursor): Statement {
  cursor.skip();
  if (cursor.acceptOneOf('SCHEMA', 'DATABASE')) {
    const ifExists = cursor.accept('IF', 'EXISTS');
    const name = cursor.requireChain('a schema name').parts;
    const cascade = cursor.acceptOneOf('CASCADE', 'RESTRICT') === 'CASCADE';
    cursor.finish();
    return { kind: 'drop-schema', name, ifExists, cascade };
  }
  if (cursor.accept('TABLE')) {
    const ifExists = cursor.accept('IF', 'EXISTS');
    const table = cursor.requireChain('a table name');
    cursor.finish();
    return { kind: 'drop-table', table, ifExists };
  }
  return other('DROP');
}
