// conda's version order and version specs, ported from conda/models/version.py (VersionOrder,
// VersionSpec, BuildNumberMatch): what "the latest version" means in current_repodata.json and
// channeldata.json, and what a dependency such as `python >=3.8,<3.12` or `numpy 1.2.*` accepts.
//
// Kept deliberately close to the Python so the two can be read side by side: a version is split
// into epoch, components at `.`/`_`, and runs of digits and non-digits inside a component; `dev`
// sorts below everything, `post` above, strings below numbers, a missing part counts as 0.

export class InvalidVersion extends Error {
  constructor(
    readonly version: string,
    readonly reason: string,
  ) {
    super(`invalid version "${version}": ${reason}`);
  }
}

/** One sub-part of a component: a number, `Infinity` for "post", or a lower-case string ("DEV" for dev). */
type Part = number | string;
type Component = Part[];

const VERSION_CHECK = /^[*.+!_0-9a-z]+$/;
const VERSION_SPLIT = /([0-9]+|[*]+|[^0-9*]+)/g;
const FILL = 0;
const orderCache = new Map<string, VersionOrder>();

export class VersionOrder {
  /** The normalised string (trimmed, lower case, `-` turned into `_` where conda does so). */
  readonly norm: string;
  readonly version: Component[];
  readonly local: Component[];

  /** A parsed version, cached by its string as conda does. Throws InvalidVersion. */
  static of(vstr: string): VersionOrder {
    let v = orderCache.get(vstr);
    if (v === undefined) {
      v = new VersionOrder(vstr);
      if (orderCache.size > 100_000) orderCache.clear();
      orderCache.set(vstr, v);
    }
    return v;
  }

  private constructor(vstr: string) {
    let version = vstr.trim().toLowerCase();
    if (version === "") throw new InvalidVersion(vstr, "empty version string");
    let invalid = !VERSION_CHECK.test(version);
    if (invalid && version.includes("-") && !version.includes("_")) {
      // dashes are allowed when there are no underscores: they become underscores
      version = version.replaceAll("-", "_");
      invalid = !VERSION_CHECK.test(version);
    }
    if (invalid) throw new InvalidVersion(vstr, "invalid character(s)");
    this.norm = version;

    const epochSplit = version.split("!");
    let epoch: string;
    if (epochSplit.length === 1) epoch = "0";
    else if (epochSplit.length === 2) {
      if (!/^[0-9]+$/.test(epochSplit[0]!)) throw new InvalidVersion(vstr, "epoch must be an integer");
      epoch = epochSplit[0]!;
    } else throw new InvalidVersion(vstr, "duplicated epoch separator '!'");

    const localSplit = epochSplit[epochSplit.length - 1]!.split("+");
    let local: string[];
    if (localSplit.length === 1) local = [];
    else if (localSplit.length === 2) local = localSplit[1]!.replaceAll("_", ".").split(".");
    else throw new InvalidVersion(vstr, "duplicated local version separator '+'");
    const main = localSplit[0]!;
    if (main === "") throw new InvalidVersion(vstr, "Missing version before local version separator '+'");

    let split: string[];
    if (main.endsWith("_")) {
      // openssl-like versions: a trailing underscore stays with the last component
      split = main.slice(0, -1).replaceAll("_", ".").split(".");
      split[split.length - 1] += "_";
    } else split = main.replaceAll("_", ".").split(".");

    this.version = [epoch, ...split].map((c) => component(c, vstr));
    this.local = local.map((c) => component(c, vstr));
  }

  toString(): string {
    return this.norm;
  }

  equals(other: VersionOrder): boolean {
    return eq(this.version, other.version) && eq(this.local, other.local);
  }

  /** conda's `__lt__`. */
  lessThan(other: VersionOrder): boolean {
    for (const [t1, t2] of [
      [this.version, other.version],
      [this.local, other.local],
    ] as const) {
      for (let i = 0; i < Math.max(t1.length, t2.length); i++) {
        const v1 = t1[i] ?? [];
        const v2 = t2[i] ?? [];
        for (let j = 0; j < Math.max(v1.length, v2.length); j++) {
          const c1 = j < v1.length ? v1[j]! : FILL;
          const c2 = j < v2.length ? v2[j]! : FILL;
          if (c1 === c2) continue;
          if (typeof c1 === "string") {
            if (typeof c2 !== "string") return true; // str < int
          } else if (typeof c2 === "string") return false;
          return c1 < c2;
        }
      }
    }
    return false;
  }

  /** Whether this version begins with `other` (conda's `=1.2` / `1.2.*` match). */
  startswith(other: VersionOrder): boolean {
    let t1: Component[];
    let t2: Component[];
    if (other.local.length > 0) {
      if (!eq(this.version, other.version)) return false;
      t1 = this.local;
      t2 = other.local;
    } else {
      t1 = this.version;
      t2 = other.version;
    }
    let nt = t2.length - 1;
    if (!eq(t1.slice(0, nt), t2.slice(0, nt))) return false;
    const v1 = t1.length <= nt ? [] : t1[nt]!;
    const v2 = t2[nt]!;
    nt = v2.length - 1;
    if (!eq([v1.slice(0, nt)], [v2.slice(0, nt)])) return false;
    const c1 = v1.length <= nt ? FILL : v1[nt]!;
    const c2 = v2[nt]!;
    if (typeof c2 === "string") return typeof c1 === "string" && c1.startsWith(c2);
    return c1 === c2;
  }
}

