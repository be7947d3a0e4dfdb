/**
 * A read-only grid of rows: TanStack Table for the columns (typed headers), TanStack Virtual so
 * only the visible rows are in the DOM (a page of thousands of rows scrolls smoothly).
 */
import { type ColumnDef, getCoreRowModel, useReactTable } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useMemo, useRef } from 'react';

export interface GridColumn {
  name: string;
  type?: string;
}

const ROW_HEIGHT = 28;

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const NUMERIC = /^(int|integer|bigint|smallint|tinyint|int64|int32|double|float|decimal|number)/i;

export function DataGrid({
  columns,
  rows,
  label,
  height = 420,
}: {
  columns: GridColumn[];
  rows: unknown[][];
  label: string;
  height?: number;
}) {
  const defs = useMemo<ColumnDef<unknown[]>[]>(
    () =>
      columns.map((c, i) => ({
        id: `${i}:${c.name}`,
        header: c.name,
        accessorFn: (row) => row[i],
        meta: c,
      })),
    [columns],
  );
  const table = useReactTable({ data: rows, columns: defs, getCoreRowModel: getCoreRowModel() });
  const scroller = useRef<HTMLElement>(null);
  const tableRows = table.getRowModel().rows;
  const virtualizer = useVirtualizer({
    count: tableRows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const before = items[0]?.start ?? 0;
  const after = virtualizer.getTotalSize() - (items.at(-1)?.end ?? 0);

  return (
    <section
      className="grid-scroll"
      ref={scroller}
      style={{ maxHeight: height }}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus so the keyboard can scroll it
      tabIndex={0}
      aria-label={label}
    >
      <table className="grid" aria-rowcount={tableRows.length + 1}>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => {
                const meta = header.column.columnDef.meta as GridColumn;
                return (
                  <th key={header.id} scope="col">
                    <span className="col-name">{meta.name}</span>
                    {meta.type && <span className="col-type">{meta.type}</span>}
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {before > 0 && (
            <tr className="spacer">
              <td style={{ height: before, padding: 0 }} colSpan={columns.length} />
            </tr>
          )}
          {items.map((item) => {
            const row = tableRows[item.index];
            if (!row) return null;
            return (
              <tr key={row.id} style={{ height: ROW_HEIGHT }} aria-rowindex={item.index + 2}>
                {row.getVisibleCells().map((cell) => {
                  const meta = cell.column.columnDef.meta as GridColumn;
                  const value = cell.getValue();
                  return (
                    <td
                      key={cell.id}
                      className={`${NUMERIC.test(meta.type ?? '') ? 'num' : ''}${value === null ? ' null' : ''}`}
                    >
                      {value === null ? 'null' : cellText(value)}
                    </td>
                  );
                })}
              </tr>
            );
          })}
          {after > 0 && (
            <tr className="spacer">
              <td style={{ height: after, padding: 0 }} colSpan={columns.length} />
            </tr>
          )}
        </tbody>
      </table>
      {rows.length === 0 && <p className="empty">No rows.</p>}
    </section>
  );
}
