/**
 * The `sluice` command line: the API from a terminal. See `sluice --help`; every command takes
 * `--json` for scripts and `--endpoint` to talk to another host than the saved one.
 *
 * Exit codes: 0 success, 1 the API refused or failed (its problem is printed), 2 the command was
 * called wrongly, 3 a batch or query ran and did not complete.
 */
import { Command, CommanderError } from 'commander';
import { registerAuth } from './commands/auth.ts';
import { registerBatches } from './commands/batches.ts';
import { registerCatalog } from './commands/catalog.ts';
import { registerDataFlow } from './commands/dataflow.ts';
import { registerPipelines } from './commands/pipelines.ts';
import { registerQuery } from './commands/query.ts';
import { registerUpload } from './commands/upload.ts';
import { EXIT } from './output.ts';

export function program(): Command {
  const root = new Command('sluice')
    .description('Sluice from the command line: catalog, uploads, pipelines, batches and SQL')
    .option('--json', 'print machine-readable JSON (no colours, bars or tables)')
    .option(
      '--endpoint <url>',
      'the API to talk to (default: SLUICE_ENDPOINT, else the one you logged in to)',
    )
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 the API refused or failed, 2 a usage error, 3 a batch or query that did not complete.\n' +
        'The session is kept in $XDG_CONFIG_HOME/sluice/config.json (else ~/.config/sluice/config.json).',
    )
    .exitOverride();
  registerAuth(root);
  registerCatalog(root);
  registerUpload(root);
  registerPipelines(root);
  registerBatches(root);
  registerQuery(root);
  registerDataFlow(root);
  return root;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end with code 0; every other commander error is a usage error.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw error;
  }
}

// Ctrl-C during a bar or a redraw: give the terminal its cursor back before leaving.
process.once('SIGINT', () => {
  if (process.stdout.isTTY) process.stdout.write('\x1b[?25h\n');
  process.exit(130);
});

process.exitCode = await main(process.argv);
