/*
 * kernels_avx512.c — AVX-512 (F, BW, VL, DQ, VNNI) back end (work in
 * progress: entries left NULL fall back to the scalar ones).
 */
#include <immintrin.h>

#include "engine/kernels_impl.h"

const lx_kops lx_kops_avx512 = {
    .name = "avx512",
};
