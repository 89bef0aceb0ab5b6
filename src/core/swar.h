/*
 * swar.h — eight bytes at a time ("SIMD within a register") for the JSON
 * readers and writers: skip runs of plain bytes without looking at each.
 *
 * The tests are exact as to whether some byte of the word qualifies (no
 * false negatives), not as to which one: callers find the byte with a
 * byte loop afterwards.
 */
#ifndef LX_CORE_SWAR_H
#define LX_CORE_SWAR_H

#include <stdint.h>
#include <string.h>

#define LX_ONES8 0x0101010101010101ULL
#define LX_HIGH8 0x8080808080808080ULL

/* The 8 bytes at p (any alignment). */
static inline uint64_t lx_load8(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* Non-zero when some byte of x is a control character (< 0x20), '"' or
 * '\\': the bytes a JSON string must escape. */
static inline uint64_t lx_swar_json_escape(uint64_t x)
{
    uint64_t q = x ^ (LX_ONES8 * '"'), b = x ^ (LX_ONES8 * '\\');
    return (((x - LX_ONES8 * 0x20) & ~x) | ((q - LX_ONES8) & ~q) | ((b - LX_ONES8) & ~b)) &
           LX_HIGH8;
}

/* The same, or some byte is not ASCII (>= 0x80): a byte that needs a look. */
static inline uint64_t lx_swar_json_special(uint64_t x)
{
    return lx_swar_json_escape(x) | (x & LX_HIGH8);
}

#endif
