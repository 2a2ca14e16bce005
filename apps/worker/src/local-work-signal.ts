import { type RedisClient, listenForLocalWork } from '@mana/jobs';

/**
 * Wakes this process's idle GPU schedulers when local work is queued
 * anywhere: dispatch publishes the model on one channel, and wakes the
 * schedulers of its own process directly (see listenForLocalWork).
 * Schedulers also poll at a slow pace, for work that arrives without a
 * message (delayed retries, a message lost in a reconnect).
 */
export class LocalWorkSignal {
  private readonly listeners = new Set<(model: string, hops: number | undefined) => void>();
  private stopListening: () => void = () => {};

  static async listen(subscriber: RedisClient, channel: string): Promise<LocalWorkSignal> {
    const signal = new LocalWorkSignal();
    const local = listenForLocalWork(channel, (model, hops) => {
      for (const listener of signal.listeners) listener(model, hops);
    });
    signal.stopListening = local.close;
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) local.onMessage(message);
    });
    await subscriber.subscribe(channel);
    return signal;
  }

  /** `hops`: how many were queued, undefined when the message did not say (an earlier version's). */
  on(listener: (model: string, hops: number | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops the direct wake-ups (the process's workers are closing). */
  close(): void {
    this.stopListening();
  }
}
