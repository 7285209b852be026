/**
 * `certmatch import`: stream an entity file into the certificate catalog.
 */
import { parseArgs } from 'node:util';
import { Catalog } from '../catalog/index.js';
import { countLines } from './ndjson.js';
import { startProgress } from './progress.js';
import { UsageError } from './usage-error.js';

export const defaultCatalogPath = 'certmatch-catalog.db';

export const importUsage = `Usage: certmatch import --data ENTITIES.ndjson [--catalog DB]

Streams the entity file into the certificate catalog (SQLite; default ./${defaultCatalogPath}), in
transactions of 10,000 lines or more: an interrupted import keeps what it committed, and running it again
completes it. Re-importing upserts by updated_at: a line older than what is stored changes nothing, and a
file byte for byte the same as the last one imported whole is skipped without parsing it. A
certificate covering several entities is stored once. A bad line is reported with its number and skipped;
the rest is imported. Exit code 0 even when lines were skipped (they are listed); 1 when the file is missing.

Then it saves where every document is beside the catalog (DB.locations), so that \`certmatch serve\` starts
without reading them from SQLite (about 9 s at 1M entities).
`;

export function parseImportArgs(argv: string[]): { data: string; catalog: string } {
  const { values } = parseArgs({
    args: argv,
    options: { data: { type: 'string' }, catalog: { type: 'string' } },
    strict: true,
  });
  if (!values.data) throw new UsageError('--data is required', importUsage);
  return { data: values.data, catalog: values.catalog ?? defaultCatalogPath };
}

export async function runImport(command: { data: string; catalog: string }): Promise<void> {
  const total = await countLines(command.data);
  const catalog = new Catalog(command.catalog);
  const progress = startProgress('Importing', total);
  let reported = 0;
  try {
    const summary = await catalog.importFile(command.data, {
      onProgress: (lines) => progress.update(lines),
      onBadLine: (problem) => {
        if (++reported <= 20)
          process.stderr.write(`${command.data}:${problem.line}: skipped: ${problem.message}\n`);
      },
    });
    progress.stop();
    if (summary.fileUnchanged) {
      process.stderr.write(
        `${command.data} is unchanged since it was last imported into ${command.catalog}\n`,
      );
      saveLocations(catalog);
      return;
    }
    process.stderr.write(
      `Imported ${summary.imported} entities (${summary.unchanged} unchanged, ${summary.skipped} lines skipped, ` +
        `${summary.certificates} certificates written) in ${summary.seconds.toFixed(1)} s ` +
        `(${Math.round(summary.lines / Math.max(summary.seconds, 1e-9))} lines/s) into ${command.catalog}\n`,
    );
    if (reported > 20) process.stderr.write(`(${reported - 20} more skipped lines not shown)\n`);
    saveLocations(catalog);
    const documents = catalog.documentBytes;
    // Replaced documents take as much room as current ones, or more.
    if (documents.file > 0 && documents.current * 2 <= documents.file) {
      const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;
      process.stderr.write(
        `The catalog's documents file holds ${gb(documents.file)}, of which current documents take ` +
          `${gb(documents.current)}: the rest is documents replaced by newer ones. Importing the entity file ` +
          `into a new catalog reclaims it.\n`,
      );
    }
  } finally {
    progress.stop();
    catalog.close();
  }
}

/**
 * Saves the catalog's document locations for the service's next start, unless the saved ones are current.
 * Done here, by the batch job, so that a service restarted after an import does not spend its start on it.
 */
function saveLocations(catalog: Catalog): void {
  const path = catalog.locationsPath;
  if (path === undefined) return;
  const cached = catalog.cacheLocations();
  if (cached.saveProblem !== undefined) {
    process.stderr.write(
      `Could not save the document locations to ${path} (${cached.saveProblem}); ` +
        'the service will read them from the catalog when it starts.\n',
    );
  } else if (cached.origin === 'catalog') {
    process.stderr.write(
      `Saved the document locations for the service to ${path} in ${cached.seconds.toFixed(1)} s\n`,
    );
  }
}
