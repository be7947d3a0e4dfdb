/**
 * Unique names without transactions: a guard item per (scope, name) claimed with a
 * conditional put. Names compare after Unicode NFC normalisation and lower-casing, because
 * collection and dataset names become SQL identifiers, which are case-insensitive.
 *
 * If a process dies between claiming a guard and writing its owner (or between renaming and
 * releasing the old guard), the guard is left pointing at an owner that does not hold the
 * name. `claimName` detects that through `ownerHolds` and takes the guard over.
 */
import { deleteItem, getItem, putItem, putNew } from './db.ts';

export function normalizeName(name: string): string {
  return name.normalize('NFC').trim().toLowerCase();
}

function guardKey(scope: string, name: string): string {
  return `NAME#${scope}#${normalizeName(name)}`;
}

/** Does `ownerId` still exist and still carry this name? */
export type OwnerCheck = (ownerId: string) => Promise<boolean>;

export async function claimName(
  scope: string,
  name: string,
  ownerId: string,
  ownerHolds: OwnerCheck,
): Promise<boolean> {
  const pk = guardKey(scope, name);
  if (await putNew({ pk, sk: 'META', owner: ownerId })) return true;
  const guard = await getItem<{ owner: string }>(pk);
  if (!guard) return putNew({ pk, sk: 'META', owner: ownerId });
  if (guard.owner === ownerId) return true;
  if (await ownerHolds(guard.owner)) return false;
  return putItem(
    { pk, sk: 'META', owner: ownerId },
    {
      ConditionExpression: '#owner = :old',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':old': guard.owner },
    },
  );
}

export async function releaseName(scope: string, name: string, ownerId: string): Promise<void> {
  await deleteItem(guardKey(scope, name), 'META', {
    ConditionExpression: '#owner = :me',
    ExpressionAttributeNames: { '#owner': 'owner' },
    ExpressionAttributeValues: { ':me': ownerId },
  });
}

/** The owner currently holding a name, if any. */
export async function nameOwner(scope: string, name: string): Promise<string | undefined> {
  return (await getItem<{ owner: string }>(guardKey(scope, name)))?.owner;
}
