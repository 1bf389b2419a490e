/**
 * Gives the event loop a turn between tokens, so abort messages and new requests are seen while a
 * generation runs. setTimeout(0) would do, but browsers clamp nested timers to 4 ms, which would
 * cap a fast model at 250 tokens/s; a MessageChannel round trip has no such floor.
 */
const channel = typeof MessageChannel !== 'undefined' ? new MessageChannel() : undefined;
const waiting: (() => void)[] = [];
if (channel) {
  channel.port1.onmessage = () => waiting.shift()?.();
  // In Node an idle port must not keep the process alive.
  (channel.port1 as unknown as { unref?: () => void }).unref?.();
  (channel.port2 as unknown as { unref?: () => void }).unref?.();
}

export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!channel) {
      setTimeout(resolve, 0);
      return;
    }
    waiting.push(resolve);
    channel.port2.postMessage(null);
  });
}
