/**
 * Piscina entry of the pooled session (compiled to dist/workers/session.js). `workerData` carries the compiled
 * kernel module and the shared memory (both are shared with the main thread, never copied); each task is a plain
 * {@link RunTask}. Nothing is validated here: the main thread made the plan.
 */
import { workerData } from 'piscina';
import { relaxedSimdSupported } from '../src/kernels/index.js';
import { PlanExecutor } from '../src/runtime/executor.js';
import type { RunTask } from '../src/runtime/protocol.js';

interface SessionWorkerData {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly relaxed: boolean;
}

const data = workerData as SessionWorkerData;
// The relaxed-SIMD build needs V8's flag in this isolate too before it is instantiated.
if (data.relaxed) relaxedSimdSupported();
const executor = new PlanExecutor(data.module, data.memory);

/** Take part in one run; resolves to the number of blocks this thread computed. */
export default function runTask(task: RunTask): number {
  return executor.run(task);
}

/** Resolves once this thread has loaded (the session waits for every thread before its first run). */
export function ready(): boolean {
  return true;
}
