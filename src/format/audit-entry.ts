/**
 * The audit entry's fields, declared once: each field's name, kind, nullability and column, and
 * the forms derived from them (what an operation records, the stored entry, the raw row). The
 * store derives the audit_log SQL from this declaration (store/audit-repository.ts); the audit log
 * hashes, validates and exports entries by it (audit/entry.ts, which re-exports it, explains why
 * there is one declaration).
 */
// ---------------------------------------------------------------------------------------------
// Actions and outcomes

/**
 * Every action the vault records (docs/audit.md lists them). The writer side is typed with it, so
 * a new operation must be named here before it can be audited; readers of exported files accept
 * any well-formed name ({@link ACTION_NAME}), because an export from a newer vault may hold actions
 * this version does not know.
 */
export const AUDIT_ACTIONS = [
  'open',
  'vault.upgrade',
  'status',
  'put',
  'import',
  'get',
  'export',
  'erase',
  'protections',
  'consent.grant',
  'consent.withdraw',
  'consent.list',
  'approval.create',
  'approval.revoke',
  'approval.list',
  'key.list',
  'key.rotate',
  'key.rotate-master',
  'key.destroy',
  'retention.sweep',
  'audit.export',
  'audit.checkpoint',
  'audit.verify',
  'audit.report',
  'audit.discard-pending',
  'scan',
  'canary.plant',
  'guard.refused',
] as const;

/** An action the vault writes (see {@link AUDIT_ACTIONS}). */
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * A well-formed action name, as readers accept it: lower-case ASCII words of letters and digits
 * joined by `.` or `-`, starting with a letter, at most 64 characters. Every {@link AuditAction}
 * is one.
 */
export const ACTION_NAME = /^[a-z][a-z0-9]*(?:[.-][a-z0-9]+)*$/;
export const MAX_ACTION_CHARS = 64;

const KNOWN_ACTIONS: ReadonlySet<string> = new Set(AUDIT_ACTIONS);

/** True when `name` is an action this version writes. */
export function isAuditAction(name: string): name is AuditAction {
  return KNOWN_ACTIONS.has(name);
}

/** True when `name` is a well-formed action name (known or not). */
export function isActionName(name: string): boolean {
  return KNOWN_ACTIONS.has(name) || (name.length <= MAX_ACTION_CHARS && ACTION_NAME.test(name));
}

