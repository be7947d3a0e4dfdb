/** A stored record: the table's items are plain attribute maps. */
export type Item = Record<string, unknown>;
