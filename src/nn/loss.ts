/**
 * Softmax cross-entropy over logits [batch, classes]: writes ∂(mean loss)/∂logits = (softmax - onehot) / batch
 * into dLogits and returns the mean loss and the number of correct argmax predictions.
 */
export function softmaxCrossEntropy(
  logits: Float32Array,
  labels: ArrayLike<number>,
  batch: number,
  classes: number,
  dLogits: Float32Array,
): { loss: number; correct: number } {
  let loss = 0;
  let correct = 0;
  for (let b = 0; b < batch; b++) {
    const o = b * classes;
    let max = -Infinity;
    let best = 0;
    for (let c = 0; c < classes; c++)
      if (logits[o + c] > max) {
        max = logits[o + c];
        best = c;
      }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[o + c] - max);
    const y = labels[b];
    loss += Math.log(sum) - (logits[o + y] - max);
    if (best === y) correct++;
    for (let c = 0; c < classes; c++)
      dLogits[o + c] = (Math.exp(logits[o + c] - max) / sum - (c === y ? 1 : 0)) / batch;
  }
  return { loss: loss / batch, correct };
}
