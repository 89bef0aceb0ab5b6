/*
 * Chat template tests: the exact prompt of each family for one
 * conversation (system, user, assistant, user + generation prompt),
 * recognition of published Jinja templates by their markers, errors.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/types.h"
#include "engine/gguf.h"
#include "engine/template.h"
#include "engine/tokenizer.h"

static lx_request *conversation(bool with_system)
{
    lx_request *r = lx_request_new();
    cr_assert_not_null(r);
    if (with_system)
        cr_assert_eq(lx_request_add_text(r, LX_ROLE_SYSTEM, "You are terse."), LX_OK);
    cr_assert_eq(lx_request_add_text(r, LX_ROLE_USER, "Hi!"), LX_OK);
    cr_assert_eq(lx_request_add_text(r, LX_ROLE_ASSISTANT, "Hello."), LX_OK);
    cr_assert_eq(lx_request_add_text(r, LX_ROLE_USER, "What is 2+2?"), LX_OK);
    return r;
}

static char *render(lx_template *t, const lx_request *r, bool gen)
{
    lx_buf b;
    lx_error err;
    lx_buf_init(&b, 0);
    cr_assert_eq(lx_template_render(t, r, gen, &b, &err), LX_OK, "%s", err.message);
    lx_buf_append(&b, "", 0);
    size_t n;
    return lx_buf_steal(&b, &n);
}

static void expect(const char *name, const char *want)
{
    lx_template *t;
    lx_error err;
    cr_assert_eq(lx_template_by_name(name, &t, &err), LX_OK, "%s", err.message);
    cr_assert_str_eq(lx_template_name(t), name);
    lx_request *r = conversation(true);
    char *got = render(t, r, true);
    cr_assert_str_eq(got, want, "template %s", name);
    free(got);
    lx_request_free(r);
    lx_template_free(t);
}

Test(render, chatml)
{
    expect("chatml", "<|im_start|>system\nYou are terse.<|im_end|>\n"
                     "<|im_start|>user\nHi!<|im_end|>\n"
                     "<|im_start|>assistant\nHello.<|im_end|>\n"
                     "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
                     "<|im_start|>assistant\n");
}

Test(render, llama3)
{
    expect("llama3", "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                     "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
                     "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                     "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                     "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

Test(render, llama2)
{
    expect("llama2", "[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi! [/INST] Hello. </s>"
                     "<s>[INST] What is 2+2? [/INST]");
}

Test(render, mistral)
{
    expect("mistral", "[INST] You are terse.\n\nHi! [/INST]Hello.</s>[INST] What is 2+2? [/INST]");
}

Test(render, gemma)
{
    expect("gemma", "<start_of_turn>user\nYou are terse.\n\nHi!<end_of_turn>\n"
                    "<start_of_turn>model\nHello.<end_of_turn>\n"
                    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n"
                    "<start_of_turn>model\n");
}

Test(render, phi3)
{
    expect("phi3", "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi!<|end|>\n"
                   "<|assistant|>\nHello.<|end|>\n<|user|>\nWhat is 2+2?<|end|>\n"
                   "<|assistant|>\n");
}

Test(render, without_generation_prompt_and_without_system)
{
    lx_template *t;
    cr_assert_eq(lx_template_by_name("gemma", &t, NULL), LX_OK);
    lx_request *r = conversation(false);
    char *got = render(t, r, false);
    cr_assert_str_eq(got, "<start_of_turn>user\nHi!<end_of_turn>\n"
                          "<start_of_turn>model\nHello.<end_of_turn>\n"
                          "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n");
    free(got);
    lx_template_free(t);
    cr_assert_eq(lx_template_by_name("llama2", &t, NULL), LX_OK);
    got = render(t, r, true);
    cr_assert_str_eq(got, "[INST] Hi! [/INST] Hello. </s><s>[INST] What is 2+2? [/INST]");
    free(got);
    lx_template_free(t);
    lx_request_free(r);
}

Test(render, tool_calls_and_results_in_chatml)
{
    lx_template *t;
    cr_assert_eq(lx_template_by_name("chatml", &t, NULL), LX_OK);
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_USER, "Weather in Paris?");
    lx_message *m = lx_request_add_message(r, LX_ROLE_ASSISTANT);
    lx_part *p = lx_message_add_part(r, m, LX_PART_TOOL_CALL);
    p->name = lx_arena_strdup(r->arena, "get_weather");
    p->arguments = lx_arena_strdup(r->arena, "{\"city\":\"Paris\"}");
    m = lx_request_add_message(r, LX_ROLE_TOOL);
    p = lx_message_add_part(r, m, LX_PART_TOOL_RESULT);
    p->text = lx_arena_strdup(r->arena, "18C, sunny");
    char *got = render(t, r, true);
    cr_assert_str_eq(got, "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
                          "<|im_start|>assistant\n<tool_call>\n"
                          "{\"name\": \"get_weather\", \"arguments\": {\"city\":\"Paris\"}}\n"
                          "</tool_call><|im_end|>\n"
                          "<|im_start|>tool\n18C, sunny<|im_end|>\n"
                          "<|im_start|>assistant\n");
    free(got);
    lx_request_free(r);
    lx_template_free(t);
}

Test(render, cap_is_an_error)
{
    lx_template *t;
    cr_assert_eq(lx_template_by_name("chatml", &t, NULL), LX_OK);
    lx_request *r = conversation(true);
    lx_buf b;
    lx_buf_init(&b, 40);
    lx_error err;
    cr_assert_eq(lx_template_render(t, r, true, &b, &err), LX_ERR_TOOBIG);
    cr_assert(strstr(err.message, "40"), "%s", err.message);
    lx_buf_free(&b);
    lx_request_free(r);
    lx_template_free(t);
}

/* ---- recognition ---------------------------------------------------------------- */

