// anthropic.mjs — the official `@anthropic-ai/sdk` package against `llmux serve`.
import Anthropic from '@anthropic-ai/sdk';
import { URL_BASE, KEY, run, assert, eq, expectError } from './harness.mjs';

const client = (key = KEY) =>
  new Anthropic({ baseURL: URL_BASE, apiKey: key, maxRetries: 0, timeout: 10000 });

const TOOLS = [
  { name: 'get_weather', description: 'Weather in a city',
    input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  { name: 'get_time', description: 'Time in a time zone',
    input_schema: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] } },
];

async function toolRoundTrip(model, dialect, stream) {
  const c = client();
  const messages = [{ role: 'user', content: 'weather and time in Paris?' }];
  let msg;
  if (stream) {
    msg = await c.messages.stream({ model, max_tokens: 200, messages, tools: TOOLS }).finalMessage();
  } else {
    msg = await c.messages.create({ model, max_tokens: 200, messages, tools: TOOLS });
  }
  eq(msg.stop_reason, 'tool_use', 'stop_reason');
  const uses = msg.content.filter((b) => b.type === 'tool_use');
  eq(uses.map((u) => u.name), ['get_weather', 'get_time'], 'tool names');
  eq(uses[0].input, { city: 'Paris' }, 'get_weather input');
  assert(uses.every((u) => typeof u.id === 'string' && u.id.length > 0), 'tool_use ids');
  messages.push({ role: 'assistant', content: msg.content });
  messages.push({ role: 'user', content: [
    { type: 'tool_result', tool_use_id: uses[0].id, content: 'sunny' },
    { type: 'tool_result', tool_use_id: uses[1].id, content: '12:00' },
  ] });
  const r2 = await c.messages.create({ model, max_tokens: 200, messages, tools: TOOLS });
  eq(r2.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
    `Hello from mock-${dialect}. Tool results: sunny | 12:00`, 'answer');
  eq(r2.stop_reason, 'end_turn', 'final stop_reason');
}

await run('anthropic', [
  ['messages', async () => {
    const m = await client().messages.create({
      model: 'mockanthropic/echo', max_tokens: 100, messages: [{ role: 'user', content: 'hi there' }],
    });
    eq(m.type, 'message', 'type');
    eq(m.role, 'assistant', 'role');
    eq(m.content.length, 1, 'content blocks');
    eq(m.content[0].type, 'text', 'block type');
    eq(m.content[0].text, 'Hello from mock-anthropic. You said: hi there', 'text');
    eq(m.stop_reason, 'end_turn', 'stop_reason');
    assert(m.usage.input_tokens > 0 && m.usage.output_tokens === 7, `usage ${JSON.stringify(m.usage)}`);
  }],
  ['messages_stream', async () => {
    const s = client().messages.stream({
      model: 'mockanthropic/echo', max_tokens: 100, messages: [{ role: 'user', content: 'stream me' }],
    });
    let text = '', deltas = 0;
    s.on('text', (t) => { text += t; deltas++; });
    const final = await s.finalMessage();
    eq(text, 'Hello from mock-anthropic. You said: stream me', 'streamed text');
    assert(deltas >= 7, `only ${deltas} text deltas: not streamed word by word`);
    eq(final.stop_reason, 'end_turn', 'stop_reason');
    eq(final.usage.output_tokens, 7, 'output_tokens');
  }],
  ['messages_raw_stream_events', async () => {
    const s = await client().messages.create({
      model: 'mockanthropic/echo', max_tokens: 100, stream: true,
      messages: [{ role: 'user', content: 'events' }],
    });
    const kinds = [];
    for await (const ev of s) if (kinds[kinds.length - 1] !== ev.type) kinds.push(ev.type);
    eq(kinds[0], 'message_start', 'first event');
    eq(kinds[kinds.length - 1], 'message_stop', 'last event');
    assert(kinds.includes('content_block_delta') && kinds.includes('message_delta'),
      `events ${kinds.join(',')}`);
  }],
  ['messages_other_dialect', async () => {
    // an Anthropic caller served by an OpenAI provider, streamed
    const s = client().messages.stream({
      model: 'mockopenai/echo', max_tokens: 100, messages: [{ role: 'user', content: 'cross' }],
    });
    const final = await s.finalMessage();
    eq(final.content[0].text, 'Hello from mock-openai. You said: cross', 'text');
  }],
  ['system_prompt', async () => {
    const m = await client().messages.create({
      model: 'mockanthropic/echo', max_tokens: 100, system: 'be brief',
      messages: [{ role: 'user', content: 'with system' }],
    });
    eq(m.content[0].text, 'Hello from mock-anthropic. You said: with system', 'text');
  }],
  ['count_tokens', async () => {
    const r = await client().messages.countTokens({
      model: 'mockanthropic/echo', messages: [{ role: 'user', content: 'count these four words' }],
    });
    assert(Number.isInteger(r.input_tokens) && r.input_tokens > 0, `input_tokens ${JSON.stringify(r)}`);
  }],
  ['tool_round_trip', () => toolRoundTrip('mockanthropic/tools', 'anthropic', false)],
  ['tool_round_trip_stream', () => toolRoundTrip('mockanthropic/tools', 'anthropic', true)],
  ['tool_round_trip_via_openai', () => toolRoundTrip('mockopenai/tools', 'openai', true)],
  ['error_bad_key', () => expectError(
    client('sk-not-a-valid-key').messages.create({
      model: 'mockanthropic/echo', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
    Anthropic.AuthenticationError, 401)],
  ['error_unknown_model', () => expectError(
    client().messages.create({
      model: 'nosuchprovider/nosuchmodel', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
    Anthropic.NotFoundError, 404)],
  ['error_rate_limited', () => expectError(
    client().messages.create({
      model: 'mockanthropic/fault-429', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
    Anthropic.RateLimitError, 429)],
  ['error_rate_limited_stream', () => expectError(
    client().messages.create({
      model: 'mockanthropic/fault-429', max_tokens: 10, stream: true,
      messages: [{ role: 'user', content: 'x' }] }),
    Anthropic.RateLimitError, 429)],
  ['error_bad_request', () => expectError(
    client().messages.create({ model: 'mockanthropic/echo', max_tokens: 10, messages: [] }),
    Anthropic.BadRequestError, 400)],
]);
