/**
 * Colour scales that read in print and for colour-blind readers.
 *
 * Viridis and cividis are perceptually uniform and their lightness rises monotonically,
 * so a greyscale print still orders the values, and they avoid the red/green contrast
 * that most colour-vision deficiencies lose. The stops are sampled from the published
 * matplotlib tables (nine per scale) and interpolated linearly in sRGB.
 */

export type ScaleName = "viridis" | "cividis";

const STOPS: Record<ScaleName, [number, number, number][]> = {
  viridis: [
    [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
    [31, 158, 137], [53, 183, 121], [110, 206, 88], [181, 222, 43], [253, 231, 37],
  ],
  cividis: [
    [0, 34, 78], [18, 53, 112], [59, 73, 108], [87, 93, 109], [112, 113, 115],
    [138, 134, 120], [165, 156, 116], [194, 179, 105], [225, 204, 85], [254, 232, 56],
  ],
};

/** RGB of `t` in [0, 1] on the scale (values outside are clamped, NaN -> grey). */
export function rgbAt(t: number, scale: ScaleName = "viridis"): [number, number, number] {
  if (!Number.isFinite(t)) return [190, 190, 190];
  const stops = STOPS[scale];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as [number, number, number];
}

/** CSS colour string of `t` in [0, 1]. */
export function colorAt(t: number, scale: ScaleName = "viridis"): string {
  const [r, g, b] = rgbAt(t, scale);
  return `rgb(${r}, ${g}, ${b})`;
}

/** Black or white, whichever reads better on the scale colour at `t`. */
export function textColorAt(t: number, scale: ScaleName = "viridis"): string {
  const [r, g, b] = rgbAt(t, scale);
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return lum > 140 ? "#000" : "#fff";
}

/** The [min, max] of finite values (0, 1 when there are none; widened when flat). */
export function extent(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (hi - lo < 1e-12) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

/** Format a score for display: whole numbers as they are, others two significant digits. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  if (Number.isInteger(v) && Math.abs(v) < 1000) return String(v);
  const a = Math.abs(v);
  if (a >= 100 || a < 0.01) return v.toExponential(1);
  return v.toPrecision(2);
}
