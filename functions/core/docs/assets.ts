/**
 * Swagger UI's files, read from the installed `swagger-ui-dist` package: node_modules locally,
 * and in the Lambda the copy of the few files the bundle ships beside itself under
 * `node_modules/swagger-ui-dist/` (lib/api.ts). Both are found the way Node resolves a package,
 * so one code path serves both hosts. Each file is read on first request and kept in memory.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SWAGGER_UI_FILES, type SwaggerUiFile } from './page.ts';

/** The package's files the Lambda bundle must carry (the page's two, and the package's own). */
export const SWAGGER_UI_PACKAGE_FILES = ['package.json', 'LICENSE', ...Object.keys(SWAGGER_UI_FILES)];

const packageDir = () => dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const cache = new Map<SwaggerUiFile, Promise<string>>();

export function isSwaggerUiFile(name: string): name is SwaggerUiFile {
  return Object.hasOwn(SWAGGER_UI_FILES, name);
}

/** The text of one of the page's Swagger UI files. */
export function swaggerUiFile(name: SwaggerUiFile): Promise<string> {
  let text = cache.get(name);
  if (!text) {
    text = readFile(join(packageDir(), name), 'utf8');
    // A failed read (a broken bundle) is tried again by the next request rather than kept.
    text.catch(() => cache.delete(name));
    cache.set(name, text);
  }
  return text;
}
