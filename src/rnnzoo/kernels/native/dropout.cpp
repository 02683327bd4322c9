// Counter-based dropout: y = x * keep(i) / (1 - rate), where keep(i) is a pure function of the
// element's index i and two 32-bit keys drawn once per call from torch's generator.
//
// Why not torch.bernoulli: on the CPU it draws one random number per element through the
// generator, which costs more than a whole recurrent layer's pointwise work (docs/performance.md).
// A counter-based mask costs a few integer operations per element, vectorises, splits across
// threads with no shared state, and needs no stored mask for the backward pass: the gradient goes
// through the same function with the same keys. rnnzoo/kernels/dropout.py computes the identical
// mask with tensor operations where this code is not built.
//
// keep(i): h = mix(mix(lo32(i) ^ key0) ^ key1 ^ hi32(i) * 0x9e3779b9), kept when the top 24 bits
// of h are >= threshold = round(rate * 2^24); mix is Wellons' "lowbias32" integer hash.

#include <ATen/ATen.h>  // not torch/extension.h: its C++ frontend's headers would dominate the build
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>

namespace {

inline uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

// Elements [begin, end) in runs that share the upper 32 bits of their index (of at most 2^30 each),
// so that the loop runs on 32-bit lanes alone: with the 64-bit index in the loop, half of every
// vector went to it and to shuffling its halves apart (a third slower). The same mask, bit for bit.
template <typename T>
void apply_mask(const T* x, T* y, int64_t begin, int64_t end, uint32_t key0, uint32_t key1, uint32_t threshold,
                T scale) {
  while (begin < end) {
    const uint64_t high = static_cast<uint64_t>(begin) >> 32;
    const int64_t stop = std::min({end, static_cast<int64_t>((high + 1) << 32), begin + (int64_t{1} << 30)});
    const uint32_t first = static_cast<uint32_t>(begin), salt = key1 ^ static_cast<uint32_t>(high) * 0x9e3779b9U;
    const int32_t count = static_cast<int32_t>(stop - begin);
    const T* from = x + begin;
    T* to = y + begin;
#pragma omp simd
    for (int32_t k = 0; k < count; ++k) {
      const uint32_t h = mix(mix((first + static_cast<uint32_t>(k)) ^ key0) ^ salt);
      to[k] = (h >> 8) >= threshold ? from[k] * scale : T(0);
    }
    begin = stop;
  }
}

}  // namespace

at::Tensor dropout_mask_apply(at::Tensor x, int64_t key0, int64_t key1, int64_t threshold, double scale) {
  TORCH_CHECK(x.device().is_cpu(), "counter-based dropout: the native code runs on the CPU");
  TORCH_CHECK(threshold >= 0 && threshold <= (int64_t{1} << 24), "threshold must lie in [0, 2^24]");
  at::Tensor input = x.contiguous();
  at::Tensor out = at::empty_like(input);
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "rnnzoo_dropout", [&] {
    const scalar_t* src = input.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    at::parallel_for(0, input.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
      apply_mask<scalar_t>(src, dst, begin, end, static_cast<uint32_t>(key0), static_cast<uint32_t>(key1),
                           static_cast<uint32_t>(threshold), static_cast<scalar_t>(scale));
    });
  });
  return out;
}
