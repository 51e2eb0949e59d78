// Memoized async set-up for tests that share expensive fixtures (a gateway, a token) across
// cases without a `before` hook.

/** The promise of one run of `fn`, shared by every caller. */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/** `once` per key. */
export function oncePer<T>(fn: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const runs = new Map<string, Promise<T>>();
  return (key) => {
    let p = runs.get(key);
    if (!p) runs.set(key, (p = fn(key)));
    return p;
  };
}
