/**
 * The CSP page: checks that the policy forbids `new Function`, trains 300
 * epochs with the exported step (train.js), copies its weights into the
 * exported predict function and reports the final loss, the accuracy and
 * the CSP violations reported while training (as JSON in #result's
 * data-report, for the browser test).
 * @module
 */
import step, { weights } from "./build/spiral_step.js";
import predict, { setWeights } from "./build/spiral_predict.js";
import { drawLoss } from "./draw.js";
import { accuracy, trainEpoch } from "./train.js";

const EPOCHS = 300;
const out = document.getElementById("result");
const violations = [];
let probed = null;
const reported = new Promise((resolve) => (probed = resolve));
document.addEventListener("securitypolicyviolation", (e) => {
  violations.push(`${e.violatedDirective}: ${e.blockedURI}`);
  probed();
});

try {
  let evalBlocked = false;
  try {
    new Function("return 1")();
  } catch {
    evalBlocked = true;
  }
  // the probe's own violation report arrives as a task: wait for it (or 1 s)
  await Promise.race([reported, new Promise((resolve) => setTimeout(resolve, 1000))]);
  const probeReports = violations.splice(0);
  const data = await (await fetch("./build/spiral.json")).json();
  const losses = [];
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    losses.push(trainEpoch(step, data, epoch));
    drawLoss(document.getElementById("loss"), losses, EPOCHS);
    out.textContent = `epoch ${epoch + 1}: loss ${losses.at(-1).toFixed(4)}`;
    await new Promise((resolve) => setTimeout(resolve));
  }
  setWeights(weights());
  const acc = accuracy(predict(new Float32Array(data.x)), data.t);
  out.textContent = `${EPOCHS} epochs: loss ${losses.at(-1).toFixed(4)}, train accuracy ${
    acc.toFixed(4)
  }; new Function ${evalBlocked ? "blocked" : "ran"}; ${violations.length} CSP violations`;
  out.dataset.report = JSON.stringify({
    done: true,
    evalBlocked,
    probeReports,
    violations,
    loss: losses.at(-1),
    accuracy: acc,
  });
} catch (e) {
  out.textContent = `failed: ${e}`;
  out.dataset.report = JSON.stringify({ done: false, error: String(e?.stack ?? e), violations });
}
