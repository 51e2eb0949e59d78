// The operator's hint for a channel copied into the store before its account existed: a
// request for `acme` finds no account and answers 404, as any missing channel does; when the
// store does hold a folder `acme/`, the log says so once, with the command that serves it.
//
// The request path does no store work for this (a hidden channel and a missing one must cost
// the same, ARCHITECTURE.md): the gate only notes the name (missed), and a timer looks at the
// names noted since its last round, one listing of at most one key each, off the request path.
// Nothing is looked at while no request misses; a look is trusted for `hintEveryMs`, so the
// hint for one folder comes at most once in that time per process, and a flood of invented
// names costs at most `maxPending` listings a round.
import type { Store } from "../store/store.js";
import type { Logger } from "../log.js";
import { storeHasContent, type Catalog } from "../access/catalog.js";
import { isAccountName } from "../access/names.js";

export interface UnownedFolderOptions {
  /** How often the names noted since the last round are looked at in the store (ms). */
  checkEveryMs?: number;
  /** How long a look is trusted: the hint for one folder comes at most once in this time. */
  hintEveryMs?: number;
  /** Names noted per round at most; more wait for a later request. */
  maxPending?: number;
  /** Looks remembered at most (the oldest are forgotten first). */
  maxRemembered?: number;
}

/** The words of the hint, for the log and for `pkgate doctor` (which says what the folder
 * holds, `holds`). */
export function unownedFolderHint(name: string, holds?: string): { message: string; action: string } {
  return {
    message: `store folder "${name}/"${holds ? ` (${holds})` : ""} is not served: no account owns it, so requests for channel ${name} answer 404 as for a missing channel`,
    action: `a server admin adopts it with: pkgate org --create ${name} --adopt (or, for a user's channel: pkgate user --create ${name} --email EMAIL --adopt)`,
  };
}

export class UnownedFolders {
  private readonly pending = new Set<string>();
  /** Name → when it was looked at (insertion order is age order). */
  private readonly looked = new Map<string, number>();
  private readonly checkEveryMs: number;
  private readonly hintEveryMs: number;
  private readonly maxPending: number;
  private readonly maxRemembered: number;
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly logger: Logger,
    opts: UnownedFolderOptions = {},
  ) {
    this.checkEveryMs = opts.checkEveryMs ?? 10_000;
    this.hintEveryMs = opts.hintEveryMs ?? 10 * 60_000;
    this.maxPending = opts.maxPending ?? 100;
    this.maxRemembered = opts.maxRemembered ?? 10_000;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.lookNow(), this.checkEveryMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a round in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.round;
  }

  /** The gate found no account named `channel`. No I/O: the name waits for the next round
   * unless it was looked at within hintEveryMs. */
  missed(channel: string): void {
    if (!isAccountName(channel) || this.pending.size >= this.maxPending) return;
    const at = this.looked.get(channel);
    if (at !== undefined && Date.now() - at < this.hintEveryMs) return;
    this.pending.add(channel);
  }

  /** Look at the names noted since the last round (the timer calls this; so can tests). */
  lookNow(): Promise<void> {
    this.round ??= this.lookAtPending().finally(() => {
      this.round = null;
    });
    return this.round;
  }

  private async lookAtPending(): Promise<void> {
    const names = [...this.pending];
    this.pending.clear();
    for (const name of names) {
      // remembered before the look, so that requests missing it meanwhile do not queue it again
      this.remember(name);
      let unowned: boolean;
      try {
        // the account too: it may have been created since the request missed it
        unowned = (await storeHasContent(this.store, name)) && !(await this.catalog.getAccount(name));
      } catch {
        this.looked.delete(name); // the store is unreachable: looked at again when next asked for
        continue;
      }
      if (unowned) {
        const { message, action } = unownedFolderHint(name);
        this.logger.warn({ msg: `${message}; ${action}`, channel: name });
      }
    }
  }

  private remember(name: string): void {
    this.looked.delete(name);
    this.looked.set(name, Date.now());
    while (this.looked.size > this.maxRemembered) this.looked.delete(this.looked.keys().next().value!);
  }
}
