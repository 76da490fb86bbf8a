// Stands in for sharp in the GPU kit's bundles (scripts/gpu/make-kit.sh): the benchmarks feed pixels
// directly and never decode files, and sharp's native binary is not carried to the GPU machine.
module.exports = function sharpIsNotInTheGpuKit() {
  throw new Error('sharp is not part of the GPU benchmark kit');
};
