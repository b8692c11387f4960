/*
 * tools/judge/judge.h - judge a Nestor serial log against a test spec.
 *
 * A spec is lines of "key: value" (blank lines and '#' comments ignored).
 * Keys the judge reads, each optionally restricted to one emulator with
 * "key[emu]:" (e.g. "expect[bochs]: cpu: vmx: present"):
 *   expect:  text that must appear in a line, in the order given
 *   forbid:  text that must appear in no line
 *   anywhere: text that must appear in some line, in any order (output of
 *             things running concurrently, e.g. several VMs)
 *   verdict: pass | fail   the verdict line the system must end with
 *                           (default pass)
 *   count:   PREFIX >= N   a line "PREFIX P passed, F failed" must appear with
 *                           P >= N and F == 0 (an in-system suite's summary)
 * Other keys (name, emulators, timeout, cmdline, ...) belong to the harness
 * and are ignored here.
 */
#ifndef TOOLS_JUDGE_H
#define TOOLS_JUDGE_H
#include <stdbool.h>
#include <stddef.h>

#define JUDGE_MAX_RULES   128
#define JUDGE_MAX_TEXT    256
#define JUDGE_MAX_REPORT  2048

typedef enum { JUDGE_VERDICT_NONE, JUDGE_VERDICT_PASS, JUDGE_VERDICT_FAIL } judge_verdict_t;

typedef struct {
    char text[JUDGE_MAX_TEXT];
    size_t line_no;          /* where it was first matched; 0 = not yet */
} judge_rule_t;

typedef struct {
    char prefix[JUDGE_MAX_TEXT];
    unsigned min_passed;
    bool seen;
    unsigned passed, failed;        /* from the last matching line */
} judge_count_t;

#define JUDGE_MAX_COUNTS 8

typedef struct {
    judge_count_t count[JUDGE_MAX_COUNTS];
    size_t n_count;
    judge_rule_t expect[JUDGE_MAX_RULES];
    size_t n_expect, next_expect;   /* expectations are met in order */
    judge_rule_t forbid[JUDGE_MAX_RULES];
    size_t n_forbid;
    judge_rule_t anywhere[JUDGE_MAX_RULES];
    size_t n_anywhere;
    judge_verdict_t want_verdict;
    judge_verdict_t seen_verdict;
    size_t verdict_line;
    size_t lines;
} judge_t;

/* Load @spec_text for emulator @emu. On error returns false with a message
 * "line N: ..." in @err. */
bool judge_load(judge_t *j, const char *spec_text, const char *emu, char *err, size_t errlen);

/* Feed one line of serial output (without its newline; a trailing '\r' is ignored). */
void judge_feed(judge_t *j, const char *line);

/* Verdict named by a line, if it is a verdict line (nestor/verdict.h). */
judge_verdict_t judge_line_verdict(const char *line);

/* True if every rule holds. @report gets one line per problem, or a summary. */
bool judge_finish(const judge_t *j, char *report, size_t len);

/*
 * Bare against virtual (a spec's 'compare: bare'): the same test guest booted
 * under Nestor (@virt_log, the whole serial log: the guest's lines are those
 * of VM @vm, "[vm] TEXT") and bare by GRUB (@bare_log: the guest's own
 * lines, up to its verdict line) must print the same lines in the same
 * order. Left out on both sides: empty lines and lines starting with
 * NESTOR_ENV_LINE_MARK (nestor/verdict.h), which the guest marks as values
 * of the machine. The bare run must also end with a PASS verdict (it
 * finished, and the guest saw no failure). True if all holds; @report names
 * the first differing line of each side (with its serial line number), or
 * gives a summary.
 */
bool judge_compare(const char *virt_log, const char *bare_log, const char *vm, char *report,
                   size_t len);

#endif
