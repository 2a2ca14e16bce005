import type { JobEvent } from '@mana/jobs';

/** Buffers a job's events so a route can read them with `for await`, in order. */
export class EventQueue implements AsyncIterable<JobEvent> {
  private readonly buffered: JobEvent[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  readonly push = (event: JobEvent): void => {
    this.buffered.push(event);
    this.wake?.();
  };

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<JobEvent> {
    for (;;) {
      const next = this.buffered.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}
