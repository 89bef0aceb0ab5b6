/*
 * kernels_avx2.c — AVX2 + FMA + F16C back end (work in progress: entries
 * left NULL fall back to the scalar ones).
 */
#include <immintrin.h>

#include "engine/kernels_impl.h"

const lx_kops lx_kops_avx2 = {
    .name = "avx2",
};
