/**
 * Thin layer over libpg-query (PostgreSQL's own parser compiled to WASM):
 * parsing, byte-offset → line/column mapping, and small typed accessors for the
 * AST. Locations reported by the parser are UTF-8 byte offsets.
 */
import { hasSqlDetails, parse, type Node, type RawStmt } from 'libpg-query';

export type { Node, RawStmt };

export class SqlParseError extends Error {
  readonly code = 'SQL_PARSE_ERROR';
  /** 0-based character offset of the error in the parsed text, when the parser gave one. */
  readonly position: number | undefined;
  constructor(message: string, position: number | undefined) {
    super(message);
    this.name = 'SqlParseError';
    this.position = position;
  }
}

/** Parses a SQL script; throws SqlParseError. */
export async function parseSql(sql: string): Promise<RawStmt[]> {
  if (sql.trim() === '') return [];
  try {
    const tree = (await parse(sql)) as { stmts?: RawStmt[] };
    return tree.stmts ?? [];
  } catch (err: unknown) {
    if (hasSqlDetails(err)) throw new SqlParseError(err.message, err.sqlDetails.cursorPosition);
    throw new SqlParseError(err instanceof Error ? err.message : String(err), undefined);
  }
}

/** Name of the single key of an AST node (`'SelectStmt'`, `'A_Expr'`…). */
export function nodeKind(node: Node | undefined): string | undefined {
  if (!node) return undefined;
  return Object.keys(node)[0];
}

/** The `sval`s of a list of `String` nodes (function names, qualified names). */
export function stringList(nodes: Node[] | undefined): string[] {
  const out: string[] = [];
  for (const n of nodes ?? []) {
    if ('String' in n) out.push(n.String.sval ?? '');
  }
  return out;
}

/** Depth-first visit of every object inside an AST value (nodes and plain structs alike). */
export function walkJson(value: unknown, visit: (obj: Record<string, unknown>) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) walkJson(v, visit);
    return;
  }
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    visit(obj);
    for (const v of Object.values(obj)) walkJson(v, visit);
  }
}

export interface Comment {
  /** Byte offset of the comment start in the source. */
  offset: number;
  text: string;
}

/** Source text addressed by the parser's UTF-8 byte offsets. */
export class SourceText {
  readonly bytes: Buffer;
  private readonly lineStarts: number[];

  constructor(readonly text: string) {
    this.bytes = Buffer.from(text, 'utf8');
    this.lineStarts = [0];
    for (let i = 0; i < this.bytes.length; i++) {
      if (this.bytes[i] === 0x0a) this.lineStarts.push(i + 1);
    }
  }

  /** 1-based line and character column of a byte offset. */
  position(byteOffset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= byteOffset) lo = mid;
      else hi = mid - 1;
    }
    const start = this.lineStarts[lo] ?? 0;
    const column = this.bytes.subarray(start, byteOffset).toString('utf8').length + 1;
    return { line: lo + 1, column };
  }

  /** 1-based line and column of a 0-based character offset (parse errors count characters). */
  positionOfChar(charOffset: number): { line: number; column: number } {
    const prefix = Array.from(this.text).slice(0, charOffset).join('');
    return this.position(Buffer.byteLength(prefix, 'utf8'));
  }

  slice(startByte: number, endByte: number): string {
    return this.bytes.subarray(startByte, endByte).toString('utf8');
  }

  /**
   * Skips whitespace, comments and stray semicolons from `start`; returns the
   * offset of the first real token and the comments passed on the way (the
   * statement's preamble, where annotations live).
   */
  skipTrivia(start: number, end = this.bytes.length): { offset: number; comments: Comment[] } {
    const b = this.bytes;
    const comments: Comment[] = [];
    let i = start;
    while (i < end) {
      const c = b[i];
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c || c === 0x3b) {
        i++;
      } else if (c === 0x2d && b[i + 1] === 0x2d) {
        let j = i + 2;
        while (j < end && b[j] !== 0x0a) j++;
        comments.push({ offset: i, text: this.slice(i + 2, j) });
        i = j;
      } else if (c === 0x2f && b[i + 1] === 0x2a) {
        let depth = 1;
        let j = i + 2;
        while (j < end && depth > 0) {
          if (b[j] === 0x2f && b[j + 1] === 0x2a) {
            depth++;
            j += 2;
          } else if (b[j] === 0x2a && b[j + 1] === 0x2f) {
            depth--;
            j += 2;
          } else j++;
        }
        comments.push({ offset: i, text: this.slice(i + 2, Math.max(i + 2, j - 2)) });
        i = j;
      } else break;
    }
    return { offset: i, comments };
  }
}

/** `schema.name` of a RangeVar, with `defaultSchema` when unqualified. */
export function qualifiedName(schema: string | undefined, name: string | undefined, defaultSchema = 'public'): string {
  return `${schema ?? defaultSchema}.${name ?? '?'}`;
}

/** Double-quotes an identifier when needed, like quote_ident(). */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a `schema.name` pair. */
export function quoteQualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}
