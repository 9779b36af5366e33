/**
 * Service authentication, shared by the router (checks), the CLI and local mode (token
 * minting). Keys: primary and secondary, either accepted, compared in constant time. Tokens:
 * JWTs verified by signature, issuer, audience and expiry (`jose`), minted by the built-in
 * issuer (HS256) or by an OIDC issuer such as Microsoft Entra ID (JWKS).
 */
import { hash, randomBytes, timingSafeEqual } from "node:crypto";
import { SignJWT, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { BUILTIN_TOKEN_ISSUER, KEY_FIELDS } from "../contracts/naming";

export interface ServiceKeys {
  primaryKey: string;
  secondaryKey: string;
}

/**
 * A service's keys from its key Secret's `data` (base64, fields KEY_FIELDS); undefined unless
 * both are there. The router's key store and the CLI read Secrets with this.
 */
export function keysFromSecretData(data: Record<string, string> | undefined): ServiceKeys | undefined {
  const decode = (field: string) => {
    const v = data?.[field];
    return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
  };
  const primaryKey = decode(KEY_FIELDS.primary);
  const secondaryKey = decode(KEY_FIELDS.secondary);
  return primaryKey !== undefined && secondaryKey !== undefined ? { primaryKey, secondaryKey } : undefined;
}

/** A new random key (32 bytes, base64url): what `regen-key` and local mode write. */
export function generateKey(): string {
  return randomBytes(32).toString("base64url");
}

/** One-shot SHA-256 (no Hash object per call: this runs on every key-authenticated request). */
const digest = (s: string): Buffer => hash("sha256", s, "buffer");

/** A key set's digests, and the key strings they were computed from. */
interface KeyDigests {
  primaryKey: string;
  secondaryKey: string;
  /** Undefined for an empty key, which never matches. */
  primary?: Buffer;
  secondary?: Buffer;
}

/**
 * Digests of the stored keys, computed once per key set rather than on every request. Key stores
 * hand out a new ServiceKeys object when keys rotate (its entry here is then collected with the old
 * object); a set changed in place is hashed again, as its strings no longer match the entry's.
 */
const storedDigests = new WeakMap<ServiceKeys, KeyDigests>();

function digestsOf(keys: ServiceKeys): KeyDigests {
  const known = storedDigests.get(keys);
  if (known && known.primaryKey === keys.primaryKey && known.secondaryKey === keys.secondaryKey) return known;
  const fresh: KeyDigests = {
    primaryKey: keys.primaryKey,
    secondaryKey: keys.secondaryKey,
    primary: keys.primaryKey.length > 0 ? digest(keys.primaryKey) : undefined,
    secondary: keys.secondaryKey.length > 0 ? digest(keys.secondaryKey) : undefined,
  };
  storedDigests.set(keys, fresh);
  return fresh;
}

/**
 * Whether `presented` equals either key. Both are always compared (hashing first makes the
 * lengths equal), so timing says nothing about which key or how much of it matched. Only the
 * presented key is hashed per call: the stored keys' digests are kept per key set.
 */
export function keyMatches(presented: string, keys: ServiceKeys): boolean {
  const p = digest(presented);
  const stored = digestsOf(keys);
  const primary = stored.primary !== undefined && timingSafeEqual(p, stored.primary);
  const secondary = stored.secondary !== undefined && timingSafeEqual(p, stored.secondary);
  return primary || secondary;
}

/** The credential of an `Authorization: Bearer <credential>` header, or undefined. */
export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

export interface MintedToken {
  accessToken: string;
  /** Unix seconds after which the client should get a new token (Azure ML v1's `refresh_by`). */
  refreshBy: number;
  /** Unix seconds at which the token stops being accepted. */
  expiresOn: number;
}

export interface MintOptions {
  /** HS256 secret of the built-in issuer. */
  signingKey: string | Uint8Array;
  /** `aud`: the service (or the configured audience). */
  audience: string;
  /** `sub`: who asked for it (for logs). */
  subject?: string;
  ttlSeconds?: number;
  issuer?: string;
  /** Clock, for tests. */
  now?: () => number;
}

const encodeKey = (k: string | Uint8Array) => (typeof k === "string" ? new TextEncoder().encode(k) : k);

/**
 * Mints a token of the built-in issuer. `refreshBy` lies halfway through the lifetime so a
 * client that refreshes then never presents an expired token.
 */
export async function mintToken(opts: MintOptions): Promise<MintedToken> {
  const ttl = opts.ttlSeconds ?? 3600;
  const iat = Math.floor((opts.now?.() ?? Date.now()) / 1000);
  const exp = iat + ttl;
  const accessToken = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(opts.issuer ?? BUILTIN_TOKEN_ISSUER)
    .setAudience(opts.audience)
    .setSubject(opts.subject ?? "aks-inference-cli")
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(encodeKey(opts.signingKey));
  return { accessToken, refreshBy: iat + Math.floor(ttl / 2), expiresOn: exp };
}

export type TokenIssuer =
  | { type: "builtin"; signingKey: () => string | Uint8Array | undefined; issuer?: string }
  | { type: "oidc"; issuer: string; jwks: JWTVerifyGetKey };

/** An OIDC issuer whose keys come from its JWKS URL (cached and refreshed by `jose`). */
export function oidcIssuer(issuer: string, jwksUri: string): TokenIssuer {
  return { type: "oidc", issuer, jwks: createRemoteJWKSet(new URL(jwksUri)) };
}

export type TokenCheck = { ok: true; subject?: string } | { ok: false; reason: string };

/** Clock difference tolerated between the issuer and the router (`iat` a little in the future, `exp` just passed). */
export const TOKEN_CLOCK_SKEW_SECONDS = 60;
/** Longest token lifetime (`exp` − `iat`) accepted unless configured otherwise: a day. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;

export interface VerifyOptions {
  /** Clock, for tests (milliseconds). */
  now?: () => number;
  /** Tokens living longer than this (from `iat`, or from now without `iat`) are refused. */
  maxLifetimeSeconds?: number;
}

