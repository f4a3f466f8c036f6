/**
 * Builds the chat page into one self-contained HTML file (no external requests): the page's
 * stylesheet and its compiled script are inlined into index.html. Run by `npm run build`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const source = (name: string) => readFileSync(root(`src/server/page/${name}`), 'utf8');

const script = readFileSync(root('dist/page/chat.js'), 'utf8').replaceAll('</', '<\\/');
const page = source('index.html')
  .replace('/* style.css */', () => source('style.css'))
  .replace('/* chat.js */', () => script);
writeFileSync(root('dist/page/index.html'), page);
