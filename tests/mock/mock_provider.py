#!/usr/bin/env python3
"""mock_provider.py - one HTTP server speaking the OpenAI, Anthropic, Gemini and
Ollama wire dialects, with deterministic answers and injectable faults.

Design
  * Standard library only; ThreadingHTTPServer on 127.0.0.1, HTTP/1.1 with
    keep-alive. Fixed bodies carry Content-Length; streams use chunked transfer
    encoding (or are close-delimited with --close-delimited) and every event is
    flushed on its own.
  * The request's MODEL NAME picks the behaviour (see tests/mock/README.md):
    echo, tools, think, slow-<ms>, cache-<n>, flaky-<n>, fault-*, and the
    reliability scenarios: count-<n>, cut|stall|malformed|noterm-<k>-of-<n>,
    retry-after[-date]-<s>, err-<code>, slow-first-<ms>, no-response,
    prefill-reject[-<n>], context-length, content-policy, down-until-<ms>,
    any of them prefixed with times-<n>- (only the first n requests of that
    model name misbehave). Unknown names behave like echo.
  * POST /_mock/down takes matching models down for a while (an outage).
  * Every answer is a list of "events" (text / thinking / tool call pieces)
    built once, then rendered by one function per dialect, streamed or not.
  * Token counts are words (whitespace separated), so tests can compute them.
  * /_mock/* is an unauthenticated control API: request log, stats, reset,
    shutdown.

Usage: mock_provider.py [--port N] [--port-file F] [--key K] [--verbose]
First stdout line: "PORT <n>".
"""

import argparse
import email.utils
import json
import math
import os
import re
import select
import socket
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

DIALECTS = ("openai", "anthropic", "gemini", "ollama")
CREATED = 1767225600  # fixed "created" timestamp (2026-01-01T00:00:00Z)
CREATED_AT = "2026-01-01T00:00:00Z"
THINK_TEXT = "Let me think step by step."
TOOL_CALLS = (("get_weather", {"city": "Paris"}), ("get_time", {"tz": "CET"}))
TOOL_CALL_TOKENS = 5  # output tokens charged per tool call
LISTED_MODELS = ("echo", "tools", "think", "slow-200", "flaky-1", "fault-429")
STALL_LIMIT_S = 60.0


def words(text):
    return len(text.split()) if isinstance(text, str) else 0


def word_chunks(text):
    """Splits text into pieces, one per word, each keeping the whitespace that
    precedes it, so that "".join(pieces) == text."""
    pieces = re.findall(r"\s*\S+", text)
    tail = text[len("".join(pieces)):]
    if tail:
        if pieces:
            pieces[-1] += tail
        else:
            pieces = [tail]
    return pieces or [""]


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class BadRequest(Exception):
    """A request the dialect would reject with HTTP 400."""


# --------------------------------------------------------------------------
# Scenario: parsed from the model name
# --------------------------------------------------------------------------

FAULTS = {
    "fault-401", "fault-429", "fault-500", "fault-503", "fault-malformed",
    "fault-reset", "fault-reset-headers", "fault-stall", "fault-stall-first",
    "fault-no-terminator", "fault-midstream-error", "fault-context-length",
    "fault-content-policy",
}


# Short names of fault scenarios.
ALIASES = {"no-response": "fault-stall-first", "context-length": "fault-context-length",
           "content-policy": "fault-content-policy"}
# Faults <k> text tokens into a <n>-token answer ("cut-40-of-60").
KOFN = ("cut", "stall", "malformed", "noterm")
MAX_COUNT = 100000


class Scenario:
    """kind: what to do; param: its number; count: >0 answers "t1 ... tn"
    (continued after an assistant prefill); at: k of a k-of-n fault; times:
    >0 when only the first `times` requests of this model name misbehave
    (later ones get the healthy answer: count-n, else echo)."""

    def __init__(self, model):
        name = model or ""
        if name.startswith("models/"):
            name = name[len("models/"):]
        if ":" in name:  # ollama tags, "echo:latest"
            name = name.split(":", 1)[0]
        self.model = model or ""
        self.name = name
        self.kind = "echo"
        self.param = 0
        self.count = 0
        self.at = 0
        self.times = 0
        m = re.match(r"^times-(\d+)-(.+)$", name)
        if m:
            self.times = max(1, int(m.group(1)))
            name = m.group(2)
        name = ALIASES.get(name, name)
        if name in FAULTS:
            self.kind = name
            return
        m = re.match(r"^retry-after-(date-)?(\d+)", name)
        if m:
            self.kind = "retry-after-date" if m.group(1) else "retry-after"
            self.param = int(m.group(2))
            self.times = self.times or 1
            return
        m = re.match(r"^err-(\d{3})", name)
        if m and 400 <= int(m.group(1)) <= 599:
            self.kind, self.param = "err", int(m.group(1))
            return
        m = re.match(r"^slow-first-(\d+)", name)
        if m:
            self.kind, self.param = "slow-first", int(m.group(1))
            return
        m = re.match(r"^count-(\d+)", name)
        if m:
            self.kind, self.count = "count", min(max(1, int(m.group(1))), MAX_COUNT)
            return
        m = re.match(r"^(%s)-(\d+)-of-(\d+)" % "|".join(KOFN), name)
        if m:
            self.kind = m.group(1)
            self.count = min(max(1, int(m.group(3))), MAX_COUNT)
            self.at = min(int(m.group(2)), self.count)
            return
        m = re.match(r"^prefill-reject(?:-(\d+))?", name)
        if m:
            self.kind = "prefill-reject"
            if m.group(1):
                self.count = min(max(1, int(m.group(1))), MAX_COUNT)
            return
        m = re.match(r"^down-until-(\d+)", name)
        if m:
            self.kind, self.param = "down-until", int(m.group(1))
            return
        for prefix in ("slow", "flaky", "cache"):
            m = re.match(r"^%s-(\d+)" % prefix, name)
            if m:
                self.kind, self.param = prefix, int(m.group(1))
                return
        if name in ("tools", "think"):
            self.kind = name


# --------------------------------------------------------------------------
# Shared state: request log, counters
# --------------------------------------------------------------------------

