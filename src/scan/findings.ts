/**
 * Collects the findings of one file: de-duplicates identical matches at one location, counts
 * them, and hands the first `max` to the caller.
 *
 * The current location is kept in mutable fields set per cell or line, so scanning a clean value
 * allocates nothing here; a location object is built only for a finding.
 */
import type { LeakMatch } from '../guard/leak-types.js';
import type { ScanFinding, ScanLocation } from './types.js';

/**
 * A copy holding only the fields the match type defines: a matcher that attached anything else
 * (a value, by mistake) cannot get it into a report.
 */
export function cleanMatch(m: LeakMatch): LeakMatch {
  switch (m.kind) {
    case 'sensitive':
      return { kind: 'sensitive', category: m.category };
    case 'subject-data':
      return { kind: 'subject-data', field: m.field };
    case 'canary':
      return { kind: 'canary', field: m.field };
    case 'pattern':
      return { kind: 'pattern', pattern: m.pattern };
  }
}

function matchKey(m: LeakMatch): string {
  switch (m.kind) {
    case 'sensitive':
      return `s:${m.category}`;
    case 'subject-data':
      return `d:${m.field}`;
    case 'canary':
      return `c:${m.field}`;
    case 'pattern':
      return `p:${m.pattern}`;
  }
}

export class FindingSink {
  readonly #file: string;
  readonly #max: number;
  readonly #onFinding: ((finding: ScanFinding) => void) | undefined;
  /** Matches already reported at the current location (field + match). */
  readonly #seen = new Set<string>();
  #count = 0;
  #type: 'sqlite' | 'text' | 'file' = 'file';
  #table = '';
  #column = '';
  #rowid: number | null = null;
  #line = 0;

  constructor(file: string, max: number, onFinding: ((finding: ScanFinding) => void) | undefined) {
    this.#file = file;
    this.#max = max;
    this.#onFinding = onFinding;
  }

  /** Findings so far, including those beyond the limit. */
  get count(): number {
    return this.#count;
  }

  get truncated(): boolean {
    return this.#count > this.#max;
  }

  /** The following values come from this SQLite cell. */
  atCell(table: string, column: string, rowid: number | null): void {
    this.#type = 'sqlite';
    this.#table = table;
    this.#column = column;
    this.#rowid = rowid;
    if (this.#seen.size > 0) this.#seen.clear();
  }

  /** The following values come from this line (pieces of one long line share it). */
  atLine(line: number): void {
    if (this.#type === 'text' && this.#line === line) return;
    this.#type = 'text';
    this.#line = line;
    if (this.#seen.size > 0) this.#seen.clear();
  }

  /** The following values are the whole file. */
  atFile(): void {
    this.#type = 'file';
    if (this.#seen.size > 0) this.#seen.clear();
  }

  /** Reports `matches` at the current location, at `field` within it. */
  report(field: string | undefined, matches: readonly LeakMatch[]): void {
    for (const match of matches) {
      const key = `${field ?? ''}\u0000${matchKey(match)}`;
      if (this.#seen.has(key)) continue;
      this.#seen.add(key);
      this.#count++;
      if (this.#count <= this.#max && this.#onFinding !== undefined) {
        this.#onFinding({ file: this.#file, location: this.#location(field), match: cleanMatch(match) });
      }
    }
  }

  #location(field: string | undefined): ScanLocation {
    switch (this.#type) {
      case 'sqlite':
        return field === undefined
          ? { type: 'sqlite', table: this.#table, column: this.#column, rowid: this.#rowid }
          : { type: 'sqlite', table: this.#table, column: this.#column, rowid: this.#rowid, field };
      case 'text':
        return field === undefined ? { type: 'text', line: this.#line } : { type: 'text', line: this.#line, field };
      case 'file':
        return { type: 'file' };
    }
  }
}
