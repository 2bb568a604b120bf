/**
 * The library names the fields of its API in errors (`consent.categories[1]`, `ctx.actor`); a CLI
 * user typed flags. Each command maps its fields to its flags, and an error is said again in the
 * user's terms: `--categories item 2: purpose account does not cover this category`.
 */
import { isVaultError, VaultError } from '../index.js';

/** The flags of the access context, which every data command takes (cli/access.ts). */
const CONTEXT_FLAGS: Readonly<Record<string, string>> = {
  'ctx.actor': '--actor',
  'ctx.role': '--role',
  'ctx.purpose': '--purpose',
  'ctx.requestId': '--request-id',
  'ctx.approval': '--approval',
};

/** The flag for a library field path, or undefined when the command maps none. */
export function flagForField(field: string, flags: Readonly<Record<string, string>>): string | undefined {
  const all = { ...CONTEXT_FLAGS, ...flags };
  // The longest mapped prefix that ends at a path boundary: `consent.categories` for `consent.categories[1]`.
  const prefix = Object.keys(all)
    .filter((p) => field === p || field.startsWith(`${p}[`) || field.startsWith(`${p}.`))
    .sort((a, b) => b.length - a.length)[0];
  if (prefix === undefined) return undefined;
  const flag = all[prefix] ?? prefix;
  const index = /^\[(\d+)\]/.exec(field.slice(prefix.length));
  return index === null ? flag : `${flag} item ${Number(index[1]) + 1}`;
}

/** Runs `fn`; a VaultError naming a mapped field is thrown again naming the flag instead. */
export async function inFlagTerms<T>(flags: Readonly<Record<string, string>>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!isVaultError(error) || error.field === undefined) throw error;
    const flag = flagForField(error.field, flags);
    if (flag === undefined) throw error;
    const message = error.message.startsWith(error.field) ? `${flag}${error.message.slice(error.field.length)}` : `${flag}: ${error.message}`;
    throw new VaultError(error.code, message, { field: flag, ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }) });
  }
}
