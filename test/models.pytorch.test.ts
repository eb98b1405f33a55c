import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTorchCheckpoint } from '../src/models/pytorch/checkpoint.js';
import { Tensor } from '../src/tensor/tensor.js';

const MODELS = join(import.meta.dirname, 'fixtures', 'models');

describe('torch.save checkpoint reader', () => {
  it('reads a plain state_dict: OrderedDict of float32 tensors with their shapes', () => {
    const f = join(MODELS, 'unet_t_c1_b4_d3', 'model.pth');
    const sd = readTorchCheckpoint(readFileSync(f), f) as Map<string, unknown>;
    expect(sd).toBeInstanceOf(Map);
    const w = sd.get('inc.double_conv.0.weight') as Tensor;
    expect(w).toBeInstanceOf(Tensor);
    expect(w.shape).toEqual([4, 3, 3, 3]);
    expect((sd.get('inc.double_conv.1.num_batches_tracked') as Tensor).data[0]).toBe(7);
  });

  it('reads a {"model_state_dict": …, "epoch": 3} checkpoint', () => {
    const f = join(MODELS, 'unet_b_c3_b8_d2', 'model.pth');
    const ck = readTorchCheckpoint(readFileSync(f), f) as Map<string, unknown>;
    expect(ck.get('epoch')).toBe(3);
    expect(ck.get('model_state_dict')).toBeInstanceOf(Map);
  });

  it('keeps mask_values as a plain list', () => {
    const f = join(MODELS, 'unet_t_c3_b6_d2', 'model.pth');
    const ck = readTorchCheckpoint(readFileSync(f), f) as Map<string, unknown>;
    expect(ck.get('mask_values')).toEqual([0, 1, 2]);
  });
});
