/**
 * What the CLI's matching commands (`match`, `bulk`) match against: a catalog, through its index snapshot
 * when current, or an entity file. One place for the checks both need.
 */
import { existsSync } from 'node:fs';
import { Catalog, openCatalogMatcher } from '../catalog/index.js';
import { createMatcher, type Matcher, type MatcherOptions } from '../engine/index.js';

/**
 * Refuses a catalog path with no file behind it: opening it would create an empty catalog and match
 * everything against nothing.
 */
export function requireCatalog(path: string): void {
  if (existsSync(path)) return;
  throw Object.assign(
    new Error(`no catalog at ${path} (create it with \`certmatch import\`, or pass --data)`),
    { code: 'ENOENT' },
  );
}

/** The matcher over `catalog` (exactly one of the two is given) or over the entity file `data`. */
export async function openMatcher(
  source: { catalog?: string | undefined; data?: string | undefined },
  options: MatcherOptions,
): Promise<{ matcher: Matcher; fromSnapshot: boolean }> {
  if (source.catalog === undefined) {
    return { matcher: await createMatcher({ file: source.data as string }, options), fromSnapshot: false };
  }
  requireCatalog(source.catalog);
  const catalog = new Catalog(source.catalog);
  try {
    const opened = await openCatalogMatcher(catalog, options);
    return { matcher: opened.matcher, fromSnapshot: opened.origin === 'snapshot' };
  } finally {
    catalog.close();
  }
}
