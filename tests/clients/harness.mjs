// harness.mjs — the tiny test runner the SDK suites share.
//
// Each case prints one line in the e2e format (tests/e2e/lib.sh):
//   ok NAME | not ok NAME: WHY
// A case that takes longer than CASE_TIMEOUT_MS fails; the run continues.
// Environment: LLMUX_URL (http://127.0.0.1:PORT, no trailing slash) and
// LLMUX_KEY (a virtual key the server accepts).

export const URL_BASE = process.env.LLMUX_URL;
export const KEY = process.env.LLMUX_KEY;
const CASE_TIMEOUT_MS = Number(process.env.CASE_TIMEOUT_MS || 15000);

export let failed = 0;

function oneLine(s) {
  return String(s).replace(/[\r\n]+/g, ' ').slice(0, 400);
}

export class Fail extends Error {}

export function assert(cond, why) {
  if (!cond) throw new Fail(why);
}

export function eq(actual, expected, what) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Fail(`${what}: expected ${e}, got ${a}`);
}

// expectError(promise, Class, status): the call must reject with an instance
// of Class (the SDK's typed error) carrying that HTTP status.
export async function expectError(p, Class, status, statusField = 'status') {
  let err = null;
  try {
    const r = await p;
    // a stream that only fails when read
    if (r && typeof r[Symbol.asyncIterator] === 'function') {
      for await (const _ of r) { /* drain */ }
    }
  } catch (e) {
    err = e;
  }
  assert(err !== null, `no error thrown (want ${Class.name} ${status})`);
  assert(err instanceof Class,
    `want ${Class.name}, got ${err && err.constructor && err.constructor.name}: ${err && err.message}`);
  eq(err[statusField], status, `${Class.name} status`);
  return err;
}

export async function run(suite, cases) {
  for (const [name, fn] of cases) {
    const full = `${suite}_${name}`;
    let timer;
    const t0 = Date.now();
    try {
      await Promise.race([
        fn(),
        new Promise((_, rej) => {
          timer = setTimeout(() => rej(new Fail(`timed out after ${CASE_TIMEOUT_MS} ms`)),
            CASE_TIMEOUT_MS);
        }),
      ]);
      console.log(`ok ${full}`);
    } catch (e) {
      failed++;
      const why = e instanceof Fail ? e.message
        : `${e && e.constructor ? e.constructor.name : 'error'}: ${e && e.message}`;
      console.log(`not ok ${full}: ${oneLine(why)}`);
    } finally {
      clearTimeout(timer);
    }
    if (process.env.CLIENTS_VERBOSE) console.error(`# ${full} ${Date.now() - t0} ms`);
  }
}

export const WEATHER_TOOLS_OPENAI = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
  {
    type: 'function',
    function: {
      name: 'get_time',
      description: 'Time in a time zone',
      parameters: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] },
    },
  },
];
