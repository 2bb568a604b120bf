/**
 * What a finding may print of the names it passes on the way to a value — object keys, named
 * parameters, table and column names — which can themselves be data (a map keyed by phone number,
 * a column named after a child). Only plain ASCII identifiers without a run of 5 digits are
 * printed; anything else is shown by position. Printed text never carries control characters.
 */

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;
const FIVE_DIGITS = /\d{5}/;

/** True when `name` may appear in a message or report as it is. */
export function isPrintableName(name: string): boolean {
  return IDENTIFIER.test(name) && !FIVE_DIGITS.test(name);
}

/**
 * Text from outside (a file name, a caller's label) made safe for a one-line message: control
 * characters (terminal escapes, newlines that would forge output lines) become `?`.
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
}
