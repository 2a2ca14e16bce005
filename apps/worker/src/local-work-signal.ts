import type { RedisClient } from '@mana/jobs';

/**
 * Wakes this process's idle GPU schedulers when local work is queued
 * anywhere (dispatch publishes the model on one channel). Schedulers also
 * poll at a slow pace, for work that arrives without a message (delayed
 * retries, a message lost in a reconnect).
 */
export class LocalWorkSignal {
  private readonly listeners = new Set<(model: string) => void>();

  static async listen(subscriber: RedisClient, channel: string): Promise<LocalWorkSignal> {
    const signal = new LocalWorkSignal();
    subscriber.on('message', (from: string, model: string) => {
      if (from === channel) for (const listener of signal.listeners) listener(model);
    });
    await subscriber.subscribe(channel);
    return signal;
  }

  on(listener: (model: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