class State:
    def __init__(self, key):
        self.key = key
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.log = []
            self.seq = 0
            self.flaky = {}
            self.models = {}
            self.dialects = {}
            self.connections = 0
            self.hits = {}
            self.down = None

    def record(self, entry):
        with self.lock:
            self.seq += 1
            entry["id"] = self.seq
            self.log.append(entry)
        return entry

    def count(self, dialect, model):
        with self.lock:
            self.models[model] = self.models.get(model, 0) + 1
            self.dialects[dialect] = self.dialects.get(dialect, 0) + 1

    def flaky_hit(self, model):
        """Counts one request of a flaky-<n> model; returns its 1-based number."""
        with self.lock:
            self.flaky[model] = self.flaky.get(model, 0) + 1
            return self.flaky[model]

    def hit(self, model):
        """Counts one request of a times-<n>- model; returns its 1-based number."""
        with self.lock:
            self.hits[model] = self.hits.get(model, 0) + 1
            return self.hits[model]

    def set_down(self, seconds, models=None, dialects=None, status=503):
        with self.lock:
            self.down = {"until": time.time() + seconds, "models": models,
                         "dialects": dialects, "status": status}

    def down_status(self, dialect, model):
        """The outage answer (an HTTP status, or "reset") for this request, or
        None when it is not affected."""
        with self.lock:
            d = self.down
            if not d or time.time() >= d["until"]:
                return None
            if d["models"] is not None and model not in d["models"]:
                return None
            if d["dialects"] is not None and dialect not in d["dialects"]:
                return None
            return d["status"]

    def down_info(self):
        with self.lock:
            d = self.down
            if not d:
                return {"down": False}
            left = d["until"] - time.time()
            return {"down": left > 0, "until": d["until"], "remaining_s": max(0.0, left),
                    "models": d["models"], "dialects": d["dialects"], "status": d["status"]}

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps(self.log))

    def stats(self):
        with self.lock:
            by_model = {}
            for e in self.log:
                if e.get("model") is None:
                    continue
                b = by_model.setdefault(e["model"], {"n": 0, "status": {}, "disconnected": 0,
                                                     "prefill": 0, "times": []})
                b["n"] += 1
                k = str(e.get("status")) if e.get("status") is not None else "none"
                b["status"][k] = b["status"].get(k, 0) + 1
                b["disconnected"] += 1 if e["stream"]["client_disconnected"] else 0
                b["prefill"] += 1 if e.get("prefill") is not None else 0
                b["times"].append(e["time"])
            return {"total": len(self.log), "models": dict(self.models),
                    "dialects": dict(self.dialects), "connections": self.connections,
                    "flaky": dict(self.flaky), "hits": dict(self.hits),
                    "by_model": by_model}


# --------------------------------------------------------------------------
# Reading requests: last user text, prompt words, tool results
# --------------------------------------------------------------------------

def text_of(content):
    """Text of an OpenAI/Anthropic/Ollama message content (string or parts)."""
    if isinstance(content, str):
        return content
    out = []
    if isinstance(content, list):
        for p in content:
            if isinstance(p, str):
                out.append(p)
            elif isinstance(p, dict):
                if p.get("type") in ("text", "input_text") and isinstance(p.get("text"), str):
                    out.append(p["text"])
                elif p.get("type") == "tool_result":
                    out.append(text_of(p.get("content")))
    return "\n".join(x for x in out if x)


def gemini_parts_text(parts):
    out = []
    for p in parts or []:
        if not isinstance(p, dict):
            continue
        if isinstance(p.get("text"), str) and not p.get("thought"):
            out.append(p["text"])
        elif isinstance(p.get("functionResponse"), dict):
            out.append(compact(p["functionResponse"].get("response")))
    return "\n".join(out)


class Prompt:
    """What the mock needs from a request, dialect-independent."""

    def __init__(self):
        self.texts = []          # every prompt text (system + messages)
        self.last_user = ""      # text of the last user turn
        self.tool_results = None  # list of strings when the last turn is tool results
        self.prefill = None       # text of a trailing assistant message (a prefill)

    @property
    def input_tokens(self):
        return sum(words(t) for t in self.texts)


def prompt_openai(body):
    p = Prompt()
    msgs = body["messages"]
    for m in msgs:
        c = m.get("content")
        t = text_of(c) if not isinstance(c, (dict,)) else compact(c)
        if t:
            p.texts.append(t)
    tail = []
    for m in reversed(msgs):
        if m.get("role") == "tool":
            tail.insert(0, text_of(m.get("content")))
        else:
            break
    if tail:
        p.tool_results = tail
    for m in reversed(msgs):
        if m.get("role") == "user":
            p.last_user = text_of(m.get("content"))
            break
    last = msgs[-1]
    if last.get("role") == "assistant" and not last.get("tool_calls"):
        p.prefill = text_of(last.get("content"))
    return p


def prompt_anthropic(body):
    p = Prompt()
    sysp = body.get("system")
    if sysp:
        p.texts.append(text_of(sysp))
    msgs = body["messages"]
    for m in msgs:
        t = text_of(m.get("content"))
        if t:
            p.texts.append(t)
    if msgs and msgs[-1].get("role") == "user" and isinstance(msgs[-1].get("content"), list):
        res = [text_of(b.get("content")) for b in msgs[-1]["content"]
               if isinstance(b, dict) and b.get("type") == "tool_result"]
        if res:
            p.tool_results = res
    for m in reversed(msgs):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):
                c = [b for b in c if isinstance(b, dict) and b.get("type") == "text"]
            t = text_of(c)
            if t or p.tool_results is None:
                p.last_user = t
                break
    if msgs[-1].get("role") == "assistant":
        p.prefill = text_of(msgs[-1].get("content"))
    return p


def prompt_gemini(body):
    p = Prompt()
    si = body.get("systemInstruction") or body.get("system_instruction")
    if isinstance(si, dict):
        t = gemini_parts_text(si.get("parts"))
        if t:
            p.texts.append(t)
    contents = body["contents"]
    for c in contents:
        t = gemini_parts_text(c.get("parts"))
        if t:
            p.texts.append(t)
    if contents:
        res = [compact(x["functionResponse"].get("response"))
               for x in contents[-1].get("parts") or []
               if isinstance(x, dict) and isinstance(x.get("functionResponse"), dict)]
        if res:
            p.tool_results = res
    for c in reversed(contents):
        if c.get("role", "user") == "user":
            t = "\n".join(x["text"] for x in c.get("parts") or []
                          if isinstance(x, dict) and isinstance(x.get("text"), str))
            if t or p.tool_results is None:
                p.last_user = t
                break
    if contents and contents[-1].get("role") == "model":
        p.prefill = gemini_parts_text(contents[-1].get("parts"))
    return p


def prompt_ollama_chat(body):
    p = Prompt()
    msgs = body["messages"]
    for m in msgs:
        t = text_of(m.get("content"))
        if t:
            p.texts.append(t)
    tail = []
    for m in reversed(msgs):
        if m.get("role") == "tool":
            tail.insert(0, text_of(m.get("content")))
        else:
            break
    if tail:
        p.tool_results = tail
    for m in reversed(msgs):
        if m.get("role") == "user":
            p.last_user = text_of(m.get("content"))
            break
    if msgs and msgs[-1].get("role") == "assistant" and not msgs[-1].get("tool_calls"):
        p.prefill = text_of(msgs[-1].get("content"))
    return p


def prompt_ollama_generate(body):
    p = Prompt()
    for k in ("system", "prompt"):
        if isinstance(body.get(k), str) and body[k]:
            p.texts.append(body[k])
    p.last_user = body.get("prompt") or ""
    return p


