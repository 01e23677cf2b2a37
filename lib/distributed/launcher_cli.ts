/**
 * The `neocog-run` command (see `launch`): parses the command line, runs the job and exits
 * with its code. Bad options print the reason and the usage, and exit 2.
 * @module
 */
import { ArgumentError, DistributedError } from '../errors.js';
import { launch, LAUNCHER_USAGE, parseLauncherArgs, wantsHelp } from './launcher.js';

/** Runs neocog-run with `argv` (the arguments after the command) and resolves with its exit code. */
async function main(argv: readonly string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(LAUNCHER_USAGE);
    return 0;
  }
  try {
    return await launch(parseLauncherArgs(argv));
  } catch (error) {
    // The user's mistakes and missing tools are messages, not stack traces.
    if (!(error instanceof ArgumentError || error instanceof DistributedError)) throw error;
    process.stderr.write(`${error.message}\n`);
    if (error instanceof ArgumentError) process.stderr.write(`\n${LAUNCHER_USAGE}`);
    return 2;
  }
}

// process.exit rather than waiting for the event loop to empty: whatever a bug left
// behind (a timer, a handle) must not keep a finished launcher alive.
process.exit(await main(process.argv.slice(2)));
