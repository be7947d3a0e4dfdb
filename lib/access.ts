/**
 * What each function may touch, in one place so it can be read (and reviewed) at a glance:
 * the environment it receives and the permissions it is granted. The grants themselves are
 * made by the constructs that own the resources (Storage, Secrets), at the narrowest scope.
 */
import type { Area } from '#core/routes';
import type { SluiceFunction } from './function.ts';
import type { Secrets } from './secrets.ts';
import type { Storage } from './storage.ts';

/** Every area Lambda, plus the authorizer and the S3-event side of ingest. */
export type FunctionRole = Area | 'authorizer' | 'ingestEvents';

export interface AccessResources {
  readonly storage: Storage;
  readonly secrets: Secrets;
}

type Profile = (fn: SluiceFunction, resources: AccessResources) => void;

function useStorage(fn: SluiceFunction, storage: Storage): void {
  for (const [name, value] of Object.entries(storage.environment)) fn.addEnvironment(name, value);
}

/** Ingest reads uploads, writes dataset versions, then deletes the upload. */
const ingest: Profile = (fn, { storage }) => {
  useStorage(fn, storage);
  fn.addEnvironment('SLUICE_TMP_DIR', '/tmp');
  storage.grantTable(fn, 'readWrite');
  storage.grantObjects(fn, 'uploads', ['s3:GetObject', 's3:DeleteObject']);
  storage.grantObjects(fn, 'datasets', ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']);
  // Unconditioned so that a HeadObject on a missing key answers 404, not 403.
  storage.grantList(fn);
};

export const ACCESS: Readonly<Record<FunctionRole, Profile>> = {
  health(fn, { storage }) {
    useStorage(fn, storage);
    storage.grantTable(fn, 'getItem');
    // HeadBucket is authorized by s3:ListBucket.
    storage.grantList(fn);
  },
  authorizer(fn, { storage, secrets }) {
    useStorage(fn, storage);
    fn.addEnvironment('SLUICE_JWT_SECRET_ARN', secrets.jwtSigningKey.secretArn);
    storage.grantTable(fn, 'getItem');
    secrets.grantReadJwtKey(fn);
  },
  auth(fn, { storage, secrets }) {
    useStorage(fn, storage);
    fn.addEnvironment('SLUICE_JWT_SECRET_ARN', secrets.jwtSigningKey.secretArn);
    fn.addEnvironment('SLUICE_ADMIN_SECRET_ARN', secrets.bootstrapAdmin.secretArn);
    storage.grantTable(fn, 'readWrite');
    secrets.grantReadJwtKey(fn);
    secrets.grantReadBootstrapAdmin(fn);
  },
  users(fn, { storage }) {
    useStorage(fn, storage);
    storage.grantTable(fn, 'readWrite');
  },
  catalog(fn, { storage }) {
    useStorage(fn, storage);
    storage.grantTable(fn, 'readWrite');
    // Deleting a dataset removes its versions' objects.
    storage.grantList(fn, ['datasets']);
    storage.grantObjects(fn, 'datasets', ['s3:DeleteObject']);
  },
  tables(fn, { storage }) {
    useStorage(fn, storage);
    storage.grantTable(fn, 'readWrite');
    storage.grantObjects(fn, 'datasets', ['s3:GetObject']);
    // Signs presigned PUT URLs: the URL carries this role's permission.
    storage.grantObjects(fn, 'uploads', ['s3:PutObject']);
  },
  ingest,
  ingestEvents: ingest,
  fallback() {
    // Answers 404/405 from the route table alone: no stores, no secrets.
  },
};

export function grantAccess(role: FunctionRole, fn: SluiceFunction, resources: AccessResources): void {
  ACCESS[role](fn, resources);
}
