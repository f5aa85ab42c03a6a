/**
 * A small-multiples bar chart as plain SVG (no chart library): one panel per figure, one bar per
 * system. Bars use a log scale because the systems differ by orders of magnitude (a polling queue
 * next to a push-woken one); the exact value is printed at the end of each bar.
 */

export interface Bar {
  label: string;
  value: number | null;
  color: string;
  /** Shown instead of a bar when value is null. */
  missing?: string;
}

export interface Panel {
  title: string;
  better: "higher" | "lower";
  bars: Bar[];
  format(v: number): string;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const PANEL_W = 470;
const LABEL_W = 170;
const BAR_H = 14;
const GAP = 4;
const COLS = 2;

export function chartSvg(title: string, subtitle: string, panels: Panel[]): string {
  const heights = panels.map((p) => 46 + p.bars.length * (BAR_H + GAP) + 12);
  const rows: number[] = [];
  for (let i = 0; i < panels.length; i += COLS) rows.push(Math.max(...heights.slice(i, i + COLS)));
  const top = 56;
  const width = COLS * PANEL_W + 20;
  const height = top + rows.reduce((s, h) => s + h, 0) + 10;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="16" font-weight="600" fill="#111">${esc(title)}</text>`,
    `<text x="10" y="40" fill="#555">${esc(subtitle)}</text>`,
  ];
  let y = top;
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < COLS; c++) {
      const panel = panels[r * COLS + c];
      if (panel) parts.push(panelSvg(panel, 10 + c * PANEL_W, y));
    }
    y += rows[r]!;
  }
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

function panelSvg(p: Panel, x: number, y: number): string {
  const values = p.bars.map((b) => b.value).filter((v): v is number => v !== null && v > 0);
  const max = Math.max(...values, 1);
  const min = Math.min(...values, max);
  // Log scale from a decade below the smallest value to the largest, so every bar is visible.
  const lo = Math.log10(min) - 1;
  const hi = Math.log10(max);
  const plotW = PANEL_W - LABEL_W - 80;
  const scale = (v: number) => (hi === lo ? plotW : ((Math.log10(v) - lo) / (hi - lo)) * plotW);
  const best = p.better === "higher" ? Math.max(...values) : Math.min(...values);
  const out = [
    `<g transform="translate(${x},${y})">`,
    `<text x="0" y="14" font-size="12" font-weight="600" fill="#222">${esc(p.title)}</text>`,
    `<text x="0" y="28" font-size="10" fill="#777">${p.better} is better · log scale · best in bold</text>`,
  ];
  p.bars.forEach((b, i) => {
    const by = 38 + i * (BAR_H + GAP);
    out.push(`<text x="${LABEL_W - 6}" y="${by + BAR_H - 3}" text-anchor="end" fill="#333">${esc(b.label)}</text>`);
    if (b.value === null || !(b.value > 0)) {
      out.push(`<text x="${LABEL_W}" y="${by + BAR_H - 3}" fill="#999" font-style="italic">${esc(b.missing ?? "not measured")}</text>`);
      return;
    }
    const w = Math.max(2, scale(b.value));
    out.push(`<rect x="${LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${b.color}" rx="2"/>`);
    out.push(
      `<text x="${(LABEL_W + w + 4).toFixed(1)}" y="${by + BAR_H - 3}" fill="#222"${b.value === best ? ' font-weight="700"' : ""}>${esc(p.format(b.value))}</text>`,
    );
  });
  out.push("</g>");
  return out.join("\n");
}
