import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { format, inspect } from 'node:util';
import { serialize } from 'node:v8';
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { VaultError } from '../../../src/errors.js';
import { Sensitive, isSensitive } from '../../../src/guard/sensitive.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

const PHONE = '+8613800138000';
const REDACTED = '[Sensitive contact: redacted]';

function contact(): Sensitive<{ phone: string }> {
  return new Sensitive({ phone: PHONE }, 'contact');
}

/** What console.log would print, captured from a real Console writing to memory. */
function consoleOutput(...args: unknown[]): string {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out += chunk.toString('utf8');
      done();
    },
  });
  const captured = new Console({ stdout: sink, stderr: sink, colorMode: false });
  captured.log(...args);
  captured.error(...args);
  captured.dir(args, { depth: 10 });
  return out;
}

describe('Sensitive', () => {
  it('reveals the value it holds and names its category', () => {
    const value = { phone: PHONE };
    const s = new Sensitive(value, 'contact');
    expect(s.reveal()).toBe(value);
    expect(s.category).toBe('contact');
  });

  it('redacts itself in String(), template literals, concatenation and join', () => {
    const s = contact();
    expect(String(s)).toBe(REDACTED);
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- what a careless caller writes
    expect(`phone: ${s}`).toBe(`phone: ${REDACTED}`);
    // eslint-disable-next-line @typescript-eslint/restrict-plus-operands -- what a careless caller writes
    expect('x' + s).toBe(`x${REDACTED}`);
    expect([s, s].join(',')).toBe(`${REDACTED},${REDACTED}`);
  });

  it('redacts itself in util.inspect and util.format, even nested and with hidden fields shown', () => {
    const s = contact();
    const texts = [
      inspect(s),
      inspect({ user: { contacts: [s] } }, { depth: Infinity, showHidden: true }),
      format('%s %o %O %j', s, s, s, { safe: true }),
      inspect(new Map([['k', s]])),
    ];
    for (const text of texts) {
      expect(text).not.toContain('13800138000');
      expect(text).toContain('redacted');
    }
  });

  it('keeps the value out of everything console.log, console.error and console.dir print', () => {
    const s = contact();
    const out = consoleOutput(s, { nested: [s] });
    expect(out).toContain(REDACTED);
    expect(out).not.toContain('13800138000');
  });

  it('makes console.table refuse a row that is a Sensitive (it reads every own property)', () => {
    const captured = new Console({ stdout: new Writable({ write: (_c, _e, done) => { done(); } }), colorMode: false });
    expectVaultError(() => {
      captured.table([contact()]);
    }, 'PLAINTEXT_LEAK');
  });

  it('keeps the value out of an error message and an error cause', () => {
    const s = contact();
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- what a careless caller writes
    const error = new Error(`failed for ${s}`, { cause: s });
    expect(error.message).not.toContain('13800138000');
    expect(inspect(error)).not.toContain('13800138000');
  });

  it('makes JSON.stringify throw PLAINTEXT_LEAK, alone and nested at any depth', () => {
    const s = contact();
    for (const payload of [s, { a: s }, [1, [2, { deep: s }]], { toLog: { values: [s] } }]) {
      const error = expectVaultError(() => JSON.stringify(payload), 'PLAINTEXT_LEAK');
      expect(error.message).toContain('contact');
      expect(error.message).not.toContain('13800138000');
    }
  });

  it('makes util.format %j throw rather than serialise the value', () => {
    expect(() => format('%j', { s: contact() })).toThrow(VaultError);
  });

  it('makes spreading and Object.assign throw PLAINTEXT_LEAK instead of copying a husk', () => {
    const s = contact();
    // eslint-disable-next-line @typescript-eslint/no-misused-spread -- what a careless caller writes
    expectVaultError(() => ({ ...s }), 'PLAINTEXT_LEAK');
    expectVaultError(() => Object.assign({}, s), 'PLAINTEXT_LEAK');
    expect(Object.keys(s)).toEqual(['category', 'view', 'value']);
  });

  it('makes structuredClone, v8.serialize and postMessage throw PLAINTEXT_LEAK, nested too', () => {
    expectVaultError(() => structuredClone(contact()), 'PLAINTEXT_LEAK');
    expectVaultError(() => structuredClone({ user: { contacts: [contact()] } }), 'PLAINTEXT_LEAK');
    expectVaultError(() => serialize(new Map([['k', contact()]])), 'PLAINTEXT_LEAK');
    const { port1, port2 } = new MessageChannel();
    try {
      expectVaultError(() => {
        port1.postMessage({ s: contact() });
      }, 'PLAINTEXT_LEAK');
    } finally {
      port1.close();
      port2.close();
    }
  });

  it('makes Buffer.from and valueOf throw PLAINTEXT_LEAK rather than encode the redaction', () => {
    expectVaultError(() => Buffer.from(contact() as unknown as string), 'PLAINTEXT_LEAK');
    expectVaultError(() => contact().valueOf(), 'PLAINTEXT_LEAK');
  });

  it('names the category, never the value, in every refusal', () => {
    for (const f of [() => JSON.stringify(contact()), () => structuredClone(contact()), () => Buffer.from(contact() as unknown as string)]) {
      try {
        f();
        expect.unreachable('the channel must refuse');
      } catch (error) {
        expect((error as Error).message).toContain('Sensitive contact');
        expect((error as Error).message).not.toContain('13800138000');
      }
    }
  });
});

describe('isSensitive', () => {
  it('is true for a Sensitive value', () => {
    expect(isSensitive(contact())).toBe(true);
  });

  it('is true for a value branded by another copy of childvault (the registered symbol)', () => {
    const foreign = { [Symbol.for('childvault.sensitive')]: true, reveal: () => PHONE };
    expect(isSensitive(foreign)).toBe(true);
  });

  it.each([
    ['a revealed value', { phone: PHONE }],
    ['a string', PHONE],
    ['null', null],
    ['undefined', undefined],
    ['an object branded with an unregistered symbol', { [Symbol('childvault.sensitive')]: true }],
    ['an object with the brand set to a truthy non-true value', { [Symbol.for('childvault.sensitive')]: 1 }],
  ])('is false for %s', (_what, value) => {
    expect(isSensitive(value)).toBe(false);
  });
});
