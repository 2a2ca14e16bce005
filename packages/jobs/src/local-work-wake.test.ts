import { describe, expect, it } from 'vitest';
import { testPrefix, testRedis } from '@mana/testing';
import { ALONE_RECHECK_MS, announceLocalWork, listenForLocalWork, wakeForLocalWork } from './local-work-wake.js';
import { Cluster } from 'ioredis';
import type { RedisClient } from './redis.js';

describe('local work wake-ups', () => {
  it('wakes listeners in this process at once, and not again when the published message comes back', () => {
    const woken: string[] = [];
    const listening = listenForLocalWork('chan-a', (model) => woken.push(model));
    const message = wakeForLocalWork('chan-a', 'gemma3:4b');
    expect(woken).toEqual(['gemma3:4b']);
    listening.onMessage(message);
    expect(woken).toEqual(['gemma3:4b']);
    listening.close();
  });

  it("delivers another process's messages with their count of hops, and earlier versions' (no count, no id) without one", () => {
    const woken: Array<[string, number | undefined]> = [];
    const listening = listenForLocalWork('chan-b', (model, hops) => woken.push([model, hops]));
    listening.onMessage('qwen3:8b\nelsewhere.6\n40');
    listening.onMessage('qwen3:8b\nelsewhere.7');
    listening.onMessage('llama3:8b');
    listening.onMessage('llama3:8b\nelsewhere.8\nmany');
    expect(woken).toEqual([
      ['qwen3:8b', 40],
      ['qwen3:8b', undefined],
      ['llama3:8b', undefined],
      ['llama3:8b', undefined],
    ]);
    listening.close();
  });

  it('tells listeners here, and in the message, how many hops a batch queued', () => {
    const woken: Array<[string, number | undefined]> = [];
    const listening = listenForLocalWork('chan-e', (model, hops) => woken.push([model, hops]));
    const message = wakeForLocalWork('chan-e', 'gemma3:4b', 12);
    expect(woken).toEqual([['gemma3:4b', 12]]);
    expect(message.split('\n')[2]).toBe('12');
    listening.close();
  });

  it('keeps channels (prefixes) apart, and stops waking a closed listener', () => {
    const woken: string[] = [];
    const listening = listenForLocalWork('chan-c', (model) => woken.push(model));
    const elsewhere = wakeForLocalWork('chan-d', 'gemma3:4b');
    expect(woken).toEqual([]);
    // Nobody here was woken for it, so the message is delivered when it arrives on a channel listened to.
    listening.onMessage(elsewhere);
    expect(woken).toEqual(['gemma3:4b']);
    listening.close();
    wakeForLocalWork('chan-c', 'gemma3:4b');
    expect(woken).toEqual(['gemma3:4b']);
  });
});

describe('announcing local work', () => {
  it('stops publishing while only this process listens, and publishes again once another does', async () => {
    const channel = `${testPrefix()}:local-work`;
    const redis = testRedis();
    const heard = (subscriber: RedisClient) => {
      const messages: string[] = [];
      subscriber.on('message', (_from: string, message: string) => messages.push(message));
      return messages;
    };
    // This process: a listener, with its subscription (as LocalWorkSignal holds them).
    const woken: string[] = [];
    const listening = listenForLocalWork(channel, (model) => woken.push(model));
    const mine = testRedis();
    const mineHeard = heard(mine);
    await mine.subscribe(channel);
    try {
      const t0 = Date.now();
      await announceLocalWork(redis, channel, 'gemma3:4b', 1, t0);
      await announceLocalWork(redis, channel, 'gemma3:4b', 1, t0 + 1);
      expect(woken).toEqual(['gemma3:4b', 'gemma3:4b']);
      // On a Redis Cluster nothing is skipped: its PUBLISH counts one node's subscribers only.
      const onCluster = redis instanceof Cluster;
      await expect.poll(() => mineHeard.length).toBe(onCluster ? 2 : 1);
      // Another process's worker subscribes: the next look (after ALONE_RECHECK_MS) finds it, and messages flow again.
      const theirs = testRedis();
      const theirsHeard = heard(theirs);
      await theirs.subscribe(channel);
      await announceLocalWork(redis, channel, 'qwen3:8b', 1, t0 + ALONE_RECHECK_MS + 1);
      await announceLocalWork(redis, channel, 'qwen3:8b', 1, t0 + ALONE_RECHECK_MS + 2);
      // On a Cluster a message published before it subscribed may still be on its way between nodes, and reach it too.
      const models = () => theirsHeard.map((m) => m.split('\n')[0]).filter((model) => !onCluster || model === 'qwen3:8b');
      await expect.poll(models).toEqual(['qwen3:8b', 'qwen3:8b']);
      expect(woken).toEqual(['gemma3:4b', 'gemma3:4b', 'qwen3:8b', 'qwen3:8b']);
      if (onCluster) {
        // A message published on one node reaches the others in its own time: waited for.
        await expect.poll(() => mineHeard.length).toBe(4);
      } else {
        // Every message to this process has arrived once its PING is answered (one server, one connection, in order).
        await mine.ping();
        expect(mineHeard).toHaveLength(3);
      }
      theirs.disconnect();
    } finally {
      listening.close();
      mine.disconnect();
      redis.disconnect();
    }
  });
});
