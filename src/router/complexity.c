/*
 * complexity.c — the prompt complexity score (see complexity.h).
 *
 * One streaming pass over the bytes keeps two small states:
 *   - a word state: the current word, lower-cased (ASCII), and a ring of the
 *     last four words, against which the cue table is matched at every word
 *     end (phrases match backwards through the ring);
 *   - a line state: indentation, the first bytes and the last byte of the
 *     line, to count code lines, bullets, numbered items and math notation.
 * The cue table is immutable; a bucket index on the first letter of each
 * cue's last word is built once (pthread_once), so a word is compared only
 * with the cues that could end on it.
 */
#include "router/complexity.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ---- the cue table ------------------------------------------------------ */

typedef enum {
    F_SIMPLE,   /* simple-task imperatives */
    F_FACTUAL,  /* short factual questions */
    F_SHORT,    /* short output requested */
    F_REASON,   /* reasoning, math, proofs */
    F_DESIGN,   /* architecture, planning, trade-offs */
    F_DEBUG,    /* subtle debugging */
    F_OPT,      /* optimisation */
    F_BUILD,    /* large programs from a spec */
    F_LONG,     /* long or constrained writing */
    F_ANALYSIS, /* comparison, critique */
    F_CONSTR,   /* constraint words (counted, weighted below) */
    N_FAM
} family;

static const char *const fam_name[N_FAM] = {
    "cue:simple_task", "cue:factual",   "cue:short_output", "cue:reasoning",
    "cue:design",      "cue:debugging", "cue:optimization", "cue:build",
    "cue:long_output", "cue:analysis",  "constraints",
};

typedef enum {
    T_NONE,
    T_CLASS,
    T_SENT,
    T_SUMM,
    T_EXTR,
    T_REFMT,
    T_TRANS,
    T_FACT,
    T_TESTS,
    T_MATH,
    T_PROOF,
    T_PLAN,
    T_DESIGN,
    T_DEBUG,
    T_OPT,
    T_CODING,
    T_WRITING,
    T_ANALYSIS,
    N_TASK
} task;

static const char *const task_name[N_TASK] = {
    "general",     "classification", "sentiment",    "summarization", "extraction", "reformatting",
    "translation", "factual",        "tests_docs",   "math",          "proof",      "planning",
    "design",      "debugging",      "optimization", "coding",        "writing",    "analysis",
};

typedef struct {
    const char *pat; /* lower-case words separated by one space; '*' ends a prefix */
    uint8_t fam, task;
    float w;
} cue;

