// How pkgate doctor's lines count things and quote names: a few of them, then "…".

/** How many names or files one line quotes. */
const QUOTED = 3;

export const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export const quote = (names: readonly string[]): string => names.slice(0, QUOTED).join(", ") + (names.length > QUOTED ? ", …" : "");

/** An error's message, short enough for one line. */
export function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}
