/**
 * Unique names without transactions: a guard item per (scope, name) claimed with a
 * conditional put. Names compare after Unicode NFC normalisation and lower-casing, because
 * collection and dataset names become SQL identifiers, which are case-insensitive.
 *
 * If a process dies between claiming a guard and writing its owner (or between renaming and
 * releasing the old guard), the guard is left pointing at an owner that does not hold the
 * name. `claimName` detects that through `ownerHolds` and takes the guard over.
 */
import { deleteItem, getItem, type Item, putItem, putNew, updateItem } from './db.ts';
import { ConflictError } from './errors.ts';

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

export interface NamedItem extends Item {
  id: string;
  name: string;
  description: string;
}

export interface RenameSpec {
  scope: string;
  pk: string;
  /** Does this id still carry this name? (See `claimName`.) */
  holds: (name: string) => OwnerCheck;
  /** Sentence for a name that is taken, e.g. `A collection named "x" already exists.` */
  taken: (name: string) => string;
}

/**
 * Updates the name and/or description of an item whose name is unique in `spec.scope`:
 * claims the new name, updates the item only if nobody renamed it meanwhile, then frees the
 * old name (or the new one, when the update lost the race).
 */
export async function updateNamed<T extends NamedItem>(
  spec: RenameSpec,
  current: T,
  input: { name?: string | undefined; description?: string | undefined },
): Promise<T> {
  const newName = input.name !== undefined && normalizeName(input.name) !== normalizeName(current.name);
  if (
    newName &&
    !(await claimName(spec.scope, input.name as string, current.id, spec.holds(input.name as string)))
  ) {
    throw new ConflictError(spec.taken(input.name as string));
  }
  const updated = await updateItem<T>(spec.pk, 'META', {
    UpdateExpression: 'SET #name = :name, description = :description, updated_at = :now',
    ConditionExpression: 'attribute_exists(pk) AND #name = :oldName',
    ExpressionAttributeNames: { '#name': 'name' },
    ExpressionAttributeValues: {
      ':name': input.name ?? current.name,
      ':description': input.description ?? current.description,
      ':now': new Date().toISOString(),
      ':oldName': current.name,
    },
  });
  if (!updated) {
    if (newName) await releaseName(spec.scope, input.name as string, current.id);
    throw new ConflictError('It was changed by another request meanwhile; retry.');
  }
  if (newName) await releaseName(spec.scope, current.name, current.id);
  return updated;
}
