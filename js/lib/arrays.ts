/**
 * Decode the compact arrays the Python side sends. Numeric arrays travel as binary
 * buffers (traitlets `Bytes`, little-endian float32 / int32); the widget manager hands
 * them over as a DataView, an ArrayBuffer or a typed array depending on the host.
 */

export type Binary = DataView | ArrayBuffer | ArrayBufferView | number[] | null | undefined;

function bytesOf(b: Exclude<Binary, number[] | null | undefined>): { buf: ArrayBufferLike; off: number; len: number } {
  if (b instanceof ArrayBuffer) return { buf: b, off: 0, len: b.byteLength };
  const v = b as ArrayBufferView;
  return { buf: v.buffer, off: v.byteOffset, len: v.byteLength };
}

/** Little-endian float32 values of a binary buffer (a copy, safe to keep). */
export function toFloat32(b: Binary): Float32Array {
  if (b == null) return new Float32Array(0);
  if (Array.isArray(b)) return Float32Array.from(b);
  const { buf, off, len } = bytesOf(b);
  const n = Math.floor(len / 4);
  const dv = new DataView(buf as ArrayBuffer, off, len);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

/** Little-endian int32 values of a binary buffer (a copy, safe to keep). */
export function toInt32(b: Binary): Int32Array {
  if (b == null) return new Int32Array(0);
  if (Array.isArray(b)) return Int32Array.from(b);
  const { buf, off, len } = bytesOf(b);
  const n = Math.floor(len / 4);
  const dv = new DataView(buf as ArrayBuffer, off, len);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
  return out;
}

/** Encode float32 values as a little-endian DataView (what the Python side expects). */
export function fromFloat32(values: ArrayLike<number>): DataView {
  const dv = new DataView(new ArrayBuffer(values.length * 4));
  for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
  return dv;
}

/** Encode int32 values as a little-endian DataView. */
export function fromInt32(values: ArrayLike<number>): DataView {
  const dv = new DataView(new ArrayBuffer(values.length * 4));
  for (let i = 0; i < values.length; i++) dv.setInt32(i * 4, values[i], true);
  return dv;
}
