/**
 * Exit codes of the `unet` command and the error that maps to a usage failure.
 */

/** Process exit codes. */
export const EXIT = Object.freeze({
  /** Every input was processed (or skipped because its outputs exist). */
  OK: 0,
  /** At least one input failed; the others were processed. */
  FAILED: 1,
  /** Bad command line, or a setting that makes the run impossible (model, output folder). */
  USAGE: 2,
  /** Stopped by SIGINT / SIGTERM. */
  INTERRUPTED: 130,
} as const);

// The usage error is one of the library's errors (code ERR_USAGE); the CLI maps it to exit code 2.
export { UsageError } from '../errors.js';