static const char SMOLLM2_JINJA[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{ '<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}";

/* Distinctive fragments of the published templates. */
static const char QWEN25_JINJA[] =
    "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == "
    "'system' %}\n        {{- messages[0]['content'] }}\n    {%- else %}\n        {{- 'You are "
    "Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n    {%- endif %}\n"
    "{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n        {{- '<|im_start|>"
    "system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n        {{- "
    "'<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
    "assistant.<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}";

static const char LLAMA3_JINJA[] =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | "
    "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
    "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

static const char LLAMA2_JINJA[] =
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set "
    "system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if "
    "loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + "
    "system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = "
    "message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' "
    "+ content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + "
    "content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

static const char MISTRAL_JINJA[] =
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
    "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
    "user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ "
    "'[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant "
    "roles are supported!') }}{% endif %}{% endfor %}";

static const char GEMMA_JINJA[] =
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role "
    "not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == "
    "'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + "
    "'<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}"
    "{% endif %}";

static const char PHI3_JINJA[] =
    "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + "
    "message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + "
    "message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if "
    "add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

static lx_template *detect(const char *s)
{
    lx_template *t = NULL;
    lx_error err;
    cr_assert_eq(lx_template_detect(s, strlen(s), &t, &err), LX_OK, "%s", err.message);
    return t;
}

Test(detect, published_templates)
{
    static const struct {
        const char *jinja;
        const char *name;
    } cases[] = {{SMOLLM2_JINJA, "chatml"}, {QWEN25_JINJA, "chatml"},   {LLAMA3_JINJA, "llama3"},
                 {LLAMA2_JINJA, "llama2"},  {MISTRAL_JINJA, "mistral"}, {GEMMA_JINJA, "gemma"},
                 {PHI3_JINJA, "phi3"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lx_template *t = detect(cases[i].jinja);
        cr_assert_str_eq(lx_template_name(t), cases[i].name, "case %zu", i);
        lx_template_free(t);
    }
}

Test(detect, chatml_default_system_prompts)
{
    lx_template *t = detect(SMOLLM2_JINJA);
    cr_assert_str_eq(lx_template_default_system(t),
                     "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_USER, "Hi");
    char *got = render(t, r, true);
    cr_assert_str_eq(got, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, "
                          "trained by Hugging Face<|im_end|>\n"
                          "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    free(got);
    lx_template_free(t);
    /* A system message replaces the default. */
    lx_request_free(r);
    r = conversation(true);
    t = detect(QWEN25_JINJA);
    cr_assert_str_eq(lx_template_default_system(t),
                     "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
    got = render(t, r, true);
    cr_assert(!strstr(got, "Qwen"));
    cr_assert(!strncmp(got, "<|im_start|>system\nYou are terse.<|im_end|>\n", 42));
    free(got);
    lx_template_free(t);
    lx_request_free(r);
    /* by_name has no default system prompt. */
    cr_assert_eq(lx_template_by_name("chatml", &t, NULL), LX_OK);
    cr_assert_null(lx_template_default_system(t));
    lx_template_free(t);
}

Test(detect, unknown_is_an_error_listing_the_names)
{
    const char *vicuna = "{% for message in messages %}{{ message['role'].upper() + ': ' + "
                         "message['content'] + '\n' }}{% endfor %}ASSISTANT:";
    lx_template *t = (lx_template *)1;
    lx_error err;
    cr_assert_eq(lx_template_detect(vicuna, strlen(vicuna), &t, &err), LX_ERR_UNSUPPORTED);
    cr_assert_null(t);
    cr_assert(strstr(err.message, "chatml") && strstr(err.message, "llama3") &&
                  strstr(err.message, "phi3") && strstr(err.message, "--template"),
              "%s", err.message);
    cr_assert_eq(lx_template_detect("", 0, &t, &err), LX_ERR_UNSUPPORTED);
    cr_assert_eq(lx_template_by_name("vicuna", &t, &err), LX_ERR_NOTFOUND);
    cr_assert(strstr(err.message, "vicuna") && strstr(err.message, "gemma"), "%s", err.message);
}

Test(detect, stop_strings)
{
    static const struct {
        const char *name, *first;
    } cases[] = {{"chatml", "<|im_end|>"}, {"llama3", "<|eot_id|>"},   {"llama2", "</s>"},
                 {"mistral", "</s>"},      {"gemma", "<end_of_turn>"}, {"phi3", "<|end|>"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lx_template *t;
        cr_assert_eq(lx_template_by_name(cases[i].name, &t, NULL), LX_OK);
        size_t n;
        const char *const *s = lx_template_stops(t, &n);
        cr_assert_geq(n, 1);
        cr_assert_str_eq(s[0], cases[i].first);
        cr_assert_null(s[n]);
        lx_template_free(t);
    }
}

/* The SmolLM2 GGUF's own template, rendered and tokenised with specials. */
Test(detect, smollm2_gguf_end_to_end)
{
    const char *dir = getenv("LLMUX_MODEL_DIR");
    char p[1024];
    snprintf(p, sizeof p, "%s/smollm2-tokenizer/smollm2-tokenizer-tiny-random.gguf",
             dir && *dir ? dir : "../shared/models");
    FILE *f = fopen(p, "rb");
    if (!f)
        cr_skip_test("test model %s not found (set LLMUX_MODEL_DIR)", p);
    fclose(f);
    lx_gguf *g;
    lx_error err;
    cr_assert_eq(lx_gguf_open(p, &g, &err), LX_OK, "%s", err.message);
    lx_template *t;
    cr_assert_eq(lx_template_from_gguf(g, &t, &err), LX_OK, "%s", err.message);
    cr_assert_str_eq(lx_template_name(t), "chatml");
    lx_tokenizer *tok;
    cr_assert_eq(lx_tokenizer_new(g, &tok, &err), LX_OK, "%s", err.message);
    lx_gguf_close(g);
    lx_request *r = conversation(true);
    char *prompt = render(t, r, true);
    int32_t *ids;
    size_t n;
    cr_assert_eq(lx_tokenizer_encode(tok, prompt, strlen(prompt), true, true, &ids, &n, &err),
                 LX_OK);
    int starts = 0, ends = 0;
    for (size_t i = 0; i < n; i++) {
        starts += ids[i] == 1;
        ends += ids[i] == 2;
    }
    cr_assert_eq(starts, 5);
    cr_assert_eq(ends, 4);
    size_t ns;
    const char *const *stops = lx_template_stops(t, &ns);
    cr_assert_eq(lx_tokenizer_find(tok, stops[0], strlen(stops[0])), 2);
    free(ids);
    free(prompt);
    lx_request_free(r);
    lx_tokenizer_free(tok);
    lx_template_free(t);
}

Test(render, several_system_messages_and_system_only)
{
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_SYSTEM, "Rule one.");
    lx_request_add_text(r, LX_ROLE_SYSTEM, "Rule two.");
    lx_template *t;
    cr_assert_eq(lx_template_by_name("gemma", &t, NULL), LX_OK);
    char *got = render(t, r, true);
    cr_assert_str_eq(got, "<start_of_turn>user\nRule one.\n\nRule two.\n\n<end_of_turn>\n"
                          "<start_of_turn>model\n");
    free(got);
    lx_template_free(t);
    cr_assert_eq(lx_template_by_name("chatml", &t, NULL), LX_OK);
    got = render(t, r, false);
    cr_assert_str_eq(got, "<|im_start|>system\nRule one.<|im_end|>\n"
                          "<|im_start|>system\nRule two.<|im_end|>\n");
    free(got);
    lx_template_free(t);
    lx_request_add_text(r, LX_ROLE_USER, "Go.");
    cr_assert_eq(lx_template_by_name("llama2", &t, NULL), LX_OK);
    got = render(t, r, true);
    cr_assert_str_eq(got, "[INST] <<SYS>>\nRule one.\n\nRule two.\n<</SYS>>\n\nGo. [/INST]");
    free(got);
    lx_template_free(t);
    lx_request_free(r);
}

Test(render, tool_results_per_family)
{
    lx_request *r = lx_request_new();
    lx_request_add_text(r, LX_ROLE_USER, "Time?");
    lx_message *m = lx_request_add_message(r, LX_ROLE_ASSISTANT);
    lx_part *p = lx_message_add_part(r, m, LX_PART_TOOL_CALL);
    p->name = lx_arena_strdup(r->arena, "now");
    m = lx_request_add_message(r, LX_ROLE_TOOL);
    p = lx_message_add_part(r, m, LX_PART_TOOL_RESULT);
    p->text = lx_arena_strdup(r->arena, "12:00");
    lx_template *t;
    cr_assert_eq(lx_template_by_name("llama3", &t, NULL), LX_OK);
    char *got = render(t, r, true);
    cr_assert_str_eq(got, "<|start_header_id|>user<|end_header_id|>\n\nTime?<|eot_id|>"
                          "<|start_header_id|>assistant<|end_header_id|>\n\n<tool_call>\n"
                          "{\"name\": \"now\", \"arguments\": {}}\n</tool_call><|eot_id|>"
                          "<|start_header_id|>ipython<|end_header_id|>\n\n12:00<|eot_id|>"
                          "<|start_header_id|>assistant<|end_header_id|>\n\n");
    free(got);
    lx_template_free(t);
    cr_assert_eq(lx_template_by_name("phi3", &t, NULL), LX_OK);
    got = render(t, r, true);
    cr_assert(strstr(got, "<|user|>\n12:00<|end|>\n<|assistant|>\n"), "%s", got);
    free(got);
    lx_template_free(t);
    lx_request_free(r);
}

static const char LLAMA32_JINJA[] =
    "{{- bos_token }}\n{%- if not date_string is defined %}\n    {%- if strftime_now is defined "
    "%}\n        {%- set date_string = strftime_now(\"%d %b %Y\") %}\n    {%- else %}\n        "
    "{%- set date_string = \"26 Jul 2024\" %}\n    {%- endif %}\n{%- endif %}\n{%- if "
    "messages[0]['role'] == 'system' %}\n    {%- set system_message = "
    "messages[0]['content']|trim %}\n    {%- set messages = messages[1:] %}\n{%- else %}\n    "
    "{%- set system_message = \"\" %}\n{%- endif %}\n{{- "
    "\"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n{{- \"Cutting Knowledge Date: "
    "December 2023\\n\" }}\n{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n{{- "
    "system_message }}\n{{- \"<|eot_id|>\" }}\n{%- for message in messages %}\n    {{- "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | "
    "trim + '<|eot_id|>' }}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- "
    "'<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n{%- endif %}\n";

Test(detect, llama32_knowledge_dates)
{
    lx_template *t = detect(LLAMA32_JINJA);
    cr_assert_str_eq(lx_template_name(t), "llama3");
    lx_template_set_date(t, "26 Jul 2024");
    lx_request *r = conversation(true);
    char *got = render(t, r, true);
    cr_assert_str_eq(got, "<|start_header_id|>system<|end_header_id|>\n\n"
                          "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
                          "You are terse.<|eot_id|>"
                          "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
                          "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                          "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                          "<|start_header_id|>assistant<|end_header_id|>\n\n");
    free(got);
    lx_request_free(r);
    /* No system message: the block is still there, empty. Today's date by
     * default ("%d %b %Y"). */
    lx_template_set_date(t, NULL);
    r = conversation(false);
    got = render(t, r, false);
    const char *d = strstr(got, "Today Date: ");
    cr_assert_not_null(d);
    cr_assert(d[12] >= '0' && d[12] <= '3' && d[14] == ' ' && d[18] == ' ', "%s", got);
    cr_assert(strstr(got, "\n\n<|eot_id|><|start_header_id|>user"), "%s", got);
    free(got);
    lx_request_free(r);
    lx_template_free(t);
    /* Plain Llama 3 (no dates) keeps the short form. */
    t = detect(LLAMA3_JINJA);
    r = conversation(false);
    got = render(t, r, false);
    cr_assert(!strstr(got, "Cutting Knowledge"));
    free(got);
    lx_request_free(r);
    lx_template_free(t);
}
