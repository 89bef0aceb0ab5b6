/* libFuzzer target: the Anthropic Messages codec (proto/anthropic*.c).
 *
 * The input is tried as a request body, a response body, an error body and
 * an SSE stream by the shared harness (fuzz_codec.h). Whatever decodes is
 * encoded again, in this dialect (our own output must decode) and in the
 * OpenAI one, to reach the encoders. */
#include <stdint.h>

#include "fuzz_codec.h"

static const lx_fuzz_codec_spec spec = {
    .codec = &lx_codec_anthropic,
    .other = &lx_codec_openai,
    .opts = {.model = "m", .stream = true, .include_usage = true},
    .error_http = 500,
    .min_piece = 3,
    .max_piece = 31,
    .check_reencoded_stream = true,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return lx_fuzz_codec(&spec, data, size);
}
