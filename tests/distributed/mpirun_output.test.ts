import { expect, it } from 'vitest';

import { announcesFailure, mpirunFailure, parseTaggedLine, signalName } from '../../lib/distributed/mpirun_output.js';

it('parseTaggedLine reads the rank and stream of an --tag-output line', () => {
  expect(parseTaggedLine('[1,0]<stdout>:hello')).toEqual({ rank: 0, stream: 'stdout', text: 'hello' });
  expect(parseTaggedLine('[14578,12]<stderr>:Error: [1,2] odd: text')).toEqual({ rank: 12, stream: 'stderr', text: 'Error: [1,2] odd: text' });
  expect(parseTaggedLine('[1,3]<stdout>:')).toEqual({ rank: 3, stream: 'stdout', text: '' });
  // A progress bar redrawn with '\r' reaches mpirun in pieces, each tagged.
  expect(parseTaggedLine('[1,0]<stdout>:[==  ] 1/2\r[1,0]<stdout>:[====] 2/2')).toEqual({ rank: 0, stream: 'stdout', text: '[==  ] 1/2\r[====] 2/2' });
  expect(parseTaggedLine('--------------------------------------------------------------------------')).toBeNull();
  expect(parseTaggedLine('  Process name: [[14578,1],1]')).toBeNull();
});

// mpirun's own lines as Open MPI 4.1.4 printed them here.
const exitedNonZero = [
  '--------------------------------------------------------------------------',
  'Primary job  terminated normally, but 1 process returned',
  'a non-zero exit code. Per user-direction, the job has been aborted.',
  '--------------------------------------------------------------------------',
  '--------------------------------------------------------------------------',
  'mpirun detected that one or more processes exited with non-zero status, thus causing',
  'the job to be terminated. The first process to do so was:',
  '',
  '  Process name: [[14578,1],1]',
  '  Exit code:    3',
  '--------------------------------------------------------------------------',
];
const killed = [
  '--------------------------------------------------------------------------',
  'Primary job  terminated normally, but 1 process returned',
  'a non-zero exit code. Per user-direction, the job has been aborted.',
  '--------------------------------------------------------------------------',
  '--------------------------------------------------------------------------',
  'mpirun noticed that process rank 2 with PID 0 on node vm exited on signal 9 (Killed).',
  '--------------------------------------------------------------------------',
];

it("mpirunFailure finds the failed rank in mpirun's messages", () => {
  expect(mpirunFailure(exitedNonZero)).toEqual({ rank: 1, exitCode: 3, signal: null });
  expect(mpirunFailure(killed)).toEqual({ rank: 2, exitCode: null, signal: 'SIGKILL' });
  expect(mpirunFailure(['MPI_ABORT was invoked on rank 4 in communicator MPI_COMM_WORLD', 'with errorcode 7.'])).toEqual({ rank: 4, exitCode: 7, signal: null });
  expect(mpirunFailure(['something else entirely'])).toBeNull();
  expect(mpirunFailure([])).toBeNull();
});

it('announcesFailure spots the lines by which mpirun aborts a job', () => {
  expect(exitedNonZero.some(announcesFailure)).toBe(true);
  expect(killed.some(announcesFailure)).toBe(true);
  expect(announcesFailure('[1,0]<stdout>:all fine')).toBe(false);
});

it('signalName names signals by number', () => {
  expect([signalName(9), signalName(15), signalName(2)]).toEqual(['SIGKILL', 'SIGTERM', 'SIGINT']);
  expect(signalName(250)).toBe('signal 250');
});
