/**
 * Writes an audit export (docs/audit.md, "Exports"): a header, then the entries from seq 1 to the
 * head — in full when they match the filter — with each checkpoint right after the entry it
 * covers, ending with the signed checkpoint at the head. An unfiltered export holds every entry
 * and every checkpoint. A filtered one (format 2) holds only the stretches between checkpoints
 * that show an entry: each starts with a `chain` record (the hash before its first entry shown),
 * carries the digests of the entries it does not show, and ends at the signed checkpoint that
 * proves it; the rest of the log is left out, so the file grows with what it shows, not with the
 * log. (Format 1, written on request, carries the digest of every entry left out.)
 *
 * Why it is built this way: the log can hold millions of entries, so it streams in pages of
 * {@link EXPORT_PAGE_SIZE}, writes each page as one chunk and waits for `drain` before the next
 * write: memory stays flat whatever the log's size or the reader's speed, while the next page is
 * prepared as the previous one is written. Pages are small on purpose: a page that outlives a
 * young-generation GC gets copied and promoted, which cost more than the queries saved. The
 * source is a plain interface (not the repository) so the writer can be tested without a
 * database; it reads inside one read transaction of the caller's choosing.
 */
import { needs, VaultError } from '../errors.js';
import type { CheckpointRow } from '../store/audit-repository.js';
import { csvLine } from './csv.js';
import { entryToRow, ROW, rowDigest, type AuditEntry, type EntryRow } from './entry.js';
import {
  chainCsvCells,
  chainJsonLine,
  checkFilter,
  checkpointCsvCells,
  checkpointJsonLine,
  checkpointToJson,
  CSV_COLUMNS,
  CSV_COLUMNS_V1,
  elidedCsvCells,
  elidedJsonLine,
  entryCsvCells,
  entryJsonLine,
  EXPORT_FORMAT,
  EXPORT_FORMAT_V1,
  filterMismatch,
  headerCsvCells,
  headerJsonLine,
  headerToJson,
  MAX_ELIDED_PER_LINE,
  sealedFilterJson,
  sealMessage,
  type ExportFilter,
  type ExportFormatName,
  type HeaderLine,
} from './export-format.js';
import { hexOf } from './export-text.js';

export type { ExportFilter } from './export-format.js';

/** Entries (and checkpoints) read per page. */
export const EXPORT_PAGE_SIZE = 500;

/** Where the entries come from: the log up to `head`, read in pages. */
export interface ExportSource {
  readonly vaultId: Uint8Array;
  /** The vault's checkpoint verification key (Ed25519, 32 bytes). */
  readonly publicKey: Uint8Array;
  /** hash_0 of the chain (`genesisHash(vaultId)`). */
  readonly genesis: Uint8Array;
  /** The last seq to export; a signed checkpoint must exist at it. */
  readonly head: number;
  /** The vault's checkpoint interval (signed into every checkpoint and the header seal). */
  readonly checkpointEvery: number;
  /** Signs the header seal with the vault's checkpoint key. */
  seal(message: Uint8Array): Uint8Array;
  /** Up to `limit` entries with afterSeq < seq <= untilSeq, in seq order. */
  pageEntries(afterSeq: number, untilSeq: number, limit: number): readonly AuditEntry[];
  /** The same as raw rows; optional, and used instead of `pageEntries` when given (faster). */
  pageEntryRows?(afterSeq: number, untilSeq: number, limit: number): readonly EntryRow[];
  /** Up to `limit` checkpoints with afterSeq < seq <= untilSeq, in seq order. */
  pageCheckpoints(afterSeq: number, untilSeq: number, limit: number): CheckpointRow[];
}

export type ExportFormat = 'jsonl' | 'csv';

export interface ExportOptions {
  readonly format: ExportFormat;
  /** Entries to keep in full; the others become digests. `{}` exports everything in full. */
  readonly filter: ExportFilter;
  /** Called after each page with the seq reached and the head. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * 2 (the default): `childvault-audit-export/2`. 1: version 1, for a verifier that reads only
   * that version — a filtered export then carries the digest of every entry it leaves out.
   */
  readonly formatVersion?: 1 | 2;
}

