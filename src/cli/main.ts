#!/usr/bin/env node
/**
 * The `devpager` command (package.json "bin"):  devpager <command> [options]
 *
 * Exit status: 0 success, 1 the command ran and failed, 2 usage error (unknown command or option,
 * bad value), after printing the error and the relevant usage on stderr.
 */
import { UsageError } from './args.js';
import { BENCH_SUMMARY, BENCH_USAGE, benchCommand } from './bench.js';
import { PROFILE_SUMMARY, PROFILE_USAGE, profileCommand } from './profile.js';

export interface Command {
  summary: string;
  usage: string;
  /** Runs the command with the arguments after its name; resolves with the exit status. */
  run(argv: string[]): Promise<number>;
}

/** The subcommands, each in its own src/cli/<name>.ts. */
export const COMMANDS: Record<string, Command> = {
  bench: { summary: BENCH_SUMMARY, usage: BENCH_USAGE, run: benchCommand },
  profile: { summary: PROFILE_SUMMARY, usage: PROFILE_USAGE, run: profileCommand },
};

export function mainUsage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(w)}  ${c.summary}`);
  return `usage: devpager <command> [options]

commands:
${lines.join('\n')}
  ${'help'.padEnd(w)}  show this help, or a command's: devpager help <command>

Run 'devpager <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const topic = cmd === 'help' ? rest[0] : undefined;
    if (topic !== undefined) {
      const c = COMMANDS[topic];
      if (!c) return usageError(`unknown command '${topic}'`);
      console.log(c.usage);
      return 0;
    }
    if (cmd === undefined) {
      console.error(mainUsage());
      return 2;
    }
    console.log(mainUsage());
    return 0;
  }
  const c = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!c) return usageError(cmd.startsWith('-') ? `unknown option '${cmd}' (options go after the command)` : `unknown command '${cmd}'`);
  try {
    return await c.run(rest);
  } catch (e) {
    if (e instanceof UsageError) return usageError(e.message, c.usage);
    console.error(`devpager ${cmd}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}

function usageError(message: string, usage = mainUsage()): number {
  console.error(`devpager: ${message}\n\n${usage}`);
  return 2;
}

// Run when executed (node dist/src/cli/main.js, or the `devpager` bin symlink), not when imported.
const invoked = process.argv[1] ? await import('node:fs').then((fs) => {
  try {
    return fs.realpathSync(process.argv[1]) === fs.realpathSync(new URL(import.meta.url));
  } catch {
    return false;
  }
}) : false;
if (invoked) {
  process.exitCode = await main(process.argv.slice(2));
  // Everything the commands start is closed by them; if a stray handle still holds the event loop,
  // do not hang the shell.
  setTimeout(() => process.exit(), 5000).unref();
}
