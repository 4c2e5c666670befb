#include "pool_kernels.h"
#include <string.h>

// libgomp, the OpenMP runtime Debian's oneDNN is built with: run fn on every thread of the team.
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
int omp_get_thread_num(void);
int omp_get_num_threads(void);

typedef struct {
    const float *piece;
    float *pooled;
    const float *pooled_gradient;
    float *piece_gradient;
    const unsigned char *argmax_in;
    unsigned char *argmax;
    long cblocks, block, sx, sy, sz, pooled_cblock_stride, pooled_x_stride;
    int lanes;
} job;

// This thread's share [begin, end) of `count` rows.
static void share(long count, long *begin, long *end) {
    long t = omp_get_thread_num(), n = omp_get_num_threads();
    *begin = count * t / n;
    *end = count * (t + 1) / n;
}

// Where a window's 8 positions lie, in floats from its first one.
static void window_offsets(long block, long sy, long sz, long at[8]) {
    const long dy = sz * block, dx = sy * sz * block;
    const long offsets[8] = { 0, block, dy, dy + block, dx, dx + block, dx + dy, dx + dy + block };
    memcpy(at, offsets, sizeof offsets);
}

// One row of pooled values (fixed channel block, x and y): pz windows of `block` lanes. Portable
// C, and AVX2 and AVX-512 versions (compilers do not vectorise the byte-sized argmax well).
static void pool_row_c(const float *restrict in, long block, long sy, long sz, long pz, float *restrict out, unsigned char *restrict arg) {
    long at[8];
    window_offsets(block, sy, sz, at);
    for (long z = 0; z < pz; z++) {
        const float *w = in + 2 * z * block;
        for (long l = 0; l < block; l++) {
            float best = w[l];
            unsigned char which = 0;
            for (int k = 1; k < 8; k++) {
                if (w[at[k] + l] > best) { best = w[at[k] + l]; which = (unsigned char)k; }
            }
            out[z * block + l] = best;
            arg[z * block + l] = which;
        }
    }
}

static void unpool_row_c(const float *restrict g, const unsigned char *restrict arg, long block, long sy, long sz, long pz, float *restrict out) {
    long at[8];
    window_offsets(block, sy, sz, at);
    for (long z = 0; z < pz; z++) {
        for (int k = 0; k < 8; k++) {
            float *o = out + 2 * z * block + at[k];
            for (long l = 0; l < block; l++) o[l] = arg[z * block + l] == k ? g[z * block + l] : 0.0f;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f")))
static void pool_row_avx512(const float *restrict in, long block, long sy, long sz, long pz, float *restrict out, unsigned char *restrict arg) {
    long at[8];
    window_offsets(block, sy, sz, at);
    for (long z = 0; z < pz; z++) {
        for (long l = 0; l < block; l += 16) {
            const float *w = in + 2 * z * block + l;
            __m512 best = _mm512_loadu_ps(w);
            __m512i which = _mm512_setzero_si512();
            for (int k = 1; k < 8; k++) {
                __m512 v = _mm512_loadu_ps(w + at[k]);
                __mmask16 better = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
                best = _mm512_mask_mov_ps(best, better, v);
                which = _mm512_mask_mov_epi32(which, better, _mm512_set1_epi32(k));
            }
            _mm512_storeu_ps(out + z * block + l, best);
            _mm_storeu_si128((__m128i *)(arg + z * block + l), _mm512_cvtepi32_epi8(which));
        }
    }
}

__attribute__((target("avx512f")))
static void unpool_row_avx512(const float *restrict g, const unsigned char *restrict arg, long block, long sy, long sz, long pz, float *restrict out) {
    long at[8];
    window_offsets(block, sy, sz, at);
    for (long z = 0; z < pz; z++) {
        for (long l = 0; l < block; l += 16) {
            __m512 gv = _mm512_loadu_ps(g + z * block + l);
            __m512i which = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(arg + z * block + l)));
            float *w = out + 2 * z * block + l;
            for (int k = 0; k < 8; k++) {
                __mmask16 here = _mm512_cmpeq_epi32_mask(which, _mm512_set1_epi32(k));
                _mm512_storeu_ps(w + at[k], _mm512_maskz_mov_ps(here, gv));
            }
        }
    }
}

__attribute__((target("avx2")))
static void pool_row_avx2(const float *restrict in, long block, long sy, long sz, long pz, float *restrict out, unsigned char *restrict arg) {
    long at[8];
    window_offsets(block, sy, sz, at);
    for (long z = 0; z < pz; z++) {
        for (long l = 0; l < block; l += 8) {
            const float *w = in + 2 * z * block + l;
            __m256 best = _mm256_loadu_ps(w);
            __m256 which = _mm256_setzero_ps();
            for (int k = 1; k < 8; k++) {
                __m256 v = _mm256_loadu_ps(w + at[k]);
                __m256 better = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
                best = _mm256_blendv_ps(best, v, better);
                which = _mm256_blendv_ps(which, _mm256_set1_ps((float)k), better);
            }
            _mm256_storeu_ps(out + z * block + l, best);
            // 8 small whole floats → 8 bytes.
            __m256i w32 = _mm256_cvtps_epi32(which);
            __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(w32), _mm256_extracti128_si256(w32, 1));
            _mm_storel_epi64((__m128i *)(arg + z * block + l), _mm_packus_epi16(w16, w16));
        }
    }
}

