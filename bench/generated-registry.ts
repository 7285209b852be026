/**
 * A generated registry with its labelled queries and its catalog, made once per size with the built CLI and
 * kept in data/generated/ (ignored by git) for later runs. Shared by the HTTP and bulk scenarios.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Catalog, CatalogFormatError } from '../src/catalog/index.js';

export const projectRoot = new URL('..', import.meta.url).pathname;
/** The built CLI: the scenarios measure what a user runs. */
export const builtCli = join(projectRoot, 'bin/certmatch.js');
export const generatedDirectory = join(projectRoot, 'data/generated');

export interface GeneratedRegistry {
  entityFile: string;
  queryFile: string;
  catalogFile: string;
}

export function generatedRegistry(entities: number, queries = 20_000): GeneratedRegistry {
  if (!existsSync(join(projectRoot, 'dist/cli/main.js'))) throw new Error('run npm run build first');
  mkdirSync(generatedDirectory, { recursive: true });
  const registry = {
    entityFile: join(generatedDirectory, `http-${entities}.ndjson`),
    queryFile: join(generatedDirectory, `http-${entities}-queries.ndjson`),
    catalogFile: join(generatedDirectory, `http-${entities}-catalog.db`),
  };
  if (existsSync(registry.catalogFile)) {
    if (catalogIsCurrent(registry.catalogFile)) return registry;
    // Written by an older certmatch: import again (the entity file is kept).
    for (const suffix of ['', '-wal', '-shm', '.index', '.documents', '.locations'])
      rmSync(`${registry.catalogFile}${suffix}`, { force: true });
  }
  const run = (args: string[]) => execFileSync(process.execPath, [builtCli, ...args], { stdio: 'inherit' });
  if (existsSync(registry.entityFile) && existsSync(registry.queryFile)) {
    console.log(
      `Importing ${entities.toLocaleString('en')} entities into a new catalog (kept for later runs)...`,
    );
    run(['import', '--data', registry.entityFile, '--catalog', registry.catalogFile]);
    return registry;
  }
  console.log(
    `Generating ${entities.toLocaleString('en')} entities and importing them (kept for later runs)...`,
  );
  run([
    'data',
    'generate',
    '--count',
    String(entities),
    '--seed',
    'http',
    '--out',
    registry.entityFile,
    '--queries-out',
    registry.queryFile,
    '--queries',
    String(queries),
  ]);
  run(['import', '--data', registry.entityFile, '--catalog', registry.catalogFile]);
  return registry;
}

/** Whether this certmatch reads the catalog file (its format is current). */
function catalogIsCurrent(path: string): boolean {
  try {
    new Catalog(path).close();
    return true;
  } catch (error) {
    if (error instanceof CatalogFormatError) return false;
    throw error;
  }
}