export interface ExportResult {
  /** Entries written in full. */
  readonly entries: number;
  /** Entries written as digests only. */
  readonly elided: number;
  /** Entries left out without a digest (format 2, filtered: stretches that show nothing, and what precedes a `chain` record). */
  readonly omitted: number;
  readonly checkpoints: number;
  readonly head: number;
  /** Bytes written to the stream. */
  readonly bytes: number;
}

/** The text of each record type in one format (with line terminators). */
interface Encoder {
  header(h: HeaderLine): string;
  chain(seq: number, hash: string): string;
  entry(r: EntryRow): string;
  elided(from: number, digests: readonly string[]): string;
  checkpoint(c: CheckpointRow): string;
}

const JSONL_ENCODER: Encoder = {
  header: (h) => `${headerJsonLine(h)}\n`,
  chain: (seq, hash) => `${chainJsonLine(seq, hash)}\n`,
  entry: (r) => `${entryJsonLine(r)}\n`,
  elided: (from, digests) => `${elidedJsonLine(from, digests)}\n`,
  checkpoint: (c) => `${checkpointJsonLine(checkpointToJson(c))}\n`,
};

/** CSV with these columns: version 2's, or version 1's (the same but for the last, `format`). */
function csvEncoder(columns: readonly string[]): Encoder {
  const cut = (cells: (string | null)[]): (string | null)[] => (cells.length === columns.length ? cells : cells.slice(0, columns.length));
  return {
    header: (h) => csvLine(columns) + csvLine(cut(headerCsvCells(h))),
    chain: (seq, hash) => csvLine(cut(chainCsvCells(seq, hash))),
    entry: (r) => csvLine(cut(entryCsvCells(r))),
    elided: (from, digests) => csvLine(cut(elidedCsvCells(from, digests))),
    checkpoint: (c) => csvLine(cut(checkpointCsvCells(checkpointToJson(c)))),
  };
}

const ENCODERS: Record<ExportFormat, Record<1 | 2, Encoder>> = {
  jsonl: { 1: JSONL_ENCODER, 2: JSONL_ENCODER },
  csv: { 1: csvEncoder(CSV_COLUMNS_V1), 2: csvEncoder(CSV_COLUMNS) },
};

/**
 * Writes to a stream with backpressure: a write waits for the `drain` of the write before it (so
 * at most one chunk waits beyond the high-water mark, and the next page is prepared meanwhile).
 * A stream error fails the next write or `flush` — never an unhandled 'error' event.
 */