# --------------------------------------------------------------------------
# Validation (required fields per dialect)
# --------------------------------------------------------------------------

def need(cond, msg):
    if not cond:
        raise BadRequest(msg)


def validate_openai(b):
    need(isinstance(b.get("model"), str) and b["model"], "model: required (string)")
    need(isinstance(b.get("messages"), list) and b["messages"],
         "messages: required (non-empty array)")
    for i, m in enumerate(b["messages"]):
        need(isinstance(m, dict) and m.get("role") in
             ("system", "developer", "user", "assistant", "tool"),
             "messages[%d].role: invalid" % i)
        if m["role"] == "tool":
            need(isinstance(m.get("tool_call_id"), str), "messages[%d].tool_call_id: required" % i)
    need(not ("stream_options" in b and b.get("stream_options") is not None and not b.get("stream")),
         "stream_options: only allowed when stream is true")
    for k in ("max_tokens", "max_completion_tokens"):
        need(k not in b or b[k] is None or (isinstance(b[k], int) and b[k] > 0),
             "%s: must be a positive integer" % k)
    if "tools" in b:
        need(isinstance(b["tools"], list), "tools: must be an array")
        for i, t in enumerate(b["tools"]):
            need(isinstance(t, dict) and t.get("type") == "function"
                 and isinstance(t.get("function"), dict)
                 and isinstance(t["function"].get("name"), str),
                 "tools[%d]: expected {type:function, function:{name,...}}" % i)


def validate_anthropic(b):
    need(isinstance(b.get("model"), str) and b["model"], "model: Field required")
    need(isinstance(b.get("max_tokens"), int) and not isinstance(b["max_tokens"], bool)
         and b["max_tokens"] > 0, "max_tokens: Field required (positive integer)")
    need(isinstance(b.get("messages"), list) and b["messages"], "messages: Field required")
    for i, m in enumerate(b["messages"]):
        need(isinstance(m, dict) and m.get("role") in ("user", "assistant"),
             "messages.%d.role: Input should be 'user' or 'assistant'" % i)
        need(isinstance(m.get("content"), (str, list)), "messages.%d.content: Field required" % i)
    last = b["messages"][-1]
    if last.get("role") == "assistant":
        t = text_of(last.get("content"))
        need(not t or not t[-1].isspace(),
             "messages: final assistant content cannot end with trailing whitespace")
    need("system" not in b or isinstance(b["system"], (str, list)),
         "system: Input should be a valid string or list of blocks")
    if "tools" in b:
        need(isinstance(b["tools"], list), "tools: must be an array")
        for i, t in enumerate(b["tools"]):
            need(isinstance(t, dict) and isinstance(t.get("name"), str)
                 and isinstance(t.get("input_schema"), dict),
                 "tools.%d: expected {name, description, input_schema}" % i)


def validate_gemini(b):
    need(isinstance(b.get("contents"), list) and b["contents"],
         "contents: required (non-empty array)")
    for i, c in enumerate(b["contents"]):
        need(isinstance(c, dict) and isinstance(c.get("parts"), list) and c["parts"],
             "contents[%d].parts: required" % i)
        need(c.get("role", "user") in ("user", "model", "function"),
             "contents[%d].role: Please use a valid role: user, model." % i)
    gc = b.get("generationConfig")
    need(gc is None or isinstance(gc, dict), "generationConfig: must be an object")
    if isinstance(gc, dict) and "maxOutputTokens" in gc:
        need(isinstance(gc["maxOutputTokens"], int) and gc["maxOutputTokens"] > 0,
             "generationConfig.maxOutputTokens: must be a positive integer")
    if "tools" in b:
        need(isinstance(b["tools"], list), "tools: must be an array")


def validate_ollama(b, chat):
    need(isinstance(b.get("model"), str) and b["model"], "model is required")
    if chat:
        need(isinstance(b.get("messages"), list), "messages is required")
        for m in b["messages"]:
            need(isinstance(m, dict) and m.get("role") in ("system", "user", "assistant", "tool"),
                 "invalid message role")
    opts = b.get("options")
    need(opts is None or isinstance(opts, dict), "options must be an object")


# --------------------------------------------------------------------------
# Answers: a list of events, dialect independent
#   ("think", piece) ("text", piece) ("tool", index, name, args_dict)
# --------------------------------------------------------------------------

def count_text(n, prefill):
    """"t1 t2 ... tn"; after an assistant prefill of w words, what follows them
    (" t<w+1> ... tn"), so prefill + answer is the whole text."""
    toks = ["t%d" % i for i in range(1, n + 1)]
    if prefill is None:
        return " ".join(toks)
    rest = toks[words(prefill):]
    if not rest:
        return ""
    sep = "" if (not prefill or prefill[-1].isspace()) else " "
    return sep + " ".join(rest)


class Answer:
    def __init__(self, dialect, sc, prompt):
        self.events = []
        self.text = ""
        self.thinking = ""
        self.calls = []
        self.finish = "stop"
        hello = "Hello from mock-%s." % dialect
        if sc.count:
            self.text = count_text(sc.count, prompt.prefill)
        elif sc.kind == "tools" and prompt.tool_results is None:
            self.calls = list(TOOL_CALLS)
            self.finish = "tool_calls"
        else:
            if prompt.tool_results is not None:
                self.text = "%s Tool results: %s" % (hello, " | ".join(prompt.tool_results))
            else:
                self.text = "%s You said: %s" % (hello, prompt.last_user)
        if sc.kind == "think":
            self.thinking = THINK_TEXT
            self.events += [("think", w) for w in word_chunks(THINK_TEXT)]
        if self.text:
            self.events += [("text", w) for w in word_chunks(self.text)]
        for i, (name, args) in enumerate(self.calls):
            self.events.append(("tool", i, name, args))
        self.input = prompt.input_tokens
        self.cached = min(sc.param, self.input) if sc.kind == "cache" else 0
        self.reasoning = words(self.thinking)
        self.output_text = words(self.text) + TOOL_CALL_TOKENS * len(self.calls)
        self.output = self.output_text + self.reasoning


# --------------------------------------------------------------------------
# Error bodies per dialect
# --------------------------------------------------------------------------

GEMINI_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                 503: "UNAVAILABLE"}
ANTHROPIC_TYPE = {400: "invalid_request_error", 401: "authentication_error",
                  403: "permission_error", 404: "not_found_error", 429: "rate_limit_error",
                  500: "api_error", 503: "overloaded_error", 529: "overloaded_error"}
OPENAI_TYPE = {400: "invalid_request_error", 401: "invalid_request_error",
               404: "invalid_request_error", 429: "requests", 500: "server_error",
               503: "server_error"}


def error_body(dialect, status, message, code=None):
    if dialect == "openai":
        return {"error": {"message": message, "type": OPENAI_TYPE.get(status, "server_error"),
                          "param": None, "code": code}}
    if dialect == "anthropic":
        return {"type": "error", "error": {"type": ANTHROPIC_TYPE.get(status, "api_error"),
                                           "message": message},
                "request_id": "req_mock"}
    if dialect == "gemini":
        return {"error": {"code": status, "message": message,
                          "status": GEMINI_STATUS.get(status, "UNKNOWN")}}
    return {"error": message}


