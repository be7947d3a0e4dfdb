/**
 * Browse: on the 1,000,000-row dataset, the latency of table page 1 against page 10,000
 * (page_size 100). The last page must not scan: its cost should match the first page's.
 */
import { bigCsv, median, report, session, table, uploadViaUrl } from './common.ts';

const SAMPLES = 25;
const TARGET = 2;

export async function main(): Promise<void> {
  const csv = await bigCsv();
  const s = await session();
  try {
    const { datasetId } = await uploadViaUrl(s, csv, `bench-browse-${Date.now()}`);
    const timePage = async (page: number) => {
      const started = performance.now();
      const res = await s.api.get(`/api/v1/tables/${datasetId}?page=${page}&page_size=100`, {
        token: s.token,
      });
      const ms = performance.now() - started;
      if (res.status !== 200 || res.body.data.length !== 100)
        throw new Error(`page ${page} failed: ${res.status}`);
      return { ms, first: res.body.data[0][0] as number };
    };
    const coldFirst = await timePage(1);
    const coldLast = await timePage(10_000);
    if (coldFirst.first !== 0 || coldLast.first !== 999_900) throw new Error('pages returned the wrong rows');
    const first: number[] = [];
    const last: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      first.push((await timePage(1)).ms);
      last.push((await timePage(10_000)).ms);
    }
    const p1 = median(first);
    const p10k = median(last);
    table([
      ['request (page_size 100)', 'cold ms', `median of ${SAMPLES} ms`],
      ['page 1', coldFirst.ms.toFixed(1), p1.toFixed(1)],
      ['page 10,000', coldLast.ms.toFixed(1), p10k.toFixed(1)],
    ]);
    report({
      bench: 'browse',
      ratio: Number((p10k / p1).toFixed(3)),
      target: TARGET,
      page1_ms: Number(p1.toFixed(1)),
      page10000_ms: Number(p10k.toFixed(1)),
      page1_cold_ms: Number(coldFirst.ms.toFixed(1)),
      page10000_cold_ms: Number(coldLast.ms.toFixed(1)),
    });
  } finally {
    await s.host.stop();
  }
}
