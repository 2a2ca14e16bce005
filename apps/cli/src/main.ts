import { checkAliases } from './commands/aliases-check.js';

const USAGE = `usage: mana <command>

commands:
  aliases check FILE…   validate aliases files without starting anything (exit 1 on errors)`;

async function main(argv: readonly string[]): Promise<number> {
  const [group, command, ...rest] = argv;
  if (group === 'aliases' && command === 'check') return checkAliases(rest, (line) => console.log(line));
  console.error(group === undefined || group === 'help' || group === '--help' ? USAGE : `unknown command: ${argv.join(' ')}\n\n${USAGE}`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
