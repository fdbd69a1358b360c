/**
 * Where the host layer keeps state between requests: an agent's spending and access tokens,
 * a provider's token use counts. In memory by default; plug in your own to share them
 * between processes.
 */
import { unixNow } from "./headers.js";
import type { AccessToken, UsageJson } from "./types.js";

/** Where spending usage lives between payments (in memory unless you plug in your own). */
export interface UsageStore {
  get(): UsageJson | undefined | Promise<UsageJson | undefined>;
  set(usage: UsageJson): void | Promise<void>;
}

/** Where sold access tokens live between requests. */
export interface TokenStore {
  list(): AccessToken[] | Promise<AccessToken[]>;
  add(token: AccessToken): void | Promise<void>;
  delete(token: string): void | Promise<void>;
}

/** Counts uses of access tokens by claims id, and deliveries of a payment's answer (ids
 *  `payment:…`: a payment buys one answer and one re-send of a lost one) — in memory by
 *  default; share it across instances with a store of your own. */
export interface TokenUses {
  /** Records one use of `id` and returns how many uses came before it. */
  use(id: string, expiresAt: number): number | Promise<number>;
}

/** A usage store in memory. */
export class MemoryUsageStore implements UsageStore {
  private usage: UsageJson | undefined;
  get = (): UsageJson | undefined => this.usage;
  set = (usage: UsageJson): void => void (this.usage = usage);
}

/** A token store in memory. */
export class MemoryTokenStore implements TokenStore {
  private readonly tokens = new Map<string, AccessToken>();
  list(): AccessToken[] {
    return [...this.tokens.values()];
  }
  add(token: AccessToken): void {
    this.tokens.set(token.token, token);
  }
  delete(token: string): void {
    this.tokens.delete(token);
  }
}

/** Token uses in memory; forgets a token once it expired. */
export class MemoryTokenUses implements TokenUses {
  private readonly counts = new Map<string, { uses: number; expiresAt: number }>();
  use(id: string, expiresAt: number): number {
    const entry = this.counts.get(id) ?? { uses: 0, expiresAt };
    const before = entry.uses;
    entry.uses += 1;
    this.counts.set(id, entry);
    if (this.counts.size > 10_000) {
      const now = unixNow();
      for (const [key, value] of this.counts) if (value.expiresAt <= now) this.counts.delete(key);
    }
    return before;
  }
}
