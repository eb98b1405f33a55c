#!/usr/bin/env node
/**
 * The `unet` command line. `buildArgv(argv)` builds the parser from an argument list (pure: tests never touch
 * `process.argv`); one module per command in `commands/` exports `command, describe, builder, handler`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import * as inspect from './commands/inspect.js';
import * as segment from './commands/segment.js';
import * as watch from './commands/watch.js';
import { EXIT, UsageError } from './errors.js';

/** A command module (mocha's lib/cli/*.js shape). */
export interface CommandModule {
  readonly command: string;
  readonly describe: string;
  readonly builder: (y: Argv) => Argv<never> | Argv;
  readonly handler: (argv: never) => void | Promise<void>;
}

/** The commands of `unet`, in help order. */
export const COMMANDS: readonly CommandModule[] = Object.freeze([segment as CommandModule, watch as CommandModule, inspect as CommandModule]);

/**
 * Build the parser for `argv` (the arguments after the program name). Nothing runs until it is parsed.
 * @param commands the command modules (tests pass copies with inert handlers to check parsing alone)
 */
export function buildArgv(argv: readonly string[], commands: readonly CommandModule[] = COMMANDS): Argv {
  let y = yargs([...argv])
    .scriptName('unet')
    .usage('$0 <command> [options]\n\nRun U-Net segmentation models on images.');
  for (const c of commands) y = y.command(c as never);
  return y
    .demandCommand(1, 'Give a command, e.g. unet segment <files|dirs|globs…> -o <dir>')
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .exitProcess(false)
    .fail((msg, err) => {
      // Parser and check() failures are usage errors; anything else thrown by a handler keeps its identity.
      if (err instanceof UsageError) throw err;
      if (msg) throw new UsageError(msg);
      throw err ?? new UsageError('invalid arguments');
    });
}

/** Run the command line; resolves to the exit code (also set on process.exitCode). */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildArgv(argv).parseAsync();
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`unet: ${e.message}\nRun "unet --help" or "unet <command> --help" for usage.\n`);
      process.exitCode = EXIT.USAGE;
    } else {
      process.stderr.write(`unet: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = EXIT.FAILED;
    }
  }
  return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // `unet segment … --json | head`: a closed pipe stops the run quietly, with the status a shell gives a process
  // killed by SIGPIPE (128 + 13), instead of a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
    throw e;
  });
  void main(process.argv.slice(2));
}