/* clang-format off */
static const cue cues[] = {
    /* simple tasks: down */
    {"classify", F_SIMPLE, T_CLASS, -1.4f}, {"classification", F_SIMPLE, T_CLASS, -1.0f},
    {"categorize", F_SIMPLE, T_CLASS, -1.3f}, {"categorise", F_SIMPLE, T_CLASS, -1.3f},
    {"category", F_SIMPLE, T_CLASS, -0.6f}, {"label", F_SIMPLE, T_CLASS, -0.8f},
    {"spam", F_SIMPLE, T_CLASS, -0.6f}, {"intent", F_SIMPLE, T_CLASS, -0.4f},
    {"sentiment", F_SIMPLE, T_SENT, -1.5f}, {"positive or negative", F_SIMPLE, T_SENT, -0.8f},
    {"summarize", F_SIMPLE, T_SUMM, -1.3f}, {"summarise", F_SIMPLE, T_SUMM, -1.3f},
    {"summary", F_SIMPLE, T_SUMM, -0.8f}, {"tldr", F_SIMPLE, T_SUMM, -1.2f},
    {"gist", F_SIMPLE, T_SUMM, -0.9f}, {"key points", F_SIMPLE, T_SUMM, -0.5f},
    {"extract", F_SIMPLE, T_EXTR, -1.4f}, {"pull out", F_SIMPLE, T_EXTR, -0.9f},
    {"list all", F_SIMPLE, T_EXTR, -0.7f}, {"find all", F_SIMPLE, T_EXTR, -0.4f},
    {"email address*", F_SIMPLE, T_EXTR, -0.3f}, {"regex", F_SIMPLE, T_EXTR, -0.6f},
    {"translate", F_SIMPLE, T_TRANS, -1.5f}, {"translation", F_SIMPLE, T_TRANS, -1.2f},
    {"french", F_SIMPLE, T_TRANS, -0.3f}, {"spanish", F_SIMPLE, T_TRANS, -0.3f},
    {"german", F_SIMPLE, T_TRANS, -0.3f}, {"italian", F_SIMPLE, T_TRANS, -0.3f},
    {"japanese", F_SIMPLE, T_TRANS, -0.3f}, {"portuguese", F_SIMPLE, T_TRANS, -0.3f},
    {"chinese", F_SIMPLE, T_TRANS, -0.3f}, {"dutch", F_SIMPLE, T_TRANS, -0.3f},
    {"reformat", F_SIMPLE, T_REFMT, -1.4f}, {"format as", F_SIMPLE, T_REFMT, -0.8f},
    {"convert", F_SIMPLE, T_REFMT, -0.9f}, {"to json", F_SIMPLE, T_REFMT, -0.6f},
    {"as json", F_SIMPLE, T_REFMT, -0.6f}, {"csv", F_SIMPLE, T_REFMT, -0.5f},
    {"markdown table", F_SIMPLE, T_REFMT, -0.6f}, {"uppercase", F_SIMPLE, T_REFMT, -0.8f},
    {"lowercase", F_SIMPLE, T_REFMT, -0.8f}, {"capitaliz*", F_SIMPLE, T_REFMT, -0.8f},
    {"alphabetical*", F_SIMPLE, T_REFMT, -0.8f}, {"sort", F_SIMPLE, T_REFMT, -0.4f},
    {"rephrase", F_SIMPLE, T_REFMT, -1.1f}, {"paraphrase", F_SIMPLE, T_REFMT, -1.1f},
    {"rewrite", F_SIMPLE, T_REFMT, -0.5f}, {"fix the typo*", F_SIMPLE, T_REFMT, -1.0f},
    {"typo*", F_SIMPLE, T_REFMT, -1.0f}, {"grammar", F_SIMPLE, T_REFMT, -0.9f},
    {"proofread", F_SIMPLE, T_REFMT, -1.1f}, {"spelling", F_SIMPLE, T_REFMT, -0.9f},
    {"shorten", F_SIMPLE, T_REFMT, -0.8f}, {"more formal", F_SIMPLE, T_REFMT, -0.8f},
    {"politely", F_SIMPLE, T_REFMT, -0.4f}, {"rename", F_SIMPLE, T_REFMT, -0.9f},
    {"docstring*", F_SIMPLE, T_TESTS, -1.5f}, {"unit test*", F_SIMPLE, T_TESTS, -0.9f},
    {"add comments", F_SIMPLE, T_TESTS, -0.8f}, {"type hints", F_SIMPLE, T_TESTS, -0.9f},
    {"small function", F_SIMPLE, T_TESTS, -0.6f},
    /* short factual questions: down */
    {"what is", F_FACTUAL, T_FACT, -0.6f}, {"what's", F_FACTUAL, T_FACT, -0.6f},
    {"who", F_FACTUAL, T_FACT, -0.5f}, {"when did", F_FACTUAL, T_FACT, -0.6f},
    {"capital of", F_FACTUAL, T_FACT, -1.0f}, {"define", F_FACTUAL, T_FACT, -0.8f},
    {"definition", F_FACTUAL, T_FACT, -0.8f}, {"meaning of", F_FACTUAL, T_FACT, -0.7f},
    {"how many", F_FACTUAL, T_FACT, -0.4f}, {"synonym*", F_FACTUAL, T_FACT, -1.0f},
    {"antonym*", F_FACTUAL, T_FACT, -1.0f}, {"stand for", F_FACTUAL, T_FACT, -1.0f},
    {"what year", F_FACTUAL, T_FACT, -0.8f}, {"boiling point", F_FACTUAL, T_FACT, -0.8f},
    /* short output requested: down */
    {"one sentence", F_SHORT, T_NONE, -1.1f}, {"a sentence", F_SHORT, T_NONE, -0.7f},
    {"one word", F_SHORT, T_NONE, -1.2f}, {"single word", F_SHORT, T_NONE, -1.2f},
    {"one line", F_SHORT, T_NONE, -0.9f}, {"one-line", F_SHORT, T_NONE, -0.9f},
    {"yes or no", F_SHORT, T_NONE, -1.1f}, {"briefly", F_SHORT, T_NONE, -0.7f},
    {"brief", F_SHORT, T_NONE, -0.5f}, {"short", F_SHORT, T_NONE, -0.4f},
    {"just the", F_SHORT, T_NONE, -0.6f}, {"only the", F_SHORT, T_NONE, -0.6f},
    {"only output", F_SHORT, T_NONE, -0.7f}, {"answer only", F_SHORT, T_NONE, -0.6f},
    {"few words", F_SHORT, T_NONE, -0.9f}, {"two sentences", F_SHORT, T_NONE, -0.9f},
    {"one paragraph", F_SHORT, T_NONE, -0.6f},
    /* reasoning, math, proofs: up */
    {"prove", F_REASON, T_PROOF, 2.0f}, {"proof", F_REASON, T_PROOF, 1.8f},
    {"theorem", F_REASON, T_PROOF, 1.2f}, {"lemma", F_REASON, T_PROOF, 1.2f},
    {"induction", F_REASON, T_PROOF, 1.0f}, {"show that", F_REASON, T_PROOF, 1.4f},
    {"rigorous*", F_REASON, T_PROOF, 1.0f}, {"justify", F_REASON, T_PROOF, 0.8f},
    {"irrational", F_REASON, T_PROOF, 0.8f}, {"infinitely many", F_REASON, T_PROOF, 1.0f},
    {"if and only if", F_REASON, T_PROOF, 1.2f}, {"counterexample", F_REASON, T_PROOF, 1.2f},
    {"invariant*", F_REASON, T_PROOF, 0.9f},
    {"derive", F_REASON, T_MATH, 1.8f}, {"derivation", F_REASON, T_MATH, 1.6f},
    {"step by step", F_REASON, T_MATH, 1.2f}, {"step-by-step", F_REASON, T_MATH, 1.2f},
    {"probability", F_REASON, T_MATH, 0.9f}, {"expected value", F_REASON, T_MATH, 1.1f},
    {"expected number", F_REASON, T_MATH, 1.1f}, {"integral", F_REASON, T_MATH, 1.0f},
    {"eigenvalue*", F_REASON, T_MATH, 1.1f}, {"differential", F_REASON, T_MATH, 1.0f},
    {"recurrence", F_REASON, T_MATH, 1.0f}, {"closed form", F_REASON, T_MATH, 1.2f},
    {"closed-form", F_REASON, T_MATH, 1.2f}, {"asymptotic*", F_REASON, T_MATH, 1.0f},
    {"optimal strategy", F_REASON, T_MATH, 1.2f}, {"puzzle", F_REASON, T_MATH, 0.8f},
    {"how many ways", F_REASON, T_MATH, 1.2f}, {"combinatori*", F_REASON, T_MATH, 1.0f},
    {"minimi*", F_REASON, T_MATH, 0.6f}, {"maximi*", F_REASON, T_MATH, 0.6f},
    {"converge*", F_REASON, T_MATH, 0.9f}, {"bayes*", F_REASON, T_MATH, 0.9f},
    {"posterior", F_REASON, T_MATH, 0.9f}, {"reason through", F_REASON, T_MATH, 1.0f},
    {"reasoning", F_REASON, T_MATH, 0.5f}, {"extrema", F_REASON, T_MATH, 1.0f},
    {"verify", F_REASON, T_MATH, 0.5f}, {"why", F_REASON, T_ANALYSIS, 0.4f},
    /* architecture, planning, trade-offs: up */
    {"design", F_DESIGN, T_DESIGN, 1.2f}, {"architecture", F_DESIGN, T_DESIGN, 1.6f},
    {"architect", F_DESIGN, T_DESIGN, 1.3f}, {"trade-off*", F_DESIGN, T_DESIGN, 1.6f},
    {"tradeoff*", F_DESIGN, T_DESIGN, 1.6f}, {"trade off*", F_DESIGN, T_DESIGN, 1.4f},
    {"scalab*", F_DESIGN, T_DESIGN, 1.0f}, {"scale to", F_DESIGN, T_DESIGN, 0.9f},
    {"distributed", F_DESIGN, T_DESIGN, 1.1f}, {"microservice*", F_DESIGN, T_DESIGN, 1.0f},
    {"consistency", F_DESIGN, T_DESIGN, 0.8f}, {"fault toleran*", F_DESIGN, T_DESIGN, 1.1f},
    {"fault-toleran*", F_DESIGN, T_DESIGN, 1.1f}, {"high availability", F_DESIGN, T_DESIGN, 1.0f},
    {"sharding", F_DESIGN, T_DESIGN, 1.0f}, {"replication", F_DESIGN, T_DESIGN, 0.8f},
    {"multi-region", F_DESIGN, T_DESIGN, 1.0f}, {"schema", F_DESIGN, T_DESIGN, 0.5f},
    {"data model", F_DESIGN, T_DESIGN, 0.8f}, {"threat model", F_DESIGN, T_DESIGN, 1.2f},
    {"capacity", F_DESIGN, T_DESIGN, 0.7f},
    {"migration plan", F_DESIGN, T_PLAN, 1.3f}, {"migrat*", F_DESIGN, T_PLAN, 0.8f},
    {"plan", F_DESIGN, T_PLAN, 0.8f}, {"roadmap", F_DESIGN, T_PLAN, 1.3f},
    {"strategy", F_DESIGN, T_PLAN, 1.0f}, {"rollout", F_DESIGN, T_PLAN, 1.0f},
    {"phased", F_DESIGN, T_PLAN, 0.9f}, {"milestone*", F_DESIGN, T_PLAN, 0.9f},
    {"timeline", F_DESIGN, T_PLAN, 0.7f}, {"risks", F_DESIGN, T_PLAN, 0.7f},
    {"mitigation*", F_DESIGN, T_PLAN, 0.8f}, {"recommend", F_DESIGN, T_PLAN, 0.5f},
    {"budget", F_DESIGN, T_PLAN, 0.4f},
    /* comparison, critique: up */
    {"pros and cons", F_ANALYSIS, T_ANALYSIS, 1.0f}, {"compare", F_ANALYSIS, T_ANALYSIS, 0.7f},
    {"contrast", F_ANALYSIS, T_ANALYSIS, 0.7f}, {"versus", F_ANALYSIS, T_ANALYSIS, 0.5f},
    {"vs", F_ANALYSIS, T_ANALYSIS, 0.4f}, {"analy*", F_ANALYSIS, T_ANALYSIS, 0.8f},
    {"evaluate", F_ANALYSIS, T_ANALYSIS, 0.7f}, {"critique", F_ANALYSIS, T_ANALYSIS, 0.9f},
    {"implications", F_ANALYSIS, T_ANALYSIS, 0.9f},
    /* subtle debugging: up */
    {"race condition*", F_DEBUG, T_DEBUG, 2.0f}, {"data race*", F_DEBUG, T_DEBUG, 1.8f},
    {"deadlock*", F_DEBUG, T_DEBUG, 1.8f}, {"intermittent*", F_DEBUG, T_DEBUG, 1.8f},
    {"flaky", F_DEBUG, T_DEBUG, 1.4f}, {"sporadic*", F_DEBUG, T_DEBUG, 1.5f},
    {"occasionally", F_DEBUG, T_DEBUG, 1.0f}, {"sometimes", F_DEBUG, T_DEBUG, 0.7f},
    {"heisenbug*", F_DEBUG, T_DEBUG, 2.0f}, {"memory leak*", F_DEBUG, T_DEBUG, 1.4f},
    {"leaks", F_DEBUG, T_DEBUG, 0.8f}, {"segfault*", F_DEBUG, T_DEBUG, 1.4f},
    {"segmentation fault", F_DEBUG, T_DEBUG, 1.4f}, {"use-after-free", F_DEBUG, T_DEBUG, 1.6f},
    {"corrupt*", F_DEBUG, T_DEBUG, 1.2f}, {"undefined behavio*", F_DEBUG, T_DEBUG, 1.3f},
    {"concurren*", F_DEBUG, T_DEBUG, 1.1f}, {"thread-safe", F_DEBUG, T_DEBUG, 0.9f},
    {"threads", F_DEBUG, T_DEBUG, 0.6f}, {"mutex*", F_DEBUG, T_DEBUG, 0.8f},
    {"under load", F_DEBUG, T_DEBUG, 1.2f}, {"in production", F_DEBUG, T_DEBUG, 0.9f},
    {"root cause*", F_DEBUG, T_DEBUG, 1.3f}, {"why does", F_DEBUG, T_DEBUG, 0.6f},
    {"debug*", F_DEBUG, T_DEBUG, 0.6f}, {"crash*", F_DEBUG, T_DEBUG, 0.6f},
    {"hangs", F_DEBUG, T_DEBUG, 0.9f}, {"regression", F_DEBUG, T_DEBUG, 0.6f},
    {"bug", F_DEBUG, T_DEBUG, 0.3f}, {"leak", F_DEBUG, T_DEBUG, 1.0f},
    {"heap", F_DEBUG, T_DEBUG, 0.5f}, {"possible causes", F_DEBUG, T_DEBUG, 0.9f},
    {"possible explanations", F_DEBUG, T_DEBUG, 0.9f}, {"failures", F_DEBUG, T_DEBUG, 0.5f},
    /* optimisation: up */
    {"optimi*", F_OPT, T_OPT, 1.3f}, {"performance", F_OPT, T_OPT, 0.8f},
    {"latency", F_OPT, T_OPT, 0.8f}, {"throughput", F_OPT, T_OPT, 0.9f},
    {"bottleneck*", F_OPT, T_OPT, 1.0f}, {"profil*", F_OPT, T_OPT, 0.7f},
    {"speed up", F_OPT, T_OPT, 0.8f}, {"cache-friendly", F_OPT, T_OPT, 0.9f},
    {"vectori*", F_OPT, T_OPT, 1.0f}, {"simd", F_OPT, T_OPT, 1.0f},
    {"lock-free", F_OPT, T_OPT, 1.6f}, {"complexity", F_OPT, T_OPT, 0.6f},
    {"benchmark*", F_OPT, T_OPT, 0.6f},
    /* large programs from a spec: up */
    {"implement", F_BUILD, T_CODING, 1.0f}, {"from this spec", F_BUILD, T_CODING, 1.6f},
    {"spec", F_BUILD, T_CODING, 0.8f}, {"specification", F_BUILD, T_CODING, 1.1f},
    {"full implementation", F_BUILD, T_CODING, 1.2f},
    {"complete implementation", F_BUILD, T_CODING, 1.2f},
    {"end-to-end", F_BUILD, T_CODING, 1.0f}, {"production-ready", F_BUILD, T_CODING, 1.3f},
    {"production-grade", F_BUILD, T_CODING, 1.3f}, {"compiler", F_BUILD, T_CODING, 1.3f},
    {"interpreter", F_BUILD, T_CODING, 1.3f}, {"parser", F_BUILD, T_CODING, 0.7f},
    {"emulator", F_BUILD, T_CODING, 1.2f}, {"engine", F_BUILD, T_CODING, 0.6f},
    {"framework", F_BUILD, T_CODING, 0.6f}, {"rest api", F_BUILD, T_CODING, 0.6f},
    {"backend", F_BUILD, T_CODING, 0.6f}, {"full-stack", F_BUILD, T_CODING, 1.0f},
    {"web app*", F_BUILD, T_CODING, 0.7f}, {"protocol", F_BUILD, T_CODING, 0.6f},
    {"refactor*", F_BUILD, T_CODING, 0.8f}, {"state machine", F_BUILD, T_CODING, 0.8f},
    {"crdt*", F_BUILD, T_CODING, 1.5f}, {"consensus", F_BUILD, T_CODING, 1.4f},
    {"raft", F_BUILD, T_CODING, 1.3f}, {"paxos", F_BUILD, T_CODING, 1.4f},
    {"garbage collector", F_BUILD, T_CODING, 1.4f}, {"allocator", F_BUILD, T_CODING, 1.0f},
    {"scheduler", F_BUILD, T_CODING, 1.0f}, {"b-tree", F_BUILD, T_CODING, 1.0f},
    {"server", F_BUILD, T_CODING, 0.5f}, {"websocket*", F_BUILD, T_CODING, 0.5f},
    {"persistence", F_BUILD, T_CODING, 0.5f}, {"reconnect*", F_BUILD, T_CODING, 0.5f},
    /* long or constrained writing: up */
    {"detailed", F_LONG, T_WRITING, 1.0f}, {"in detail", F_LONG, T_WRITING, 1.0f},
    {"in depth", F_LONG, T_WRITING, 1.0f}, {"in-depth", F_LONG, T_WRITING, 1.0f},
    {"comprehensive", F_LONG, T_WRITING, 1.2f}, {"thorough*", F_LONG, T_WRITING, 0.9f},
    {"essay", F_LONG, T_WRITING, 1.1f}, {"report", F_LONG, T_WRITING, 0.6f},
    {"white paper", F_LONG, T_WRITING, 1.3f}, {"whitepaper", F_LONG, T_WRITING, 1.3f},
    {"chapter", F_LONG, T_WRITING, 1.0f}, {"novel", F_LONG, T_WRITING, 0.8f},
    {"article", F_LONG, T_WRITING, 0.6f}, {"tutorial", F_LONG, T_WRITING, 0.6f},
    {"each section", F_LONG, T_WRITING, 0.7f}, {"sections", F_LONG, T_WRITING, 0.6f},
    {"proposal", F_LONG, T_WRITING, 0.8f}, {"persuasive", F_LONG, T_WRITING, 0.7f},
    {"sonnet", F_LONG, T_WRITING, 0.6f}, {"iambic", F_LONG, T_WRITING, 0.8f},
    {"screenplay", F_LONG, T_WRITING, 0.9f}, {"curriculum", F_LONG, T_WRITING, 1.0f},
    {"business plan", F_LONG, T_WRITING, 1.2f},
    /* constraint words: counted */
    {"must", F_CONSTR, T_NONE, 1.0f}, {"should", F_CONSTR, T_NONE, 1.0f},
    {"shall", F_CONSTR, T_NONE, 1.0f}, {"require*", F_CONSTR, T_NONE, 1.0f},
    {"ensure", F_CONSTR, T_NONE, 1.0f}, {"at least", F_CONSTR, T_NONE, 1.0f},
    {"at most", F_CONSTR, T_NONE, 1.0f}, {"no more than", F_CONSTR, T_NONE, 1.0f},
    {"without", F_CONSTR, T_NONE, 1.0f}, {"constraint*", F_CONSTR, T_NONE, 1.0f},
    {"do not", F_CONSTR, T_NONE, 1.0f}, {"don't", F_CONSTR, T_NONE, 1.0f},
    {"never", F_CONSTR, T_NONE, 1.0f}, {"exactly", F_CONSTR, T_NONE, 1.0f},
    {"guarantee*", F_CONSTR, T_NONE, 1.0f},
};
/* clang-format on */

