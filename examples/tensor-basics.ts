// The foundation's main job: tensors, views, queued ops, scopes and devices in one run.
//   npm start            (runs this file with tsx)
import { arange, cuda, manualSeed, memory, randn, scope, synchronize, tensor } from '../lib/index.js';

manualSeed(0);

// Creation, views and printing like PyTorch.
const x = arange(12, { dtype: 'float32' }).reshape(3, 4);
console.log('x =', x.toString());
console.log('x.T =', x.transpose(0, 1).toString());
console.log('x[:, 1:3] =', x.slice(1, 1, 3).toString());

// Ops are queued on the CPU stream and return at once; data() resolves when they ran.
const started = performance.now();
const big = scope(() => {
  const a = randn([1024, 1024]);
  const b = randn([1024, 1024]);
  return a.matmul(b).add(1); // a and b are freed when the scope ends
});
console.log(`queued a 1024x1024 matmul in ${(performance.now() - started).toFixed(2)} ms`);
await synchronize();
console.log(`...computed after ${(performance.now() - started).toFixed(1)} ms (oneDNN)`);
console.log('big[0, :4] =', big.slice(0, 0, 1).slice(1, 0, 4).toString());

// Async scopes free everything but the result, even across await.
const mean = await scope(async () => {
  const values = await big.data();
  return values.reduce((s, v) => s + v, 0) / values.length;
});
console.log(`mean of big = ${mean.toFixed(4)}`);
big.dispose();

// Broadcasting and dtype conversion.
const weights = tensor([0.5, 2], { dtype: 'float32' });
console.log('broadcast =', tensor([[1, 2], [3, 4]], { dtype: 'float32' }).mul(weights).toString());
console.log('to int32  =', tensor([1.7, -1.7]).to('int32').toString());

console.log('memory:', memory('cpu'));
console.log(cuda.isAvailable() ? `CUDA: ${cuda.getDeviceProperties(0).name}` : `CUDA unavailable: ${cuda.unavailableReason()}`);
