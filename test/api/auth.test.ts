import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, client, unique } from './harness.ts';

const api = client(inject('hostUrl'));
let adminToken: string;

async function createUser(role: 'admin' | 'editor' | 'viewer', extra: Record<string, unknown> = {}) {
  const username = unique(role);
  const password = `${username}-secret-pw`;
  const res = await api.post('/api/v1/users', { username, password, role, ...extra }, { token: adminToken });
  expect(res.status).toBe(201);
  return { id: res.body.id as string, username, password };
}

beforeAll(async () => {
  adminToken = await api.login(ADMIN.username, ADMIN.password);
});

describe('login', () => {
  it('returns an access token, a refresh token and the expiry', async () => {
    const res = await api.post('/api/v1/auth/login', { username: ADMIN.username, password: ADMIN.password });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'bearer', expires_in: 900 });
    expect(res.body.access_token.split('.')).toHaveLength(3);
    expect(res.body.refresh_token).toMatch(/^rt-/);
  });

  it('accepts the e-mail address in place of the username', async () => {
    const email = `${unique('mail')}@example.com`;
    const user = await createUser('viewer', { email });
    const res = await api.post('/api/v1/auth/login', { email, password: user.password });
    expect(res.status).toBe(200);
    const me = await api.get('/api/v1/auth/me', { token: res.body.access_token });
    expect(me.body).toMatchObject({ id: user.id, username: user.username, role: 'viewer' });
  });

  it('rejects a wrong password with 401 problem+json', async () => {
    const res = await api.post('/api/v1/auth/login', {
      username: ADMIN.username,
      password: 'wrong-password',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      status: 401,
      errorType: 'unauthorized',
      instance: '/api/v1/auth/login',
    });
  });

  it('names every missing field', async () => {
    const res = await api.post('/api/v1/auth/login', {});
    expect(res.status).toBe(400);
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['body.password', 'body.username']));
  });

  it('locks a user out after five failures, even with the right password', async () => {
    const user = await createUser('viewer');
    for (let i = 0; i < 5; i++) {
      const res = await api.post('/api/v1/auth/login', { username: user.username, password: 'nope-nope' });
      expect(res.status).toBe(401);
    }
    const locked = await api.post('/api/v1/auth/login', { username: user.username, password: user.password });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    const other = await api.post('/api/v1/auth/login', {
      username: ADMIN.username,
      password: ADMIN.password,
    });
    expect(other.status).toBe(200);
  });
});

describe('refresh and logout', () => {
  it('rotates the refresh token: the new one works and the old one stops working', async () => {
    const first = await api.post('/api/v1/auth/login', {
      username: ADMIN.username,
      password: ADMIN.password,
    });
    const second = await api.post('/api/v1/auth/refresh', { refresh_token: first.body.refresh_token });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    const me = await api.get('/api/v1/auth/me', { token: second.body.access_token });
    expect(me.status).toBe(200);
    const replay = await api.post('/api/v1/auth/refresh', { refresh_token: first.body.refresh_token });
    expect(replay.status).toBe(401);
  });

  it('revokes the whole session when an old refresh token is replayed', async () => {
    const first = await api.post('/api/v1/auth/login', {
      username: ADMIN.username,
      password: ADMIN.password,
    });
    const second = await api.post('/api/v1/auth/refresh', { refresh_token: first.body.refresh_token });
    await api.post('/api/v1/auth/refresh', { refresh_token: first.body.refresh_token });
    const next = await api.post('/api/v1/auth/refresh', { refresh_token: second.body.refresh_token });
    expect(next.status).toBe(401);
  });

  it('logout makes the refresh token unusable', async () => {
    const session = await api.post('/api/v1/auth/login', {
      username: ADMIN.username,
      password: ADMIN.password,
    });
    const out = await api.post(
      '/api/v1/auth/logout',
      { refresh_token: session.body.refresh_token },
      { token: session.body.access_token },
    );
    expect(out.status).toBe(200);
    expect(out.body.message).toBeTypeOf('string');
    const res = await api.post('/api/v1/auth/refresh', { refresh_token: session.body.refresh_token });
    expect(res.status).toBe(401);
  });
});

