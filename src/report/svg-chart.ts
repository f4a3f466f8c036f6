/** A small line chart as standalone SVG (no dependencies): one polyline per series, axes, ticks, legend. */
export interface Series {
  name: string;
  points: [number, number][];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** vertical lines at these x values (e.g. shared-weight centroids) */
  markers?: { name: string; xs: number[] };
  width?: number;
  height?: number;
}

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

export function lineChartSvg(o: ChartOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 420;
  const m = { left: 70, right: 150, top: 40, bottom: 55 };
  const all = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const [x0, x1] = extent(all.map(([x]) => x));
  const [y0, y1] = extent(all.map(([, y]) => y));
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0 || 1)) * (width - m.left - m.right);
  const sy = (y: number) => height - m.bottom - ((y - y0) / (y1 - y0 || 1)) * (height - m.top - m.bottom);
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const ticks = (a: number, b: number) => Array.from({ length: 6 }, (_, i) => a + ((b - a) * i) / 5);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`,
    `<line x1="${m.left}" y1="${height - m.bottom}" x2="${width - m.right}" y2="${height - m.bottom}" stroke="black"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${height - m.bottom}" stroke="black"/>`,
    ...ticks(x0, x1).map(
      (x) => `<text x="${sx(x)}" y="${height - m.bottom + 18}" text-anchor="middle">${formatTick(x)}</text>`,
    ),
    ...ticks(y0, y1).map(
      (y) =>
        `<text x="${m.left - 8}" y="${sy(y) + 4}" text-anchor="end">${formatTick(y)}</text>` +
        `<line x1="${m.left}" y1="${sy(y)}" x2="${width - m.right}" y2="${sy(y)}" stroke="#ddd"/>`,
    ),
    `<text x="${(m.left + width - m.right) / 2}" y="${height - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text transform="translate(18 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
  ];
  o.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`,
      `<line x1="${width - m.right + 12}" y1="${m.top + 10 + i * 20}" x2="${width - m.right + 36}" y2="${m.top + 10 + i * 20}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${width - m.right + 42}" y="${m.top + 14 + i * 20}">${esc(s.name)}</text>`,
    );
  });
  if (o.markers) {
    const i = o.series.length;
    const color = COLORS[i % COLORS.length];
    for (const x of o.markers.xs)
      parts.push(
        `<line x1="${sx(x).toFixed(1)}" y1="${m.top}" x2="${sx(x).toFixed(1)}" y2="${height - m.bottom}" stroke="${color}" stroke-width="1" stroke-opacity="0.7"/>`,
      );
    parts.push(
      `<line x1="${width - m.right + 12}" y1="${m.top + 10 + i * 20}" x2="${width - m.right + 36}" y2="${m.top + 10 + i * 20}" stroke="${color}" stroke-width="1"/>`,
      `<text x="${width - m.right + 42}" y="${m.top + 14 + i * 20}">${esc(o.markers.name)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function extent(values: number[]): [number, number] {
  if (values.length === 0) return [0, 1];
  return [Math.min(...values), Math.max(...values)];
}

function formatTick(v: number): string {
  if (Math.abs(v) >= 1000) return `${Math.round(v / 1000)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** Counts of `values` in `bins` equal bins over [lo, hi], as (bin centre, count) points. */
export function histogram(
  values: ArrayLike<number>,
  bins: number,
  lo: number,
  hi: number,
): [number, number][] {
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins || 1;
  for (let i = 0; i < values.length; i++) {
    const b = Math.floor((values[i] - lo) / width);
    if (b >= 0 && b <= bins) counts[Math.min(b, bins - 1)]++;
  }
  return counts.map((c, b) => [lo + (b + 0.5) * width, c]);
}
