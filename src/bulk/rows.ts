/**
 * Reading a bulk input file as rows: CSV with a header (columns mapped to request fields) or NDJSON request
 * bodies. A bad row becomes a row with an error, never the end of the run.
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { identifierTypes, readLineBatches } from '../engine/index.js';

export type FileFormat = 'csv' | 'ndjson';

/** The format a file name says it holds. */
export function formatOf(path: string): FileFormat | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl')) return 'ndjson';
  return undefined;
}

/** One input row: the original fields (echoed in the output) and the request they make, or why not. */
export interface BulkRow {
  /** 1-based data row (a CSV header is not a row). */
  row: number;
  fields: Record<string, unknown>;
  request?: Record<string, unknown>;
  error?: string;
}

/** The request fields a CSV column can feed. */
export const requestFields = ['company_name', 'company_country', ...identifierTypes] as const;
export type RequestField = (typeof requestFields)[number];

/** Header spellings understood without --map (compared lower-case, with spaces and dashes as underscores). */
const aliases: Record<string, RequestField> = {
  company_name: 'company_name',
  name: 'company_name',
  company: 'company_name',
  supplier: 'company_name',
  supplier_name: 'company_name',
  company_country: 'company_country',
  country: 'company_country',
  country_code: 'company_country',
  vat: 'vat',
  vat_number: 'vat',
  vat_id: 'vat',
  tax_id: 'tax_id',
  business_registration_number: 'business_registration_number',
  registration_number: 'business_registration_number',
  duns: 'duns_number',
  duns_number: 'duns_number',
  company_id_number: 'company_id_number',
  company_id: 'company_id_number',
};

const headerKey = (header: string) =>
  header
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');

/**
 * Which request field each CSV column feeds: the --map pairs (`Column=field`) first, then known header
 * spellings. Throws when --map names an unknown field or a column the header lacks.
 */
export function columnMapping(
  header: readonly string[],
  map: Record<string, string>,
): Map<string, RequestField> {
  const mapping = new Map<string, RequestField>();
  for (const [column, field] of Object.entries(map)) {
    if (!(requestFields as readonly string[]).includes(field)) {
      throw new Error(`--map: unknown field "${field}" (fields: ${requestFields.join(', ')})`);
    }
    if (!header.includes(column)) throw new Error(`--map: the input has no column "${column}"`);
    mapping.set(column, field as RequestField);
  }
  const mapped = new Set(mapping.values());
  for (const column of header) {
    if (mapping.has(column)) continue;
    const field = aliases[headerKey(column)];
    if (field && !mapped.has(field)) {
      mapping.set(column, field);
      mapped.add(field);
    }
  }
  return mapping;
}

function requestOf(
  fields: Record<string, unknown>,
  mapping: Map<string, RequestField>,
): Record<string, unknown> {
  const request: Record<string, unknown> = {};
  const identifiers: Record<string, string> = {};
  for (const [column, field] of mapping) {
    const value = fields[column];
    if (typeof value !== 'string' || value.trim() === '') continue;
    if (field === 'company_name' || field === 'company_country') request[field] = value;
    else identifiers[field] = value;
  }
  if (Object.keys(identifiers).length > 0) request.company_identifiers = identifiers;
  return request;
}

/**
 * The rows of a CSV file, in order. `onHeader` receives the columns and the mapping before the first row.
 * A malformed record (say, an unclosed quote) is a row with an error.
 */
export async function* csvRows(
  path: string,
  map: Record<string, string>,
  onHeader: (columns: string[], mapping: Map<string, RequestField>) => void,
): AsyncGenerator<BulkRow> {
  let mapping = new Map<string, RequestField>();
  let columns: string[] = [];
  const skipped: BulkRow[] = [];
  let row = 0;
  const parser = createReadStream(path).pipe(
    parse({
      bom: true,
      columns: (header: string[]) => {
        columns = header;
        mapping = columnMapping(header, map);
        onHeader(columns, mapping);
        return header;
      },
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      info: true,
    }),
  );
  // A skipped record takes its place in the order: the event fires before the next record is read.
  parser.on('skip', (error: Error & { lines?: number }) => {
    skipped.push({
      row: ++row,
      fields: {},
      error: `malformed CSV near line ${error.lines ?? '?'}: ${error.message}`,
    });
  });
  for await (const { record } of parser as AsyncIterable<{ record: Record<string, string> }>) {
    while (skipped.length > 0) yield skipped.shift() as BulkRow;
    row++;
    yield { row, fields: record, request: requestOf(record, mapping) };
  }
  while (skipped.length > 0) yield skipped.shift() as BulkRow;
}

/** The rows of an NDJSON file of request bodies. */
export async function* ndjsonRows(path: string): AsyncGenerator<BulkRow> {
  let row = 0;
  for await (const lines of readLineBatches(path))
    for (const line of lines) {
      if (line.trim() === '') continue;
      row++;
      let body: unknown;
      try {
        body = JSON.parse(line);
      } catch (error) {
        yield { row, fields: {}, error: `not valid JSON: ${(error as Error).message}` };
        continue;
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        yield { row, fields: {}, error: 'a row must be a JSON object (a /company request body)' };
        continue;
      }
      yield { row, fields: body as Record<string, unknown>, request: body as Record<string, unknown> };
    }
}
