/**
 * numpy-style printing of arrays (`str(ndarray)`), used by NDArray and, with
 * DeZero's `variable(...)` prefix, by Variable.
 * @module
 */
import type { DType, TypedArray } from "./dtype.ts";
import type { Shape } from "./shape.ts";

/** numpy's `str()` of an array of `shape` over `data`. */
export function formatArray(data: TypedArray, shape: Shape, dtype: DType): string {
  const fmt = (v: number) => dtype === "int32" ? String(v) : String(v);
  const build = (d: number, off: number, indent: string): string => {
    if (d === shape.length) return fmt(data[off]);
    const stride = shape.slice(d + 1).reduce((a, b) => a * b, 1);
    const parts = Array.from({ length: shape[d] }, (_, i) => build(d + 1, off + i * stride, indent + " "));
    const sep = d === shape.length - 1 ? " " : "\n".repeat(shape.length - 1 - d) + indent + " ";
    return "[" + parts.join(sep) + "]";
  };
  return build(0, 0, "");
}
