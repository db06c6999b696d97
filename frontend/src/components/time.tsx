import { useEffect, useState } from 'react';
import { fullDateTime, relativeTime } from '../lib/format';

// One clock for every relative time on the page: they all re-render together once a minute.
const listeners = new Set<() => void>();
let timer: number | undefined;

function useMinuteTick(): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const listener = () => setTick((n) => n + 1);
    listeners.add(listener);
    timer ??= window.setInterval(() => listeners.forEach((l) => l()), 30_000);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) {
        window.clearInterval(timer);
        timer = undefined;
      }
    };
  }, []);
  return tick;
}

/** "5 min. ago", with the full date and time on hover. */
export function RelativeTime({ at, className }: { at: string; className?: string }) {
  useMinuteTick();
  return (
    <time dateTime={at} title={fullDateTime(at)} className={className}>
      {relativeTime(at)}
    </time>
  );
}