function component(text: string, vstr: string): Component {
  const runs = text.match(VERSION_SPLIT);
  if (!runs) throw new InvalidVersion(vstr, "empty version component");
  const parts: Component = runs.map((r) => (/^[0-9]+$/.test(r) ? Number(r) : r === "post" ? Infinity : r === "dev" ? "DEV" : r));
  // components start with a number to keep numbers and strings in phase: 1.1.a1 == 1.1.0a1
  return /^[0-9]/.test(text) ? parts : [FILL, ...parts];
}

function eq(t1: Component[], t2: Component[]): boolean {
  for (let i = 0; i < Math.max(t1.length, t2.length); i++) {
    const v1 = t1[i] ?? [];
    const v2 = t2[i] ?? [];
    for (let j = 0; j < Math.max(v1.length, v2.length); j++) {
      if ((j < v1.length ? v1[j] : FILL) !== (j < v2.length ? v2[j] : FILL)) return false;
    }
  }
  return true;
}

/** Sort order of two version strings: negative, 0 or positive. Throws InvalidVersion. */
export function compareVersions(a: string, b: string): number {
  const va = VersionOrder.of(a);
  const vb = VersionOrder.of(b);
  return va.lessThan(vb) ? -1 : vb.lessThan(va) ? 1 : 0;
}

/** Like compareVersions, but a version conda cannot parse sorts below every valid one. */
export function compareVersionsLenient(a: string, b: string): number {
  const va = tryOrder(a);
  const vb = tryOrder(b);
  if (va === null || vb === null) return va === vb ? 0 : va === null ? -1 : 1;
  return va.lessThan(vb) ? -1 : vb.lessThan(va) ? 1 : 0;
}

