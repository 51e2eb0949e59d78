// The grammar of a command line made of commands, each with its own options: argv checked
// against one command's option table (node:util parseArgs) with errors a user can act on —
// an unknown option names the closest one and lists the command's options — and help text
// generated from the same table, so what is parsed and what is documented cannot drift.
// Knows nothing of pkgate's commands (verbs.ts has them); pure, no I/O.
import { parseArgs } from "node:util";

/** The command line was wrong: exit code 2, the message, and `more` lines after it. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** Further lines for the user (a command's options), printed after the message. */
    readonly more = "",
  ) {
    super(message);
    this.name = "UsageError";
  }
}

export interface OptionSpec {
  type: "string" | "boolean";
  /** What the value is, in help and messages: NAME, 'SCOPES', read|write|admin. */
  value?: string;
  help: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

export interface CommandSpec {
  name: string;
  /** One line: what the command is for. */
  summary: string;
  /** The forms it takes, after the program's name: "org --create NAME [--adopt]". */
  forms: readonly string[];
  options: OptionTable;
  /** Whole command lines, each with an optional trailing "# comment". */
  examples: readonly string[];
  /** Said in the command's help under its forms. */
  notes?: string;
  /** Options of other commands this one refuses with a reason rather than as unknown (a
   * command that runs in one mode only, given the other mode's switch). */
  refuses?: Readonly<Record<string, string>>;
}

export interface Args {
  values: Readonly<Record<string, string | boolean | undefined>>;
  positionals: string[];
}

/** Every command answers -h and --help, whatever else the line holds. */
const HELP: OptionSpec & { short: string } = { type: "boolean", short: "h", help: "this help" };

/** `argv` (what follows the command's name) as the command's options and positionals, or
 * "help" when it asks for help; a UsageError for anything the command does not take. */
export function parseCommandLine(spec: CommandSpec, argv: readonly string[]): Args | "help" {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = { help: { type: HELP.type, short: HELP.short } };
  for (const [name, o] of Object.entries(spec.options)) options[name] = { type: o.type };
  // node's strict mode reports an unknown option as a TypeError naming none of the right
  // ones, so the tokens of a lenient pass are checked here first
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  if (tokens.some((t) => t.kind === "option" && t.name === "help")) return "help";
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    const opt = spec.options[t.name];
    if (!opt) {
      const refusal = spec.refuses?.[t.name];
      if (refusal) throw new UsageError(refusal);
      const near = closest(t.name, Object.keys(spec.options));
      throw new UsageError(`unknown option ${t.rawName}${near ? ` (did you mean --${near}?)` : ""}`, optionsBlock(spec));
    }
    if (opt.type === "boolean" && t.value !== undefined) throw new UsageError(`${t.rawName} takes no value`);
    if (opt.type === "string" && (t.value === undefined || (!t.inlineValue && t.value.startsWith("-")))) {
      throw new UsageError(`${t.rawName} needs a value: ${optionForm(t.name, opt)}`);
    }
  }
  const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  return { values, positionals };
}

/** `--name NAME`, as help and messages write an option. */
export function optionForm(name: string, opt: OptionSpec): string {
  return opt.type === "string" ? `--${name} ${opt.value ?? "VALUE"}` : `--${name}`;
}

/** The options of `names` that `args` lacks, for "missing …" messages: ["--name NAME"]. */
export function missingOptions(options: OptionTable, args: Args, names: readonly string[]): string[] {
  return names.filter((n) => args.values[n] === undefined).map((n) => optionForm(n, options[n]!));
}

/** "a", "a and b", "a, b and c". */
export function listInWords(items: readonly string[], last = "and"): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} ${last} ${items.at(-1)}`;
}

/** A command's options as help lists them, with -h/--help last. */
function optionsBlock(spec: CommandSpec): string {
  const rows: [string, string][] = Object.entries(spec.options).map(([name, o]) => [optionForm(name, o), o.help]);
  rows.push([`-${HELP.short}, --help`, HELP.help]);
  return `options:\n${columns(rows)}`;
}

/** A command's forms, as help and usage errors show them. */
export function formsBlock(program: string, spec: CommandSpec): string {
  return ["usage:", ...spec.forms.map((f) => `  ${program} ${f}`)].join("\n");
}

/** The whole help of one command: summary, forms, notes, options, examples. */
export function commandHelp(program: string, spec: CommandSpec): string {
  return [
    `${program} ${spec.name}: ${spec.summary}`,
    "",
    formsBlock(program, spec),
    ...(spec.notes ? ["", wrap(spec.notes)] : []),
    "",
    optionsBlock(spec),
    "",
    "examples:",
    ...spec.examples.map((e) => `  ${e}`),
  ].join("\n");
}

/** Text in lines of at most `width` characters, broken between words. */
function wrap(text: string, width = 92): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join("\n");
}

/** Two columns, the second aligned (rows whose first column is too wide start it on the
 * next line). */
function columns(rows: readonly (readonly [string, string])[], indent = "  "): string {
  const width = Math.min(Math.max(...rows.map(([left]) => left.length)), 28) + 2;
  return rows
    .map(([left, right]) => (left.length + 2 > width ? `${indent}${left}\n${indent}${" ".repeat(width)}${right}` : `${indent}${left.padEnd(width)}${right}`))
    .join("\n");
}

/** The candidate `word` was most likely meant as: a prefix of it (`perm` → `permission`), or
 * one a few edits away (`scope` → `scopes`); null when none is close. */
export function closest(word: string, candidates: readonly string[]): string | null {
  if (word.length >= 3) {
    const prefixed = candidates.filter((c) => c.startsWith(word));
    if (prefixed.length === 1) return prefixed[0]!;
  }
  let best: string | null = null;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
