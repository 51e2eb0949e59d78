// The JSON conda-index writes: Python's `json.dumps(data, sort_keys=True, ...)`
// (conda_index/index/__init__.py `ChannelIndex.json_dumps`), so a file pkgate writes is the file
// conda-index would write for the same content, byte for byte.
//
// - "compact": `separators=(",", ":")`, no newline at the end — conda-index's default since 0.4.0.
// - "indented": `indent=2` plus "\n" — conda-index's `--no-compact`, and what older conda-index and
//   conda-build wrote (and what test/fixtures/conda-channel.ts imitates).
//
// What Python does that JSON.stringify does not: keys sorted by code point at every level;
// `ensure_ascii` (every character outside space..~ escaped as \uxxxx, astral ones as surrogate
// pairs); floats as Python's repr (1e-05, 1.5e+16). A float with no fraction (1.0) cannot be told
// from an integer once parsed in JavaScript and is written as 1; integers past 2^53 lose precision.
// conda records hold neither.

export type JsonFormat = "compact" | "indented";

/** Python's `json.dumps(value, sort_keys=True)` in the given format ("indented" ends with "\n"). */
export function pythonJson(value: unknown, format: JsonFormat): string {
  return format === "indented" ? `${write(value, "\n")}\n` : write(value, null);
}

/** The format of a stored conda-index JSON file: "indented" when its first value starts on a new line. */
export function detectJsonFormat(bytes: Uint8Array): JsonFormat {
  return bytes.length > 1 && bytes[0] === 0x7b && bytes[1] === 0x0a ? "indented" : "compact";
}

const SURROGATE = /[\ud800-\udfff]/;

function write(value: unknown, newline: string | null): string {
  if (value === null || value === undefined) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") return pythonNumber(value);
  if (typeof value === "string") return pythonString(value);
  const inner = newline === null ? null : `${newline}  `;
  const sep = inner === null ? "," : `,${inner}`;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    let out = inner === null ? "[" : `[${inner}`;
    for (let i = 0; i < value.length; i++) out += (i > 0 ? sep : "") + write(value[i], inner);
    return `${out}${newline ?? ""}]`;
  }
  if (typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
    if (keys.length === 0) return "{}";
    // UTF-16 order is code point order unless a key holds a surrogate pair
    keys.sort();
    if (keys.some((k) => SURROGATE.test(k))) keys.sort(byCodePoint);
    const colon = inner === null ? ":" : ": ";
    let out = inner === null ? "{" : `{${inner}`;
    for (let i = 0; i < keys.length; i++) out += `${i > 0 ? sep : ""}${pythonString(keys[i]!)}${colon}${write(obj[keys[i]!], inner)}`;
    return `${out}${newline ?? ""}}`;
  }
  throw new TypeError(`cannot write a ${typeof value} as JSON`);
}

/** Python's string order (code points); UTF-16 order differs only past U+FFFF. */
export function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if ((x >= 0xd800 && x <= 0xdfff) || (y >= 0xd800 && y <= 0xdfff)) {
      return (a.codePointAt(i) ?? x) - (b.codePointAt(i) ?? y);
    }
    return x - y;
  }
  return a.length - b.length;
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

const NEEDS_ESCAPE = /["\\]|[^ -~]/g;
const PLAIN = /^[ !#-[\]-~]*$/;

/** `json.dumps` of a str with ensure_ascii=True. */
export function pythonString(s: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
  return `"${s.replace(NEEDS_ESCAPE, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}

/** A number as Python prints it: integers exactly, floats as `repr(float)`. */
export function pythonNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  if (Number.isInteger(n)) return Math.abs(n) < 1e21 ? String(n === 0 ? 0 : n) : BigInt(n).toString();
  // shortest round-trip digits, then Python's layout: exponent form below 1e-4 and from 1e16 up
  const [mantissa, exp] = n.toExponential().split("e") as [string, string];
  const e = Number(exp);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  const sign = negative ? "-" : "";
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  const whole = digits.slice(0, e + 1).padEnd(e + 1, "0");
  const frac = digits.slice(e + 1);
  return `${sign}${whole}.${frac === "" ? "0" : frac}`;
}
