/** The catalog hooks port on AWS: datasets registered in the Glue Data Catalog for Athena. */
import { onCollectionDeleted, onDatasetDeleted, onVersionPublished } from '../../query/glue.ts';
import type { Adapter } from '../aws.ts';
import { type CatalogHooks, noCatalogHooks } from '../platform.ts';

const glueCatalogHooks: CatalogHooks = {
  versionPublished: onVersionPublished,
  datasetDeleted: onDatasetDeleted,
  collectionDeleted: onCollectionDeleted,
};

/**
 * Glue sync under SLUICE_GLUE_DATABASE_PREFIX. Without the prefix the hooks do nothing, as before
 * ports were declared (test/unit/glue-sync.test.ts); every function that declares this adapter is
 * given the prefix by the stack (checked by test/infra/function-ports.test.ts).
 */
export const glueCatalog: Adapter<'catalog'> = (settings) =>
  settings.athena.glueDatabasePrefix === undefined ? noCatalogHooks : glueCatalogHooks;