__attribute__((target("avx2")))
static void unpool_row_avx2(const float *restrict g, const unsigned char *restrict arg, long block, long sy, long sz, long pz, float *restrict out) {
    long at[8];
    window_offsets(block, sy, sz, at);
    for (long z = 0; z < pz; z++) {
        for (long l = 0; l < block; l += 8) {
            __m256 gv = _mm256_loadu_ps(g + z * block + l);
            __m256i which = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(arg + z * block + l)));
            float *w = out + 2 * z * block + l;
            for (int k = 0; k < 8; k++) {
                __m256 here = _mm256_castsi256_ps(_mm256_cmpeq_epi32(which, _mm256_set1_epi32(k)));
                _mm256_storeu_ps(w + at[k], _mm256_and_ps(here, gv));
            }
        }
    }
}

// The lanes to run: what the caller asked for, if the block fits it and the CPU has it.
static int usable_lanes(int lanes, long block) {
    if (lanes == 16 && block % 16 == 0 && __builtin_cpu_supports("avx512f")) return 16;
    if ((lanes == 16 || lanes == 8) && block % 8 == 0 && __builtin_cpu_supports("avx2")) return 8;
    return 1;
}

static void pool_row(int lanes, const float *in, long block, long sy, long sz, long pz, float *out, unsigned char *arg) {
    if (lanes == 16) pool_row_avx512(in, block, sy, sz, pz, out, arg);
    else if (lanes == 8) pool_row_avx2(in, block, sy, sz, pz, out, arg);
    else pool_row_c(in, block, sy, sz, pz, out, arg);
}

static void unpool_row(int lanes, const float *g, const unsigned char *arg, long block, long sy, long sz, long pz, float *out) {
    if (lanes == 16) unpool_row_avx512(g, arg, block, sy, sz, pz, out);
    else if (lanes == 8) unpool_row_avx2(g, arg, block, sy, sz, pz, out);
    else unpool_row_c(g, arg, block, sy, sz, pz, out);
}
#else
static int usable_lanes(int lanes, long block) { (void)lanes; (void)block; return 1; }
static void pool_row(int lanes, const float *in, long block, long sy, long sz, long pz, float *out, unsigned char *arg) {
    (void)lanes;
    pool_row_c(in, block, sy, sz, pz, out, arg);
}
static void unpool_row(int lanes, const float *g, const unsigned char *arg, long block, long sy, long sz, long pz, float *out) {
    (void)lanes;
    unpool_row_c(g, arg, block, sy, sz, pz, out);
}
#endif

