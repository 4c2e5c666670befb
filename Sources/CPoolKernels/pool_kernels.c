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
    long cblocks, sx, sy, sz, pooled_cblock_stride, pooled_x_stride;
} job;

// This thread's share [begin, end) of `count` rows.
static void share(long count, long *begin, long *end) {
    long t = omp_get_thread_num(), n = omp_get_num_threads();
    *begin = count * t / n;
    *end = count * (t + 1) / n;
}

// One row of pooled values (fixed channel block, x and y), 16 lanes at a time. Portable C, and an
// AVX-512 version (compilers do not vectorise the byte-sized argmax well on their own).
static void pool_row_c(const float *restrict in, long sy, long sz, long pz, float *restrict out, unsigned char *restrict arg) {
    const long dy = sz * 16, dx = sy * sz * 16;
    const long at[8] = { 0, 16, dy, dy + 16, dx, dx + 16, dx + dy, dx + dy + 16 };
    for (long z = 0; z < pz; z++) {
        const float *w = in + 2 * z * 16;
        for (int l = 0; l < 16; l++) {
            float best = w[l];
            unsigned char which = 0;
            for (int k = 1; k < 8; k++) {
                if (w[at[k] + l] > best) { best = w[at[k] + l]; which = (unsigned char)k; }
            }
            out[z * 16 + l] = best;
            arg[z * 16 + l] = which;
        }
    }
}

