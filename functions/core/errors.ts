/**
 * Domain errors. Services throw these; one middleware (see http.ts) turns them into
 * application/problem+json. Anything else becomes a generic 500 that carries no detail.
 */

export interface FieldProblem {
  /** Dotted path of the offending field, e.g. `body.name` or `query.page_size`. */
  field: string;
  message: string;
}

export interface ProblemExtras {
  /** Per-field validation problems, when there are any. */
  errors?: FieldProblem[];
  /** 1-based physical line of an input file that the problem refers to. */
  line?: number;
  /** Extra response headers (e.g. Allow, Retry-After). */
  headers?: Record<string, string>;
  [key: string]: unknown;
}

export class AppError extends Error {
  readonly status: number;
  readonly errorType: string;
  readonly title: string;
  readonly extras: ProblemExtras;

  constructor(status: number, errorType: string, title: string, detail: string, extras: ProblemExtras = {}) {
    super(detail);
    this.name = new.target.name;
    this.status = status;
    this.errorType = errorType;
    this.title = title;
    this.extras = extras;
  }
}

export class ValidationError extends AppError {
  constructor(detail: string, errors: FieldProblem[] = [], extras: Omit<ProblemExtras, 'errors'> = {}) {
    super(400, 'bad-parameter', 'Bad Request', detail, { ...extras, errors });
  }

  /** One message listing every field problem. */
  static of(errors: FieldProblem[]): ValidationError {
    const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    return new ValidationError(detail || 'The request is not valid.', errors);
  }

  static field(field: string, message: string): ValidationError {
    return ValidationError.of([{ field, message }]);
  }
}

/** A request that is well formed but cannot be carried out in the target's current state. */
export class BadStateError extends AppError {
  constructor(detail: string, status = 409) {
    super(status, 'bad-state', status === 409 ? 'Conflict' : 'Bad Request', detail);
  }
}

export class NotFoundError extends AppError {
  /** `kind` is the resource kind in upper case, e.g. COLLECTION; it ends up in `errorType`. */
  constructor(kind: string, id: string) {
    super(404, `resource-not-found/${kind}`, 'Not Found', `{${kindField(kind)}=${id}}: not found.`);
  }
}

export class RouteNotFoundError extends AppError {
  constructor(method: string, path: string) {
    super(404, 'resource-not-found/ROUTE', 'Not Found', `No route for ${method} ${path}.`);
  }
}

export class MethodNotAllowedError extends AppError {
  constructor(method: string, path: string, allowed: string[]) {
    super(405, 'method-not-allowed', 'Method Not Allowed', `${method} is not allowed on ${path}.`, {
      headers: { allow: allowed.join(', ') },
    });
  }
}

export class ConflictError extends AppError {
  constructor(detail: string) {
    super(409, 'conflict', 'Conflict', detail);
  }
}

export class UnauthorizedError extends AppError {
  constructor(detail = 'Authentication is required.') {
    super(401, 'unauthorized', 'Unauthorized', detail, { headers: { 'www-authenticate': 'Bearer' } });
  }
}

export class ForbiddenError extends AppError {
  constructor(detail = 'You do not have permission to do this.') {
    super(403, 'forbidden', 'Forbidden', detail);
  }
}

export class PayloadTooLargeError extends AppError {
  /** `errors` names what is too large (`body`, `body.nodes`), as a validation error does. */
  constructor(detail: string, errors: FieldProblem[] = []) {
    super(413, 'payload-too-large', 'Payload Too Large', detail, { errors });
  }

  static field(field: string, message: string): PayloadTooLargeError {
    return new PayloadTooLargeError(`${field}: ${message}`, [{ field, message }]);
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(detail: string) {
    super(415, 'unsupported-media-type', 'Unsupported Media Type', detail);
  }
}

export class TooManyRequestsError extends AppError {
  constructor(detail: string, retryAfterSeconds: number) {
    super(429, 'too-many-requests', 'Too Many Requests', detail, {
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    });
  }
}

function kindField(kind: string): string {
  const lower = kind.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return `${lower}Id`;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errorType: string;
  [key: string]: unknown;
}

/**
 * Maps any thrown value to a problem document. Unknown errors never leak their message,
 * stack or SDK details: they become a generic 500 naming only the request id.
 */
export function toProblem(
  error: unknown,
  instance: string,
  requestId?: string,
): { problem: Problem; headers: Record<string, string> } {
  if (error instanceof AppError) {
    const { headers = {}, ...extras } = error.extras;
    const problem: Problem = {
      type: 'about:blank',
      title: error.title,
      status: error.status,
      detail: error.message,
      instance,
      errorType: error.errorType,
    };
    for (const [key, value] of Object.entries(extras)) {
      if (value !== undefined && !(key === 'errors' && Array.isArray(value) && value.length === 0)) {
        problem[key] = value;
      }
    }
    return { problem, headers };
  }
  return {
    problem: {
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: requestId
        ? `An unexpected error occurred. Request id: ${requestId}.`
        : 'An unexpected error occurred.',
      instance,
      errorType: 'internal',
    },
    headers: {},
  };
}
