/* Tests of the complexity score (router/complexity.c): calibration on the
 * labelled set tests/data/complexity.tsv (run from the repo root), and unit
 * behaviour. The calibration test prints one line per split:
 *   complexity <split>: n=.. tp=.. fp=.. fn=.. tn=.. precision=.. recall=.. accuracy=..
 * (cloud is the positive class, threshold LX_COMPLEXITY_THRESHOLD). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/types.h"
#include "router/complexity.h"

#define SET_PATH "tests/data/complexity.tsv"
#define FLOOR_TEST_ACC 0.90
#define FLOOR_ALL_ACC 0.92
#define FLOOR_TEST_PREC 0.95
#define FLOOR_TEST_REC 0.80

typedef struct {
    int tp, fp, fn, tn;
} confusion;

static double ratio(int a, int b)
{
    return b ? (double)a / b : 0.0;
}

/* Unescapes \n, \t, \\ in place; returns the new length. */
static size_t unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '\\' && r[1]) {
            r++;
            *w++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : *r;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
    return (size_t)(w - s);
}

/* Scores every row; fills train, test (held out) and all; verbose lists errors. */
static int eval_set(confusion *train, confusion *test, confusion *all, int verbose)
{
    FILE *f = fopen(SET_PATH, "r");
    cr_assert_not_null(f, "cannot open %s (run from the repo root)", SET_PATH);
    static char line[16384];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\r\n")] = 0;
        char *fld[5] = {0};
        char *p = line;
        for (int i = 0; i < 5 && p; i++) {
            fld[i] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = 0;
        }
        cr_assert(fld[3], "row %d: needs split, label, task, prompt", rows + 1);
        bool is_test = strcmp(fld[0], "test") == 0;
        cr_assert(is_test || strcmp(fld[0], "train") == 0, "bad split %s", fld[0]);
        bool cloud = strcmp(fld[1], "cloud") == 0;
        cr_assert(cloud || strcmp(fld[1], "local") == 0, "bad label %s", fld[1]);
        size_t n = unescape(fld[3]);
        lx_complexity c;
        lx_complexity_score(fld[3], n, &c);
        bool pred = c.score >= LX_COMPLEXITY_THRESHOLD;
        confusion *cs[2] = {is_test ? test : train, all};
        for (int k = 0; k < 2; k++) {
            if (pred && cloud)
                cs[k]->tp++;
            else if (pred)
                cs[k]->fp++;
            else if (cloud)
                cs[k]->fn++;
            else
                cs[k]->tn++;
        }
        if (verbose && pred != cloud)
            fprintf(stderr, "  miss %-5s %-5s %.3f %-14s %.70s\n", fld[0], fld[1], c.score, c.task,
                    fld[3]);
        rows++;
    }
    fclose(f);
    return rows;
}

static void print_conf(const char *name, const confusion *c)
{
    int n = c->tp + c->fp + c->fn + c->tn;
    fprintf(stderr,
            "complexity %s: n=%d tp=%d fp=%d fn=%d tn=%d precision=%.3f recall=%.3f "
            "accuracy=%.3f\n",
            name, n, c->tp, c->fp, c->fn, c->tn, ratio(c->tp, c->tp + c->fp),
            ratio(c->tp, c->tp + c->fn), ratio(c->tp + c->tn, n));
}

Test(complexity, labelled_set)
{
    confusion train = {0}, test = {0}, all = {0};
    int rows = eval_set(&train, &test, &all, getenv("LX_COMPLEXITY_VERBOSE") != NULL);
    cr_assert_geq(rows, 160);
    print_conf("train", &train);
    print_conf("test", &test);
    print_conf("all", &all);
    int nt = test.tp + test.fp + test.fn + test.tn;
    int na = all.tp + all.fp + all.fn + all.tn;
    /* floors a little under the figures measured (docs/complexity.md) */
    cr_assert_geq(ratio(test.tp + test.tn, nt), FLOOR_TEST_ACC);
    cr_assert_geq(ratio(all.tp + all.tn, na), FLOOR_ALL_ACC);
    cr_assert_geq(ratio(test.tp, test.tp + test.fp), FLOOR_TEST_PREC);
    cr_assert_geq(ratio(test.tp, test.tp + test.fn), FLOOR_TEST_REC);
}

static double score(const char *s)
{
    lx_complexity c;
    lx_complexity_score(s, strlen(s), &c);
    cr_assert(c.score >= 0 && c.score <= 1 && !isnan(c.score));
    return c.score;
}

Test(complexity, obvious_pairs_are_ordered)
{
    static const char *pairs[][2] = {
        {"Translate 'good night' into French.",
         "Prove that every planar graph is 5-colourable, rigorously, step by step."},
        {"Classify this review as positive or negative: great phone.",
         "Design the architecture of a distributed message queue and discuss the trade-offs."},
        {"Fix the typo: 'recieve'.",
         "Why does this service deadlock intermittently under load? Find the race condition."},
        {"Summarize in one sentence: the meeting moved to Friday.",
         "Write a detailed 3000 words essay on the history of cryptography."},
        {"Extract the date from: 'due 3 May'.",
         "Implement a complete HTTP/2 server from this spec, with tests."},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        double lo = score(pairs[i][0]), hi = score(pairs[i][1]);
        cr_assert_lt(lo, LX_COMPLEXITY_THRESHOLD, "%s: %.3f", pairs[i][0], lo);
        cr_assert_geq(hi, LX_COMPLEXITY_THRESHOLD, "%s: %.3f", pairs[i][1], hi);
    }
    /* adding an upward cue never lowers the score */
    cr_assert_gt(score("Explain this function and optimize it."), score("Explain this function."));
    cr_assert_lt(score("Explain this function in one sentence."), score("Explain this function."));
}

