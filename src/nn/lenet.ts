import type { NetworkSpec } from './sequential.js';

/** The networks of the Deep Compression paper's MNIST experiments (Caffe's LeNet definitions). */
export const LENET_300_100: NetworkSpec = {
  name: 'lenet-300-100',
  input: [784],
  layers: [
    { type: 'linear', name: 'fc1', out: 300 },
    { type: 'relu' },
    { type: 'linear', name: 'fc2', out: 100 },
    { type: 'relu' },
    { type: 'linear', name: 'fc3', out: 10 },
  ],
};

export const LENET_5: NetworkSpec = {
  name: 'lenet-5',
  input: [28, 28, 1],
  layers: [
    { type: 'conv2d', name: 'conv1', out: 20, kernel: 5 },
    { type: 'maxpool2d', kernel: 2 },
    { type: 'conv2d', name: 'conv2', out: 50, kernel: 5 },
    { type: 'maxpool2d', kernel: 2 },
    { type: 'flatten' },
    { type: 'linear', name: 'fc1', out: 500 },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', name: 'fc2', out: 10 },
  ],
};

export const NETWORKS: Record<string, NetworkSpec> = {
  [LENET_300_100.name]: LENET_300_100,
  [LENET_5.name]: LENET_5,
};
