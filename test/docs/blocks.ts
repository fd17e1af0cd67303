/** The fenced blocks of the Markdown pages, for the docs suites. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Block {
  page: string;
  line: number;
  lang: string;
  tags: string[];
  body: string;
}

export function pages(root: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
    );
  return [join(root, 'README.md'), ...walk(join(root, 'docs'))];
}

/** The fenced blocks of one Markdown page (``` fences, info string split on blanks). */
export function blocksOf(page: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const fence = open[1] as string;
    const [lang = '', ...tags] = (open[2] as string).trim().split(/\s+/).filter(Boolean);
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !(lines[i] as string).startsWith(fence); i++)
      body.push(lines[i] as string);
    blocks.push({ page, line: start + 1, lang, tags, body: body.join('\n') });
  }
  return blocks;
}
