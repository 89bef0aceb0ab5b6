#include "proto/codec.h"

#include <string.h>

const lx_codec *lx_codec_find(const char *name)
{
    static const lx_codec *all[] = {&lx_codec_openai, &lx_codec_anthropic, &lx_codec_gemini,
                                    &lx_codec_ollama};
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}
