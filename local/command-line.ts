/**
 * A small table-driven layer over node:util parseArgs for the streamguard command line: each
 * command declares its options, positionals and examples once, and gets from that its own
 * `--help`, a parser that names an unknown option or command together with the closest valid one,
 * and checked whole-number options.
 */
import { parseArgs } from 'node:util';
import { InputError } from '../lib/errors.ts';

/** One option of a command. `int` options are checked to be whole numbers >= 0. */
export interface OptionSpec {
  type: 'string' | 'boolean' | 'int';
  help: string;
  /** Shown in the usage line and help (`--events N`). */
  valueName?: string;
  default?: string | number | boolean;
}

/** One command: what it does, what it takes, examples, and what runs it. */
export interface CommandSpec<R = number> {
  name: string;
  summary: string;
  /** Positional arguments as shown in the usage line, e.g. `<events.jsonl>`; `[x]` marks optional ones. */
  positionals?: string[];
  options?: Record<string, OptionSpec>;
  /** Lines after the options in `--help`: where the command reads its configuration from, etc. */
  notes?: string[];
  examples: string[];
  run(args: ParsedArgs): Promise<R> | R;
}

/** What a command receives: option values (ints as numbers, defaults applied) and positionals. */
export interface ParsedArgs {
  values: Record<string, string | number | boolean | undefined>;
  positionals: string[];
  /** The options given on the command line (the rest took their defaults). */
  given: ReadonlySet<string>;
}

/** A command line that cannot be run: exit code 2, printed with a pointer to `--help`. */
export class UsageError extends InputError {}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

/** The closest candidate, when close enough to be what was meant (a prefix, or a few typos). */
export function closest(input: string, candidates: string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = c.startsWith(input) && input.length >= 2 ? 0 : editDistance(input, c);
    if (!best || d < best.d) best = { c, d };
  }
  return best && best.d <= Math.max(2, Math.floor(best.c.length / 3)) ? best.c : undefined;
}

function optionLabel(name: string, o: OptionSpec): string {
  return o.type === 'boolean' ? `--${name}` : `--${name} ${o.valueName ?? (o.type === 'int' ? 'N' : 'VALUE')}`;
}

/** `streamguard <name> <positionals> [options]` */
export function usageLine(program: string, c: CommandSpec<unknown>): string {
  const opts = Object.entries(c.options ?? {}).map(([n, o]) => `[${optionLabel(n, o)}]`);
  return [program, c.name, ...(c.positionals ?? []), ...opts].join(' ');
}

/** The text `streamguard <command> --help` prints. */
export function commandHelp(program: string, c: CommandSpec<unknown>): string {
  const lines = [`usage: ${usageLine(program, c)}`, '', c.summary];
  const opts = Object.entries(c.options ?? {});
  if (opts.length) {
    lines.push('', 'options:');
    const labels = opts.map(([n, o]) => optionLabel(n, o));
    const width = Math.max(...labels.map((l) => l.length));
    opts.forEach(([, o], i) => lines.push(`  ${labels[i]!.padEnd(width)}  ${o.help}${o.default !== undefined && o.default !== false ? ` (default ${o.default})` : ''}`));
  }
  if (c.notes?.length) lines.push('', ...c.notes);
  lines.push('', 'examples:', ...c.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** The text `streamguard --help` prints: one line per command. */
export function programHelp(program: string, commands: CommandSpec<unknown>[], footer: string[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `usage: ${program} <command> [options]   (${program} <command> --help for its options and examples)`,
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    ...footer,
  ].join('\n');
}

/**
 * Parses one command's arguments against its spec.
 *
 * @throws UsageError naming an unknown option (and the closest valid one), a missing value, a
 *   value that is not a whole number, or a missing positional.
 */
export function parseCommand(c: CommandSpec<unknown>, args: string[]): ParsedArgs {
  const specs = c.options ?? {};
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, o] of Object.entries(specs)) options[name] = { type: o.type === 'boolean' ? 'boolean' : 'string' };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const given = /'([^']+)'/.exec(e.message)?.[1] ?? '';
      const bare = given.replace(/^-+/, '').split('=')[0]!;
      const near = closest(bare, Object.keys(specs));
      throw new UsageError(`${c.name}: unknown option ${given}${near ? `; did you mean --${near}?` : ''}`);
    }
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /--([\w-]+)/.exec(e.message)?.[1];
      throw new UsageError(`${c.name}: ${name ? `--${name}` : 'an option'} ${name && specs[name]?.type === 'boolean' ? 'takes no value' : 'needs a value'}`);
    }
    throw new UsageError(`${c.name}: ${e.message}`);
  }
  const values: ParsedArgs['values'] = {};
  for (const [name, o] of Object.entries(specs)) {
    const raw = parsed.values[name];
    if (raw === undefined) {
      values[name] = o.default;
    } else if (o.type === 'int') {
      const n = Number(raw);
      if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new UsageError(`${c.name}: --${name} must be a non-negative whole number, got ${JSON.stringify(raw)}`);
      values[name] = n;
    } else values[name] = raw;
  }
  const required = (c.positionals ?? []).filter((p) => p.startsWith('<'));
  if (parsed.positionals.length < required.length) {
    throw new UsageError(`${c.name}: missing ${required.slice(parsed.positionals.length).join(' ')}`);
  }
  return { values, positionals: parsed.positionals, given: new Set(Object.keys(parsed.values).filter((k) => parsed.values[k] !== undefined)) };
}

/** What the dispatcher decided: print help, run a command, or report a usage error. */
export type Resolution<R> =
  | { kind: 'help'; text: string }
  | { kind: 'run'; command: CommandSpec<R>; args: ParsedArgs }
  | { kind: 'error'; message: string };

/**
 * Picks the command and parses its arguments. `--help`/`-h` anywhere after a command gives that
 * command's help; no command (or `help`) gives the program's; `help <command>` the command's.
 */
export function resolve<R>(program: string, commands: CommandSpec<R>[], argv: string[], footer: string[] = []): Resolution<R> {
  const [first, ...rest] = argv;
  const byName = new Map(commands.map((c) => [c.name, c]));
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    const target = first === 'help' && rest[0] !== undefined ? byName.get(rest[0]) : undefined;
    if (first === 'help' && rest[0] !== undefined && !target) return unknownCommand(program, rest[0], commands);
    return { kind: 'help', text: target ? commandHelp(program, target) : programHelp(program, commands, footer) };
  }
  const command = byName.get(first);
  if (!command) return unknownCommand(program, first, commands);
  // Options end at `--`; a literal "--help" after it is an argument.
  const end = rest.indexOf('--');
  const head = end < 0 ? rest : rest.slice(0, end);
  if (head.includes('--help') || head.includes('-h')) return { kind: 'help', text: commandHelp(program, command) };
  try {
    return { kind: 'run', command, args: parseCommand(command, rest) };
  } catch (err) {
    if (err instanceof UsageError) return { kind: 'error', message: `${program} ${err.message}\nusage: ${usageLine(program, command)}\n(${program} ${command.name} --help for details and examples)` };
    throw err;
  }
}

function unknownCommand<R>(program: string, given: string, commands: CommandSpec<R>[]): Resolution<R> {
  const near = closest(given, commands.map((c) => c.name));
  return {
    kind: 'error',
    message: `${program}: unknown command "${given}"${near ? `; did you mean "${near}"?` : ''}\ncommands: ${commands.map((c) => c.name).join(', ')} (${program} --help for what each does)`,
  };
}
