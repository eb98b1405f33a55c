/** The reference backend against PyTorch 1.13 (see test/ops.golden.ts and tools/gen_op_fixtures.py). */
import { runGoldenSuite } from './ops.golden.js';

runGoldenSuite('reference');
