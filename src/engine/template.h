/*
 * template.h — chat templates: an lx_request's conversation -> prompt text.
 *
 * A model's GGUF carries its chat template as Jinja source
 * (`tokenizer.chat_template`). We do not execute Jinja: we recognise the
 * template family by its distinctive markers and render that family's
 * format in C. Families and their shapes (S system, U user, A assistant):
 *
 *   chatml   <|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n
 *            <|im_start|>assistant\n            (SmolLM2, Qwen2.5, ...)
 *   llama3   <|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>...
 *            <|start_header_id|>assistant<|end_header_id|>\n\n
 *            (3.1+: the system block also states the knowledge cut-off and
 *            today's date, as those templates do)
 *   llama2   [INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST] A </s><s>[INST] U2 [/INST]
 *   mistral  [INST] S\n\nU [/INST]A</s>[INST] U2 [/INST]   (v0.1/v0.2 style)
 *   gemma    <start_of_turn>user\nS\n\nU<end_of_turn>\n<start_of_turn>model\n
 *   phi3     <|system|>\nS<|end|>\n<|user|>\nU<|end|>\n<|assistant|>\n
 *
 * The rendered text never starts with the BOS token's text: the tokenizer
 * adds BOS (lx_tokenizer_encode with add_special). Later BOS/EOS texts
 * inside the prompt (llama2's "</s><s>") are special tokens: encode the
 * prompt with parse_special on.
 *
 * Message content is the concatenation of a message's TEXT parts; an
 * assistant's TOOL_CALL parts follow as
 * <tool_call>\n{"name": N, "arguments": ARGS}\n</tool_call>; TOOL messages
 * carry their results' text (role "tool" in chatml, "ipython" in llama3, a
 * user turn in the families without a tool role). THINKING and IMAGE parts
 * are not rendered.
 *
 * Ownership: lx_template objects are created by the functions below and
 * freed with lx_template_free; strings they return live as long as they do.
 */
#ifndef LX_ENGINE_TEMPLATE_H
#define LX_ENGINE_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/status.h"
#include "core/types.h"
#include "engine/gguf.h"

typedef enum {
    LX_TMPL_CHATML,
    LX_TMPL_LLAMA3,
    LX_TMPL_LLAMA2,
    LX_TMPL_MISTRAL,
    LX_TMPL_GEMMA,
    LX_TMPL_PHI3,
} lx_template_kind;

typedef struct lx_template lx_template;

/* Recognises a Jinja chat template. LX_ERR_UNSUPPORTED when no family
 * matches (the message lists the names usable with lx_template_by_name).
 * A chatml template's built-in default system prompt (SmolLM2's "You are a
 * helpful AI assistant named SmolLM...") is kept and rendered when the
 * conversation has no system message. */
lx_status lx_template_detect(const char *jinja, size_t len, lx_template **out, lx_error *err);

/* By name: "chatml", "llama3", "llama2", "mistral", "gemma", "phi3".
 * LX_ERR_NOTFOUND lists the names when unknown. */
lx_status lx_template_by_name(const char *name, lx_template **out, lx_error *err);

/* Reads `tokenizer.chat_template` of a GGUF and detects it. LX_ERR_NOTFOUND
 * when the file has none. */
lx_status lx_template_from_gguf(const lx_gguf *g, lx_template **out, lx_error *err);

void lx_template_free(lx_template *t); /* NULL is a no-op */

lx_template_kind lx_template_kind_of(const lx_template *t);
const char *lx_template_name(const lx_template *t);
/* "chatml, llama3, llama2, mistral, gemma, phi3" */
const char *lx_template_names(void);
/* Default system prompt, or NULL. */
const char *lx_template_default_system(const lx_template *t);
/* Llama 3.1+ templates (recognised by "Cutting Knowledge Date") open with a
 * system block holding the knowledge cut-off and "Today Date: D": D is the
 * template's default "26 Jul 2024", or today (UTC) when the template calls
 * strftime_now, unless set here (e.g. "01 Jan 2025"; NULL resets). */
void lx_template_set_date(lx_template *t, const char *date);

/* Appends the prompt for req's messages to out; with add_generation_prompt
 * the assistant turn's opening is appended so the model answers next.
 * LX_ERR_TOOBIG when out's cap is hit. */
lx_status lx_template_render(const lx_template *t, const lx_request *req,
                             bool add_generation_prompt, lx_buf *out, lx_error *err);

/* The prompt for models without a chat template: the text of every TEXT and
 * TOOL_RESULT part, separated by blank lines. LX_ERR_TOOBIG at out's cap. */
lx_status lx_template_render_plain(const lx_request *req, lx_buf *out, lx_error *err);

/* Texts that end the assistant's turn (end-of-turn tokens, e.g.
 * "<|im_end|>"): a NULL-terminated static array; *n gets the count. */
const char *const *lx_template_stops(const lx_template *t, size_t *n);

#endif
