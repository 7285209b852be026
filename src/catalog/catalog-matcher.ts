/**
 * The matching index for a catalog: loaded from the snapshot beside the catalog file when it is current,
 * built from the catalog's entities (and saved as the new snapshot) when it is not.
 */
import {
  createMatcher,
  loadMatcherSnapshot,
  type Matcher,
  type MatcherOptions,
  SnapshotFileError,
} from '../engine/index.js';
import type { Catalog } from './index.js';

export interface CatalogMatcher {
  matcher: Matcher;
  /** `snapshot` when loaded, `built` when built from the entities. */
  origin: 'snapshot' | 'built';
  /** Why the snapshot was not used, when it was not. */
  snapshotProblem?: string;
  /** Why the new snapshot could not be saved (the index works regardless). */
  saveProblem?: string;
  seconds: number;
}

/** Where a catalog's index snapshot lives: beside it, or nowhere for an in-memory catalog. */
export function indexSnapshotPath(catalog: Catalog): string | undefined {
  return catalog.path === ':memory:' || catalog.path === '' ? undefined : `${catalog.path}.index`;
}

/**
 * Opens the matching index of a catalog. A snapshot is used only when it was built from exactly the
 * catalog's current content by this engine code; otherwise the index is built and the snapshot replaced.
 */
export async function openCatalogMatcher(
  catalog: Catalog,
  options: MatcherOptions = {},
): Promise<CatalogMatcher> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const path = indexSnapshotPath(catalog);
  const contentId = catalog.contentId;
  let snapshotProblem: string | undefined;
  if (path !== undefined) {
    try {
      return {
        matcher: loadMatcherSnapshot(path, contentId, options),
        origin: 'snapshot',
        seconds: seconds(),
      };
    } catch (error) {
      if (!(error instanceof SnapshotFileError)) throw error;
      snapshotProblem = error.message;
    }
  }
  const matcher = await createMatcher({ lines: catalog.entityLinesForIndex() }, options);
  let saveProblem: string | undefined;
  if (path !== undefined) {
    try {
      matcher.saveSnapshot(path, contentId);
    } catch (error) {
      // A read-only directory or a full disk costs the next start a rebuild, not this one its index.
      saveProblem = error instanceof Error ? error.message : String(error);
    }
  }
  return {
    matcher,
    origin: 'built',
    seconds: seconds(),
    ...(snapshotProblem === undefined ? {} : { snapshotProblem }),
    ...(saveProblem === undefined ? {} : { saveProblem }),
  };
}
