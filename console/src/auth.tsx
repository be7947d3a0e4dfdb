/**
 * The session: who is signed in, from GET /auth/me after login or after a refresh through the
 * HTTP-only cookie on load. Views ask `useSession().canWrite` before showing write controls.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from 'react';
import { call, sluice } from './api.ts';
import type { Me } from './types.ts';

interface Session {
  me: Me | null;
  /** Editors and admins write; viewers only read. */
  canWrite: boolean;
  checking: boolean;
  signIn(username: string, password: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children, onSignOut }: { children: ReactNode; onSignOut(): void }) {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(true);

  useEffect(() => {
    let live = true;
    sluice
      .refresh()
      .then(() => call<Me>('GET', '/api/v1/auth/me'))
      .then((who) => live && setMe(who))
      .catch(() => undefined)
      .finally(() => live && setChecking(false));
    return () => {
      live = false;
    };
  }, []);

  const signIn = useCallback(async (username: string, password: string) => {
    await sluice.login(username, password);
    setMe(await call<Me>('GET', '/api/v1/auth/me'));
  }, []);

  const signOut = useCallback(async () => {
    await sluice.logout().catch(() => undefined);
    setMe(null);
    onSignOut();
  }, [onSignOut]);

  return (
    <SessionContext.Provider
      value={{ me, canWrite: me !== null && me.role !== 'viewer', checking, signIn, signOut }}
    >
      {children}
    </SessionContext.Provider>
  );
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}