/**
 * Verifies signature, issuer, audience and expiry, and refuses what a stolen or forged token
 * would use to live long: no `exp`, a lifetime above the maximum, an `iat` in the future beyond
 * the clock skew. The reason is safe to return to callers.
 */
export async function verifyToken(token: string, issuer: TokenIssuer, audience: string, opts: VerifyOptions = {}): Promise<TokenCheck> {
  const nowMs = opts.now?.() ?? Date.now();
  const checks = { audience, currentDate: new Date(nowMs), requiredClaims: ["exp"], clockTolerance: TOKEN_CLOCK_SKEW_SECONDS };
  try {
    let payload: { sub?: string; exp?: number; iat?: number };
    if (issuer.type === "builtin") {
      const key = issuer.signingKey();
      if (!key) return { ok: false, reason: "token auth is not configured (no signing key)" };
      ({ payload } = await jwtVerify(token, encodeKey(key), { ...checks, issuer: issuer.issuer ?? BUILTIN_TOKEN_ISSUER, algorithms: ["HS256"] }));
    } else {
      ({ payload } = await jwtVerify(token, issuer.jwks, { ...checks, issuer: issuer.issuer }));
    }
    const now = Math.floor(nowMs / 1000);
    if (payload.iat !== undefined && payload.iat > now + TOKEN_CLOCK_SKEW_SECONDS) return { ok: false, reason: "token iat claim is in the future" };
    const max = opts.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
    if (payload.exp! - (payload.iat ?? now) > max) return { ok: false, reason: `token lifetime exceeds the accepted maximum of ${max} s` };
    return { ok: true, subject: payload.sub };
  } catch (err) {
    if (err instanceof errors.JWTExpired) return { ok: false, reason: "token expired" };
    if (err instanceof errors.JWTClaimValidationFailed) return { ok: false, reason: `token ${err.claim} claim is not accepted` };
    if (err instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: "token signature is invalid" };
    if (err instanceof errors.JOSEError) return { ok: false, reason: "token is malformed or not verifiable" };
    throw err;
  }
}
