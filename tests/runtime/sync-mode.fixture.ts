// Run by stream.test.ts with NEOCOG_SYNC=1.
import { tensor } from '../../lib/index.js';
import { native } from '../../lib/native.js';

const x = tensor([1, 2]);
let thrownAtCall = 'nothing';
try {
  x.indexSelect(0, tensor([9]));
} catch (error) {
  thrownAtCall = (error as Error).name;
}
process.stdout.write(JSON.stringify({ syncMode: native.syncMode(), thrownAtCall, afterwards: x.add(1).tolist() }));
