/**
 * Loads a module from the build (dist/), refusing a build older than the source it comes from. For the
 * scenarios that time worker threads starting: from source, each worker spends ~0.7 s compiling TypeScript
 * (tsx) before its first task, a cost no user pays.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function newestModified(directory: string, extension: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(extension)) {
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

/** `module` is a path under dist/, such as `catalog/index.js`. */
export async function importBuilt<Module>(module: string): Promise<Module> {
  const built = join(root, 'dist');
  const source = newestModified(join(root, 'src'), '.ts');
  let build = 0;
  try {
    build = newestModified(built, '.js');
  } catch {
    // no build yet
  }
  if (build < source) throw new Error('dist/ is missing or older than src/: run `npm run build` first');
  return (await import(join(built, module))) as Module;
}