describe('users (admin only)', () => {
  it('creates, lists and deletes users', async () => {
    const user = await createUser('editor');
    const list = await api.get('/api/v1/users?limit=1000', { token: adminToken });
    expect(list.status).toBe(200);
    const listed = JSON.parse(list.body.items[user.id]);
    expect(listed).toMatchObject({ id: user.id, username: user.username, role: 'editor' });
    expect(listed.password_hash).toBeUndefined();
    const one = await api.get(`/api/v1/users/${user.id}`, { token: adminToken });
    expect(one.body).toEqual(listed);
    const del = await api.del(`/api/v1/users/${user.id}`, { token: adminToken });
    expect(del.status).toBe(200);
    const login = await api.post('/api/v1/auth/login', { username: user.username, password: user.password });
    expect(login.status).toBe(401);
    expect((await api.get(`/api/v1/users/${user.id}`, { token: adminToken })).body.errorType).toBe(
      'resource-not-found/USER',
    );
  });

  it('answers 409 for a duplicate username', async () => {
    const user = await createUser('viewer');
    const res = await api.post(
      '/api/v1/users',
      { username: user.username, password: 'another-password', role: 'viewer' },
      { token: adminToken },
    );
    expect(res.status).toBe(409);
  });

  it('rejects an unknown role and a short password, naming both fields', async () => {
    const res = await api.post(
      '/api/v1/users',
      { username: 'someone', password: 'short', role: 'owner' },
      { token: adminToken },
    );
    expect(res.status).toBe(400);
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['body.password', 'body.role']));
  });

  it('forbids non-admins from managing users', async () => {
    const editor = await createUser('editor');
    const token = await api.login(editor.username, editor.password);
    const res = await api.get('/api/v1/users', { token });
    expect(res.status).toBe(403);
    expect(res.body.errorType).toBe('forbidden');
  });

  it('refuses to let an admin delete themselves', async () => {
    const admin = await createUser('admin');
    const token = await api.login(admin.username, admin.password);
    const res = await api.del(`/api/v1/users/${admin.id}`, { token });
    expect(res.status).toBe(409);
  });
});

describe('roles', () => {
  it('lets a viewer read but not write', async () => {
    const viewer = await createUser('viewer');
    const token = await api.login(viewer.username, viewer.password);
    expect((await api.get('/api/v1/collections', { token })).status).toBe(200);
    const write = await api.post('/api/v1/collections', { name: unique('col') }, { token });
    expect(write.status).toBe(403);
    expect(write.body.errorType).toBe('forbidden');
    const ds = await api.post('/api/v1/datasets', { name: 'x', collection_id: 'col-x' }, { token });
    expect(ds.status).toBe(403);
  });

  it('lets an editor write', async () => {
    const editor = await createUser('editor');
    const token = await api.login(editor.username, editor.password);
    const res = await api.post('/api/v1/collections', { name: unique('col') }, { token });
    expect(res.status).toBe(201);
  });
});

describe('service credentials', () => {
  it('shows the secret once and authenticates with headers and as a bearer token', async () => {
    const created = await api.post(
      '/api/v1/auth/credentials',
      { name: 'etl-bot', role: 'viewer' },
      { token: adminToken },
    );
    expect(created.status).toBe(201);
    const { credential_id, credential_secret, token } = created.body;
    expect(credential_id).toMatch(/^cred-/);
    expect(credential_secret.length).toBeGreaterThanOrEqual(32);

    const viaHeaders = await api.get('/api/v1/auth/me', {
      headers: { 'Credential-ID': credential_id, 'Credential-Secret': credential_secret },
    });
    expect(viaHeaders.status).toBe(200);
    expect(viaHeaders.body).toMatchObject({ role: 'viewer', auth: 'credential', credential_id });

    const viaBearer = await api.get('/api/v1/auth/me', { token });
    expect(viaBearer.status).toBe(200);

    const list = await api.get('/api/v1/auth/credentials', { token: adminToken });
    expect(list.text).toContain(credential_id);
    expect(list.text).not.toContain(credential_secret);
  });

  it('stops working as soon as it is deleted', async () => {
    const created = await api.post(
      '/api/v1/auth/credentials',
      { name: 'short-lived' },
      { token: adminToken },
    );
    const headers = {
      'Credential-ID': created.body.credential_id,
      'Credential-Secret': created.body.credential_secret,
    };
    expect((await api.get('/api/v1/auth/me', { headers })).status).toBe(200);
    const del = await api.del(`/api/v1/auth/credentials/${created.body.credential_id}`, {
      token: adminToken,
    });
    expect(del.status).toBe(200);
    expect((await api.get('/api/v1/auth/me', { headers })).status).toBe(401);
  });

  it('rejects a wrong secret', async () => {
    const created = await api.post('/api/v1/auth/credentials', { name: 'bot' }, { token: adminToken });
    const res = await api.get('/api/v1/auth/me', {
      headers: { 'Credential-ID': created.body.credential_id, 'Credential-Secret': 'not-the-secret' },
    });
    expect(res.status).toBe(401);
  });

  it('cannot carry a role above its creator', async () => {
    const viewer = await createUser('viewer');
    const token = await api.login(viewer.username, viewer.password);
    const res = await api.post('/api/v1/auth/credentials', { name: 'escalate', role: 'admin' }, { token });
    expect(res.status).toBe(403);
  });

  it('is revoked with its owner', async () => {
    const editor = await createUser('editor');
    const token = await api.login(editor.username, editor.password);
    const created = await api.post('/api/v1/auth/credentials', { name: 'mine' }, { token });
    await api.del(`/api/v1/users/${editor.id}`, { token: adminToken });
    const res = await api.get('/api/v1/auth/me', { token: created.body.token });
    expect(res.status).toBe(401);
  });
});
