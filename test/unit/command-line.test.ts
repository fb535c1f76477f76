/**
 * The command line explains itself: every command answers --help with its own usage and examples,
 * and an unknown command or option is named together with the closest valid one.
 */
import { describe, expect, it } from 'vitest';
import { closest, parseCommand, resolve, UsageError, type CommandSpec } from '../../local/command-line.ts';
import { COMMANDS, PROGRAM } from '../../local/commands/catalog.ts';

const names = COMMANDS.map((c) => c.name);

describe('the command table', () => {
  it.each(names)('%s --help prints its own usage, options and examples', (name) => {
    const r = resolve(PROGRAM, COMMANDS, [name, '--help']);
    expect(r.kind).toBe('help');
    const text = (r as { text: string }).text;
    expect(text).toMatch(new RegExp(`^usage: streamguard ${name}\\b`));
    expect(text).toMatch(/\nexamples:\n {2}\S/);
    const spec = COMMANDS.find((c) => c.name === name)!;
    for (const option of Object.keys(spec.options ?? {})) expect(text).toContain(`--${option}`);
    // Every example runs this command.
    for (const example of spec.examples) expect(example).toMatch(new RegExp(`(streamguard ${name}|npm start|npm run ${name})\\b`));
  });

  it('-h and help <command> give the same text; help alone lists every command', () => {
    expect(resolve(PROGRAM, COMMANDS, ['rules', '-h'])).toEqual(resolve(PROGRAM, COMMANDS, ['help', 'rules']));
    const all = resolve(PROGRAM, COMMANDS, []);
    expect(all.kind).toBe('help');
    for (const name of names) expect((all as { text: string }).text).toMatch(new RegExp(`^ {2}${name} `, 'm'));
  });

  it('--help after -- is an argument, not a request for help', () => {
    const r = resolve(PROGRAM, COMMANDS, ['replay', 'log.jsonl', '--', '--help']);
    expect(r.kind).toBe('run');
  });

  it('names an unknown command with the closest one', () => {
    const r = resolve(PROGRAM, COMMANDS, ['strat']);
    expect(r).toMatchObject({ kind: 'error' });
    expect((r as { message: string }).message).toMatch(/unknown command "strat"; did you mean "start"\?/);
    expect((resolve(PROGRAM, COMMANDS, ['xyzzy']) as { message: string }).message).not.toMatch(/did you mean/);
  });

  it('names an unknown option with the closest one and points at --help', () => {
    const r = resolve(PROGRAM, COMMANDS, ['start', '--evnts', '5']);
    expect(r.kind).toBe('error');
    const message = (r as { message: string }).message;
    expect(message).toMatch(/start: unknown option --evnts; did you mean --events\?/);
    expect(message).toMatch(/streamguard start --help/);
  });

  it('parses whole numbers and applies defaults', () => {
    const r = resolve(PROGRAM, COMMANDS, ['start', '--events', '5000', '--chaos']);
    expect(r.kind).toBe('run');
    const { values } = (r as { args: { values: Record<string, unknown> } }).args;
    expect(values).toMatchObject({ events: 5000, seed: 7, chaos: true, quiet: false, 'closer-interval-ms': 2000 });
  });

  it('rejects a value that is not a whole number, naming the option', () => {
    const r = resolve(PROGRAM, COMMANDS, ['verify', '--events', '1e5']);
    expect((r as { message: string }).message).toMatch(/--events must be a non-negative whole number, got "1e5"/);
  });

  it('names a missing positional', () => {
    const r = resolve(PROGRAM, COMMANDS, ['invoke', 'ingest']);
    expect((r as { message: string }).message).toMatch(/invoke: missing <event\.json>/);
  });
});

describe('parseCommand', () => {
  const spec: CommandSpec = { name: 'x', summary: 's', options: { quiet: { type: 'boolean', help: 'h' }, n: { type: 'int', help: 'h' } }, examples: ['streamguard x'], run: () => 0 };

  it('says that a flag takes no value', () => {
    expect(() => parseCommand(spec, ['--quiet=yes'])).toThrow(UsageError);
    expect(() => parseCommand(spec, ['--quiet=yes'])).toThrow(/--quiet takes no value/);
  });

  it('says that an option needs a value', () => {
    expect(() => parseCommand(spec, ['--n'])).toThrow(/--n needs a value/);
  });
});

describe('closest', () => {
  it('takes a prefix or a near miss, and nothing far off', () => {
    expect(closest('ver', ['verify', 'start'])).toBe('verify');
    expect(closest('chaso', ['chaos', 'hostile'])).toBe('chaos');
    expect(closest('banana', ['chaos', 'hostile'])).toBeUndefined();
  });
});