FAULT_ERRORS = {
    # kind: (status, {dialect: (message, openai code)})
    "fault-401": (401, "Invalid API key provided.", "invalid_api_key"),
    "fault-429": (429, "Rate limit reached for requests. Please try again in 1s.",
                  "rate_limit_exceeded"),
    "fault-500": (500, "The server had an error while processing your request.", None),
    "fault-503": (503, "The service is overloaded, please try again later.", None),
    "flaky": (503, "The service is overloaded, please try again later.", None),
}

# Messages of err-<code> and of outages (no Retry-After header with these).
ERR_MSG = {
    400: "mock error (HTTP 400)",
    429: "Rate limit reached for requests.",
    500: "The server had an error while processing your request.",
    502: "Bad gateway.",
    503: "The service is overloaded, please try again later.",
    504: "Gateway timeout.",
    529: "Overloaded",
}
PREFILL_MSG = {
    "openai": "This model does not support assistant message prefill. The conversation "
              "must end with a user message.",
    "anthropic": "This model does not support assistant message prefill. The conversation "
                 "must end with a user message.",
    "gemini": "Please ensure that the conversation ends with a user turn.",
    "ollama": "the last message must be from the user",
}

CONTEXT_MSG = {
    "openai": ("This model's maximum context length is 4096 tokens. However, your messages "
               "resulted in 5000 tokens. Please reduce the length of the messages.",
               "context_length_exceeded"),
    "anthropic": ("prompt is too long: 5000 tokens > 4096 maximum", None),
    "gemini": ("The input token count (5000) exceeds the maximum number of tokens allowed "
               "(4096).", None),
    "ollama": ("input length exceeds the context length", None),
}
POLICY_MSG = {
    "openai": ("Your request was rejected as a result of our safety system.",
               "content_policy_violation"),
    "anthropic": ("Output blocked by content filtering policy", None),
    "gemini": ("The prompt was blocked for safety reasons (blockReason: SAFETY).", None),
    "ollama": ("content policy violation", None),
}


# --------------------------------------------------------------------------
# Dialect renderers: (events) -> list of stream frames / one body
# --------------------------------------------------------------------------

def sse(data, event=None):
    s = ""
    if event:
        s += "event: %s\n" % event
    s += "data: %s\n\n" % (data if isinstance(data, str) else compact(data))
    return s.encode()


def ndjson(obj):
    return (compact(obj) + "\n").encode()


def split_args(s):
    """Argument JSON in 3 fragments, as OpenAI/Anthropic stream it."""
    n = len(s)
    a, b = n // 3, 2 * n // 3
    return [x for x in (s[:a], s[a:b], s[b:]) if x]


# One stream frame that is not valid JSON, per dialect (argument: stream mode).
BAD_FRAME = {
    "openai": lambda mode: b'data: {"choices": [{"delta": {"content": "oops\n\n',
    "anthropic": lambda mode: b'event: content_block_delta\ndata: {"type": "content_bl\n\n',
    "gemini": lambda mode: (b'data: {"candidates": [oops\n\n' if mode == "sse"
                            else b'{"candidates": [oops'),
    "ollama": lambda mode: b'{"message": {"content": "oops\n',
}


