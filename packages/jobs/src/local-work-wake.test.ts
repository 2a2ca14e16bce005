import { describe, expect, it } from 'vitest';
import { listenForLocalWork, wakeForLocalWork } from './local-work-wake.js';

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

  it("delivers another process's messages, and an earlier version's without an id", () => {
    const woken: string[] = [];
    const listening = listenForLocalWork('chan-b', (model) => woken.push(model));
    listening.onMessage('qwen3:8b\nelsewhere.7');
    listening.onMessage('llama3:8b');
    expect(woken).toEqual(['qwen3:8b', 'llama3:8b']);
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
