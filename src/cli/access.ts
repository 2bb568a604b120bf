/** The access context of CLI commands: who runs them (an operator) and why. */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { AccessContext } from '../index.js';

export interface ContextOptions {
  readonly actor?: string;
  readonly role?: string;
  readonly purpose?: string;
  readonly requestId?: string;
}

/** Adds --actor/--role/--purpose/--request-id with the given defaults. */
export function contextOptions(command: Command, defaults: { role: string; purpose: string }): Command {
  return command
    .option('--actor <id>', 'who runs this (default: cli:<login name>)')
    .option('--role <role>', 'role the actor acts in', defaults.role)
    .option('--purpose <purpose>', 'declared purpose of the access', defaults.purpose)
    .option('--request-id <id>', 'ticket or request id recorded with the access');
}

function defaultActor(): string {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return `cli:${name.replace(/[^\p{L}\p{N}._@-]/gu, '_') || 'unknown'}`;
}

export function accessContext(options: ContextOptions, defaults: { role: string; purpose: string }): AccessContext {
  return {
    actor: options.actor ?? defaultActor(),
    role: options.role ?? defaults.role,
    purpose: options.purpose ?? defaults.purpose,
    ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
  };
}
