/** The area handlers the local server dispatches to, by area (the route table's `area`). */
import type { Area } from '#core/routes';
import { handler as auth } from '#functions/auth';
import { handler as catalog } from '#functions/catalog';
import { handler as docs } from '#functions/docs';
import { handler as fallback } from '#functions/fallback';
import { handler as health } from '#functions/health';
import { handler as ingest } from '#functions/ingest';
import { handler as jobs } from '#functions/jobs';
import { handler as pipelines } from '#functions/pipelines';
import { handler as query } from '#functions/query';
import { handler as tables } from '#functions/tables';
import { handler as triggers } from '#functions/triggers';
import { handler as users } from '#functions/users';
import { handler as workflows } from '#functions/workflows';

export const AREA_HANDLERS = {
  health,
  auth,
  users,
  catalog,
  tables,
  ingest,
  pipelines,
  query,
  jobs,
  workflows,
  triggers,
  docs,
  fallback,
} satisfies Record<Area, unknown>;
