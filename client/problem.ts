/**
 * The error every failed call of the client throws: the API's problem+json document
 * (`{type, title, status, detail, instance, errorType, errors?}`) as a typed Error.
 */

export interface FieldError {
  field: string;
  message: string;
}

export class SluiceProblem extends Error {
  readonly status: number;
  /** `bad-parameter`, `bad-state`, `resource-not-found/<KIND>`, `unauthorized`, ... */
  readonly errorType: string;
  readonly title: string;
  readonly detail: string;
  readonly instance?: string;
  /** Each offending field of a request that did not validate (empty otherwise). */
  readonly errors: FieldError[];
  /** The problem document as received, with any further members (e.g. `line` for a CSV). */
  readonly body: Record<string, unknown>;

  constructor(problem: {
    status: number;
    errorType: string;
    title: string;
    detail: string;
    instance?: string;
    errors?: FieldError[];
    body?: Record<string, unknown>;
  }) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.name = 'SluiceProblem';
    this.status = problem.status;
    this.errorType = problem.errorType;
    this.title = problem.title;
    this.detail = problem.detail;
    if (problem.instance !== undefined) this.instance = problem.instance;
    this.errors = problem.errors ?? [];
    this.body = problem.body ?? {};
  }
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function fieldErrors(value: unknown): FieldError[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry) => {
    if (typeof entry !== 'object' || entry === null) return [];
    const { field, message } = entry as Record<string, unknown>;
    return [{ field: text(field) ?? '', message: text(message) ?? String(message) }];
  });
}

/**
 * The problem a non-2xx response carries. A body that is not a problem document (a proxy's
 * HTML page, an S3 XML error) still becomes one, named after the status, with the body's first
 * characters as the detail.
 */
export async function problemFromResponse(response: Response): Promise<SluiceProblem> {
  const raw = await response.text().catch(() => '');
  let parsed: unknown;
  try {
    parsed = raw ? JSON.parse(raw) : undefined;
  } catch {
    parsed = undefined;
  }
  const instance = new URL(response.url || 'http://unknown/').pathname;
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const body = parsed as Record<string, unknown>;
    const title = text(body.title) ?? (response.statusText || `HTTP ${response.status}`);
    return new SluiceProblem({
      status: typeof body.status === 'number' ? body.status : response.status,
      errorType: text(body.errorType) ?? text(body.error) ?? `http-${response.status}`,
      title,
      detail: text(body.detail) ?? text(body.message) ?? '',
      instance: text(body.instance) ?? instance,
      errors: fieldErrors(body.errors),
      body,
    });
  }
  return new SluiceProblem({
    status: response.status,
    errorType: `http-${response.status}`,
    title: response.statusText || `HTTP ${response.status}`,
    detail: raw.slice(0, 500).trim(),
    instance,
  });
}