static void unpool_row_c(const float *restrict g, const unsigned char *restrict arg, long sy, long sz, long pz, float *restrict out) {
    const long dy = sz * 16, dx = sy * sz * 16;
    const long at[8] = { 0, 16, dy, dy + 16, dx, dx + 16, dx + dy, dx + dy + 16 };
    for (long z = 0; z < pz; z++) {
        for (int k = 0; k < 8; k++) {
            float *o = out + 2 * z * 16 + at[k];
            for (int l = 0; l < 16; l++) o[l] = arg[z * 16 + l] == k ? g[z * 16 + l] : 0.0f;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f")))
static void pool_row_avx512(const float *restrict in, long sy, long sz, long pz, float *restrict out, unsigned char *restrict arg) {
    const long dy = sz * 16, dx = sy * sz * 16;
    const long at[8] = { 0, 16, dy, dy + 16, dx, dx + 16, dx + dy, dx + dy + 16 };
    for (long z = 0; z < pz; z++) {
        const float *w = in + 2 * z * 16;
        __m512 best = _mm512_loadu_ps(w);
        __m512i which = _mm512_setzero_si512();
        for (int k = 1; k < 8; k++) {
            __m512 v = _mm512_loadu_ps(w + at[k]);
            __mmask16 better = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
            best = _mm512_mask_mov_ps(best, better, v);
            which = _mm512_mask_mov_epi32(which, better, _mm512_set1_epi32(k));
        }
        _mm512_storeu_ps(out + z * 16, best);
        _mm_storeu_si128((__m128i *)(arg + z * 16), _mm512_cvtepi32_epi8(which));
    }
}

__attribute__((target("avx512f")))
static void unpool_row_avx512(const float *restrict g, const unsigned char *restrict arg, long sy, long sz, long pz, float *restrict out) {
    const long dy = sz * 16, dx = sy * sz * 16;
    const long at[8] = { 0, 16, dy, dy + 16, dx, dx + 16, dx + dy, dx + dy + 16 };
    for (long z = 0; z < pz; z++) {
        __m512 gv = _mm512_loadu_ps(g + z * 16);
        __m512i which = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(arg + z * 16)));
        float *w = out + 2 * z * 16;
        for (int k = 0; k < 8; k++) {
            __mmask16 here = _mm512_cmpeq_epi32_mask(which, _mm512_set1_epi32(k));
            _mm512_storeu_ps(w + at[k], _mm512_maskz_mov_ps(here, gv));
        }
    }
}

static int portable_only = 0;

static int has_avx512(void) {
    static int known = -1;
    if (known < 0) known = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return known && !portable_only;
}

void ctd_pool_kernels_portable_only(int on) { portable_only = on; }
#define POOL_ROW(...) (has_avx512() ? pool_row_avx512(__VA_ARGS__) : pool_row_c(__VA_ARGS__))
#define UNPOOL_ROW(...) (has_avx512() ? unpool_row_avx512(__VA_ARGS__) : unpool_row_c(__VA_ARGS__))
#else
void ctd_pool_kernels_portable_only(int on) { (void)on; }
#define POOL_ROW(...) pool_row_c(__VA_ARGS__)
#define UNPOOL_ROW(...) unpool_row_c(__VA_ARGS__)
#endif

// Pooled row r (over channel blocks, x, y): where its window starts in the piece and where the
// row starts in the pooled tensor, in floats; and its y.
static void place_row(const job *j, long r, long *piece_at, long *pooled_at, long *y_out) {
    const long px = j->sx / 2, py = j->sy / 2, pz = j->sz / 2;
    const long cb = r / (px * py), x = r / py % px, y = r % py;
    *piece_at = (((cb * j->sx + 2 * x) * j->sy + 2 * y) * j->sz) * 16;
    *pooled_at = cb * j->pooled_cblock_stride + x * j->pooled_x_stride + y * pz * 16;
    *y_out = y;
}

static void pool_worker(void *data) {
    const job *j = data;
    const long pz = j->sz / 2, rows = j->cblocks * (j->sx / 2) * (j->sy / 2);
    long begin, end, piece_at, pooled_at, y;
    share(rows, &begin, &end);
    for (long r = begin; r < end; r++) {
        place_row(j, r, &piece_at, &pooled_at, &y);
        POOL_ROW(j->piece + piece_at, j->sy, j->sz, pz, j->pooled + pooled_at, j->argmax + r * pz * 16);
    }
}

static void unpool_worker(void *data) {
    const job *j = data;
    const long py = j->sy / 2, pz = j->sz / 2, rows = j->cblocks * (j->sx / 2) * py;
    long begin, end, piece_at, pooled_at, y;
    share(rows, &begin, &end);
    for (long r = begin; r < end; r++) {
        place_row(j, r, &piece_at, &pooled_at, &y);
        float *out = j->piece_gradient + piece_at;
        UNPOOL_ROW(j->pooled_gradient + pooled_at, j->argmax_in + r * pz * 16, j->sy, j->sz, pz, out);
        // Positions no window covers (an odd last z, an odd last y) get no gradient.
        for (long dx = 0; dx < 2; dx++) {
            float *plane = out + dx * j->sy * j->sz * 16;
            if (j->sz % 2)
                for (long dy = 0; dy < 2; dy++) memset(plane + (dy * j->sz + j->sz - 1) * 16, 0, 16 * sizeof(float));
            if (j->sy % 2 && y == py - 1) memset(plane + 2 * j->sz * 16, 0, j->sz * 16 * sizeof(float));
        }
    }
    // An odd last x-slice of each channel block.
    if (j->sx % 2) {
        long cbBegin, cbEnd;
        share(j->cblocks, &cbBegin, &cbEnd);
        for (long cb = cbBegin; cb < cbEnd; cb++)
            memset(j->piece_gradient + ((cb * j->sx + j->sx - 1) * j->sy * j->sz) * 16, 0, j->sy * j->sz * 16 * sizeof(float));
    }
}

void ctd_max_pool_16c(const float *piece, long cblocks, long sx, long sy, long sz,
                      float *pooled, long pooled_cblock_stride, long pooled_x_stride, unsigned char *argmax) {
    job j = { .piece = piece, .pooled = pooled, .argmax = argmax, .cblocks = cblocks, .sx = sx, .sy = sy, .sz = sz,
              .pooled_cblock_stride = pooled_cblock_stride, .pooled_x_stride = pooled_x_stride };
    GOMP_parallel(pool_worker, &j, 0, 0);
}

void ctd_max_pool_16c_backward(const float *pooled_gradient, long pooled_cblock_stride, long pooled_x_stride,
                               const unsigned char *argmax, long cblocks, long sx, long sy, long sz, float *piece_gradient) {
    job j = { .pooled_gradient = pooled_gradient, .argmax_in = argmax, .piece_gradient = piece_gradient, .cblocks = cblocks,
              .sx = sx, .sy = sy, .sz = sz, .pooled_cblock_stride = pooled_cblock_stride, .pooled_x_stride = pooled_x_stride };
    GOMP_parallel(unpool_worker, &j, 0, 0);
}
