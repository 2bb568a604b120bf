/**
 * The checks of an export that do not depend on its format (JSON Lines or CSV): the header against
 * the given public key, the order of records, the filter the header announces, the written form
 * of each record, and the chain through `ChainVerifier`. The readers in verify-file.ts feed it
 * validated records with their line numbers; it stops at the first problem and remembers its line.
 * The header's format name says which version's rules apply (docs/audit.md, "Rules for verifiers").
 */
import type { z } from 'zod';
import { toHex } from '../format/ids.js';
import { formatIssues } from '../schema/zod-errors.js';
import { ChainVerifier, type ChainProblem, type ChainReport } from './chain-verifier.js';
import { verifySignature } from '../crypto/signing.js';
import { genesisHash, ROW, type EntryRow } from './entry.js';
import {
  checkpointFromLine,
  formatVersion,
  RECORD_TYPES_OF,
  sealMessage,
  type ChainLine,
  columnOfField,
  entryLineToRow,
  filterFromHeader,
  filterMismatch,
  RECORD_SCHEMAS,
  type CheckpointLine,
  type ElidedLine,
  type EntryLine,
  type ExportFilter,
  type ExportRecordType,
  type HeaderLine,
  sealedFilterJson,
} from './export-format.js';
import { fromHex } from './export-text.js';

/** The result of verifying an export file: the chain report, the format and the problem's line. */
export type FileVerifyReport = ChainReport & {
  /** The format found on line 1 (null when the file is neither). */
  readonly format: 'jsonl' | 'csv' | null;
  /** The line of the problem (null when the file verified). */
  readonly line: number | null;
  /** Entries a filtered export (format 2) leaves out entirely: neither shown nor as digests. */
  readonly omitted: number;
};

/** Every record type of every version this reader knows (before the header says which version). */
const ALL_RECORD_TYPES: readonly string[] = RECORD_TYPES_OF[2];

