import { cpuMillis, memoryBytes, parseQuantity, QuantityError } from '../../../src/kube/quantity';

describe('Kubernetes quantities', () => {
  it.each([
    ['4 CPUs', '4', 4000],
    ['250 millicores', '250m', 250],
    ['nanocores from metrics-server', '123456789n', 123],
    ['microcores', '1500u', 2],
    ['fractional cores', '0.5', 500],
  ])('%s: cpu %s is %i millicores', (_name, quantity, millis) => {
    expect(cpuMillis(quantity)).toBe(millis);
  });

  it.each([
    ['16Gi', 16 * 2 ** 30],
    ['1024Ki', 2 ** 20],
    ['1G', 1e9],
    ['128974848', 128974848],
    ['129e6', 129e6],
    ['1.5Mi', 1.5 * 2 ** 20],
  ])('memory %s is %i bytes', (quantity, bytes) => {
    expect(memoryBytes(quantity)).toBe(bytes);
  });

  it.each(['', 'abc', '4 cores', '1Zi', '--1'])('rejects %p with a message naming it', (bad) => {
    expect(() => parseQuantity(bad)).toThrow(QuantityError);
    expect(() => parseQuantity(bad)).toThrow(`"${bad}" is not a Kubernetes quantity`);
  });
});
