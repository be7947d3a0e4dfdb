/**
 * The `$default` route: requests that match no route. Answers 404, or 405 with `Allow` when
 * the path exists under other methods, both as problem+json.
 */
import { areaHandler } from '#core/http';
import { onAws } from '#core/platform/lambda';

/** The fallback serves no route of its own. */
export const operations = {};

export const handler = onAws({}, areaHandler('fallback', operations));