#define N_CUES (sizeof cues / sizeof cues[0])

/* ---- weights of the structural features (see docs/complexity.md) -------- */
#define W_BIAS (-0.30)
#define W_FAMILY_CAP 3.0 /* |sum| of one cue family */
#define W_LENGTH 0.40    /* per doubling of the word count past 25 */
#define W_LENGTH_MIN (-1.2)
#define W_LENGTH_MAX 1.5
#define W_CONSTRAINT 0.18 /* per constraint word or bullet line */
#define W_CONSTRAINT_N 15
#define W_CODE 0.30 /* per doubling of the code line count, minus W_CODE */
#define W_CODE_MAX 2.0
#define W_MATH 0.35 /* per doubling of the math symbol count (>= 2) */
#define W_MATH_MAX 1.5
#define W_QUESTIONS 0.25 /* per question mark past the first */
#define W_QUESTIONS_N 8
#define W_MULTIPART 0.20 /* per numbered item (>= 2) */
#define W_MULTIPART_N 10
#define W_LONG_WORDS 1.6     /* "in 2000 words", "5 pages" */
#define W_SHORT_WORDS (-0.8) /* "in 50 words", "2 sentences" */
#define W_SYSTEM 0.15        /* per doubling of system words past 50 */
#define W_SYSTEM_MAX 0.8
#define W_TURNS 0.10 /* per earlier turn */
#define W_TURNS_MAX 1.0
/* A simple-task instruction followed by material (an article to summarize,
 * notes to extract from): the material's size and cue words say little about
 * the task. When the instruction's simple-task cues sum to <= W_GATE_SIMPLE
 * and no upward family in it exceeds W_GATE_UP, upward cues in the material
 * count W_BODY_UP of their weight and the structural features W_BODY_STRUCT. */
