/**
 * Canvas drawings shared by the demo pages: the loss curve, and the
 * spiral's decision regions with its points.
 * @module
 */

/** The class colours (regions light, points dark). */
const LIGHT = ["#f6d1c1", "#c9e3cc", "#c7d7ee"];
const DARK = ["#c4472b", "#2f8a3e", "#2f5fa8"];

/** Draws `losses` (one per epoch) as a line over `epochs` epochs, with its last value. */
export function drawLoss(canvas, losses, epochs) {
  const g = canvas.getContext("2d"), { width: w, height: h } = canvas, pad = 30;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = "#999";
  g.strokeRect(pad, 8, w - pad - 8, h - pad - 8);
  const top = Math.max(...losses, 1e-9);
  g.beginPath();
  losses.forEach((l, i) => {
    const x = pad + (w - pad - 8) * i / Math.max(1, epochs - 1);
    const y = 8 + (h - pad - 8) * (1 - l / top);
    if (i === 0) g.moveTo(x, y);
    else g.lineTo(x, y);
  });
  g.strokeStyle = "#c4472b";
  g.stroke();
  g.fillStyle = "#333";
  g.font = "12px sans-serif";
  g.fillText(
    `loss ${losses.at(-1)?.toFixed(4) ?? ""}  (epoch ${losses.length}/${epochs})`,
    pad,
    h - 10,
  );
}

/**
 * Draws the class of each cell of an n x n grid over [lo, hi]^2 (`classes`,
 * row-major, rows from y = lo up) and the points `x` ([x0, y0, ...]) by label.
 */
export function drawRegions(canvas, classes, n, lo, hi, x, t) {
  const g = canvas.getContext("2d"), { width: w, height: h } = canvas;
  const px = (v) => (v - lo) / (hi - lo) * w, py = (v) => h - (v - lo) / (hi - lo) * h;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      g.fillStyle = LIGHT[classes[r * n + c]];
      g.fillRect(
        Math.floor(c * w / n),
        Math.floor(h - (r + 1) * h / n),
        Math.ceil(w / n),
        Math.ceil(h / n),
      );
    }
  }
  for (let i = 0; i < t.length; i++) {
    g.fillStyle = DARK[t[i]];
    g.beginPath();
    g.arc(px(x[2 * i]), py(x[2 * i + 1]), 2.5, 0, 2 * Math.PI);
    g.fill();
  }
}
