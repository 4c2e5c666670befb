#ifndef CTD_POOL_KERNELS_H
#define CTD_POOL_KERNELS_H
// 2×2×2 max pooling (stride 2) and its gradient on float32 tensors blocked by 16 channels
// (oneDNN's nCdhw16c), spread over the OpenMP team oneDNN itself uses (libgomp), so no second
// set of threads competes with it for the cores.
//
// A "piece" is [cblocks][sx][sy][sz][16] (dense); the pooled side is [cblocks][px][py][pz][16]
// with the given strides (in floats) between channel blocks and between x-slices, so a piece can
// be pooled straight into its window of a larger tensor. px = sx/2, py = sy/2, pz = sz/2
// (a trailing odd slice is dropped, as Keras does). argmax holds, per pooled value, which of
// the window's 8 positions held the maximum (the first one on ties, as oneDNN and TensorFlow do).
#include <stddef.h>

void ctd_max_pool_16c(const float *piece, long cblocks, long sx, long sy, long sz,
                      float *pooled, long pooled_cblock_stride, long pooled_x_stride, unsigned char *argmax);

// The gradient of the piece: each pooled gradient goes to its window's maximum, every other
// position of the piece (the dropped odd slices too) gets zero.
void ctd_max_pool_16c_backward(const float *pooled_gradient, long pooled_cblock_stride, long pooled_x_stride,
                               const unsigned char *argmax, long cblocks, long sx, long sy, long sz, float *piece_gradient);

// Tests: use the portable C code even where AVX-512 is there (both must give the same results).
void ctd_pool_kernels_portable_only(int on);
#endif