// Pooled row r (over channel blocks, x, y): where its window starts in the piece and where the
// row starts in the pooled tensor, in floats; and its y.
static void place_row(const job *j, long r, long *piece_at, long *pooled_at, long *y_out) {
    const long px = j->sx / 2, py = j->sy / 2, pz = j->sz / 2;
    const long cb = r / (px * py), x = r / py % px, y = r % py;
    *piece_at = (((cb * j->sx + 2 * x) * j->sy + 2 * y) * j->sz) * j->block;
    *pooled_at = cb * j->pooled_cblock_stride + x * j->pooled_x_stride + y * pz * j->block;
    *y_out = y;
}

static void pool_worker(void *data) {
    const job *j = data;
    const long pz = j->sz / 2, rows = j->cblocks * (j->sx / 2) * (j->sy / 2);
    long begin, end, piece_at, pooled_at, y;
    share(rows, &begin, &end);
    for (long r = begin; r < end; r++) {
        place_row(j, r, &piece_at, &pooled_at, &y);
        pool_row(j->lanes, j->piece + piece_at, j->block, j->sy, j->sz, pz, j->pooled + pooled_at, j->argmax + r * pz * j->block);
    }
}

static void unpool_worker(void *data) {
    const job *j = data;
    const long py = j->sy / 2, pz = j->sz / 2, rows = j->cblocks * (j->sx / 2) * py, b = j->block;
    long begin, end, piece_at, pooled_at, y;
    share(rows, &begin, &end);
    for (long r = begin; r < end; r++) {
        place_row(j, r, &piece_at, &pooled_at, &y);
        float *out = j->piece_gradient + piece_at;
        unpool_row(j->lanes, j->pooled_gradient + pooled_at, j->argmax_in + r * pz * b, b, j->sy, j->sz, pz, out);
        // Positions no window covers (an odd last z, an odd last y) get no gradient.
        for (long dx = 0; dx < 2; dx++) {
            float *plane = out + dx * j->sy * j->sz * b;
            if (j->sz % 2)
                for (long dy = 0; dy < 2; dy++) memset(plane + (dy * j->sz + j->sz - 1) * b, 0, b * sizeof(float));
            if (j->sy % 2 && y == py - 1) memset(plane + 2 * j->sz * b, 0, j->sz * b * sizeof(float));
        }
    }
    // An odd last x-slice of each channel block.
    if (j->sx % 2) {
        long cbBegin, cbEnd;
        share(j->cblocks, &cbBegin, &cbEnd);
        for (long cb = cbBegin; cb < cbEnd; cb++)
            memset(j->piece_gradient + ((cb * j->sx + j->sx - 1) * j->sy * j->sz) * b, 0, j->sy * j->sz * b * sizeof(float));
    }
}

void ctd_max_pool_blocked(const float *piece, long cblocks, long block, long sx, long sy, long sz,
                          float *pooled, long pooled_cblock_stride, long pooled_x_stride, unsigned char *argmax, int lanes) {
    job j = { .piece = piece, .pooled = pooled, .argmax = argmax, .cblocks = cblocks, .block = block, .sx = sx, .sy = sy, .sz = sz,
              .pooled_cblock_stride = pooled_cblock_stride, .pooled_x_stride = pooled_x_stride, .lanes = usable_lanes(lanes, block) };
    GOMP_parallel(pool_worker, &j, 0, 0);
}

void ctd_max_pool_blocked_backward(const float *pooled_gradient, long pooled_cblock_stride, long pooled_x_stride,
                                   const unsigned char *argmax, long cblocks, long block, long sx, long sy, long sz,
                                   float *piece_gradient, int lanes) {
    job j = { .pooled_gradient = pooled_gradient, .argmax_in = argmax, .piece_gradient = piece_gradient, .cblocks = cblocks,
              .block = block, .sx = sx, .sy = sy, .sz = sz, .pooled_cblock_stride = pooled_cblock_stride,
              .pooled_x_stride = pooled_x_stride, .lanes = usable_lanes(lanes, block) };
    GOMP_parallel(unpool_worker, &j, 0, 0);
}