Test(complexity, explanation_lists_fired_features)
{
    lx_complexity c;
    const char *s = "Prove the theorem step by step. It must hold for all n.";
    lx_complexity_score(s, strlen(s), &c);
    cr_assert_str_eq(c.task, "proof");
    bool reason = false, constr = false, length = false;
    double z = 0;
    for (int i = 0; i < c.n_features; i++) {
        cr_assert_not_null(c.features[i].name);
        cr_assert_neq(c.features[i].weight, 0.0);
        z += c.features[i].weight;
        if (strcmp(c.features[i].name, "cue:reasoning") == 0) {
            reason = true;
            cr_assert_gt(c.features[i].weight, 0);
        }
        constr |= strcmp(c.features[i].name, "constraints") == 0;
        length |= strcmp(c.features[i].name, "length") == 0;
    }
    cr_assert(reason && constr && length);
    /* the listed weights plus the bias explain the score */
    double bias = log(c.score / (1 - c.score)) - z;
    cr_assert_float_eq(bias, -0.30, 1e-9);

    s = "Classify the sentiment of: nice";
    lx_complexity_score(s, strlen(s), &c);
    cr_assert_str_eq(c.task, "sentiment");
    cr_assert_str_eq(c.features[0].name, "cue:simple_task");
    cr_assert_lt(c.features[0].weight, 0);
}

Test(complexity, whole_words_and_case)
{
    /* "approve" contains "prove"; "Designer" is not "design" */
    cr_assert_lt(score("Please approve."), score("Please PROVE."));
    cr_assert_float_eq(score("the designer"), score("the gardener"), 1e-12);
    cr_assert_float_eq(score("TRADE-OFF"), score("trade-off"), 1e-12);
}

Test(complexity, empty_input)
{
    lx_complexity c;
    lx_complexity_score("", 0, &c);
    cr_assert(c.score >= 0 && c.score < LX_COMPLEXITY_THRESHOLD);
    cr_assert_str_eq(c.task, "general");
    lx_complexity_score(NULL, 0, &c);
    cr_assert(c.score >= 0 && c.score < LX_COMPLEXITY_THRESHOLD);
}

Test(complexity, non_utf8_bytes)
{
    char buf[512];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)(0x80 + (i * 37) % 128);
    static const char mixed[] = " prove \xff\xfe design \xc3";
    memcpy(buf + 100, mixed, sizeof mixed - 1);
    buf[300] = 0; /* an embedded NUL is just a byte */
    lx_complexity c;
    lx_complexity_score(buf, sizeof buf, &c);
    cr_assert(c.score >= 0 && c.score <= 1);
    cr_assert_leq(c.n_features, LX_COMPLEXITY_MAX_FEATURES);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

Test(complexity, huge_input_is_bounded)
{
    size_t n = 1 << 20;
    char *big = malloc(n);
    cr_assert_not_null(big);
    static const char words[] = "design prove must 1. x^2 = y; {code} why? ";
    for (size_t i = 0; i < n; i++)
        big[i] = words[i % (sizeof words - 1)];
    lx_complexity c;
    double t0 = now();
    lx_complexity_score(big, n, &c);
    double dt = now() - t0;
    cr_assert(c.score >= 0 && c.score <= 1);
    cr_assert_leq(c.n_features, LX_COMPLEXITY_MAX_FEATURES);
    cr_assert_lt(dt, 0.25, "1 MB took %.3f s", dt); /* only 64 KB is scanned */
    free(big);
}

Test(complexity, request_uses_last_user_turn)
{
    lx_request *r = lx_request_new();
    cr_assert_not_null(r);
    lx_complexity c;
    cr_assert_eq(lx_complexity_of_request(r, &c), LX_ERR_INVALID);
    cr_assert_eq(lx_complexity_of_request(NULL, &c), LX_ERR_INVALID);
    cr_assert_eq(lx_request_add_text(r, LX_ROLE_SYSTEM, "You are helpful."), LX_OK);
    cr_assert_eq(lx_request_add_text(r, LX_ROLE_USER, "Prove Fermat's little theorem."), LX_OK);
    cr_assert_eq(lx_request_add_text(r, LX_ROLE_ASSISTANT, "Here is a proof ..."), LX_OK);
    cr_assert_eq(lx_request_add_text(r, LX_ROLE_USER, "Translate 'cat' into Spanish."), LX_OK);
    cr_assert_eq(lx_complexity_of_request(r, &c), LX_OK);
    cr_assert_str_eq(c.task, "translation");
    bool conv = false;
    for (int i = 0; i < c.n_features; i++)
        conv |= strcmp(c.features[i].name, "conversation") == 0 && c.features[i].weight > 0;
    cr_assert(conv);
    lx_complexity alone;
    const char *u = "Translate 'cat' into Spanish.";
    lx_complexity_score(u, strlen(u), &alone);
    cr_assert_gt(c.score, alone.score); /* conversation length pushes up */
    cr_assert_lt(c.score, LX_COMPLEXITY_THRESHOLD);
    lx_request_free(r);
}
