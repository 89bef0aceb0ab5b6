/* libFuzzer target: the Gemini codec (proto/gemini*.c).
 *
 * The input is tried as a request body, a response body, an error body and
 * an SSE stream by the shared harness (fuzz_codec.h): what decodes is
 * encoded again and our own output must decode, and a stream encoded again
 * from a clean decode must decode cleanly. */
#include <stdint.h>

#include "fuzz_codec.h"

static const lx_fuzz_codec_spec spec = {
    .codec = &lx_codec_gemini,
    .opts = {.model = "gemini-x"},
    .error_http = 400,
    .min_piece = 1,
    .max_piece = 23,
    .check_reencoded_stream = true,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return lx_fuzz_codec(&spec, data, size);
}