#define W_GATE_SIMPLE (-1.0)
#define W_GATE_UP 0.8
#define W_BODY_UP 0.3
#define W_BODY_STRUCT 0.4
#define W_BODY_TASK 0.3 /* weight of material cues when naming the task */

/* ---- bucket index over the last word of each cue ------------------------
 * Key: the first two bytes of the cue's last word (a..z, or 26 for anything
 * else or for a one-letter word). Built once; read-only afterwards. */

#define NB (27 * 27)
static uint16_t bucket_start[NB + 1], bucket_items[N_CUES];
static uint8_t last_off[N_CUES], pat_len[N_CUES];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static int letter(unsigned char c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' : 26;
}

static int bucket_of(const char *w, size_t n)
{
    return letter((unsigned char)w[0]) * 27 + (n > 1 ? letter((unsigned char)w[1]) : 26);
}

static void build_index(void)
{
    static uint16_t count[NB], fill[NB];
    for (size_t i = 0; i < N_CUES; i++) {
        const char *sp = strrchr(cues[i].pat, ' ');
        last_off[i] = (uint8_t)(sp ? sp - cues[i].pat + 1 : 0);
        pat_len[i] = (uint8_t)strlen(cues[i].pat);
        const char *lw = cues[i].pat + last_off[i];
        count[bucket_of(lw, strlen(lw))]++;
    }
    bucket_start[0] = 0;
    for (int b = 0; b < NB; b++)
        bucket_start[b + 1] = (uint16_t)(bucket_start[b] + count[b]);
    memcpy(fill, bucket_start, sizeof fill);
    for (size_t i = 0; i < N_CUES; i++) {
        const char *lw = cues[i].pat + last_off[i];
        bucket_items[fill[bucket_of(lw, strlen(lw))]++] = (uint16_t)i;
    }
}

