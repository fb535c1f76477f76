/**
 * The streamguard command line: `npx streamguard <command>` (also behind npm scripts). The commands
 * are the table in local/commands/catalog.ts.
 */
import { resolve, UsageError } from './command-line.ts';
import { COMMANDS, PROGRAM, servicesNote } from './commands/catalog.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(argv: string[]): Promise<number> {
  const r = resolve(PROGRAM, COMMANDS, argv, [servicesNote]);
  if (r.kind === 'help') {
    console.log(r.text);
    return 0;
  }
  if (r.kind === 'error') {
    console.error(r.message);
    return 2;
  }
  try {
    return await r.command.run(r.args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${PROGRAM} ${err.message}\n(${PROGRAM} ${r.command.name} --help for details and examples)`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`${PROGRAM}: ${err.message}`);
    process.exit(1);
  },
);
