/* libFuzzer target: the Ollama codec (proto/ollama*.c).
 *
 * The input is tried as a request body, a response body, an error body and
 * an NDJSON stream by the shared harness (fuzz_codec.h): what decodes is
 * encoded again and our own output must decode, and a stream encoded again
 * from a clean decode must decode cleanly. The input is also tried as an
 * /api/generate body, and responses are also encoded as generate answers. */
#include <stdint.h>

#include "fuzz_codec.h"
#include "proto/ollama.h"

static const lx_fuzz_codec_spec spec = {
    .codec = &lx_codec_ollama,
    .opts = {.model = "llama-x"},
    .error_http = 400,
    .min_piece = 1,
    .max_piece = 23,
    .check_reencoded_stream = true,
    .extra_request_decode = lx_ollama_generate_decode,
    .extra_response_encode = lx_ollama_generate_response_encode,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return lx_fuzz_codec(&spec, data, size);
}
