import { readdirSync } from 'node:fs';
import { URL } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The folder boundaries of ARCHITECTURE.md: the src folders each src folder imports directly. A
 * folder may import these and whatever they may import (the transitive closure), its own files and
 * src/errors.ts. The graph must stay acyclic; src/cli is not in it: it imports src/index.ts only.
 */
const DEPENDS_ON = {
  tensor: [],
  report: [],
  formats: ['tensor'],
  kernels: ['tensor'],
  tokenizer: ['formats'],
  llm: ['formats', 'kernels', 'tokenizer'],
  quant: ['llm'],
  nn: ['formats', 'kernels'],
  compress: ['nn', 'report'],
  sparse: ['compress'],
  eval: ['llm', 'report'],
  server: ['llm'],
};

const folders = readdirSync(new URL('src/', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'cli')
  .map((d) => d.name);
for (const f of folders)
  if (!(f in DEPENDS_ON)) throw new Error(`eslint.config.js: src/${f} has no DEPENDS_ON entry`);

function reachable(folder, path = []) {
  if (path.includes(folder))
    throw new Error(`eslint.config.js: folder cycle ${[...path, folder].join(' -> ')}`);
  return new Set(DEPENDS_ON[folder].flatMap((d) => [d, ...reachable(d, [...path, folder])]));
}

/** A relative import that leaves the file's folder for src/<name> (a folder or a .ts file). */
const into = (names) => `^(\\.\\./)+(${names.join('|')})(/|\\.js$)`;

function boundaries(folder, also = []) {
  const allowed = new Set([folder, ...reachable(folder), ...also]);
  const forbidden = [...folders.filter((f) => !allowed.has(f)), 'cli', 'index'];
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: into(forbidden),
              message: `src/${folder} may import only src/{${[...allowed].sort().join(',')}} and src/errors.ts (eslint.config.js, DEPENDS_ON).`,
            },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...folders.map((f) => boundaries(f)),
  // TODO(formats branch): weights.ts decodes AutoAWQ folders through src/quant; remove once that moves to src/formats
  { ...boundaries('llm', ['quant']), files: ['src/llm/weights.ts'] },
  {
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!index\\.js$)',
              message: 'src/cli imports the library only through its public API, ../index.js.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\./cli/', message: 'The library never imports the CLI.' }] },
      ],
    },
  },
  {
    files: ['bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.\\./src/cli/', message: 'bench uses the library, not the CLI.' }] },
      ],
    },
  },
);
