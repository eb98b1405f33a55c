/** The PyTorch golden suite (test/ops.golden.ts) run on the wasm backend, both builds. */
import { registerBackend } from '../src/ops/backend.js';
import { WasmBackend } from '../src/kernels/backend.js';
import { runGoldenSuite } from './ops.golden.js';

registerBackend(new WasmBackend({ name: 'wasm-plain', relaxed: false }));
runGoldenSuite('wasm');
runGoldenSuite('wasm-plain');
