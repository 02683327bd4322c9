// Denormal floats (magnitudes below 1.2e-38, 2.2e-308 in float64) cost an Intel core a microcode
// assist on every operation that meets one, about a hundred times a normal operation (an AMD Zen 3
// showed no such slowdown on the same sequences). Gradients that fade through a long sequence
// become denormal on their way back, and then take most of a training step's time
// (docs/kernel-notes.md has the figures). The kernels therefore run with flush-to-zero (a denormal
// result is 0) and denormals-are-zero (a denormal operand reads as 0), as TensorFlow's own threads
// do, on every thread they use, and give each thread's setting back when they return: the
// caller's other arithmetic is untouched, and the kernels' results don't depend on what the
// caller had set.

#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>

class FlushDenormals {
 public:
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | FTZ | DAZ); }
  ~FlushDenormals() { _mm_setcsr(saved_); }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  static constexpr unsigned FTZ = 1u << 15, DAZ = 1u << 6;  // MXCSR bits
  unsigned saved_;
};
#else
class FlushDenormals {};  // elsewhere denormals are left as the platform has them
#endif