class Renderer:
    """Builds frames for one dialect. `frames` returns (frames, terminal_count)
    where the last terminal_count frames form the stream's terminator."""

    def __init__(self, dialect, model, ans, body, stream_mode):
        self.d, self.model, self.ans, self.body = dialect, model, ans, body
        self.mode = stream_mode  # "sse" | "ndjson" | "json-array"
        self.rid = uuid.uuid4().hex[:24]

    # ----- OpenAI ---------------------------------------------------------
    def openai_usage(self):
        a = self.ans
        return {"prompt_tokens": a.input, "completion_tokens": a.output,
                "total_tokens": a.input + a.output,
                "prompt_tokens_details": {"cached_tokens": a.cached, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": a.reasoning,
                                              "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0,
                                              "rejected_prediction_tokens": 0}}

    def openai_body(self):
        a = self.ans
        msg = {"role": "assistant", "content": a.text or None, "refusal": None}
        if a.thinking:
            msg["reasoning_content"] = a.thinking
        if a.calls:
            msg["tool_calls"] = [{"id": "call_mock_%d" % (i + 1), "type": "function",
                                  "function": {"name": n, "arguments": compact(args)}}
                                 for i, (n, args) in enumerate(a.calls)]
        return {"id": "chatcmpl-" + self.rid, "object": "chat.completion", "created": CREATED,
                "model": self.model, "system_fingerprint": "fp_mock",
                "choices": [{"index": 0, "message": msg, "logprobs": None,
                             "finish_reason": a.finish}],
                "usage": self.openai_usage()}

    def openai_frames(self):
        incl = bool((self.body.get("stream_options") or {}).get("include_usage"))
        base = {"id": "chatcmpl-" + self.rid, "object": "chat.completion.chunk",
                "created": CREATED, "model": self.model, "system_fingerprint": "fp_mock"}

        def chunk(delta, finish=None):
            c = dict(base)
            c["choices"] = [{"index": 0, "delta": delta, "logprobs": None,
                             "finish_reason": finish}]
            if incl:
                c["usage"] = None
            return sse(c)

        out = [chunk({"role": "assistant", "content": "", "refusal": None})]
        for ev in self.ans.events:
            if ev[0] == "think":
                out.append(chunk({"reasoning_content": ev[1]}))
            elif ev[0] == "text":
                out.append(chunk({"content": ev[1]}))
            else:
                _, i, name, args = ev
                out.append(chunk({"tool_calls": [{"index": i, "id": "call_mock_%d" % (i + 1),
                                                  "type": "function",
                                                  "function": {"name": name, "arguments": ""}}]}))
                for frag in split_args(compact(args)):
                    out.append(chunk({"tool_calls": [{"index": i,
                                                      "function": {"arguments": frag}}]}))
        term = [chunk({}, self.ans.finish)]
        if incl:
            u = dict(base)
            u["choices"] = []
            u["usage"] = self.openai_usage()
            term.append(sse(u))
        term.append(b"data: [DONE]\n\n")
        return out + term, len(term)

    # ----- Anthropic ------------------------------------------------------
    def anthropic_blocks(self):
        a = self.ans
        blocks = []
        if a.thinking:
            blocks.append({"type": "thinking", "thinking": a.thinking,
                           "signature": "mock-signature"})
        if a.text:
            blocks.append({"type": "text", "text": a.text})
        for i, (n, args) in enumerate(a.calls):
            blocks.append({"type": "tool_use", "id": "toolu_mock_%d" % (i + 1), "name": n,
                           "input": args})
        return blocks

    def anthropic_usage(self, output):
        a = self.ans
        return {"input_tokens": a.input - a.cached, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": a.cached, "output_tokens": output}

    def anthropic_stop(self):
        return "tool_use" if self.ans.calls else "end_turn"

    def anthropic_body(self):
        return {"id": "msg_" + self.rid, "type": "message", "role": "assistant",
                "model": self.model, "content": self.anthropic_blocks(),
                "stop_reason": self.anthropic_stop(), "stop_sequence": None,
                "usage": self.anthropic_usage(self.ans.output)}

    def anthropic_frames(self):
        msg = {"id": "msg_" + self.rid, "type": "message", "role": "assistant",
               "model": self.model, "content": [], "stop_reason": None,
               "stop_sequence": None, "usage": self.anthropic_usage(1)}
        out = [sse({"type": "message_start", "message": msg}, "message_start")]
        idx = -1
        cur = None

        def close():
            if cur is not None:
                out.append(sse({"type": "content_block_stop", "index": idx},
                               "content_block_stop"))

        for ev in self.ans.events:
            kind = ev[0] if ev[0] != "tool" else ("tool", ev[1])
            if kind != cur:
                if cur == "think":
                    out.append(sse({"type": "content_block_delta", "index": idx,
                                    "delta": {"type": "signature_delta",
                                              "signature": "mock-signature"}},
                                   "content_block_delta"))
                close()
                idx += 1
                cur = kind
                if ev[0] == "think":
                    block = {"type": "thinking", "thinking": "", "signature": ""}
                elif ev[0] == "text":
                    block = {"type": "text", "text": ""}
                else:
                    block = {"type": "tool_use", "id": "toolu_mock_%d" % (ev[1] + 1),
                             "name": ev[2], "input": {}}
                out.append(sse({"type": "content_block_start", "index": idx,
                                "content_block": block}, "content_block_start"))
                if len(out) == 2:
                    out.append(sse({"type": "ping"}, "ping"))
            if ev[0] == "think":
                d = {"type": "thinking_delta", "thinking": ev[1]}
                out.append(sse({"type": "content_block_delta", "index": idx, "delta": d},
                               "content_block_delta"))
            elif ev[0] == "text":
                d = {"type": "text_delta", "text": ev[1]}
                out.append(sse({"type": "content_block_delta", "index": idx, "delta": d},
                               "content_block_delta"))
            else:
                for frag in split_args(compact(ev[3])):
                    d = {"type": "input_json_delta", "partial_json": frag}
                    out.append(sse({"type": "content_block_delta", "index": idx, "delta": d},
                                   "content_block_delta"))
        close()
        term = [sse({"type": "message_delta",
                     "delta": {"stop_reason": self.anthropic_stop(), "stop_sequence": None},
                     "usage": {"output_tokens": self.ans.output}}, "message_delta"),
                sse({"type": "message_stop"}, "message_stop")]
        return out + term, len(term)

    # ----- Gemini ---------------------------------------------------------
    def gemini_usage(self, cand, thoughts):
        a = self.ans
        u = {"promptTokenCount": a.input, "candidatesTokenCount": cand,
             "totalTokenCount": a.input + cand + thoughts}
        if thoughts:
            u["thoughtsTokenCount"] = thoughts
        if a.cached:
            u["cachedContentTokenCount"] = a.cached
        return u

    def gemini_parts(self, events):
        parts = []
        for ev in events:
            if ev[0] == "think":
                parts.append({"text": ev[1], "thought": True})
            elif ev[0] == "text":
                parts.append({"text": ev[1]})
            else:
                parts.append({"functionCall": {"name": ev[2], "args": ev[3]}})
        return parts

    def gemini_resp(self, parts, finish, cand, thoughts):
        c = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            c["finishReason"] = "STOP"
        return {"candidates": [c], "usageMetadata": self.gemini_usage(cand, thoughts),
                "modelVersion": self.model, "responseId": self.rid}

    def gemini_body(self):
        a = self.ans
        parts = []
        if a.thinking:
            parts.append({"text": a.thinking, "thought": True})
        if a.text:
            parts.append({"text": a.text})
        parts += [{"functionCall": {"name": n, "args": args}} for n, args in a.calls]
        return self.gemini_resp(parts, True, a.output_text, a.reasoning)

    def gemini_objs(self):
        """Stream objects; finishReason rides on the last one (with the tool
        calls, whole, when there are any)."""
        a = self.ans
        objs = []
        cand = thoughts = 0
        for ev in a.events:
            if ev[0] == "tool":
                continue
            if ev[0] == "think":
                thoughts += words(ev[1])
            else:
                cand += words(ev[1])
            objs.append(self.gemini_resp(self.gemini_parts([ev]), False, cand, thoughts))
        tools = [e for e in a.events if e[0] == "tool"]
        if tools or not objs:
            objs.append(self.gemini_resp(self.gemini_parts(tools), False, cand, thoughts))
        last = objs[-1]
        last["candidates"][0]["finishReason"] = "STOP"
        last["usageMetadata"] = self.gemini_usage(a.output_text, a.reasoning)
        return objs

    def wrap_gemini(self, objs):
        """SSE frames, or (without alt=sse) one JSON array streamed element by
        element. bytes elements are emitted as they are (fault injection)."""
        if self.mode == "sse":
            return [o if isinstance(o, bytes) else sse(o) for o in objs]
        out = []
        for i, o in enumerate(objs):
            data = o if isinstance(o, bytes) else json.dumps(o).encode()
            out.append((b"[" if i == 0 else b",\r\n") + data)
        out.append(b"]")
        return out

    # ----- Ollama ---------------------------------------------------------
    def ollama_final(self, chat):
        a = self.ans
        o = {"model": self.model, "created_at": CREATED_AT}
        if chat:
            o["message"] = {"role": "assistant", "content": ""}
        else:
            o["response"] = ""
        o.update({"done": True, "done_reason": "stop"})
        o.update(ollama_durations(a.input, a.output))
        return o

    def ollama_body(self, chat):
        a = self.ans
        o = self.ollama_final(chat)
        if chat:
            o["message"]["content"] = a.text
            if a.thinking:
                o["message"]["thinking"] = a.thinking
            if a.calls:
                o["message"]["tool_calls"] = self.ollama_calls(range(len(a.calls)))
        else:
            o["response"] = a.text
            if a.thinking:
                o["thinking"] = a.thinking
        return o

    def ollama_calls(self, idxs):
        return [{"function": {"index": i, "name": self.ans.calls[i][0],
                              "arguments": self.ans.calls[i][1]}} for i in idxs]

    def ollama_frames(self, chat):
        out = []
        tools = [e[1] for e in self.ans.events if e[0] == "tool"]
        for ev in self.ans.events:
            if ev[0] == "tool":
                continue
            o = {"model": self.model, "created_at": CREATED_AT}
            if chat:
                m = {"role": "assistant", "content": ""}
                m["thinking" if ev[0] == "think" else "content"] = ev[1]
                o["message"] = m
            else:
                o["response"] = ev[1] if ev[0] == "text" else ""
                if ev[0] == "think":
                    o["thinking"] = ev[1]
            o["done"] = False
            out.append(ndjson(o))
        if tools and chat:
            o = {"model": self.model, "created_at": CREATED_AT,
                 "message": {"role": "assistant", "content": "",
                             "tool_calls": self.ollama_calls(tools)}, "done": False}
            out.append(ndjson(o))
        return out + [ndjson(self.ollama_final(chat))], 1


def ollama_durations(n_in, n_out):
    load = 1_000_000
    pe = n_in * 1_000_000
    ev = n_out * 10_000_000
    return {"total_duration": load + pe + ev, "load_duration": load,
            "prompt_eval_count": n_in, "prompt_eval_duration": pe,
            "eval_count": n_out, "eval_duration": ev}


# --------------------------------------------------------------------------
# HTTP handler
# --------------------------------------------------------------------------

class Disconnected(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "llmux-mock/1"

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        st = self.server.state
        with st.lock:
            st.connections += 1

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("mock: " + (fmt % args) + "\n")

    # ----- plumbing -------------------------------------------------------
    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            data = b""
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data += self.rfile.read(size)
                self.rfile.readline(65537)
            return data
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, status, obj, extra=None):
        data = (json.dumps(obj) + "\n").encode() if not isinstance(obj, bytes) else obj
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        if self.entry is not None:
            self.entry["status"] = status

    def send_error_json(self, status, message, code=None, extra=None):
        self.send_json(status, error_body(self.dialect, status, message, code), extra)

    def reset_connection(self):
        """Aborts the TCP connection with RST (SO_LINGER 0, then close)."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.rfile.close()
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def peer_gone(self):
        """True when the client has closed its side (readable with EOF)."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def start_stream(self, ctype, extra=None):
        self.chunked = not self.server.close_delimited
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache")
        if self.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()
        self.entry["status"] = 200

    def write_chunk(self, data):
        if self.peer_gone():
            raise Disconnected()
        try:
            if self.chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            raise Disconnected()
        self.entry["stream"]["chunks_written"] += 1

    def end_stream(self):
        try:
            if self.chunked:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        except OSError:
            raise Disconnected()

    def wait_for_disconnect(self, limit):
        """Stays silent until the client goes away or `limit` seconds pass."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            try:
                r, _, _ = select.select([self.connection], [], [], 0.1)
                if r and self.connection.recv(1, socket.MSG_PEEK) == b"":
                    self.entry["stream"]["client_disconnected"] = True
                    return True
            except (OSError, ValueError):
                self.entry["stream"]["client_disconnected"] = True
                return True
        return False

    # ----- dispatch -------------------------------------------------------
    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        self.entry = None
        self.dialect = "openai"
        url = urlsplit(self.path)
        path = url.path
        self.query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            raw = self.read_body()
        except (ValueError, OSError):
            self.send_json(400, {"error": "bad request body"})
            return
        if path.startswith("/_mock/"):
            self.raw_body = raw
            return self.control(method, path)
        hdrs = {}
        for k, v in self.headers.items():
            k = k.lower()
            hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
        try:
            body = json.loads(raw) if raw else None
            parsed = True
        except (ValueError, UnicodeDecodeError):
            body = raw.decode("utf-8", "replace")
            parsed = False
        self.entry = {"method": method, "path": path, "query": self.query, "headers": hdrs,
                      "body": body, "time": time.time(), "dialect": None, "model": None,
                      "scenario": None, "applied": None, "prefill": None,
                      "status": None, "num_ctx": None,
                      "stream": {"requested": False, "chunks_written": 0,
                                 "client_disconnected": False, "completed": False}}
        self.server.state.record(self.entry)
        try:
            self.route(method, path, body, parsed, hdrs)
        except Disconnected:
            self.entry["stream"]["client_disconnected"] = True
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.entry["stream"]["client_disconnected"] = True
            self.close_connection = True

    def route(self, method, path, body, parsed, hdrs):
        m = re.match(r"^/v1(?:beta)?/models/(.+):(generateContent|streamGenerateContent)$", path)
        if m and method == "POST":
            self.dialect = "gemini"
            return self.serve("gemini", body, parsed, hdrs, model=unquote(m.group(1)),
                              gemini_stream=m.group(2) == "streamGenerateContent")
        if path == "/v1/chat/completions" and method == "POST":
            self.dialect = "openai"
            return self.serve("openai", body, parsed, hdrs)
        if path == "/v1/messages" and method == "POST":
            self.dialect = "anthropic"
            return self.serve("anthropic", body, parsed, hdrs)
        if path in ("/api/chat", "/api/generate") and method == "POST":
            self.dialect = "ollama"
            return self.serve("ollama", body, parsed, hdrs, ollama_chat=path == "/api/chat")
        gemini_list = "x-goog-api-key" in hdrs or "key" in self.query
        if path == "/v1/models" and method == "GET" and not gemini_list:
            if "anthropic-version" in hdrs or "x-api-key" in hdrs:
                self.dialect = "anthropic"
                if not self.auth_ok("anthropic", hdrs):
                    return self.send_auth_error()
                data = [{"type": "model", "id": n, "display_name": n, "created_at": CREATED_AT}
                        for n in LISTED_MODELS]
                return self.send_json(200, {"data": data, "has_more": False,
                                            "first_id": data[0]["id"],
                                            "last_id": data[-1]["id"]})
            self.dialect = "openai"
            if not self.auth_ok("openai", hdrs):
                return self.send_auth_error()
            return self.send_json(200, {"object": "list", "data": [
                {"id": n, "object": "model", "created": CREATED, "owned_by": "mock"}
                for n in LISTED_MODELS]})
        if path in ("/v1beta/models", "/v1/models") and method == "GET":
            self.dialect = "gemini"
            if not self.auth_ok("gemini", hdrs):
                return self.send_auth_error()
            return self.send_json(200, {"models": [
                {"name": "models/" + n, "displayName": n, "inputTokenLimit": 32768,
                 "outputTokenLimit": 8192,
                 "supportedGenerationMethods": ["generateContent", "countTokens"]}
                for n in LISTED_MODELS]})
        if path == "/api/tags" and method == "GET":
            self.dialect = "ollama"
            return self.send_json(200, {"models": [
                {"name": n + ":latest", "model": n + ":latest", "modified_at": CREATED_AT,
                 "size": 1000000, "digest": "%064x" % i,
                 "details": {"format": "gguf", "family": "mock", "parameter_size": "1M",
                             "quantization_level": "Q8_0"}}
                for i, n in enumerate(LISTED_MODELS)]})
        if path == "/api/version" and method == "GET":
            self.dialect = "ollama"
            return self.send_json(200, {"version": "0.12.0"})
        if path == "/api/show" and method == "POST":
            self.dialect = "ollama"
            if not parsed or not isinstance(body, dict) or not body.get("model"):
                return self.send_error_json(400, "model is required")
            return self.send_json(200, {
                "modelfile": "", "parameters": "", "template": "{{ .Prompt }}",
                "details": {"format": "gguf", "family": "mock", "parameter_size": "1M",
                            "quantization_level": "Q8_0"},
                "model_info": {"general.architecture": "mock", "mock.context_length": 32768},
                "capabilities": ["completion", "tools", "thinking"]})
        self.send_json(404, {"error": "not found: %s %s" % (method, path)})

    # ----- auth -----------------------------------------------------------
    def auth_ok(self, dialect, h):
        key = self.server.state.key
        bearer = h.get("authorization", "")
        if dialect == "openai":
            return bearer == "Bearer " + key
        if dialect == "anthropic":
            return h.get("x-api-key") == key or bearer == "Bearer " + key
        if dialect == "gemini":
            return h.get("x-goog-api-key") == key or self.query.get("key") == key
        return True

    def send_auth_error(self):
        msg = {"openai": ("Incorrect API key provided. You can find your API key in the "
                          "mock's --key option.", "invalid_api_key"),
               "anthropic": ("invalid x-api-key", None),
               "gemini": ("API key not valid. Please pass a valid API key.", None),
               "ollama": ("unauthorized", None)}[self.dialect]
        self.send_error_json(401, msg[0], msg[1])

    # ----- model calls ----------------------------------------------------
    def serve(self, dialect, body, parsed, hdrs, model=None, gemini_stream=False,
              ollama_chat=True):
        e = self.entry
        e["dialect"] = dialect
        if not self.auth_ok(dialect, hdrs):
            return self.send_auth_error()
        if dialect == "anthropic" and not hdrs.get("anthropic-version"):
            return self.send_error_json(400, "anthropic-version: header is required")
        if not parsed or not isinstance(body, dict):
            msg = {"openai": "We could not parse the JSON body of your request.",
                   "anthropic": "Request body is not valid JSON.",
                   "gemini": "Invalid JSON payload received.",
                   "ollama": "invalid JSON request body"}[dialect]
            return self.send_error_json(400, msg)
        try:
            if dialect == "openai":
                validate_openai(body)
            elif dialect == "anthropic":
                validate_anthropic(body)
            elif dialect == "gemini":
                validate_gemini(body)
            else:
                validate_ollama(body, ollama_chat)
        except BadRequest as ex:
            return self.send_error_json(400, str(ex))
        if model is None:
            model = body["model"]
        if dialect == "ollama":
            opts = body.get("options") or {}
            e["num_ctx"] = opts.get("num_ctx")
        sc = Scenario(model)
        e["model"], e["scenario"] = model, sc.kind
        self.server.state.count(dialect, model)
        if dialect == "gemini":
            stream = gemini_stream
            mode = "sse" if self.query.get("alt") == "sse" else "json-array"
        elif dialect == "ollama":
            stream = body.get("stream", True) is not False
            mode = "ndjson"
        else:
            stream = body.get("stream") is True
            mode = "sse"
        e["stream"]["requested"] = stream

        if dialect == "gemini":
            prompt = prompt_gemini(body)
        elif dialect == "anthropic":
            prompt = prompt_anthropic(body)
        elif dialect == "openai":
            prompt = prompt_openai(body)
        elif ollama_chat:
            prompt = prompt_ollama_chat(body)
        else:
            prompt = prompt_ollama_generate(body)
        e["prefill"] = prompt.prefill

        st = self.server.state
        kind = sc.kind
        if kind == "flaky":
            if st.flaky_hit(model) <= sc.param:
                kind = "fault-503"
            else:
                kind = "echo"
        if sc.times and st.hit(model) > sc.times:
            kind = "count" if sc.count else "echo"
        if kind == "down-until":
            kind = "down" if time.time() * 1000 < sc.param else "echo"
        down = st.down_status(dialect, model)
        if down is not None:
            kind = "down"
        e["applied"] = kind
        if kind == "down":
            if down == "reset":
                return self.reset_connection()
            status = down if isinstance(down, int) else 503
            msg = ERR_MSG.get(status, "mock outage (HTTP %d)" % status)
            if status in (503, 529) and dialect == "anthropic":
                msg = "Overloaded"
            return self.send_error_json(status, msg)
        if kind in ("retry-after", "retry-after-date"):
            if kind == "retry-after":
                ra = str(sc.param)
            else:
                ra = email.utils.formatdate(math.ceil(time.time() + sc.param), usegmt=True)
            e["retry_after"] = ra
            status, msg, code = FAULT_ERRORS["fault-429"]
            return self.send_error_json(429, msg, code if dialect == "openai" else None,
                                        {"Retry-After": ra})
        if kind == "err":
            status = sc.param
            msg = ERR_MSG.get(status, "mock error (HTTP %d)" % status)
            if status in (503, 529) and dialect == "anthropic":
                msg = "Overloaded"
            code = "rate_limit_exceeded" if status == 429 and dialect == "openai" else None
            return self.send_error_json(status, msg, code)
        if kind == "prefill-reject" and prompt.prefill is not None:
            return self.send_error_json(400, PREFILL_MSG[dialect])
        if kind == "fault-reset-headers":
            return self.reset_connection()
        if kind == "fault-stall-first":
            self.wait_for_disconnect(STALL_LIMIT_S)
            self.close_connection = True
            return
        if kind in FAULT_ERRORS and kind != "flaky":
            status, msg, code = FAULT_ERRORS[kind]
            if kind == "fault-503" and dialect == "anthropic":
                msg = "Overloaded"
            extra = {"Retry-After": "1"} if status == 429 else None
            return self.send_error_json(status, msg, code if dialect == "openai" else None,
                                        extra)
        if kind == "fault-context-length":
            msg, code = CONTEXT_MSG[dialect]
            return self.send_error_json(400, msg, code)
        if kind == "fault-content-policy":
            msg, code = POLICY_MSG[dialect]
            return self.send_error_json(400, msg, code)
        if kind == "fault-midstream-error" and not stream:
            status, msg, code = FAULT_ERRORS["fault-503"]
            return self.send_error_json(status, msg, None)

        ans = Answer(dialect, sc, prompt)
        r = Renderer(dialect, model, ans, body, mode)
        extra = {"x-request-id": "req_" + r.rid} if dialect == "openai" else (
            {"request-id": "req_" + r.rid} if dialect == "anthropic" else None)

        if not stream:
            if dialect == "openai":
                obj = r.openai_body()
            elif dialect == "anthropic":
                obj = r.anthropic_body()
            elif dialect == "gemini":
                obj = r.gemini_body()
            else:
                obj = r.ollama_body(ollama_chat)
            data = (json.dumps(obj) + "\n").encode()
            if kind == "slow-first":
                if self.wait_for_disconnect(sc.param / 1000.0):
                    self.close_connection = True
                    return
            if kind in KOFN:
                # the body up to about where token k is, then the fault
                part = data[:min(len(data) - 2, max(1, len(data) * sc.at // sc.count))]
                if kind == "malformed":
                    return self.send_json(200, part, extra)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if kind == "noterm":  # close-delimited, ends early
                    self.send_header("Connection", "close")
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(part)
                self.wfile.flush()
                e["status"] = 200
                self.close_connection = True
                if kind == "stall":
                    self.wait_for_disconnect(STALL_LIMIT_S)
                return
            if kind == "fault-malformed":
                data = b'{"id": "broken", "choices": [{"message": {"content": "Hel'
                return self.send_json(200, data, extra)
            if kind in ("fault-reset", "fault-stall"):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                e["status"] = 200
                if kind == "fault-reset":
                    return self.reset_connection()
                self.wait_for_disconnect(STALL_LIMIT_S)
                self.close_connection = True
                return
            e["stream"]["completed"] = True
            return self.send_json(200, data, extra)

        if dialect == "openai":
            frames, nterm = r.openai_frames()
        elif dialect == "anthropic":
            frames, nterm = r.anthropic_frames()
        elif dialect == "gemini":
            frames, nterm = r.gemini_objs(), 0
        else:
            frames, nterm = r.ollama_frames(ollama_chat)
        ctype = {"sse": "text/event-stream", "ndjson": "application/x-ndjson",
                 "json-array": "application/json"}[mode]
        delay = (sc.param if kind == "slow" else self.server.chunk_delay_ms) / 1000.0

        if kind == "fault-no-terminator":
            if dialect == "gemini":
                del frames[-1]["candidates"][0]["finishReason"]
            else:
                frames = frames[:-nterm]
        elif kind == "fault-malformed":
            frames = frames[:2] + [BAD_FRAME[dialect](mode)] + frames[2:]
        elif kind == "fault-midstream-error":
            errs = {"openai": sse({"error": {"message": "The server had an error while "
                                             "processing your request.",
                                             "type": "server_error", "param": None,
                                             "code": None}}),
                    "anthropic": sse({"type": "error",
                                      "error": {"type": "overloaded_error",
                                                "message": "Overloaded"}}, "error"),
                    "gemini": {"error": {"code": 503, "message": "The model is overloaded. "
                                         "Please try again later.", "status": "UNAVAILABLE"}},
                    "ollama": ndjson({"error": "model runner has unexpectedly stopped"})}
            # keep the preamble (role chunk / message_start, block start, ping) + 2 text chunks
            head = {"openai": 3, "anthropic": 5, "gemini": 2, "ollama": 2}[dialect]
            frames = frames[:head] + [errs[dialect]]
        # index of the frame that would carry text token k+1
        at = {"openai": 1, "anthropic": 3, "gemini": 0, "ollama": 0}[dialect] + sc.at
        if kind == "malformed":
            frames = frames[:at] + [BAD_FRAME[dialect](mode)] + frames[at:]
        if dialect == "gemini":
            frames = r.wrap_gemini(frames)
        stop = None
        if kind == "noterm":
            frames = frames[:at]
        elif kind in ("cut", "stall"):
            stop = at
        self.start_stream(ctype, extra)
        if kind == "slow-first":
            if self.wait_for_disconnect(sc.param / 1000.0):
                self.close_connection = True
                return

        for i, f in enumerate(frames):
            if i == stop:
                break
            if i > 0 and delay > 0:
                time.sleep(delay)
            self.write_chunk(f)
            if kind == "fault-reset" and e["stream"]["chunks_written"] == 3:
                return self.reset_connection()
            if kind == "fault-stall" and e["stream"]["chunks_written"] == 2:
                self.wait_for_disconnect(STALL_LIMIT_S)
                self.close_connection = True
                return
        if stop is not None:
            self.close_connection = True
            if kind == "stall":
                self.wait_for_disconnect(STALL_LIMIT_S)
            return  # "cut": the connection closes without the end of the body
        self.end_stream()
        e["stream"]["completed"] = True

    # ----- control API ----------------------------------------------------
    def control(self, method, path):
        st = self.server.state
        if path == "/_mock/requests" and method == "GET":
            return self.send_json(200, st.snapshot())
        if path == "/_mock/last" and method == "GET":
            log = st.snapshot()
            return self.send_json(200 if log else 404, log[-1] if log else {"error": "empty"})
        if path == "/_mock/stats" and method == "GET":
            return self.send_json(200, st.stats())
        if path == "/_mock/health" and method == "GET":
            return self.send_json(200, {"ok": True, "port": self.server.server_address[1]})
        if path == "/_mock/down" and method == "GET":
            return self.send_json(200, st.down_info())
        if path == "/_mock/down" and method == "POST":
            try:
                o = json.loads(self.raw_body or b"{}")
                secs = float(o.get("seconds", 0))
                models = o.get("models")
                dialects = o.get("dialects")
                status = o.get("status", 503)
                if not (isinstance(models, list) or models is None) or not (
                        isinstance(dialects, list) or dialects is None) or not (
                        status == "reset" or isinstance(status, int)) or secs < 0:
                    raise ValueError()
            except (ValueError, TypeError, AttributeError):
                return self.send_json(400, {"error": "expected {\"seconds\": S, \"models\": "
                                            "[..], \"dialects\": [..], \"status\": 503|\"reset\"}"})
            st.set_down(secs, models, dialects, status)
            return self.send_json(200, st.down_info())
        if path == "/_mock/up" and method == "POST":
            st.set_down(0)
            return self.send_json(200, st.down_info())
        if path == "/_mock/reset" and method == "POST":
            st.reset()
            return self.send_json(200, {"ok": True})
        if path == "/_mock/shutdown" and method == "POST":
            self.send_json(200, {"ok": True})
            self.close_connection = True
            threading.Thread(target=self.server.shutdown, daemon=True).start()
            return
        self.send_json(404, {"error": "unknown control endpoint %s %s" % (method, path)})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    ap = argparse.ArgumentParser(description="Mock LLM provider (OpenAI, Anthropic, Gemini, "
                                 "Ollama dialects) for llmux tests.")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any)")
    ap.add_argument("--port-file", help="also write the port number to this file")
    ap.add_argument("--key", default="test-key", help="expected API key (default test-key)")
    ap.add_argument("--chunk-delay-ms", type=int, default=0,
                    help="pause between stream chunks for every model (default 0)")
    ap.add_argument("--close-delimited", action="store_true",
                    help="stream bodies end by closing the connection instead of chunked")
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    a = ap.parse_args()

    srv = Server(("127.0.0.1", a.port), Handler)
    srv.state = State(a.key)
    srv.verbose = a.verbose
    srv.chunk_delay_ms = a.chunk_delay_ms
    srv.close_delimited = a.close_delimited
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, a.port_file)
    sys.stdout.write("PORT %d\n" % port)
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    srv.server_close()


if __name__ == "__main__":
    main()
