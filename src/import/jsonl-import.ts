/**
 * Imports plaintext minor data from a legacy store: JSON Lines of
 * `{"subject": "...", "category": "...", "value": {...}}`, binary fields as `{"$base64": "..."}`.
 *
 * Two passes. The first validates every line and reports each bad one by line number and field
 * (never its value); if any is bad, nothing is imported unless `skipInvalid`. The second imports in
 * batches, one transaction each, so a crash leaves exactly the committed batches; rerunning the
 * import is safe (a put replaces the value). When progress is asked for, a quick count of the
 * file's newlines comes first, so that both passes report in lines (values), never in bytes.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { AccessContext } from '../schema/access-context.js';
import type { CategoryMap } from '../schema/categories.js';
import { formatIssues, safeKey } from '../schema/zod-errors.js';
import { isVaultError, VaultError } from '../errors.js';
import type { PutManyItem, Vault } from '../vault.js';

export interface ImportOptions {
  /** Who imports and why (audited like any write). */
  readonly ctx: AccessContext;
  /** Values per transaction (default 500). Batches also close at 64 MiB of input. */
  readonly batchSize?: number;
  /** Import the valid lines even if some are invalid (default false: all or nothing). */
  readonly skipInvalid?: boolean;
  /** Called as lines are validated and imported. */
  readonly onProgress?: (progress: ImportProgress) => void;
}

/**
 * Where an import stands, in lines of the file (one line is one value): `validate` counts the
 * lines read (blank ones included) out of the file's lines; `import` the values imported out of
 * the values to import (the valid lines).
 */
export interface ImportProgress {
  readonly phase: 'validate' | 'import';
  readonly done: number;
  readonly total: number;
}

export interface ImportLineError {
  readonly line: number;
  readonly field: string;
  readonly message: string;
}

export interface ImportSummary {
  /** False when invalid lines stopped the import before anything was written. */
  readonly imported: boolean;
  readonly lines: number;
  readonly values: number;
  readonly subjects: number;
  readonly batches: number;
  readonly skipped: number;
  /** Every invalid line (line number, field, rule). */
  readonly errors: readonly ImportLineError[];
  readonly durationMs: number;
}

const lineSchema = z.strictObject({ subject: z.string(), category: z.string(), value: z.unknown() });
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_BATCH_INPUT_BYTES = 64 * 1024 * 1024;

/** Replaces `{"$base64": "..."}` objects by the bytes they encode. */
function decodeBinary(value: unknown, path: string): unknown {
  if (Array.isArray(value)) return value.map((v: unknown, i) => decodeBinary(v, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return value;
  const entries: [string, unknown][] = Object.entries(value);
  if (entries.length === 1 && entries[0]?.[0] === '$base64') {
    const text = entries[0][1];
    if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64.test(text)) {
      throw new VaultError('VALIDATION', `${path}.$base64 is not valid base64`, { field: `${path}.$base64` });
    }
    return new Uint8Array(Buffer.from(text, 'base64'));
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, decodeBinary(v, `${path}.${safeKey(k)}`)]));
}

interface ParsedLine {
  readonly subject: string;
  readonly category: string;
  readonly value: unknown;
}

function parseLine(text: string): ParsedLine {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new VaultError('VALIDATION', 'not valid JSON', { field: '(line)' });
  }
  const result = lineSchema.safeParse(json);
  if (!result.success) {
    const { message, field } = formatIssues('', result.error.issues);
    throw new VaultError('VALIDATION', message, { field });
  }
  return { subject: result.data.subject, category: result.data.category, value: decodeBinary(result.data.value, 'value') };
}

/** Validates a line as `put` would, naming fields as they appear in the line (`value.lat`). */
function validateLine<C extends CategoryMap>(vault: Vault<C>, parsed: ParsedLine): void {
  if (!(vault.categoryNames as readonly string[]).includes(parsed.category)) {
    throw new VaultError('VALIDATION', `category: unknown category (known: ${vault.categoryNames.join(', ')})`, { field: 'category' });
  }
  try {
    vault.validate(parsed.subject, { [parsed.category]: parsed.value } as PutManyItem<C>['values']);
  } catch (error) {
    const prefix = `values.${parsed.category}`;
    if (!isVaultError(error, 'VALIDATION') || error.field?.startsWith(prefix) !== true) throw error;
    throw new VaultError('VALIDATION', error.message.replaceAll(prefix, 'value'), { field: `value${error.field.slice(prefix.length)}` });
  }
}

async function* readLines(path: string): AsyncGenerator<{ line: number; text: string; bytes: number }> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    yield { line, text, bytes: Buffer.byteLength(text) + 1 };
  }
}

