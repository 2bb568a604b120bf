// @ts-check
/**
 * The import graph of src/, enforced: every folder (concept) sits in a layer and imports only the
 * layers below it, so no two folders depend on each other and a reader can take the code in from
 * the bottom up. The order is declared once, in eslint.config.js (`SRC_LAYERS`).
 *
 * A file's unit is the first folder under src/ (src/cli/commands/x.ts belongs to `cli`); a file
 * directly in src/ is its own unit, named by its base name (`errors`, `vault`, ...), so the root's
 * files take their places in the order like folders do. Imports within a unit are free.
 *
 * A unit listed in `apiOnly` may import, from other units, only what its list names: units, or
 * single files as paths under src/ without extension. The CLI's list is the package's public entry
 * (`index`) and a few helpers with no vault behaviour: it uses the library as its users do.
 */
import { dirname, relative, resolve, sep } from 'node:path';

/**
 * @typedef {{ layers: string[][], srcDir: string, apiOnly?: Record<string, string[]> }} LayerOptions
 */

/**
 * The unit of an absolute path under `srcDir`, or null outside it.
 * @param {string} srcDir
 * @param {string} path
 * @returns {string | null}
 */
function unitOf(srcDir, path) {
  const rel = relative(srcDir, path);
  if (rel === '' || rel.startsWith('..')) return null;
  const parts = rel.split(sep);
  const first = parts[0] ?? '';
  return parts.length === 1 ? first.replace(/\.(ts|js)$/, '') : first;
}

/** @type {import('eslint').Rule.RuleModule} */
export const importLayers = {
  meta: {
    type: 'problem',
    docs: { description: 'src/ folders import only the layers below them (eslint.config.js declares the order)' },
    schema: [
      {
        type: 'object',
        properties: {
          layers: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
          srcDir: { type: 'string' },
          apiOnly: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
        },
        required: ['layers', 'srcDir'],
        additionalProperties: false,
      },
    ],
    messages: {
      upward: "src/{{from}} is below src/{{to}} (layer {{fromLayer}} < {{toLayer}}): it may not import '{{source}}'. Move what both need down, or the importer up.",
      sameLayer: "src/{{from}} and src/{{to}} share layer {{fromLayer}} and may not import each other ('{{source}}'): give them an order in eslint.config.js.",
      unknown: "src/{{unit}} has no layer: add it to SRC_LAYERS in eslint.config.js.",
      notPublic: "src/{{from}} uses the library through its public API only ({{allowed}}): export what it needs from src/index.ts instead of importing '{{source}}'.",
    },
  },
  create(context) {
    const options = /** @type {LayerOptions} */ (context.options[0]);
    const srcDir = resolve(options.srcDir);
    const rank = new Map(options.layers.flatMap((units, i) => units.map((u) => [u, i])));
    const apiOnly = options.apiOnly ?? {};
    const file = resolve(context.filename);
    const from = unitOf(srcDir, file);
    if (from === null) return {};

    /** @type {(node: import('estree').Node, source: unknown) => void} */
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = resolve(dirname(file), source);
      const to = unitOf(srcDir, target);
      if (to === null || to === from) return;
      const fromLayer = rank.get(from);
      const toLayer = rank.get(to);
      if (fromLayer === undefined) return context.report({ node, messageId: 'unknown', data: { unit: from } });
      if (toLayer === undefined) return context.report({ node, messageId: 'unknown', data: { unit: to } });
      const allowed = Object.hasOwn(apiOnly, from) ? apiOnly[from] : undefined;
      if (allowed !== undefined) {
        const path = relative(srcDir, target).split(sep).join('/').replace(/\.(ts|js)$/, '');
        if (!allowed.includes(to) && !allowed.includes(path)) context.report({ node, messageId: 'notPublic', data: { from, allowed: allowed.join(', '), source } });
        return;
      }
      const data = { from, to, source, fromLayer: String(fromLayer), toLayer: String(toLayer) };
      if (toLayer > fromLayer) context.report({ node, messageId: 'upward', data });
      else if (toLayer === fromLayer) context.report({ node, messageId: 'sameLayer', data });
    };

    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => check(node, node.source?.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => check(node, node.source.type === 'Literal' ? node.source.value : undefined),
    };
  },
};

export default { rules: { 'import-layers': importLayers } };
