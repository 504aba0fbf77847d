/**
 * The examples' digits: random subsets of a digit dataset (for quick runs),
 * and pictures: a grid of grayscale images (MNIST digits,
 * generated or reconstructed ones) written as a PNG file with
 * `npm:fast-png` (examples only; the library never imports it), or as an
 * SVG file that captions each digit (the PNG of each embedded).
 * @module
 */
import * as dz from "../mod.ts";

/** The part of `npm:fast-png` used here. */
interface FastPng {
  encode(image: {
    width: number;
    height: number;
    data: Uint8Array;
    channels: number;
    depth: number;
  }): Uint8Array;
}

const png = (): Promise<FastPng> => import("npm:fast-png@8.0.0") as Promise<FastPng>;

/** A gray image: `width * height` bytes, row by row. */
interface Gray {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * `images` (`[N, 1, H, W]`, `[N, H, W]` or `[N, H * W]` with a square
 * digit; values in [0, 1], clipped) as one picture: `cols` per row, each
 * scaled up `scale` times, `gap` white pixels between them.
 */
function tile(images: dz.NDArray, cols: number, scale: number, gap = 2): Gray {
  const n = images.shape[0];
  const px = images.size / n;
  const side = Math.round(Math.sqrt(px));
  const rows = Math.ceil(n / cols), cell = side * scale + gap;
  const width = cols * cell + gap, height = rows * cell + gap;
  const data = new Uint8Array(width * height).fill(255); // white between the images
  const src = images.data;
  for (let k = 0; k < n; k++) {
    const x0 = gap + (k % cols) * cell, y0 = gap + Math.floor(k / cols) * cell;
    for (let y = 0; y < side * scale; y++) {
      for (let x = 0; x < side * scale; x++) {
        const v = src[k * px + Math.floor(y / scale) * side + Math.floor(x / scale)];
        data[(y0 + y) * width + x0 + x] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
    }
  }
  return { width, height, data };
}

/** Writes `images` as a grid PNG (see `tile`); returns the file's absolute path. */
export async function saveDigits(
  path: string,
  images: dz.NDArray,
  cols: number,
  scale = 2,
): Promise<string> {
  const { encode } = await png();
  await Deno.writeFile(path, encode({ ...tile(images, cols, scale), channels: 1, depth: 8 }));
  return await Deno.realPath(path);
}

/**
 * Writes `images` as an SVG grid, each digit (a PNG, scaled 2x) with its
 * caption below; returns the file's absolute path.
 */
export async function saveCaptionedDigits(
  path: string,
  images: dz.NDArray,
  captions: string[],
  cols: number,
): Promise<string> {
  const { encode } = await png();
  const n = images.shape[0], px = images.size / n;
  const side = Math.round(Math.sqrt(px)), size = 2 * side;
  const cellW = Math.max(size, 64) + 8, cellH = size + 24;
  const rows = Math.ceil(n / cols);
  const parts: string[] = [];
  for (let k = 0; k < n; k++) {
    const one = tile(new dz.NDArray(images.data.subarray(k * px, (k + 1) * px), [1, px]), 1, 2, 0);
    const b64 = btoa(String.fromCharCode(...encode({ ...one, channels: 1, depth: 8 })));
    const x = (k % cols) * cellW + (cellW - size) / 2, y = Math.floor(k / cols) * cellH + 4;
    parts.push(
      `<image x="${x}" y="${y}" width="${size}" height="${size}" href="data:image/png;base64,${b64}"/>`,
      `<text x="${x + size / 2}" y="${y + size + 14}" text-anchor="middle">${captions[k]}</text>`,
    );
  }
  const width = cols * cellW, height = rows * cellH;
  await Deno.writeTextFile(
    path,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/>` +
      `${parts.join("")}</svg>\n`,
  );
  return await Deno.realPath(path);
}

/**
 * `n` examples of `dataset` drawn at random (with `dz.random`), keeping its
 * transforms; the whole dataset when `n` is 0 or not smaller.
 */
export function randomSubset(dataset: dz.Dataset, n: number): dz.Dataset {
  if (n === 0 || n >= dataset.length) return dataset;
  const pick = [Array.from(dz.random.permutation(dataset.length).data.subarray(0, n))];
  return new dz.Dataset(
    dz.F.getItem(dataset.data, pick).data,
    dz.F.getItem(dataset.label, pick).data,
    {
      train: dataset.train,
      transform: dataset.transform,
      targetTransform: dataset.targetTransform,
    },
  );
}
