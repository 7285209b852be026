/**
 * The certmatch command line: picks the command, parses its arguments, runs it, and handles errors once.
 *
 * Exit codes: 0 success; 1 the command failed while running; 2 the command line was wrong.
 */
import { CatalogFormatError, CatalogOpenError } from '../catalog/index.js';
import { LedgerOpenError } from '../ledger/index.js';
import { adminUsage, runAdmin } from './command-admin.js';
import { bulkUsage, parseBulkArgs, runBulkCommand } from './command-bulk.js';
import { dataUsage, parseDataArgs, runDataGenerate } from './command-data.js';
import { importUsage, parseImportArgs, runImport } from './command-import.js';
import { matchUsage, parseMatchArgs, runMatch } from './command-match.js';
import { parseScoreArgs, runScore, scoreUsage } from './command-score.js';
import { parseServeArgs, runServe, serveUsage } from './command-serve.js';
import { UsageError } from './usage-error.js';

const overview = `certmatch: find the certified company a customer means, score it 0-100.

Usage: certmatch <command> [options]      (certmatch <command> --help for details)

Commands:
  serve           the Verification API over HTTP (npm start serves the bundled sample)
  bulk            verify a CSV or NDJSON file of companies, charged as the API charges (resumable)
  match           match a file of /company request bodies against an entity file
  score           score two names, or a file of name pairs
  data generate   generate a seeded registry and a labelled query set
  import          stream an entity file into the certificate catalog (SQLite)
  accounts        create accounts (prints an API key)
  keys            create and revoke staff API keys
  credits         grant and list credit records
  ledger check    recompute every balance from the ledger's entries
`;

const succeed = (run: Promise<void>) => run.then(() => 0);
const commands: Record<string, { usage: string; run: (argv: string[]) => Promise<number> }> = {
  serve: { usage: serveUsage, run: (argv) => succeed(runServe(parseServeArgs(argv))) },
  bulk: { usage: bulkUsage, run: (argv) => runBulkCommand(parseBulkArgs(argv)) },
  match: { usage: matchUsage, run: (argv) => succeed(runMatch(parseMatchArgs(argv))) },
  score: { usage: scoreUsage, run: (argv) => succeed(runScore(parseScoreArgs(argv))) },
  data: { usage: dataUsage, run: (argv) => succeed(runDataGenerate(parseDataArgs(argv))) },
  import: { usage: importUsage, run: (argv) => succeed(runImport(parseImportArgs(argv))) },
  accounts: { usage: adminUsage, run: (argv) => runAdmin('accounts', argv) },
  keys: { usage: adminUsage, run: (argv) => runAdmin('keys', argv) },
  credits: { usage: adminUsage, run: (argv) => runAdmin('credits', argv) },
  ledger: { usage: adminUsage, run: (argv) => runAdmin('ledger', argv) },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`certmatch: unknown command "${name}"\n\n${overview}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`certmatch ${name}: ${(error as Error).message}\n\n${command.usage}`);
      return 2;
    }
    if (isEnvironmentFailure(error)) {
      process.stderr.write(`certmatch ${name}: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  }
}

/**
 * A failure of the files or the machine rather than of certmatch: reported in one line with exit code 1, no
 * stack trace. A missing or unreadable file, a catalog or ledger that cannot be opened, a catalog of another
 * format, a port in use, and SQLite's own errors (disk full, read-only, locked), which roll back what they
 * interrupted.
 */
function isEnvironmentFailure(error: unknown): boolean {
  if (
    error instanceof CatalogOpenError ||
    error instanceof CatalogFormatError ||
    error instanceof LedgerOpenError
  ) {
    return true;
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') return false;
  return ['ENOENT', 'EACCES', 'EISDIR', 'EADDRINUSE', 'ENOSPC'].includes(code) || code.startsWith('SQLITE_');
}

process.exitCode = await main(process.argv.slice(2));
