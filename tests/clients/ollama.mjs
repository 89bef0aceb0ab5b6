// ollama.mjs — the official `ollama` package against `llmux serve`.
import { Ollama } from 'ollama';
import { URL_BASE, KEY, run, assert, eq, expectError } from './harness.mjs';

const client = (key = KEY) =>
  new Ollama({ host: URL_BASE, headers: key ? { Authorization: `Bearer ${key}` } : {} });

const TOOLS = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', description: 'Time in a time zone',
    parameters: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] } } },
];

// ollama's typed error is ResponseError (status_code, error); the package
// does not export the class, so the test checks its name and fields.
async function expectResponseError(p, status) {
  let err = null;
  try {
    const r = await p;
    if (r && typeof r[Symbol.asyncIterator] === 'function') for await (const _ of r) { /* drain */ }
  } catch (e) {
    err = e;
  }
  assert(err !== null, `no error thrown (want ResponseError ${status})`);
  eq(err.name, 'ResponseError', `error class (${err.message})`);
  eq(err.status_code, status, 'ResponseError status_code');
  assert(typeof err.error === 'string' && err.error.length > 0, 'error message');
}

async function toolRoundTrip(model, dialect, stream) {
  const c = client();
  const messages = [{ role: 'user', content: 'weather and time in Paris?' }];
  let msg;
  if (stream) {
    const parts = await c.chat({ model, messages, tools: TOOLS, stream: true });
    msg = { role: 'assistant', content: '', tool_calls: [] };
    for await (const p of parts) {
      msg.content += p.message.content || '';
      msg.tool_calls.push(...(p.message.tool_calls || []));
    }
  } else {
    msg = (await c.chat({ model, messages, tools: TOOLS })).message;
  }
  const calls = msg.tool_calls || [];
  eq(calls.map((t) => t.function.name), ['get_weather', 'get_time'], 'tool names');
  eq(calls[0].function.arguments, { city: 'Paris' }, 'get_weather arguments');
  messages.push(msg);
  messages.push({ role: 'tool', content: 'sunny', tool_name: 'get_weather' });
  messages.push({ role: 'tool', content: '12:00', tool_name: 'get_time' });
  const r2 = await c.chat({ model, messages, tools: TOOLS });
  eq(r2.message.content, `Hello from mock-${dialect}. Tool results: sunny | 12:00`, 'answer');
  eq(r2.done, true, 'done');
}

await run('ollama', [
  ['chat', async () => {
    const r = await client().chat({ model: 'mockollama/echo', messages: [{ role: 'user', content: 'hi there' }] });
    eq(r.message.role, 'assistant', 'role');
    eq(r.message.content, 'Hello from mock-ollama. You said: hi there', 'content');
    eq(r.done, true, 'done');
    assert(r.eval_count === 7 && r.prompt_eval_count > 0,
      `counts ${r.prompt_eval_count}/${r.eval_count}`);
  }],
  ['chat_stream', async () => {
    const parts = await client().chat({
      model: 'mockollama/echo', messages: [{ role: 'user', content: 'stream me' }], stream: true,
    });
    let text = '', n = 0, last = null;
    for await (const p of parts) { text += p.message.content; n++; last = p; }
    eq(text, 'Hello from mock-ollama. You said: stream me', 'streamed text');
    assert(n >= 7, `only ${n} parts: not streamed word by word`);
    eq(last.done, true, 'last part done');
  }],
  ['chat_other_dialect', async () => {
    // an Ollama caller served by an OpenAI provider, streamed
    const parts = await client().chat({
      model: 'mockopenai/echo', messages: [{ role: 'user', content: 'cross' }], stream: true,
    });
    let text = '';
    for await (const p of parts) text += p.message.content;
    eq(text, 'Hello from mock-openai. You said: cross', 'text');
  }],
  ['generate', async () => {
    const r = await client().generate({ model: 'mockollama/echo', prompt: 'a prompt' });
    eq(r.response, 'Hello from mock-ollama. You said: a prompt', 'response');
    eq(r.done, true, 'done');
  }],
  ['generate_stream', async () => {
    const parts = await client().generate({ model: 'mockollama/echo', prompt: 'streamed prompt', stream: true });
    let text = '';
    for await (const p of parts) text += p.response;
    eq(text, 'Hello from mock-ollama. You said: streamed prompt', 'response');
  }],
  ['list_and_version', async () => {
    const tags = await client().list();
    assert(Array.isArray(tags.models) && tags.models.length > 0, 'no models in /api/tags');
    assert(tags.models.every((m) => typeof m.name === 'string'), 'model names');
    // the SDK has no call for /api/version; clients such as Open WebUI probe it
    const v = await (await fetch(`${URL_BASE}/api/version`, { headers: { Authorization: `Bearer ${KEY}` } })).json();
    assert(typeof v.version === 'string' && v.version.length > 0, `version ${JSON.stringify(v)}`);
  }],
  ['show', async () => {
    const r = await client().show({ model: 'mockollama/echo' });
    assert(r && typeof r === 'object', 'show answer');
  }],
  ['tool_round_trip', () => toolRoundTrip('mockollama/tools', 'ollama', false)],
  ['tool_round_trip_stream', () => toolRoundTrip('mockollama/tools', 'ollama', true)],
  ['tool_round_trip_via_openai', () => toolRoundTrip('mockopenai/tools', 'openai', false)],
  ['error_bad_key', () => expectResponseError(
    client('sk-not-a-valid-key').chat({ model: 'mockollama/echo', messages: [{ role: 'user', content: 'x' }] }), 401)],
  ['error_no_key', () => expectResponseError(
    client('').chat({ model: 'mockollama/echo', messages: [{ role: 'user', content: 'x' }] }), 401)],
  ['error_unknown_model', () => expectResponseError(
    client().chat({ model: 'nosuchprovider/nosuchmodel', messages: [{ role: 'user', content: 'x' }] }), 404)],
  // A 429 from a remote provider: an Ollama provider counts as local, and a
  // failing local target escalates to the cloud default (router policy), so
  // the mock's Ollama 429 would never reach the caller.
  ['error_rate_limited', () => expectResponseError(
    client().chat({ model: 'mockopenai/fault-429', messages: [{ role: 'user', content: 'x' }] }), 429)],
  ['error_rate_limited_stream', () => expectResponseError(
    client().chat({ model: 'mockanthropic/fault-429', messages: [{ role: 'user', content: 'x' }], stream: true }), 429)],
]);