export function tryOrder(v: string): VersionOrder | null {
  try {
    return VersionOrder.of(v);
  } catch (err) {
    if (err instanceof InvalidVersion) return null;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Version specs

/** A version constraint: `1.2.*`, `>=1.0,<2|3.*`, `^1\.2$`, `~=1.4`, ... */
export interface VersionMatcher {
  readonly spec: string;
  match(version: string): boolean;
}

const VSPEC_TOKENS = /\s*\^[^$]*[$]|\s*[()|,]|[^()|,]+/g;
const REGEX_SPLIT = /^.*[()|,^$]/;
const VERSION_RELATION = /^(=|==|!=|<=|>=|<|>|~=)(?![=<>!~])(\S+)$/;
const OPERATOR_START = new Set(["=", "<", ">", "!", "~"]);

type Tree = string | [op: "|" | ",", ...Tree[]];

/** conda's `treeify`: the expression tree of `,` (and) over `|` (or), with parentheses. */
export function treeify(specStr: string): Tree {
  const tokens = `(${specStr})`.match(VSPEC_TOKENS) ?? [];
  const output: Tree[] = [];
  const stack: string[] = [];
  const applyOps = (cstop: string) => {
    while (stack.length > 0 && !cstop.includes(stack[stack.length - 1]!)) {
      if (output.length < 2) throw new InvalidVersion(specStr, "cannot join single expression");
      const c = stack.pop() as "|" | ",";
      const r = output.pop()!;
      const right = Array.isArray(r) && r[0] === c ? r.slice(1) : [r];
      const l = output.pop()!;
      const left = Array.isArray(l) && l[0] === c ? l.slice(1) : [l];
      output.push([c, ...(left as Tree[]), ...(right as Tree[])]);
    }
  };
  for (const token of tokens) {
    const item = token.trim();
    if (item === "|") {
      applyOps("(");
      stack.push("|");
    } else if (item === ",") {
      applyOps("|(");
      stack.push(",");
    } else if (item === "(") stack.push("(");
    else if (item === ")") {
      applyOps("(");
      if (stack.length === 0 || stack[stack.length - 1] !== "(") throw new InvalidVersion(specStr, "expression must start with '('");
      stack.pop();
    } else output.push(item);
  }
  if (stack.length > 0) throw new InvalidVersion(specStr, `unable to convert to expression tree: ${stack.join("")}`);
  if (output.length === 0) throw new InvalidVersion(specStr, "unable to determine version from spec");
  return output[0]!;
}

const specCache = new Map<string, VersionMatcher>();

/** conda's VersionSpec. Throws InvalidVersion for what conda rejects. */
export function versionSpec(spec: string): VersionMatcher {
  let m = specCache.get(spec);
  if (m === undefined) {
    m = buildSpec(REGEX_SPLIT.test(spec) ? treeify(spec) : spec);
    if (specCache.size > 100_000) specCache.clear();
    specCache.set(spec, m);
  }
  return m;
}

function buildSpec(tree: Tree): VersionMatcher {
  if (Array.isArray(tree)) {
    const [op, ...rest] = tree;
    const parts = rest.map(buildSpec);
    const spec = parts.map((p) => p.spec).join(op);
    return op === "|"
      ? { spec, match: (v) => parts.some((p) => p.match(v)) }
      : { spec, match: (v) => parts.every((p) => p.match(v)) };
  }
  let spec = tree.trim();
  if (spec === "") throw new InvalidVersion(tree, "empty version spec");
  if (spec.startsWith("^") || spec.endsWith("$")) {
    if (!spec.startsWith("^") || !spec.endsWith("$")) throw new InvalidVersion(spec, "regex specs must start with '^' and end with '$'");
    const rx = pythonRegex(spec);
    return { spec, match: (v) => rx.test(v) };
  }
  if (OPERATOR_START.has(spec[0]!)) {
    const m = VERSION_RELATION.exec(spec);
    if (m === null) throw new InvalidVersion(spec, "invalid operator");
    let op = m[1]!;
    let vo = m[2]!;
    if (vo.endsWith(".*")) {
      if (op === "=" || op === ">=") vo = vo.slice(0, -2);
      else if (op === "!=") {
        vo = vo.slice(0, -2);
        op = "!=startswith";
      } else if (op === "~=") throw new InvalidVersion(spec, "invalid operator with '.*'");
      else vo = vo.slice(0, -2); // conda warns that the .* is ignored
    }
    const target = VersionOrder.of(vo);
    const test = operator(op, target, spec);
    return { spec, match: (v) => test(VersionOrder.of(v)) };
  }
  if (spec === "*") return { spec, match: () => true };
  if (spec.replace(/\*+$/, "").includes("*")) {
    const rx = new RegExp(`^(?:${spec.replaceAll(".", "\\.").replaceAll("+", "\\+").replaceAll("*", ".*")})$`);
    return { spec, match: (v) => rx.test(v) };
  }
  if (spec.endsWith("*")) {
    if (!spec.endsWith(".*")) spec = `${spec.slice(0, -1)}.*`;
    const target = VersionOrder.of(spec.replace(/\*+$/, "").replace(/\.+$/, ""));
    return { spec, match: (v) => VersionOrder.of(v).startswith(target) };
  }
  if (!spec.includes("@")) {
    const target = VersionOrder.of(spec);
    return { spec, match: (v) => VersionOrder.of(v).equals(target) };
  }
  const exact = spec;
  return { spec, match: (v) => v === exact };
}

function operator(op: string, y: VersionOrder, spec: string): (x: VersionOrder) => boolean {
  switch (op) {
    case "==":
      return (x) => x.equals(y);
    case "!=":
      return (x) => !x.equals(y);
    case "<=":
      return (x) => !y.lessThan(x);
    case ">=":
      return (x) => !x.lessThan(y);
    case "<":
      return (x) => x.lessThan(y);
    case ">":
      return (x) => y.lessThan(x);
    case "=":
      return (x) => x.startswith(y);
    case "!=startswith":
      return (x) => !x.startswith(y);
    case "~=": {
      // compatible release: >= y and starts with y less its last dotted part
      const prefix = VersionOrder.of(y.norm.split(".").slice(0, -1).join("."));
      return (x) => !x.lessThan(y) && x.startswith(prefix);
    }
    default:
      throw new InvalidVersion(spec, `invalid operator: ${op}`);
  }
}

/** conda's BuildNumberMatch: `3`, `>=2`, `!=1`, `*`, `^[0-9]$`. */
export function buildNumberSpec(spec: string | number): (buildNumber: number) => boolean {
  const text = String(spec).trim();
  if (/^[+-]?\d+$/.test(text)) {
    const n = Number(text);
    return (b) => b === n;
  }
  if (text === "*") return () => true;
  if (/^[=<>!]/.test(text)) {
    const m = VERSION_RELATION.exec(text);
    if (m === null) throw new InvalidVersion(text, "invalid operator");
    const test = operator(m[1]!, VersionOrder.of(m[2]!), text);
    return (b) => test(VersionOrder.of(String(b)));
  }
  if (text.startsWith("^") || text.endsWith("$")) {
    if (!text.startsWith("^") || !text.endsWith("$")) throw new InvalidVersion(text, "regex specs must start with '^' and end with '$'");
    const rx = pythonRegex(text);
    return (b) => rx.test(String(b));
  }
  return (b) => String(b) === text;
}

/** A Python `re.match` pattern as a JavaScript RegExp (the subset conda specs use). */
function pythonRegex(pattern: string): RegExp {
  try {
    return new RegExp(pattern.startsWith("^") ? pattern : `^(?:${pattern})`);
  } catch (err) {
    throw new InvalidVersion(pattern, `invalid regular expression: ${(err as Error).message}`);
  }
}
