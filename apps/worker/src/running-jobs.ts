import type { RedisClient } from '@mana/jobs';

/**
 * The jobs this process is running now, each with the controller that
 * aborts its provider call. A cancel published by any API process reaches
 * every worker process; the one running the job aborts it.
 */
export class RunningJobs {
  private readonly controllers = new Map<string, AbortController>();

  static async listen(subscriber: RedisClient, channel: string): Promise<RunningJobs> {
    const running = new RunningJobs();
    subscriber.on('message', (from: string, jobId: string) => {
      if (from === channel) running.abort(jobId);
    });
    await subscriber.subscribe(channel);
    return running;
  }

  start(jobId: string): AbortController {
    const controller = new AbortController();
    this.controllers.set(jobId, controller);
    return controller;
  }

  finish(jobId: string, controller: AbortController): void {
    if (this.controllers.get(jobId) === controller) this.controllers.delete(jobId);
  }

  abort(jobId: string): void {
    this.controllers.get(jobId)?.abort();
  }

  /** Aborts everything (a forced shutdown); the hops stall and another worker reruns them. */
  abortAll(): void {
    for (const controller of this.controllers.values()) controller.abort();
  }
}
