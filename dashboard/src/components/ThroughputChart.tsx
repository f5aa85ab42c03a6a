import { useLayoutEffect, useRef, useState } from "react";
import type { StatsBucket } from "../../../src/server/contract";
import { formatClock } from "../lib/format";

/**
 * Succeeded and failed tasks per minute over the last hour, as stacked SVG bars drawn here:
 * one small chart does not justify a charting library in the package.
 */
export function ThroughputChart({ buckets }: { buckets: StatsBucket[] }) {
  // Drawn at the figure's real width, so the labels keep their size on a phone and a wide screen.
  const ref = useRef<HTMLElement>(null);
  const [width, setWidth] = useState(720);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(240, Math.round(el.clientWidth)));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const height = 180;
  const pad = { left: 36, right: 8, top: 10, bottom: 22 };
  const max = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed));
  const scale = niceMax(max);
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const bw = innerW / Math.max(1, buckets.length);
  const y = (v: number) => pad.top + innerH - (v / scale) * innerH;
  const totalOk = buckets.reduce((n, b) => n + b.succeeded, 0);
  const totalFail = buckets.reduce((n, b) => n + b.failed, 0);
  const ticks = [0, scale / 2, scale];
  return (
    <figure className="chart" ref={ref}>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Last hour: ${totalOk} succeeded, ${totalFail} failed`}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={pad.left} x2={width - pad.right} y1={y(t)} y2={y(t)} className="grid" />
            <text x={pad.left - 6} y={y(t) + 4} textAnchor="end" className="axis">
              {Number.isInteger(t) ? t : t.toFixed(1)}
            </text>
          </g>
        ))}
        {buckets.map((b, i) => {
          const x = pad.left + i * bw + 1;
          const w = Math.max(1, bw - 2);
          return (
            <g key={b.start}>
              <title>{`${formatClock(b.start)}: ${b.succeeded} succeeded, ${b.failed} failed, ${b.retrying} retried`}</title>
              <rect x={x} width={w} y={y(b.succeeded)} height={y(0) - y(b.succeeded)} className="bar-ok" />
              <rect x={x} width={w} y={y(b.succeeded + b.failed)} height={y(b.succeeded) - y(b.succeeded + b.failed)} className="bar-fail" />
            </g>
          );
        })}
        {buckets.length > 0
          ? [0, Math.floor(buckets.length / 2), buckets.length - 1].map((i) => (
              <text key={i} x={pad.left + i * bw + bw / 2} y={height - 6} textAnchor="middle" className="axis">
                {formatClock(buckets[i]!.start).slice(0, 5)}
              </text>
            ))
          : null}
      </svg>
      <figcaption>
        <span className="key key-ok" /> succeeded ({totalOk}) <span className="key key-fail" /> failed ({totalFail}) per minute, last hour
      </figcaption>
    </figure>
  );
}

/** 1, 2, 5 × 10^n at or above `n`, so the axis labels are round. */
function niceMax(n: number): number {
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}
