/**
 * The single DynamoDB table's key design, shared by the CDK storage construct and the local
 * host's bootstrap so both create exactly the same table.
 *
 * Access patterns (all are Query or GetItem, never Scan):
 * - collection / dataset / user / credential / upload by id      pk = <KIND>#<id>, sk = META
 * - list collections, datasets, users                             gsi1pk = <KIND>S, gsi1sk = id
 * - datasets of a collection                                      gsi2pk = COL#<id>, gsi2sk = DS#<id>
 * - versions of a dataset                                          pk = DS#<id>, sk = VER#<n>
 * - name guards (unique names)                                     pk = NAME#<scope>#<name>, sk = META
 * - credentials of a user                                          gsi2pk = USER#<id>#CREDS
 * - uploads still in flight                                        gsi1pk = UPLOADS#ACTIVE
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
  indexes: [
    { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  ],
} as const;

export type IndexName = (typeof TABLE_KEYS.indexes)[number]['name'];
