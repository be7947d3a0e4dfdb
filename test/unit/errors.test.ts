import { describe, expect, it } from 'vitest';
import {
  BadStateError,
  ConflictError,
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  TooManyRequestsError,
  toProblem,
  UnauthorizedError,
  ValidationError,
} from '#core/errors';

describe('error mapping to problem+json', () => {
  it.each([
    [new ValidationError('bad', [{ field: 'body.name', message: 'is required' }]), 400, 'bad-parameter'],
    [new BadStateError('not runnable'), 409, 'bad-state'],
    [new NotFoundError('COLLECTION', 'col-1'), 404, 'resource-not-found/COLLECTION'],
    [new ConflictError('taken'), 409, 'conflict'],
    [new UnauthorizedError(), 401, 'unauthorized'],
    [new ForbiddenError(), 403, 'forbidden'],
    [new PayloadTooLargeError('big'), 413, 'payload-too-large'],
    [new TooManyRequestsError('slow down', 30), 429, 'too-many-requests'],
  ])('maps %o to status %i and errorType %s', (error, status, errorType) => {
    const { problem } = toProblem(error, '/api/v1/x');
    expect(problem).toMatchObject({ type: 'about:blank', status, errorType, instance: '/api/v1/x' });
    expect(problem.title).toBeTypeOf('string');
    expect(problem.detail).toBe(error.message);
  });

  it('names the resource in the seed 002 detail format', () => {
    const { problem } = toProblem(new NotFoundError('WORKFLOW', 'aa'), '/api/v1/workflows/aa');
    expect(problem.detail).toBe('{workflowId=aa}: not found.');
  });

  it('lists every invalid field', () => {
    const error = ValidationError.of([
      { field: 'body.name', message: 'is required' },
      { field: 'query.limit', message: 'must be at most 1000' },
    ]);
    const { problem } = toProblem(error, '/');
    expect(problem.errors).toHaveLength(2);
    expect(problem.detail).toBe('body.name: is required; query.limit: must be at most 1000');
  });

  it('carries the line of an input file', () => {
    const { problem } = toProblem(new ValidationError('Line 4: bad', [], { line: 4 }), '/');
    expect(problem.line).toBe(4);
    expect(problem.errors).toBeUndefined();
  });

  it('returns response headers separately (Allow, Retry-After, WWW-Authenticate)', () => {
    expect(toProblem(new MethodNotAllowedError('PATCH', '/x', ['GET', 'POST']), '/x').headers).toEqual({
      allow: 'GET, POST',
    });
    expect(toProblem(new TooManyRequestsError('x', 12.2), '/').headers).toEqual({ 'retry-after': '13' });
    expect(toProblem(new UnauthorizedError(), '/').headers).toEqual({ 'www-authenticate': 'Bearer' });
  });

  it('hides everything about an unknown error but the request id', () => {
    const secret = new Error(
      'ValidationException: arn:aws:dynamodb:eu-west-1:123456789012:table/sluice password=hunter2',
    );
    const { problem } = toProblem(secret, '/api/v1/x', 'req-123');
    expect(problem).toMatchObject({ status: 500, errorType: 'internal', title: 'Internal Server Error' });
    expect(JSON.stringify(problem)).not.toMatch(/arn:|hunter2|ValidationException|at /);
    expect(problem.detail).toContain('req-123');
  });
});
