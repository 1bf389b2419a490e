/**
 * Gives the event loop a turn between tokens, so abort messages, response chunks and new requests
 * are handled while a generation runs.
 * - Node: setImmediate. (A MessageChannel ping-pong would starve other ports there: Node drains a
 *   port's queue, including messages posted while draining, before serving anything else.)
 * - Browsers and workers: a MessageChannel round trip. setTimeout(0) would do, but nested timers
 *   are clamped to 4 ms, which would cap a fast model at 250 tokens/s.
 */
const channel = typeof setImmediate === 'undefined' && typeof MessageChannel !== 'undefined' ? new MessageChannel() : undefined;
const waiting: (() => void)[] = [];
if (channel) channel.port1.onmessage = () => waiting.shift()?.();

export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => {
    if (typeof setImmediate !== 'undefined') setImmediate(resolve);
    else if (channel) {
      waiting.push(resolve);
      channel.port2.postMessage(null);
    } else setTimeout(resolve, 0);
  });
}