/* ---- the scanner -------------------------------------------------------- */

#define WMAX 32 /* longer words never match a cue */
#define RING 4

typedef struct {
    /* words */
    char ring[RING][WMAX];
    uint8_t rlen[RING];
    int rpos, nring;
    char cur[WMAX];
    size_t curlen;
    bool cur_digits;
    long cur_num, prev_num; /* -1 when the word is not a number */
    uint64_t words;
    /* lines */
    bool line_lead; /* still in the leading blanks of the line */
    int indent;
    char head[12];
    int headlen;
    unsigned char last;
    int line_math;
    bool fence;
    uint64_t code_lines, bullets, numbered, math, questions;
    /* cues */
    bool in_body;       /* past the instruction: a blank line, a line ending in ':', a list */
    double fam[N_FAM];  /* cue sums in the instruction */
    double body[N_FAM]; /* cue sums in the material after it */
    double task_w[N_TASK];
    double size_req; /* from "in N words" */
    size_t scanned;
} scan;

static void scan_init(scan *s)
{
    memset(s, 0, sizeof *s);
    s->line_lead = true;
    s->prev_num = s->cur_num = -1;
    pthread_once(&index_once, build_index);
}

static bool word_eq(const char *pat, size_t plen, const char *w, size_t wlen)
{
    if (plen && pat[plen - 1] == '*')
        return wlen >= plen - 1 && memcmp(pat, w, plen - 1) == 0;
    return plen == wlen && memcmp(pat, w, plen) == 0;
}

