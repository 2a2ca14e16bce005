/**
 * Where Redis is: one server (REDIS_URL), or a Redis Cluster whose seed nodes
 * are listed in REDIS_CLUSTER_NODES. With a cluster, the user name, password
 * and TLS of REDIS_URL (when it has them) apply to every node, as managed
 * cluster offerings hand out one set of credentials.
 */
export type RedisTarget =
  { kind: 'single'; url: string } | { kind: 'cluster'; nodes: ReadonlyArray<{ host: string; port: number }>; username?: string; password?: string; tls: boolean };

const NODE = /^\[?([A-Za-z0-9.:-]+?)\]?:(\d{1,5})$/;

/** `host:port,host:port` (redis:// URLs also accepted) → nodes, or a message naming the bad entry. */
export function parseClusterNodes(raw: string): { ok: true; value: Array<{ host: string; port: number }> } | { ok: false; error: string } {
  const nodes: Array<{ host: string; port: number }> = [];
  for (const entry of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const bare = entry
      .replace(/^rediss?:\/\//, '')
      .replace(/\/.*$/, '')
      .replace(/^.*@/, '');
    const match = NODE.exec(bare);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) return { ok: false, error: `expected host:port entries separated by commas; "${entry}" is not one` };
    nodes.push({ host: match[1]!, port });
  }
  if (nodes.length === 0) return { ok: false, error: 'expected at least one host:port' };
  return { ok: true, value: nodes };
}

export function redisTarget(url: string, clusterNodes: ReadonlyArray<{ host: string; port: number }> | undefined): RedisTarget {
  if (!clusterNodes) return { kind: 'single', url };
  const parsed = new URL(url);
  return {
    kind: 'cluster',
    nodes: clusterNodes,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    tls: parsed.protocol === 'rediss:',
  };
}

/** For logs and banners: where Redis is, never with its password. */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.kind === 'cluster') return `Redis Cluster (seeds ${target.nodes.map((n) => `${n.host}:${n.port}`).join(', ')})`;
  const url = new URL(target.url);
  if (url.password) url.password = '***';
  return url.toString();
}