class Sink {
  readonly #out: NodeJS.WritableStream;
  #error: unknown = undefined;
  #drain: Promise<void> | null = null;
  bytes = 0;
  readonly #onError = (error: unknown): void => {
    this.#error ??= error;
  };

  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
    out.on('error', this.#onError);
  }

  async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    await this.flush();
    this.bytes += chunk.length;
    if (!this.#out.write(chunk)) this.#drain = this.#drained();
  }

  /** Waits until the stream has taken what was written (or failed). */
  async flush(): Promise<void> {
    if (this.#drain !== null) {
      await this.#drain;
      this.#drain = null;
    }
    this.#check();
  }

  close(): void {
    this.#out.removeListener('error', this.#onError);
  }

  #drained(): Promise<void> {
    const out = this.#out;
    return new Promise((resolve) => {
      const done = (): void => {
        out.removeListener('drain', done);
        out.removeListener('error', done);
        out.removeListener('close', done);
        resolve();
      };
      out.on('drain', done);
      out.on('error', done);
      out.on('close', done);
    });
  }

  #check(): void {
    if (this.#error === undefined) return;
    const code = (this.#error as { code?: unknown }).code;
    throw new VaultError('STORAGE', `writing the audit export failed${typeof code === 'string' ? ` (${code})` : ''}`, { cause: this.#error });
  }
}

/**
 * Collects a page's lines as UTF-8 in one buffer. Writing each line into the buffer costs a
 * quarter of joining the lines into one string and encoding that: the lines are built from many
 * small pieces, and V8 copies such strings again to join them.
 */
class ChunkBuilder {
  static readonly INITIAL_BYTES = 256 * 1024;
  #buffer = Buffer.allocUnsafe(ChunkBuilder.INITIAL_BYTES);
  #used = 0;

  add(text: string): void {
    const room = this.#used + text.length * 3; // the most UTF-8 bytes `text` can take
    if (room > this.#buffer.length) {
      const bigger = Buffer.allocUnsafe(Math.max(room, this.#buffer.length * 2));
      this.#buffer.copy(bigger, 0, 0, this.#used);
      this.#buffer = bigger;
    }
    this.#used += this.#buffer.write(text, this.#used, 'utf8');
  }

  /** The bytes collected so far; the builder starts a new buffer (the stream keeps this one). */
  take(): Buffer {
    const chunk = this.#buffer.subarray(0, this.#used);
    this.#buffer = Buffer.allocUnsafe(ChunkBuilder.INITIAL_BYTES);
    this.#used = 0;
    return chunk;
  }
}

/** The digest of a row's entry (for an elided record). */
function digestOf(r: EntryRow): Uint8Array {
  const digest = rowDigest(r);
  if (digest === null) throw new VaultError('INTEGRITY', `audit entry ${r[ROW.seq]} has a malformed subject pseudonym`);
  return digest;
}

/** Reads checkpoints in pages, one step behind the entries. */
class CheckpointCursor {
  readonly #source: ExportSource;
  #page: CheckpointRow[] = [];
  #index = 0;
  #after = -1; // from the genesis checkpoint (seq 0)
  #exhausted = false;

  constructor(source: ExportSource) {
    this.#source = source;
  }

  peek(): CheckpointRow | undefined {
    if (this.#index >= this.#page.length && !this.#exhausted) {
      this.#page = this.#source.pageCheckpoints(this.#after, this.#source.head, EXPORT_PAGE_SIZE);
      this.#index = 0;
      const last = this.#page[this.#page.length - 1];
      if (last === undefined) this.#exhausted = true;
      else this.#after = last.seq;
    }
    return this.#page[this.#index];
  }

  next(): void {
    this.#index++;
  }
}

/**
 * Streams the export of `source` to `out` (which the caller opens and closes). The header's
 * `exportedAt` is the time of the signed checkpoint at the head, so the verifier can hold the
 * header to it. Resolves once the stream has taken the last chunk; rejects with VALIDATION for a
 * bad filter or a source without a checkpoint at its head, and STORAGE when the stream fails.
 *
 * @example
 *   const out = createWriteStream('audit.jsonl', { flags: 'wx' });
 *   const result = await writeAuditExport(source, out, { format: 'jsonl', filter: { actor: 'svc:profile' } });
 */
export async function writeAuditExport(source: ExportSource, out: NodeJS.WritableStream, options: ExportOptions): Promise<ExportResult> {
  /* Precondition: a known format. */
  needs(options.format === 'jsonl' || options.format === 'csv', 'VALIDATION', 'format must be jsonl or csv', 'format');
  checkFilter(options.filter);
  const head = source.head;
  /* Precondition: the source has entries (an export always records itself first). */
  needs(Number.isSafeInteger(head) && head >= 1, 'VALIDATION', 'the audit log to export is empty', 'head');
  /* Precondition: an export ends with a signed checkpoint at its head, and its time is the export's. */
  const final = source.pageCheckpoints(head - 1, head, 1)[0];
  needs(final?.seq === head, 'VALIDATION', `no signed checkpoint at the export head (seq ${head}): sign one before exporting`, 'head');

  /* Precondition: a format version this writer knows. */
  const version = options.formatVersion ?? 2;
  needs(version === 1 || version === 2, 'VALIDATION', 'formatVersion must be 1 or 2', 'formatVersion');
  const encode = ENCODERS[options.format][version];
  const filter = options.filter;
  // Format 2 leaves out the stretches a filtered export shows nothing of; an unfiltered export shows everything.
  const sparse = version === 2 && Object.values(filter).some((v) => v !== undefined);
  const sink = new Sink(out);
  try {
    const chunk = new ChunkBuilder();
    // The export's time is its final checkpoint's: signed, so the header's claim can be checked.
    // The header is sealed (signed) over format, head, time, interval and filter: a file cut at an
    // earlier checkpoint, relabelled, or with its filter edited, no longer verifies.
    const format: ExportFormatName = version === 1 ? EXPORT_FORMAT_V1 : EXPORT_FORMAT;
    const sealed = { format, vaultId: source.vaultId, publicKey: source.publicKey, genesis: source.genesis, head, exportedAt: final.ts, filter, checkpointEvery: source.checkpointEvery };
    const unsigned = headerToJson({ ...sealed, signature: new Uint8Array(64) });
    const signature = source.seal(sealMessage(format, source.vaultId, head, final.ts, source.checkpointEvery, sealedFilterJson(unsigned.filter)));
    chunk.add(encode.header(headerToJson({ ...sealed, signature })));
    await sink.write(chunk.take());
    let entries = 0;
    let elided = 0;
    let omitted = 0;
    let checkpoints = 0;
    const checkpointCursor = new CheckpointCursor(source);
    let run: string[] = [];
    let runFrom = 0;
    /**
     * (sparse) A stretch is open: an entry was shown since the last checkpoint written, so the
     * entries after it go in as digests up to the next checkpoint, which proves them.
     */
    let open = false;
    /** The seq of the last checkpoint written (the chain position a reader has proved). */
    let lastWritten = -1;
    const flushRun = (): void => {
      if (run.length === 0) return;
      chunk.add(encode.elided(runFrom, run));
      run = [];
    };
    /** Checkpoints with seq <= `seq` (normally exactly the one at `seq`, after its entry). */
    const emitCheckpointsUpTo = (seq: number): void => {
      for (let c = checkpointCursor.peek(); c !== undefined && c.seq <= seq; c = checkpointCursor.peek()) {
        checkpointCursor.next();
        // Sparse: only the checkpoints that close a stretch, the genesis one and the final one.
        if (sparse && !open && c.seq !== 0 && c.seq !== head) continue;
        flushRun();
        chunk.add(encode.checkpoint(c));
        checkpoints++;
        lastWritten = c.seq;
        open = false;
      }
    };

    emitCheckpointsUpTo(0); // the genesis checkpoint, before entry 1

    const subjectHex = filter.subject === undefined ? null : hexOf(filter.subject);
    const pageEntryRows = source.pageEntryRows?.bind(source);
    const page = (after: number): readonly EntryRow[] => pageEntryRows?.(after, head, EXPORT_PAGE_SIZE) ?? source.pageEntries(after, head, EXPORT_PAGE_SIZE).map(entryToRow);
    let after = 0;
    while (after < head) {
      const rows = page(after);
      if (rows.length === 0) break;
      for (const r of rows) {
        const seq = r[ROW.seq];
        // A gap (rows missing from the log) ends a run: elided seqs must be consecutive. The
        // export stays faithful, and the verifier reports the gap.
        if (seq !== after + 1) {
          emitCheckpointsUpTo(seq - 1);
          flushRun();
        }
        if (filterMismatch(r, filter, subjectHex) === null) {
          flushRun();
          // A stretch starts: the chain's hash before its first entry, unless a checkpoint written proves it.
          if (sparse && !open && lastWritten !== seq - 1) chunk.add(encode.chain(seq - 1, r[ROW.prevHash]));
          open = true;
          chunk.add(encode.entry(r));
          entries++;
        } else if (sparse && !open) {
          omitted++;
        } else {
          if (run.length === 0) runFrom = seq;
          run.push(hexOf(digestOf(r)));
          elided++;
          if (run.length === MAX_ELIDED_PER_LINE) flushRun();
        }
        after = seq;
        emitCheckpointsUpTo(seq);
      }
      await sink.write(chunk.take());
      options.onProgress?.(after, head);
    }
    flushRun();
    emitCheckpointsUpTo(head);
    await sink.write(chunk.take());
    await sink.flush();
    return { entries, elided, omitted, checkpoints, head, bytes: sink.bytes };
  } finally {
    sink.close();
  }
}