/** A list of names for a message: `a, b or c`. */
function orList(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1] ?? ''}`;
}

/**
 * How a record was written: each check rebuilds the record from its values and compares it with
 * what was read, returning null when they are the same, or where they first differ (`field
 * detail`, `column consent`, `character 57`) — a place, never the text.
 */
export interface WrittenForm {
  header(h: HeaderLine): string | null;
  chain(c: ChainLine): string | null;
  entry(r: EntryRow): string | null;
  elided(e: ElidedLine): string | null;
  checkpoint(c: CheckpointLine): string | null;
}

/** An entry read from a file: its raw row, and whether its text was already proven to be the written form. */
export interface EntryRecord {
  readonly row: EntryRow;
  /** True when the reader proved the text is exactly the written form (export-scan.ts), so it need not be compared. */
  readonly written: boolean;
}

export type ValidRecord =
  | { readonly type: 'header'; readonly data: HeaderLine }
  | { readonly type: 'chain'; readonly data: ChainLine }
  | { readonly type: 'entry'; readonly data: EntryRecord }
  | { readonly type: 'elided'; readonly data: ElidedLine }
  | { readonly type: 'checkpoint'; readonly data: CheckpointLine };

/** The end of every message about a record that is valid but not in the vault's exact text. */
function edited(where: string): string {
  return `is not exactly as the vault wrote it (the first difference is at ${where}): the file was edited`;
}

/**
 * The checks that do not depend on the format: the header against the given key, record order,
 * the filter, and the chain. Stops at the first problem and remembers its line.
 */
export class ExportChecker {
  readonly #publicKey: Uint8Array;
  #verifier: ChainVerifier | null = null;
  #header: HeaderLine | null = null;
  #headerLine = 1;
  #filter: ExportFilter = {};
  /** The filter's pseudonym as hex (rows hold hex), or null. */
  #subjectHex: string | null = null;
  #unfiltered = true;
  /** The header's format version (2 until a header says otherwise). */
  #version: 1 | 2 = 2;
  /** Format 2, filtered: stretches without an entry shown are left out (chain records, restarting checkpoints). */
  #sparse = false;
  /** The type of the last record accepted (null before the header). */
  #previous: ExportRecordType | null = null;
  /** The final checkpoint (at the header's head) has been read: nothing may follow. */
  #complete = false;
  #problem: ChainProblem | null = null;
  #problemLine: number | null = null;
  lastLine = 0;

  constructor(publicKey: Uint8Array) {
    this.#publicKey = publicKey;
  }

  /** True once a problem was found (reading can stop). */
  get failed(): boolean {
    return this.#problem !== null || this.#verifier?.failed === true;
  }

  /** Records a problem at `line` (the first one wins). */
  fail(line: number, message: string, seq: number | null = null): void {
    if (this.failed) return;
    this.#problem = { seq, message };
    this.#problemLine = line;
    this.#verifier?.fail(this.#problem);
  }

  /** Checks a record's type against its position; false (after failing) when it is out of place. */
  expectType(type: string, line: number): type is ExportRecordType {
    const known = this.#header === null ? ALL_RECORD_TYPES : RECORD_TYPES_OF[this.#version];
    if (!known.includes(type)) {
      this.fail(line, `line ${line}: type must be ${orList(known)}`);
      return false;
    }
    if (this.#header === null && type !== 'header') {
      this.fail(line, `line ${line}: the export must start with its header record`);
      return false;
    }
    if (this.#header !== null && type === 'header') {
      this.fail(line, `line ${line}: a second header record`);
      return false;
    }
    if (this.#complete) {
      this.fail(line, `line ${line} follows the final checkpoint (at the export head, seq ${this.#header?.head ?? 0}): lines were appended`);
      return false;
    }
    if (this.#previous === 'chain' && type !== 'entry') {
      this.fail(line, `line ${line}: a chain record must be followed by the entry after it, not by a ${type} record: the file was edited`);
      return false;
    }
    return true;
  }

  /** Checks a validated record (whose type `expectType` accepted); `form` proves its written form. */
  record(r: ValidRecord, line: number, form: WrittenForm): void {
    switch (r.type) {
      case 'header':
        this.#onHeader(r.data, line, form);
        break;
      case 'chain':
        this.#onChain(r.data, line, form);
        break;
      case 'entry':
        this.#onEntry(r.data, line, form);
        break;
      case 'elided':
        this.#onElided(r.data, line, form);
        break;
      case 'checkpoint':
        this.#onCheckpoint(r.data, line, form);
        break;
    }
    this.#previous = r.type;
  }

  #onHeader(h: HeaderLine, line: number, form: WrittenForm): void {
    const where = form.header(h);
    if (where !== null) {
      this.fail(line, `line ${line}: the header record ${edited(where)}`);
      return;
    }
    const vaultId = Buffer.from(h.vaultId, 'hex');
    if (toHex(genesisHash(vaultId)) !== h.genesis) {
      this.fail(line, `line ${line}: the header's genesis is not the genesis hash of its vault id: the header was edited`);
      return;
    }
    if (h.publicKey !== toHex(this.#publicKey)) {
      this.fail(line, `line ${line}: the export names another public key than the one given: it comes from another vault, or someone else signed it`);
      return;
    }
    this.#header = h;
    this.#headerLine = line;
    this.#filter = filterFromHeader(h.filter);
    this.#subjectHex = h.filter.subject;
    this.#unfiltered = Object.values(h.filter).every((v) => v === null);
    this.#version = formatVersion(h.format);
    this.#sparse = this.#version === 2 && !this.#unfiltered;
    const seal = sealMessage(h.format, vaultId, h.head, Date.parse(h.exportedAt), h.checkpointEvery, sealedFilterJson(h.filter));
    if (!verifySignature(this.#publicKey, seal, Buffer.from(h.signature, 'hex'))) {
      this.fail(line, `line ${line}: the header's signature does not match its head, time, interval or filter: the header was edited, or the file was cut and re-headed`);
      return;
    }
    this.#verifier = new ChainVerifier(vaultId, Buffer.from(h.genesis, 'hex'), this.#publicKey, h.checkpointEvery);
  }

  /** Format 2: the chain's hash before the first entry of a stretch, in a filtered export right after a checkpoint. */
  #onChain(data: ChainLine, line: number, form: WrittenForm): void {
    const verifier = this.#verifier;
    if (verifier === null) return;
    if (this.#unfiltered) {
      this.fail(line, `line ${line}: an unfiltered export leaves out entries ${verifier.seq + 1}-${data.seq}: their contents were removed`, verifier.seq + 1);
      return;
    }
    if (this.#previous !== 'checkpoint') {
      this.fail(line, `line ${line}: the chain record at seq ${data.seq} does not follow a checkpoint: a filtered export takes up the chain only after one (the file was edited)`, data.seq);
      return;
    }
    verifier.resume(data.seq, fromHex(data.hash));
    if (this.#noteChainProblem(line)) return;
    const where = form.chain(data);
    if (where !== null) this.fail(line, `line ${line}: the chain record at seq ${data.seq} ${edited(where)}`, data.seq);
  }

  #onEntry(data: EntryRecord, line: number, form: WrittenForm): void {
    const verifier = this.#verifier;
    if (verifier === null) return;
    const row = data.row;
    const seq = row[ROW.seq];
    verifier.entryRow(row);
    if (this.#noteChainProblem(line)) return;
    const where = data.written ? null : form.entry(row);
    if (where !== null) {
      this.fail(line, `entry ${seq} (line ${line}) ${edited(where)}`, seq);
      return;
    }
    const mismatch = filterMismatch(row, this.#filter, this.#subjectHex);
    if (mismatch !== null) {
      this.fail(line, `entry ${seq} (line ${line}) does not match the export's ${mismatch} filter: the header or the entry was edited`, seq);
    }
  }

  #onElided(data: ElidedLine, line: number, form: WrittenForm): void {
    const verifier = this.#verifier;
    if (verifier === null) return;
    if (this.#unfiltered) {
      this.fail(line, `line ${line}: an unfiltered export leaves out entries ${data.from}-${data.from + data.digests.length - 1}: their contents were removed`, data.from);
      return;
    }
    if (this.#sparse && this.#previous === 'checkpoint') {
      // The writer starts every stretch at an entry it shows (after a chain record): one written form.
      this.fail(line, `line ${line}: digests follow the checkpoint before them: a filtered export starts each stretch with the first entry it shows (the file was edited)`, data.from);
      return;
    }
    for (let i = 0; i < data.digests.length; i++) {
      verifier.elided(data.from + i, Buffer.from(data.digests[i] ?? '', 'hex'));
      if (this.#noteChainProblem(line)) return;
    }
    const where = form.elided(data);
    if (where !== null) this.fail(line, `line ${line}: the elided record from seq ${data.from} ${edited(where)}`, data.from);
  }

  #onCheckpoint(data: CheckpointLine, line: number, form: WrittenForm): void {
    const verifier = this.#verifier;
    const header = this.#header;
    if (verifier === null || header === null) return;
    // Format 2, filtered: the final checkpoint may follow the last stretch's directly, skipping what the export leaves out.
    const restart = this.#sparse && this.#previous === 'checkpoint' && data.seq > verifier.seq;
    if (restart && data.seq !== header.head) {
      this.fail(line, `line ${line}: the checkpoint at seq ${data.seq} follows the checkpoint before it directly, but only the export's final checkpoint may (the file was edited)`, data.seq);
      return;
    }
    verifier.checkpoint(checkpointFromLine(data), { restart });
    if (this.#noteChainProblem(line)) return;
    const where = form.checkpoint(data);
    if (where !== null) {
      this.fail(line, `line ${line}: the checkpoint at seq ${data.seq} ${edited(where)}`, data.seq);
      return;
    }
    if (data.seq === header.head) {
      this.#complete = true;
      if (data.ts !== header.exportedAt) {
        const at = this.#headerLine;
        this.fail(at, `line ${at}: the header's exportedAt is not the time of the export's final checkpoint (line ${line}): the header was edited`);
      }
    }
  }

  /** True (remembering `line`) when the chain verifier has just found a problem. */
  #noteChainProblem(line: number): boolean {
    if (this.#verifier?.failed !== true) return false;
    this.#problemLine ??= line;
    return true;
  }

  /** Ends the file: the chain must reach the head the header announced, with its signed checkpoint. */
  finish(format: 'jsonl' | 'csv' | null): FileVerifyReport {
    const verifier = this.#verifier;
    if (verifier === null) {
      const problem = this.#problem ?? { seq: null, message: this.lastLine === 0 ? 'line 1: the file is empty: it is not an audit export' : 'the file holds no export header' };
      return { ok: false, entries: 0, elided: 0, omitted: 0, checkpoints: 0, head: null, lastCheckpoint: null, problem, format, line: this.#problemLine ?? Math.max(1, this.lastLine) };
    }
    const report = verifier.finish({ expectedHead: this.#header?.head ?? 0, requireFinalCheckpoint: true });
    return { ...report, omitted: verifier.omitted, format, line: report.ok ? null : (this.#problemLine ?? this.lastLine) };
  }
}

/** Validates a parsed record with its type's schema; on failure, fails naming the field (or CSV column). */
export function validate(checker: ExportChecker, type: ExportRecordType, value: unknown, line: number, csv: boolean): ValidRecord | null {
  const result = (RECORD_SCHEMAS[type] as z.ZodType).safeParse(value);
  if (result.success) {
    if (type !== 'entry') return { type, data: result.data } as ValidRecord;
    return { type, data: { row: entryLineToRow(result.data as EntryLine), written: false } };
  }
  const issues = csv ? result.error.issues.map((i) => ({ ...i, path: i.path.map((p, k) => (k === 0 ? columnOfField(String(p), type) : p)) })) : result.error.issues;
  checker.fail(line, `line ${line}: ${formatIssues('', issues).message}`);
  return null;
}

/** The `type` of a parsed record ('' when it has none). */
export function typeOf(value: unknown): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return '';
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' ? type : '';
}
