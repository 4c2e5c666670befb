#ifndef CTD_POOL_KERNELS_H
#define CTD_POOL_KERNELS_H
// 2×2×2 max pooling (stride 2) and its gradient on float32 tensors whose channels come in blocks
// stored fastest: oneDNN's nCdhw16c (blocks of 16, what its AVX-512 kernels choose) or one
// sample of channels-last ndhwc (a single block of all C channels, what its AVX2 kernels take
// for a one-channel input). Spread over the OpenMP team oneDNN itself uses (libgomp), so no
// second set of threads competes with it for the cores.
//
// A "piece" is [cblocks][sx][sy][sz][block] (dense); the pooled side is [cblocks][px][py][pz][block]
// with the given strides (in floats) between channel blocks and between x-slices, so a piece can
// be pooled straight into its window of a larger tensor. px = sx/2, py = sy/2, pz = sz/2
// (a trailing odd slice is dropped, as Keras does). argmax holds, per pooled value, which of
// the window's 8 positions held the maximum (the first one on ties, as oneDNN and TensorFlow do).
//
// `lanes` picks the code: 16 AVX-512 (block a multiple of 16), 8 AVX2 (a multiple of 8), anything
// else the portable C. The caller passes what oneDNN itself dispatches to (ONEDNN_MAX_CPU_ISA
// included); code the CPU lacks is never run (it falls back to the portable C).
#include <stddef.h>

void ctd_max_pool_blocked(const float *piece, long cblocks, long block, long sx, long sy, long sz,
                          float *pooled, long pooled_cblock_stride, long pooled_x_stride, unsigned char *argmax, int lanes);

// The gradient of the piece: each pooled gradient goes to its window's maximum, every other
// position of the piece (the dropped odd slices too) gets zero.
void ctd_max_pool_blocked_backward(const float *pooled_gradient, long pooled_cblock_stride, long pooled_x_stride,
                                   const unsigned char *argmax, long cblocks, long block, long sx, long sy, long sz,
                                   float *piece_gradient, int lanes);
#endif
