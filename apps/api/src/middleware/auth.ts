import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { type Config, hashKey } from '@mana/config';
import { AuthError } from '@mana/errors';
import type { ApiKeyStore } from '../api-key-store.js';

/** The tenant a request acts for; set by `authenticate`. */
export function tenantOf(res: Response): string {
  return (res.locals.tenant as string | undefined) ?? DEV_TENANT;
}

/** Without configured keys (development, loopback only) everything belongs to one tenant. */
const DEV_TENANT = 'default';

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return match?.[1]?.trim();
}

/** A browser's basic auth: any user name, the key as the password (how the board is opened in a browser). */
function basicPassword(header: string | undefined): string | undefined {
  const match = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/** Compares against every hash, whatever matches first, so timing says nothing about the keys. */
function matches(candidate: Buffer, hashes: readonly Buffer[]): number {
  let found = -1;
  hashes.forEach((hash, i) => {
    if (timingSafeEqual(candidate, hash) && found === -1) found = i;
  });
  return found;
}

/** Client routes: `Authorization: Bearer <key>` names the tenant, among the keys in force now. */
export function authenticate(store: ApiKeyStore): RequestHandler {
  return function authenticateClient(req, res, next) {
    if (!store.required) {
      res.locals.tenant = DEV_TENANT;
      return next();
    }
    const keys = store.current();
    const key = bearer(req.header('authorization'));
    const index =
      key === undefined
        ? -1
        : matches(
            hashKey(key),
            keys.map((k) => k.hash),
          );
    if (index === -1) throw new AuthError(key === undefined ? undefined : 'invalid API key');
    res.locals.tenant = keys[index]!.tenant;
    next();
  };
}

/** Operator routes: the admin key (open only in development mode, when no key of any kind is set). */
export function requireAdmin(auth: Config['auth']): RequestHandler {
  return function authenticateAdmin(req, res, next) {
    if (auth.keys.length === 0 && !auth.adminKeyHash) return next();
    const header = req.header('authorization');
    const key = bearer(header) ?? basicPassword(header);
    if (!auth.adminKeyHash || key === undefined || matches(hashKey(key), [auth.adminKeyHash]) === -1) {
      // Browsers ask for a password on this challenge; API clients read the JSON error.
      res.setHeader('www-authenticate', 'Basic realm="Mana admin", charset="UTF-8"');
      throw new AuthError(auth.adminKeyHash ? 'this route needs the admin key (MANA_ADMIN_KEY)' : 'admin routes are off: set MANA_ADMIN_KEY');
    }
    next();
  };
}