/* Does cue i end at the newest word of the ring? */
static bool cue_matches(const scan *s, size_t i)
{
    const char *pat = cues[i].pat;
    size_t end = pat_len[i];
    size_t start = last_off[i];
    for (int k = 0;; k++) {
        if (k >= s->nring)
            return false;
        int slot = (s->rpos - 1 - k + 2 * RING) % RING;
        if (!word_eq(pat + start, end - start, s->ring[slot], s->rlen[slot]))
            return false;
        if (start == 0)
            return true;
        end = start - 1; /* the space */
        size_t b = end;
        while (b > 0 && pat[b - 1] != ' ')
            b--;
        start = b;
    }
}

static void size_cue(scan *s, const char *w, size_t n)
{
    long v = s->prev_num;
    if (v < 0)
        return;
    double d = 0;
    if (word_eq("words", 5, w, n))
        d = v >= 600 ? W_LONG_WORDS : v <= 150 ? W_SHORT_WORDS : 0;
    else if (word_eq("pages", 5, w, n) || word_eq("page", 4, w, n))
        d = v >= 2 ? W_LONG_WORDS : 0;
    else if (word_eq("paragraphs", 10, w, n))
        d = v >= 4 ? W_LONG_WORDS * 0.7 : W_SHORT_WORDS * 0.5;
    else if (word_eq("sentences", 9, w, n) || word_eq("lines", 5, w, n) ||
             word_eq("bullets", 7, w, n))
        d = v <= 3 ? W_SHORT_WORDS : 0;
    if (d > 0 && d > s->size_req)
        s->size_req = d;
    else if (d < 0 && s->size_req <= 0 && d < s->size_req)
        s->size_req = d;
}

static void end_word(scan *s)
{
    size_t n = s->curlen;
    /* strip trailing quote marks and hyphens */
    while (n > 0 && n <= WMAX && (s->cur[n - 1] == '\'' || s->cur[n - 1] == '-'))
        n--;
    s->curlen = 0;
    long num = s->cur_digits ? s->cur_num : -1;
    s->cur_digits = false;
    s->cur_num = -1;
    if (n == 0)
        return;
    s->words++;
    if (n > WMAX) { /* too long to match: a break in the ring */
        s->nring = 0;
        s->prev_num = -1;
        return;
    }
    memcpy(s->ring[s->rpos], s->cur, n);
    s->rlen[s->rpos] = (uint8_t)n;
    s->rpos = (s->rpos + 1) % RING;
    if (s->nring < RING)
        s->nring++;
    const char *w = s->ring[(s->rpos + RING - 1) % RING];
    size_cue(s, w, n);
    s->prev_num = num;
    int b = bucket_of(w, n);
    for (unsigned j = bucket_start[b]; j < bucket_start[b + 1]; j++) {
        size_t i = bucket_items[j];
        if (cue_matches(s, i)) {
            (s->in_body ? s->body : s->fam)[cues[i].fam] += cues[i].w;
            s->task_w[cues[i].task] += fabs(cues[i].w) * (s->in_body ? W_BODY_TASK : 1.0);
        }
    }
}

static bool starts(const char *h, int hl, const char *p)
{
    size_t n = strlen(p);
    return (size_t)hl >= n && memcmp(h, p, n) == 0;
}

