/**
 * Per-service authentication on the public port (the rules themselves are in core/decisions/auth.ts):
 * which credential a service's auth mode asks for, and a failure log that a client hammering with
 * a wrong key cannot flood.
 */
import type { Logger } from "pino";
import { bearer, keyMatches, verifyToken, type TokenIssuer } from "../core/decisions/auth";
import type { ServiceRoutingSettings } from "../core/contracts/routingSettings";
import type { RouterMetrics } from "./metrics";
import type { KeyStore } from "./types";

/** Why a request was refused: `reason` labels the failure metric, `message` is the client's answer. */
export interface Denial {
  reason: "missing" | "key" | "token";
  message: string;
}

/** What the gate decided: undefined when the request may pass, else why not. */
export type Admission = Denial | undefined;

export interface AuthGateOptions {
  keys: KeyStore;
  /** Token issuer for services with token auth. */
  tokenIssuer?: TokenIssuer;
  /** Longest token lifetime accepted; default core/decisions/auth.ts's. */
  maxTokenLifetimeSeconds?: number;
  metrics: RouterMetrics;
  log: Logger;
  /** Clock of the failure log's rate limit; tests pass their own. */
  now?: () => number;
}

/** One "authentication failed" line per service at most this often, with the count it stands for. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

export class AuthGate {
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly opts: AuthGateOptions) {}

  /** Undefined when the request may pass; else the denial, already counted and (rate-limited) logged. */
  async admit(service: string, settings: ServiceRoutingSettings, authorization: string | undefined, requestId: string): Promise<Admission> {
    return this.decide(service, settings, authorization, requestId);
  }

  /**
   * `admit` without a Promise where none is needed: the decision itself when it takes no I/O
   * (auth off, key auth, a missing or unusable credential), a Promise of it only when a token must
   * be verified (its issuer's keys may have to be fetched). Either way a denial is counted and
   * logged once it is known. The hot path calls this to spare every request a microtask.
   */
  decide(service: string, settings: ServiceRoutingSettings, authorization: string | undefined, requestId: string): Admission | Promise<Admission> {
    const decided = this.check(settings, authorization);
    if (decided instanceof Promise) return decided.then((denied) => this.settle(service, denied, requestId));
    return this.settle(service, decided, requestId);
  }

  private settle(service: string, denied: Admission, requestId: string): Admission {
    if (denied) this.failed(service, denied.reason, requestId);
    return denied;
  }

  private check(s: ServiceRoutingSettings, authorization: string | undefined): Admission | Promise<Admission> {
    if (s.authMode === "none") return undefined;
    const credential = bearer(authorization);
    if (!credential) return { reason: "missing", message: `service '${s.name}' requires 'Authorization: Bearer <${s.authMode}>'` };
    if (s.authMode === "key") {
      const keys = this.opts.keys.get(s.name);
      if (!keys) return { reason: "key", message: `service '${s.name}' has no keys yet` };
      return keyMatches(credential, keys) ? undefined : { reason: "key", message: "invalid key" };
    }
    if (!this.opts.tokenIssuer) return { reason: "token", message: "token auth is not configured on this router" };
    return verifyToken(credential, this.opts.tokenIssuer, s.tokenAudience, { maxLifetimeSeconds: this.opts.maxTokenLifetimeSeconds }).then((check) =>
      check.ok ? undefined : { reason: "token", message: check.reason },
    );
  }

  private failed(service: string, reason: Denial["reason"], requestId: string): void {
    this.opts.metrics.authFailures.labels({ service, reason }).inc();
    const now = (this.opts.now ?? Date.now)();
    const last = this.lastLogged.get(service);
    if (last && now - last.at < FAILURE_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    this.opts.log.warn({ service, reason, requestId, alsoFailedSinceLastLine: last?.suppressed ?? 0 }, "authentication failed");
    this.lastLogged.set(service, { at: now, suppressed: 0 });
  }
}
