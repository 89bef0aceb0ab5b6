/*
 * redact.h — redact mode: placeholders out, values back in.
 *
 * lx_redact_request() copies a request with every finding replaced by a
 * typed placeholder, "[EMAIL_1]", "[CREDIT_CARD_2]": numbered per type in
 * order of first appearance, the same value always getting the same
 * placeholder within the request (and its conversation history), in text
 * parts, tool-call arguments (JSON: the placeholder replaces the value's
 * characters inside the JSON string, so the arguments stay valid JSON) and
 * tool results. Details (docs/privacy.md has the whole story):
 *   - a value is compared after JSON decoding, so the same email in text
 *     and inside a JSON string of arguments is one value;
 *   - a span touching a JSON number replaces the whole number with the
 *     placeholder as a JSON string; bytes outside JSON strings and numbers
 *     are never touched; arguments that are not JSON are treated as text;
 *   - spans are widened to whole UTF-8 characters (and escape sequences);
 *   - a number whose placeholder already occurs literally in the request is
 *     skipped ("[EMAIL_1]" pasted by a user stays unrestorable);
 *   - a THINKING part with a signature and a finding is dropped (the
 *     signature covers the original text), and a message left empty too;
 *   - image URLs are redacted in place; data: URLs are not scanned.
 *
 * Restoring: a placeholder the model echoes is put back — in whole
 * responses (lx_restore_response) and in streams (lx_restore), where a
 * placeholder may be split across TEXT / THINKING / TOOL_ARGS deltas of any
 * size: the filter holds back at most the longest placeholder's length of
 * a possible prefix (plus up to 3 bytes of an unfinished UTF-8 character,
 * so every event it emits is valid UTF-8 when the stream is) and releases it as soon as it completes or cannot be a
 * placeholder any more; FINISH / ERROR / TOOL_END flush what is held.
 * Inside tool arguments a restored value is JSON-escaped. Text that looks
 * like a placeholder but is not in the map passes through unchanged.
 *
 * Ownership: the map (lx_redaction) is owned by the caller and must
 * outlive every restore filter made from it.
 */
#ifndef LX_GUARD_REDACT_H
#define LX_GUARD_REDACT_H

#include "core/types.h"
#include "guard/scanner.h"

typedef struct lx_redaction lx_redaction;
typedef struct lx_restore lx_restore;

/* f: findings of lx_scan_request over req. *out: new request (caller frees
 * with lx_request_free); *map: caller frees with lx_redaction_free. */
lx_status lx_redact_request(const lx_request *req, const lx_findings *f, lx_request **out,
                            lx_redaction **map, lx_error *err);
void lx_redaction_free(lx_redaction *m);
/* Distinct values replaced. */
size_t lx_redaction_count(const lx_redaction *m);

/* A stream filter: lx_restore_event is an lx_event_fn that restores and
 * forwards to sink. m may be NULL (nothing to restore: events pass).
 * Ordering: START and USAGE pass at once; TEXT flushes held THINKING and
 * the other way round; tool events flush both; TOOL_END(i) flushes call i;
 * FINISH / ERROR flush everything first. n_tokens / logprob of a TEXT event
 * whose text is all held ride on the next TEXT emitted. After the sink
 * refuses an event, every later call returns that status and emits
 * nothing. Caller frees with lx_restore_free. */
lx_status lx_restore_new(const lx_redaction *m, lx_event_fn sink, void *ud, lx_restore **out);
lx_status lx_restore_event(void *restore, const lx_event *ev);
void lx_restore_free(lx_restore *r);

/* Restores every text, thinking and tool-argument part of r in place. */
lx_status lx_restore_response(const lx_redaction *m, lx_response *r);

#endif