static void end_line(scan *s)
{
    const char *h = s->head;
    int hl = s->headlen;
    int math = s->line_math;
    s->line_math = 0;
    s->line_lead = true;
    int indent = s->indent;
    s->indent = 0;
    s->headlen = 0;
    unsigned char last = s->last;
    s->last = 0;
    if ((hl == 0 || last == ':') && s->words > 0)
        s->in_body = true;
    if (hl == 0)
        return;
    if (starts(h, hl, "```")) {
        s->fence = !s->fence;
        s->code_lines++;
        return;
    }
    if (s->fence) {
        s->code_lines++;
        return;
    }
    bool bullet = (hl >= 2 && (h[0] == '-' || h[0] == '*' || h[0] == '+') && h[1] == ' ') ||
                  starts(h, hl, "\xe2\x80\xa2");
    int d = 0;
    while (d < hl && d < 3 && h[d] >= '0' && h[d] <= '9')
        d++;
    bool num = (d >= 1 && d <= 2 && d < hl && (h[d] == '.' || h[d] == ')')) ||
               (hl >= 3 && h[0] == '(' && h[2] == ')') ||
               (hl >= 3 && h[0] >= 'a' && h[0] <= 'z' && h[1] == ')' && h[2] == ' ');
    if (bullet) {
        s->bullets++;
        return;
    }
    if (num) {
        s->numbered++;
        return;
    }
    static const char *const kw[] = {
        "def ", "class ", "import ",   "#include", "return ",  "for (",  "while (", "if (",
        "fn ",  "func ",  "function ", "public ",  "private ", "const ", "let ",    "var ",
        "int ", "void ",  "static ",   "SELECT ",  "print(",   "#!/",    "} ",      "from ",
    };
    bool code = indent >= 4 || last == ';' || last == '{' || last == '}';
    for (size_t k = 0; !code && k < sizeof kw / sizeof kw[0]; k++)
        code = starts(h, hl, kw[k]);
    if (code)
        s->code_lines++;
    else
        s->math += (uint64_t)math;
}

static void feed(scan *s, const char *text, size_t len)
{
    size_t room = LX_COMPLEXITY_SCAN_MAX - s->scanned;
    if (len > room)
        len = room;
    s->scanned += len;
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        /* line state */
        if (c == '\n') {
            end_word(s);
            end_line(s);
            continue;
        }
        if (s->line_lead) {
            if (c == ' ')
                s->indent++;
            else if (c == '\t')
                s->indent += 4;
            else if (c != '\r') {
                s->line_lead = false;
                if (s->words > 0 && (c == '-' || c == '*' || c == '+' || (c >= '0' && c <= '9')))
                    s->in_body = true; /* a list starts the material */
            }
        }
        if (!s->line_lead && s->headlen < (int)sizeof s->head)
            s->head[s->headlen++] = (char)c;
        if (c != ' ' && c != '\t' && c != '\r')
            s->last = c;
        if (c == '^' || c == '=' || c == '\\')
            s->line_math++;
        else if (c == 0xE2 && i + 1 < len && p[i + 1] >= 0x88 && p[i + 1] <= 0x8B)
            s->line_math++; /* U+2200..U+22FF mathematical operators */
        else if (c == '?')
            s->questions++;
        /* word state */
        unsigned char l = (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
        bool digit = l >= '0' && l <= '9';
        bool wc = (l >= 'a' && l <= 'z') || digit || l == '-' || l == '\'' || l == '_' || c >= 0x80;
        if (c == ',' && s->curlen > 0 && s->cur_digits && i + 1 < len && p[i + 1] >= '0' &&
            p[i + 1] <= '9')
            continue; /* 2,000 */
        if (!wc) {
            end_word(s);
            continue;
        }
        if (s->curlen == 0 && (l == '\'' || l == '-'))
            continue;
        if (s->curlen == 0) {
            s->cur_digits = digit;
            s->cur_num = digit ? 0 : -1;
        }
        if (s->cur_digits) {
            if (digit && s->cur_num < 100000000)
                s->cur_num = s->cur_num * 10 + (l - '0');
            else if (!digit)
                s->cur_digits = false;
        }
        if (s->curlen < WMAX)
            s->cur[s->curlen] = (char)l;
        s->curlen++; /* past WMAX: marks the word as too long */
        if (s->curlen > WMAX + 1)
            s->curlen = WMAX + 1;
    }
}

/* ---- result ------------------------------------------------------------- */

