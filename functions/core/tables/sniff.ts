/**
 * From parsed sample records to a table's columns: width, header, names and types, and the
 * problems the sample already shows. Pure (no files, no DuckDB), so both the ingest
 * (convert.ts, over the first MiB) and schema inference (infer.ts, over a whole small file)
 * decide a CSV's columns by the same rules.
 */
import type { ValidationError } from '../errors.ts';
import {
  type Column,
  type ColumnType,
  type CsvRecord,
  defaultColumnNames,
  fieldCountMessage,
  fileProblem,
  fitsWidth,
  inferColumnTypes,
  issueProblem,
  lineProblem,
  looksLikeHeader,
  normaliseHeader,
  type ParsedSample,
} from './csv.ts';

export interface ColumnPlan {
  header: boolean;
  names: string[];
  types: ColumnType[];
  /** The data records of the sample (the header left out). */
  data: CsvRecord[];
}

export interface ColumnPlanOptions {
  /** Whether the first record holds column names. Default: detected. */
  header?: boolean;
  /**
   * Append mode: the table's existing schema. The columns must match it by position and (when
   * the file has a header) by name; its types are kept.
   */
  columns?: Column[];
}

function problemAt(problem: { line: number; message: string }): ValidationError {
  return lineProblem(problem.line, problem.message);
}

/**
 * The columns a sample describes. `eof` tells that the sample is the whole file (a header
 * without rows is then a problem). Throws a problem naming the physical line.
 */
export function planColumns(parsed: ParsedSample, eof: boolean, options: ColumnPlanOptions): ColumnPlan {
  const { records } = parsed;
  if (records.length === 0) {
    if (parsed.issue) throw problemAt(issueProblem(parsed.issue));
    throw lineProblem(1, 'the first record is too long to read.');
  }
  const first = records[0] as Required<CsvRecord>;
  const existing = options.columns;
  // Empty fields after the last column (a trailing delimiter) are ignored, as DuckDB does.
  const width = existing && fitsWidth(first, existing.length) ? existing.length : first.fieldCount;
  if (existing && width !== existing.length) {
    throw lineProblem(
      first.line,
      `the file has ${width} ${width === 1 ? 'column' : 'columns'} but the table has ${existing.length}.`,
    );
  }
  for (const record of records) {
    if (!fitsWidth(record, width)) {
      throw lineProblem(record.line, fieldCountMessage(width, record.fieldCount));
    }
  }
  if (parsed.issue) throw problemAt(issueProblem(parsed.issue));

  const headerNames = normaliseHeader(first.fields.slice(0, width));
  const header =
    options.header ??
    (existing && headerNames.every((name, i) => name === existing[i]?.name)
      ? true
      : looksLikeHeader(first.fields));
  let names = header ? headerNames : defaultColumnNames(width);
  if (existing) {
    if (header) {
      const at = names.findIndex((name, i) => name !== existing[i]?.name);
      if (at >= 0) {
        throw lineProblem(
          first.line,
          `column ${at + 1} is named ${JSON.stringify(names[at])} in the file but ${JSON.stringify(existing[at]?.name)} in the table.`,
        );
      }
    }
    names = existing.map((column) => column.name);
  }

  const data = header ? records.slice(1) : records;
  if (data.length === 0 && eof) throw fileProblem('The file has a header but no data rows.', 2);
  const types = existing
    ? existing.map((column) => column.type)
    : inferColumnTypes(
        data.map((record) => record.fields ?? []),
        width,
      );
  return { header, names, types, data };
}
