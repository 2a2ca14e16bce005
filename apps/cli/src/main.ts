import { parseArgs } from 'node:util';
import { adminCommand } from './commands/admin.js';
import { batchSubmit } from './commands/batch.js';
import { checkAliases } from './commands/aliases-check.js';
import { jobsCommand } from './commands/jobs.js';
import { statusCommand } from './commands/status.js';
import { usageCommand } from './commands/usage.js';
import { GatewayError, type GatewayTarget } from './gateway-client.js';

const USAGE = `usage: mana [--url URL] [--key KEY] [--admin-key KEY] <command>

commands:
  aliases check FILE…     validate aliases files without starting anything (exit 1 on errors)
  status                  GPUs, providers and queues at a glance (admin key)
  jobs get|cancel ID      a job's state and hops / cancel it
  usage [--all] [--from T] [--to T]
                          tokens, GPU time, cloud cost and cost avoided per alias and target
                          (default: the last 24 h, your tenant; --all: every tenant, admin key)
  batch submit FILE.jsonl [--model ALIAS] [--window 24h|2h|30m…] [--wait] [--out results.jsonl]
                          run a batch; with --wait a progress bar, results, exit 1 if items failed
  admin …                 operator controls (mana admin, for the list)

The gateway is --url or MANA_URL (default http://127.0.0.1:8080); keys are
--key / MANA_API_KEY and --admin-key / MANA_ADMIN_KEY.`;

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      'admin-key': { type: 'string' },
      help: { type: 'boolean' },
      model: { type: 'string' },
      endpoint: { type: 'string' },
      wait: { type: 'boolean' },
      out: { type: 'string' },
      window: { type: 'string' },
      all: { type: 'boolean' },
      from: { type: 'string' },
      to: { type: 'string' },
    },
  });
  const [group, command, ...rest] = positionals;
  const out = (line: string) => console.log(line);
  const target: GatewayTarget = {
    url: (values.url ?? process.env.MANA_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    apiKey: values.key ?? process.env.MANA_API_KEY,
    adminKey: values['admin-key'] ?? process.env.MANA_ADMIN_KEY,
  };
  try {
    if (group === 'aliases' && command === 'check') return await checkAliases(rest, out);
    if (group === 'status') return await statusCommand(target, out);
    if (group === 'usage') return await usageCommand(target, { all: values.all ?? false, from: values.from, to: values.to }, out);
    if (group === 'batch' && command === 'submit') {
      // A live bar on a terminal; one line per update otherwise (logs, CI).
      const progress = (line: string, final: boolean) => (process.stderr.isTTY ? process.stderr.write(`\r${line}${final ? '\n' : ''}`) : console.error(line));
      return await batchSubmit(
        target,
        rest[0],
        { model: values.model, endpoint: values.endpoint, window: values.window, wait: values.wait ?? false, out: values.out },
        out,
        progress,
      );
    }
    if (group === 'jobs') return await jobsCommand(target, command, rest[0], out);
    if (group === 'admin')
      return await adminCommand(
        target,
        [command, ...rest].filter((a): a is string => a !== undefined),
        out,
      );
  } catch (err) {
    if (err instanceof GatewayError) {
      console.error(`mana: ${err.message}`);
      return 1;
    }
    throw err;
  }
  console.error(values.help || group === undefined || group === 'help' ? USAGE : `unknown command: ${argv.join(' ')}\n\n${USAGE}`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