static void add_feature(lx_complexity *out, const char *name, double w)
{
    if (w == 0)
        return;
    if (out->n_features < LX_COMPLEXITY_MAX_FEATURES) {
        out->features[out->n_features].name = name;
        out->features[out->n_features].weight = w;
        out->n_features++;
        return;
    }
    int min = 0; /* full: replace the weakest if this one is stronger */
    for (int i = 1; i < out->n_features; i++)
        if (fabs(out->features[i].weight) < fabs(out->features[min].weight))
            min = i;
    if (fabs(w) > fabs(out->features[min].weight)) {
        out->features[min].name = name;
        out->features[min].weight = w;
    }
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* Turns the scanner counts into a score; `extra` is added to the logit
 * (its features already in out). total_len is the real input length. */
static void finish(scan *s, size_t total_len, double extra, lx_complexity *out)
{
    end_word(s);
    end_line(s);
    double z = W_BIAS + extra;
    bool gate = s->fam[F_SIMPLE] <= W_GATE_SIMPLE;
    for (int f = F_REASON; f < F_CONSTR; f++)
        gate = gate && s->fam[f] <= W_GATE_UP;
    double st = gate ? W_BODY_STRUCT : 1.0;
    for (int f = 0; f < N_FAM; f++) {
        bool up = f >= F_REASON && f < F_CONSTR;
        double sum = s->fam[f] + s->body[f] * (gate && up ? W_BODY_UP : 1.0);
        if (f == F_CONSTR || sum == 0)
            continue;
        double w = clampd(sum, -W_FAMILY_CAP, W_FAMILY_CAP);
        add_feature(out, fam_name[f], w);
        z += w;
    }
    if (s->size_req != 0) {
        add_feature(out, s->size_req > 0 ? "size:long_requested" : "size:short_requested",
                    s->size_req);
        z += s->size_req;
    }
    double words = (double)s->words;
    if (s->scanned > 0 && total_len > s->scanned)
        words *= (double)total_len / (double)s->scanned;
    double lw = clampd(W_LENGTH * (log2(1 + words) - log2(26)), W_LENGTH_MIN, W_LENGTH_MAX);
    if (lw > 0)
        lw *= st;
    add_feature(out, "length", lw);
    z += lw;
    double nc = s->fam[F_CONSTR] + s->body[F_CONSTR] + (double)s->bullets;
    if (nc > 0) {
        double w = st * W_CONSTRAINT * (nc > W_CONSTRAINT_N ? W_CONSTRAINT_N : nc);
        add_feature(out, "constraints", w);
        z += w;
    }
    if (s->code_lines > 0) {
        double w = st * clampd(W_CODE * log2(1 + (double)s->code_lines) - W_CODE, 0, W_CODE_MAX);
        add_feature(out, "code", w);
        z += w;
    }
    if (s->math >= 2) {
        double w = clampd(W_MATH * log2(1 + (double)s->math), 0, W_MATH_MAX);
        add_feature(out, "math_notation", w);
        z += w;
    }
    if (s->questions >= 2) {
        double q = (double)(s->questions > W_QUESTIONS_N ? W_QUESTIONS_N : s->questions);
        add_feature(out, "questions", st * W_QUESTIONS * (q - 1));
        z += st * W_QUESTIONS * (q - 1);
    }
    if (s->numbered >= 2) {
        double n = (double)(s->numbered > W_MULTIPART_N ? W_MULTIPART_N : s->numbered);
        add_feature(out, "multi_part", st * W_MULTIPART * n);
        z += st * W_MULTIPART * n;
    }
    out->score = 1.0 / (1.0 + exp(-z));
    int best = T_NONE;
    for (int t = 1; t < N_TASK; t++)
        if (s->task_w[t] > s->task_w[best])
            best = t;
    if (best == T_NONE && s->code_lines > 0)
        best = T_CODING;
    else if (best == T_NONE && s->math >= 2)
        best = T_MATH;
    out->task = task_name[best];
}

void lx_complexity_score(const char *text, size_t len, lx_complexity *out)
{
    scan s;
    scan_init(&s);
    out->n_features = 0;
    if (text && len)
        feed(&s, text, len);
    finish(&s, text ? len : 0, 0, out);
}

lx_status lx_complexity_of_request(const lx_request *r, lx_complexity *out)
{
    if (!out)
        return LX_ERR_INVALID;
    lx_complexity_score(NULL, 0, out);
    if (!r)
        return LX_ERR_INVALID;
    size_t last = r->n_messages;
    for (size_t i = r->n_messages; i > 0; i--)
        if (r->messages[i - 1].role == LX_ROLE_USER) {
            last = i - 1;
            break;
        }
    if (last == r->n_messages)
        return LX_ERR_INVALID;
    size_t sys_words = 0;
    for (size_t i = 0; i < r->n_messages; i++) {
        const lx_message *m = &r->messages[i];
        if (m->role != LX_ROLE_SYSTEM)
            continue;
        for (size_t k = 0; k < m->n_parts; k++) {
            const char *t = m->parts[k].kind == LX_PART_TEXT ? m->parts[k].text : NULL;
            for (bool in = false; t && *t; t++) { /* count words */
                bool sp = *t == ' ' || *t == '\n' || *t == '\t' || *t == '\r';
                if (!sp && !in)
                    sys_words++;
                in = !sp;
            }
        }
    }
    scan s;
    scan_init(&s);
    out->n_features = 0;
    size_t total = 0;
    const lx_message *u = &r->messages[last];
    for (size_t k = 0; k < u->n_parts; k++) {
        const lx_part *p = &u->parts[k];
        if (p->kind != LX_PART_TEXT || !p->text)
            continue;
        size_t n = strlen(p->text);
        if (total)
            feed(&s, "\n\n", 2);
        feed(&s, p->text, n);
        total += n + (total ? 2 : 0);
    }
    double extra = 0;
    if (sys_words > 50) {
        double w = clampd(W_SYSTEM * log2((double)sys_words / 50.0), 0, W_SYSTEM_MAX);
        add_feature(out, "system_prompt", w);
        extra += w;
    }
    if (last > 0) {
        size_t turns = 0;
        for (size_t i = 0; i < last; i++)
            turns += r->messages[i].role != LX_ROLE_SYSTEM;
        double w = clampd(W_TURNS * (double)turns, 0, W_TURNS_MAX);
        add_feature(out, "conversation", w);
        extra += w;
    }
    finish(&s, total, extra, out);
    return LX_OK;
}
