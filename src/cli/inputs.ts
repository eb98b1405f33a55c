/**
 * Expanding the command line's inputs (files, folders, globs) into a list of images, each with the path under its
 * root that is mirrored under the output folder, and planning the output names.
 *
 * - A file named explicitly is always attempted (a non-image file then fails with its reason).
 * - A folder contributes its image files (by extension); with `recursive`, its whole tree.
 * - A glob (`*`, `?`, `**`, `[...]`, `{a,b}`) is matched below its static prefix; `**` crosses folders.
 * Hidden entries, temporary outputs and the output folder itself are never inputs.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isTempName } from '../pipeline/writers.js';

/** File extensions read from folders and globs. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.avif', '.heic', '.jp2']);

/** One input image. */
export interface InputFile {
  /** Absolute path. */
  readonly path: string;
  /** Path relative to its root (the folder or glob base it was found under; the base name for single files). */
  readonly rel: string;
}

/** An input argument that matched nothing. */
export interface MissingInput {
  readonly arg: string;
  readonly reason: string;
}

/** Result of {@link expandInputs}. */
export interface ExpandedInputs {
  readonly files: InputFile[];
  readonly missing: MissingInput[];
}

const GLOB_CHARS = /[*?[\]{}]/;

/** True if `arg` has glob syntax. */
export function isGlob(arg: string): boolean {
  return GLOB_CHARS.test(arg);
}

/** True if `file` has an image extension. */
export function hasImageExtension(file: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

/**
 * Translate a glob (POSIX separators) to a RegExp over a relative path: `*` and `?` stay within a folder, `**`
 * matches any number of folders, `[...]` is a character class and `{a,b}` alternatives.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let cls = glob.slice(i + 1, end);
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (ch === '{') {
      depth++;
      re += '(?:';
    } else if (ch === '}' && depth > 0) {
      depth--;
      re += ')';
    } else if (ch === ',' && depth > 0) re += '|';
    else re += ch.replace(/[.+^$()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Expand command-line inputs.
 * @param exclude absolute folders never entered (the output folder)
 */
export async function expandInputs(args: readonly string[], opts: { recursive: boolean; exclude: readonly string[] }): Promise<ExpandedInputs> {
  const files: InputFile[] = [];
  const missing: MissingInput[] = [];
  const seen = new Set<string>();
  const excluded = new Set(opts.exclude.map((d) => path.resolve(d)));
  const add = (abs: string, rel: string): void => {
    if (seen.has(abs)) return;
    seen.add(abs);
    files.push({ path: abs, rel });
  };

  for (const arg of args) {
    const abs = path.resolve(arg);
    const st = await stat(abs).catch(() => null);
    if (st?.isFile()) {
      add(abs, path.basename(abs));
      continue;
    }
    if (st?.isDirectory()) {
      const before = files.length;
      await walk(abs, abs, opts.recursive ? null : 0, excluded, (f, rel) => {
        if (hasImageExtension(f)) add(f, rel);
      });
      if (files.length === before) missing.push({ arg, reason: `no image files in the folder${opts.recursive ? '' : ' (use --recursive for subfolders)'}` });
      continue;
    }
    if (!isGlob(arg)) {
      missing.push({ arg, reason: 'no such file or folder' });
      continue;
    }
    // Glob: static prefix folders, then match the rest.
    const posix = arg.split(path.sep).join('/');
    const parts = posix.split('/');
    const firstMagic = parts.findIndex((p) => isGlob(p));
    const baseParts = parts.slice(0, firstMagic);
    const base = path.resolve(baseParts.length === 0 ? '.' : baseParts.join('/') || '/');
    const pattern = parts.slice(firstMagic).join('/');
    const re = globToRegExp(pattern);
    const crosses = pattern.includes('**') || pattern.includes('/');
    const before = files.length;
    await walk(base, base, crosses || opts.recursive ? null : 0, excluded, (f, rel) => {
      const relPosix = rel.split(path.sep).join('/');
      if (re.test(relPosix) && (hasImageExtension(f) || /\.[A-Za-z0-9]+$/.test(pattern))) add(f, rel);
    });
    if (files.length === before) missing.push({ arg, reason: 'the pattern matched no files' });
  }
  return { files, missing };
}

async function walk(
  root: string,
  dir: string,
  depthLeft: number | null,
  excluded: ReadonlySet<string>,
  visit: (file: string, rel: string) => void,
): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.') || isTempName(e.name)) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (depthLeft === 0 || excluded.has(full)) continue;
      await walk(root, full, depthLeft === null ? null : depthLeft - 1, excluded, visit);
    } else if (e.isFile()) {
      visit(full, path.relative(root, full));
    }
  }
}

/** Output location of one input. */
export interface PlannedOutput {
  readonly input: InputFile;
  /** Folder the outputs go to (the input's relative folder mirrored under the output folder). */
  readonly dir: string;
  /** `<stem>` of `<stem>.<kind>.<ext>`; the full file name when two inputs of a folder share a stem. */
  readonly stem: string;
}

/**
 * Mirror each input's relative folder under `outDir` and choose stems; inputs whose stems collide in one output
 * folder (`a.png`, `a.jpg`) keep their extension in the stem (`a.png.mask.png`, `a.jpg.mask.png`).
 */
export function planOutputs(files: readonly InputFile[], outDir: string): PlannedOutput[] {
  const root = path.resolve(outDir);
  const keyOf = (f: InputFile): string => {
    const relDir = path.dirname(f.rel);
    const stem = path.basename(f.rel, path.extname(f.rel));
    return path.join(root, relDir, stem);
  };
  const counts = new Map<string, number>();
  for (const f of files) counts.set(keyOf(f), (counts.get(keyOf(f)) ?? 0) + 1);
  return files.map((f) => {
    const dir = path.join(root, path.dirname(f.rel));
    const dup = counts.get(keyOf(f))! > 1;
    const stem = dup ? path.basename(f.rel) : path.basename(f.rel, path.extname(f.rel));
    return { input: f, dir, stem };
  });
}
