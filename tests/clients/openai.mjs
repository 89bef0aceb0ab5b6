// openai.mjs — the official `openai` package against `llmux serve`.
import OpenAI from 'openai';
import { URL_BASE, KEY, run, assert, eq, expectError, WEATHER_TOOLS_OPENAI } from './harness.mjs';

const client = (key = KEY) =>
  new OpenAI({ baseURL: `${URL_BASE}/v1`, apiKey: key, maxRetries: 0, timeout: 10000 });

async function streamText(stream) {
  let text = '', usage = null, finish = null, chunks = 0;
  for await (const ch of stream) {
    chunks++;
    if (ch.usage) usage = ch.usage;
    const c = ch.choices && ch.choices[0];
    if (c && c.delta && c.delta.content) text += c.delta.content;
    if (c && c.finish_reason) finish = c.finish_reason;
  }
  return { text, usage, finish, chunks };
}

// The tool loop every agent runs: the model asks for tools, the caller
// answers with tool messages, the model answers in text.
async function toolRoundTrip(model, dialect, stream) {
  const c = client();
  const messages = [{ role: 'user', content: 'weather and time in Paris?' }];
  let calls;
  if (!stream) {
    const r1 = await c.chat.completions.create({ model, messages, tools: WEATHER_TOOLS_OPENAI });
    eq(r1.choices[0].finish_reason, 'tool_calls', 'finish_reason');
    calls = r1.choices[0].message.tool_calls;
    messages.push(r1.choices[0].message);
  } else {
    const s = await c.chat.completions.create({ model, messages, tools: WEATHER_TOOLS_OPENAI, stream: true });
    const acc = [];
    let finish = null;
    for await (const ch of s) {
      const d = ch.choices[0] && ch.choices[0].delta;
      if (ch.choices[0] && ch.choices[0].finish_reason) finish = ch.choices[0].finish_reason;
      for (const tc of (d && d.tool_calls) || []) {
        const a = (acc[tc.index] ||= { id: '', type: 'function', function: { name: '', arguments: '' } });
        if (tc.id) a.id = tc.id;
        if (tc.function && tc.function.name) a.function.name += tc.function.name;
        if (tc.function && tc.function.arguments) a.function.arguments += tc.function.arguments;
      }
    }
    eq(finish, 'tool_calls', 'streamed finish_reason');
    calls = acc;
    messages.push({ role: 'assistant', content: null, tool_calls: acc });
  }
  eq(calls.map((t) => t.function.name), ['get_weather', 'get_time'], 'tool names');
  eq(JSON.parse(calls[0].function.arguments), { city: 'Paris' }, 'get_weather arguments');
  assert(calls.every((t) => typeof t.id === 'string' && t.id.length > 0), 'tool call ids');
  assert(new Set(calls.map((t) => t.id)).size === calls.length, 'tool call ids distinct');
  messages.push({ role: 'tool', tool_call_id: calls[0].id, content: 'sunny' });
  messages.push({ role: 'tool', tool_call_id: calls[1].id, content: '12:00' });
  const r2 = await c.chat.completions.create({ model, messages, tools: WEATHER_TOOLS_OPENAI });
  eq(r2.choices[0].message.content, `Hello from mock-${dialect}. Tool results: sunny | 12:00`, 'answer');
  eq(r2.choices[0].finish_reason, 'stop', 'final finish_reason');
}

await run('openai', [
  ['chat', async () => {
    const r = await client().chat.completions.create({
      model: 'mockopenai/echo', messages: [{ role: 'user', content: 'hi there' }],
    });
    eq(r.object, 'chat.completion', 'object');
    eq(r.choices[0].message.role, 'assistant', 'role');
    eq(r.choices[0].message.content, 'Hello from mock-openai. You said: hi there', 'content');
    eq(r.choices[0].finish_reason, 'stop', 'finish_reason');
    assert(r.usage && r.usage.prompt_tokens > 0 && r.usage.completion_tokens === 7,
      `usage ${JSON.stringify(r.usage)}`);
  }],
  ['chat_stream', async () => {
    const s = await client().chat.completions.create({
      model: 'mockopenai/echo', messages: [{ role: 'user', content: 'stream me' }],
      stream: true, stream_options: { include_usage: true },
    });
    const { text, usage, finish, chunks } = await streamText(s);
    eq(text, 'Hello from mock-openai. You said: stream me', 'streamed text');
    eq(finish, 'stop', 'finish_reason');
    assert(chunks >= 7, `only ${chunks} chunks: not streamed word by word`);
    assert(usage && usage.completion_tokens === 7, `usage ${JSON.stringify(usage)}`);
  }],
  ['chat_other_dialect', async () => {
    // an OpenAI caller served by an Anthropic provider, streamed
    const s = await client().chat.completions.create({
      model: 'mockanthropic/echo', messages: [{ role: 'user', content: 'cross' }], stream: true,
    });
    eq((await streamText(s)).text, 'Hello from mock-anthropic. You said: cross', 'text');
  }],
  ['llmux_headers', async () => {
    // the routing decision reaches SDK users through the raw response
    const { data, response } = await client().chat.completions.create({
      model: 'mockopenai/echo', messages: [{ role: 'user', content: 'headers' }],
    }).withResponse();
    eq(data.choices[0].message.content, 'Hello from mock-openai. You said: headers', 'content');
    eq(response.headers.get('x-llmux-provider'), 'mockopenai', 'x-llmux-provider');
    eq(response.headers.get('x-llmux-target'), 'cloud', 'x-llmux-target');
    assert((response.headers.get('x-llmux-reason') || '').length > 0, 'x-llmux-reason');
  }],
  ['models_list', async () => {
    const page = await client().models.list();
    const ids = page.data.map((m) => m.id);
    assert(ids.length > 0, 'no models');
    assert(ids.every((id) => typeof id === 'string'), 'ids');
  }],
  ['tool_round_trip', () => toolRoundTrip('mockopenai/tools', 'openai', false)],
  ['tool_round_trip_stream', () => toolRoundTrip('mockopenai/tools', 'openai', true)],
  ['tool_round_trip_via_anthropic', () => toolRoundTrip('mockanthropic/tools', 'anthropic', false)],
  ['error_bad_key', () => expectError(
    client('sk-not-a-valid-key').chat.completions.create({
      model: 'mockopenai/echo', messages: [{ role: 'user', content: 'x' }] }),
    OpenAI.AuthenticationError, 401)],
  ['error_unknown_model', () => expectError(
    client().chat.completions.create({
      model: 'nosuchprovider/nosuchmodel', messages: [{ role: 'user', content: 'x' }] }),
    OpenAI.NotFoundError, 404)],
  ['error_rate_limited', () => expectError(
    client().chat.completions.create({
      model: 'mockopenai/fault-429', messages: [{ role: 'user', content: 'x' }] }),
    OpenAI.RateLimitError, 429)],
  ['error_rate_limited_stream', () => expectError(
    client().chat.completions.create({
      model: 'mockopenai/fault-429', messages: [{ role: 'user', content: 'x' }], stream: true }),
    OpenAI.RateLimitError, 429)],
  ['error_bad_request', () => expectError(
    client().chat.completions.create({ model: 'mockopenai/echo', messages: [] }),
    OpenAI.BadRequestError, 400)],
]);