export const AUDIT_OUTCOMES = ['allowed', 'denied', 'error'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** Small, non-sensitive facts about an operation: counts, labels, versions (see {@link canonicalDetail}). */
export type AuditDetail = Readonly<Record<string, string | number | boolean>>;

// ---------------------------------------------------------------------------------------------
// The declaration

/**
 * How a field is typed, stored, hashed and written:
 *
 * | kind | record (writer) | stored | raw row | in the digest | JSON Lines | CSV cell |
 * | --- | --- | --- | --- | --- | --- | --- |
 * | `seq` | (the log's) | INTEGER | number | u64 | number | decimal |
 * | `time` | ms | INTEGER ms | number | u64 | ISO string | ISO |
 * | `text` | string | TEXT | string | UTF-8 | string | as is |
 * | `action` | {@link AuditAction} | TEXT | string | UTF-8 | string | as is |
 * | `pseudonym` | 32 bytes | BLOB | hex | the 32 bytes | hex string | hex |
 * | `categories` | names | TEXT, sorted, `,`-joined | string | that text | array of names | that text |
 * | `outcome` | {@link AuditOutcome} | TEXT | string | UTF-8 | string | as is |
 * | `detail` | {@link AuditDetail} | TEXT, canonical JSON | string | that text | object | that text |
 * | `hash` | (the log's) | BLOB | hex | — (the chain's own) | hex string | hex |
 *
 * A nullable field's absence is null (JSON), an empty cell (CSV), NULL (SQL) and the empty string
 * in the digest — which is why a present value is never empty.
 */
export type FieldKind = 'seq' | 'time' | 'text' | 'action' | 'pseudonym' | 'categories' | 'outcome' | 'detail' | 'hash';

/** One field of an audit entry. */
export interface EntryFieldSpec {
  /** The field's name in code and in JSON Lines records. */
  readonly name: string;
  /** Its column, in the `audit_log` table and in CSV exports. */
  readonly column: string;
  readonly kind: FieldKind;
  /** Whether the field may be absent. */
  readonly nullable: boolean;
}

/**
 * The audit entry, field by field, in the order of its digest, its JSON Lines record, its CSV
 * columns and its raw rows. Every field is hashed except the chain's own `prevHash` and `hash`.
 */
export const ENTRY_FIELDS = [
  { name: 'seq', column: 'seq', kind: 'seq', nullable: false },
  { name: 'ts', column: 'ts', kind: 'time', nullable: false },
  { name: 'actor', column: 'actor', kind: 'text', nullable: false },
  { name: 'role', column: 'role', kind: 'text', nullable: false },
  { name: 'purpose', column: 'purpose', kind: 'text', nullable: false },
  { name: 'action', column: 'action', kind: 'action', nullable: false },
  /** The subject's pseudonym, or null when the operation has no (valid) subject. */
  { name: 'subject', column: 'subject', kind: 'pseudonym', nullable: true },
  { name: 'categories', column: 'categories', kind: 'categories', nullable: false },
  { name: 'outcome', column: 'outcome', kind: 'outcome', nullable: false },
  /** For `denied` and `error`: the refusal or error code. */
  { name: 'reason', column: 'reason', kind: 'text', nullable: true },
  { name: 'approval', column: 'approval', kind: 'text', nullable: true },
  /** Up to {@link MAX_LISTED_IDS} consent ids, comma-joined (one text; the full count goes in detail). */
  { name: 'consent', column: 'consent', kind: 'text', nullable: true },
  { name: 'requestId', column: 'request_id', kind: 'text', nullable: true },
  { name: 'detail', column: 'detail', kind: 'detail', nullable: true },
  { name: 'prevHash', column: 'prev_hash', kind: 'hash', nullable: false },
  { name: 'hash', column: 'hash', kind: 'hash', nullable: false },
] as const satisfies readonly EntryFieldSpec[];

type Fields = typeof ENTRY_FIELDS;
type Field = Fields[number];
export type EntryFieldName = Field['name'];
export type EntryColumn = Field['column'];

/** The value of each kind in each form (see {@link FieldKind}). */
interface KindForms {
  seq: { record: never; stored: number; row: number; json: number };
  time: { record: number; stored: number; row: number; json: string };
  text: { record: string; stored: string; row: string; json: string };
  action: { record: AuditAction; stored: string; row: string; json: string };
  pseudonym: { record: Uint8Array; stored: Uint8Array; row: string; json: string };
  categories: { record: readonly string[]; stored: string; row: string; json: string[] };
  outcome: { record: AuditOutcome; stored: AuditOutcome; row: AuditOutcome; json: AuditOutcome };
  detail: { record: AuditDetail; stored: string; row: string; json: Record<string, string | number | boolean> };
  hash: { record: never; stored: Uint8Array; row: string; json: string };
}

/** The value of field `F` in `form`, with null when the field is nullable. */
export type FieldValue<F extends EntryFieldSpec, Form extends keyof KindForms['seq']> = KindForms[F['kind']][Form] | (F['nullable'] extends true ? null : never);

/** The fields the log assigns (seq and the chain's hashes); an operation records the others. */
type LogKind = 'seq' | 'hash';

/**
 * What an operation records; the log adds seq and hashes. `categories` in any order (stored
 * sorted and de-duplicated), `detail` as an object (stored as canonical JSON).
 */
export type AuditRecord = { readonly [F in Field as F['kind'] extends LogKind ? never : F['name']]: FieldValue<F, 'record'> };

/** An entry as stored and verified: categories and detail in their canonical text, bytes as bytes. */
export type AuditEntry = { readonly [F in Field as F['name']]: FieldValue<F, 'stored'> };

/** A stored entry before it is chained. */
export type UnhashedEntry = { readonly [F in Field as F['kind'] extends 'hash' ? never : F['name']]: FieldValue<F, 'stored'> };

// Mapped over a type parameter, so that a tuple maps to a tuple (a mapped type over a concrete
// tuple type maps every array member instead).
type RowValuesOf<T extends readonly EntryFieldSpec[]> = { readonly [I in keyof T]: T[I] extends EntryFieldSpec ? FieldValue<T[I], 'row'> : never };
type ColumnsOf<T extends readonly EntryFieldSpec[]> = { readonly [I in keyof T]: T[I] extends EntryFieldSpec ? T[I]['column'] : never };
type IndexPairsOf<T extends readonly EntryFieldSpec[]> = { [I in keyof T]: I extends `${infer X extends number}` ? [T[I] extends EntryFieldSpec ? T[I]['name'] : never, X] : never };

/** The fields' values of an {@link EntryRow}, in declaration order. */
export type EntryRowValues = RowValuesOf<Fields>;

/** The entry's columns, in declaration order. */
export type EntryColumns = ColumnsOf<Fields>;

/**
 * An entry as a raw row: its fields in declaration order, bytes as lower-case hex, times in
 * milliseconds, categories and detail in their stored text. The hot paths (export, live and
 * offline verification) work on these: SQLite returns them in raw mode about 2.5x faster than
 * objects holding buffers, and the export text is built from them directly. A row may carry more
 * values after the entry's (columns the log keeps but does not export); they are ignored here.
 * Read a field as `row[ROW.name]`.
 */
export type EntryRow = readonly [...EntryRowValues, ...unknown[]];

/** The index of each field in an {@link EntryRow}: `row[ROW.subject]`. */
export const ROW = Object.freeze(Object.fromEntries(ENTRY_FIELDS.map((f, i) => [f.name, i]))) as { readonly [P in IndexPairsOf<Fields>[number] as P[0]]: P[1] };

/** The number of fields of an entry. */
export const ENTRY_FIELD_COUNT = ENTRY_FIELDS.length;

/** The kind of each field, by index. */
export const FIELD_KINDS: readonly FieldKind[] = ENTRY_FIELDS.map((f) => f.kind);

/** Whether each field may be null, by index. */
export const FIELD_NULLABLE: readonly boolean[] = ENTRY_FIELDS.map((f) => f.nullable);

/** True for the kinds held as bytes in the store (hex in raw rows). */
export function isBytesKind(kind: FieldKind): boolean {
  return kind === 'pseudonym' || kind === 'hash';
}