/**
 * The lines `readLines` will yield, counted from the newlines without decoding anything (a quick
 * pass, so that validation progress can be shown in lines). A lone CR, which readline also takes
 * for a line end, is not counted: progress clamps to the lines actually read.
 */
async function countLines(path: string): Promise<number> {
  let lines = 0;
  let last = -1;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
    if (chunk.length > 0) last = chunk[chunk.length - 1] ?? -1;
  }
  return last === -1 || last === 0x0a ? lines : lines + 1;
}

async function fileIdentity(path: string): Promise<string> {
  try {
    const stat = await fs.stat(path);
    if (!stat.isFile()) throw new VaultError('VALIDATION', `import file ${path} is not a regular file`, { field: 'file' });
    return `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
  } catch (error) {
    if (isVaultError(error)) throw error;
    throw new VaultError('NOT_FOUND', `import file ${path} cannot be read`, { field: 'file' });
  }
}

/** Imports a JSON Lines file into `vault`. See the module comment for the guarantees. */
export async function importJsonl<C extends CategoryMap>(vault: Vault<C>, path: string, options: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new VaultError('VALIDATION', 'batchSize: must be a whole number from 1 to 100000', { field: 'batchSize' });
  }
  const identity = await fileIdentity(path);
  const fileLines = options.onProgress === undefined ? 0 : await countLines(path);

  // Pass 1: validate everything, remember the bad lines.
  const errors: ImportLineError[] = [];
  const invalid = new Set<number>();
  let lines = 0;
  let read = 0;
  for await (const { line, text } of readLines(path)) {
    read = line;
    if (line % 1000 === 0) options.onProgress?.({ phase: 'validate', done: line, total: Math.max(fileLines, line) });
    if (text.trim() === '') continue;
    lines++;
    try {
      validateLine(vault, parseLine(text));
    } catch (error) {
      if (!isVaultError(error, 'VALIDATION')) throw error;
      invalid.add(line);
      errors.push({ line, field: error.field ?? '(line)', message: error.message });
    }
  }
  options.onProgress?.({ phase: 'validate', done: read, total: read });
  const summary = (values: number, subjects: number, batches: number, imported: boolean): ImportSummary => ({
    imported,
    lines,
    values,
    subjects,
    batches,
    skipped: imported ? invalid.size : 0,
    errors,
    durationMs: performance.now() - started,
  });
  if (invalid.size > 0 && options.skipInvalid !== true) return summary(0, 0, 0, false);

  // Pass 2: import the valid lines in batches, one transaction each.
  if ((await fileIdentity(path)) !== identity) {
    throw new VaultError('CONFLICT', `import file ${path} changed after it was validated; nothing more was imported`);
  }
  const toImport = lines - invalid.size;
  const subjects = new Set<string>();
  let batch: PutManyItem<C>[] = [];
  let batchBytes = 0;
  let values = 0;
  let batches = 0;
  /** The last line of the batch being filled, and of the last committed one. */
  let batchLine = 0;
  let committedLine = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    try {
      await vault.putMany(batch, options.ctx, { action: 'import' });
    } catch (error) {
      // Earlier batches stay committed: say so, and where to resume (a value written twice is
      // replaced, so rerunning the whole file is safe too).
      if (!isVaultError(error)) throw error;
      const done = values === 0 ? 'nothing was imported' : `${values} ${values === 1 ? 'value' : 'values'} in ${batches} ${batches === 1 ? 'batch' : 'batches'} up to line ${committedLine} ${values === 1 ? 'was' : 'were'} imported before it`;
      throw new VaultError(error.code, `${error.message} (the batch ending at line ${batchLine}; ${done}; rerunning the import rewrites them)`, {
        cause: error,
        ...(error.field === undefined ? {} : { field: error.field }),
      });
    }
    values += batch.length;
    batches++;
    committedLine = batchLine;
    batch = [];
    batchBytes = 0;
    options.onProgress?.({ phase: 'import', done: values, total: toImport });
  };
  for await (const { line, text, bytes } of readLines(path)) {
    if (text.trim() === '' || invalid.has(line)) continue;
    const parsed = parseLine(text);
    subjects.add(parsed.subject);
    batch.push({ subject: parsed.subject, values: { [parsed.category]: parsed.value } as PutManyItem<C>['values'] });
    batchLine = line;
    batchBytes += bytes;
    if (batch.length >= batchSize || batchBytes >= MAX_BATCH_INPUT_BYTES) await flush();
  }
  await flush();
  return summary(values, subjects.size, batches, true);
}
