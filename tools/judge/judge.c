/*
 * tools/judge/judge.c - serial log judge for system tests.
 */
#include "judge.h"
#include <nestor/verdict.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Split "key[emu]: value"; returns false if the line has no ':' key. */
static bool split_line(const char *line, char *key, size_t klen, char *emu, size_t elen,
                       const char **value)
{
    const char *colon = strchr(line, ':');
    if (!colon)
        return false;
    size_t n = (size_t)(colon - line);
    const char *br = memchr(line, '[', n);
    emu[0] = '\0';
    if (br) {
        const char *close = memchr(br, ']', (size_t)(colon - br));
        if (!close || close + 1 != colon || (size_t)(close - br - 1) >= elen)
            return false;
        memcpy(emu, br + 1, (size_t)(close - br - 1));
        emu[close - br - 1] = '\0';
        n = (size_t)(br - line);
    }
    if (n == 0 || n >= klen)
        return false;
    memcpy(key, line, n);
    key[n] = '\0';
    *value = skip_space(colon + 1);
    return true;
}

static bool add_rule(judge_rule_t *rules, size_t *count, const char *text)
{
    size_t len = strlen(text);
    if (*count == JUDGE_MAX_RULES || len == 0 || len >= JUDGE_MAX_TEXT)
        return false;
    memcpy(rules[*count].text, text, len + 1);
    rules[*count].line_no = 0;
    (*count)++;
    return true;
}

static bool apply(judge_t *j, const char *key, const char *value, char *why, size_t wlen)
{
    if (strcmp(key, "expect") == 0 || strcmp(key, "forbid") == 0) {
        bool exp = key[0] == 'e';
        if (add_rule(exp ? j->expect : j->forbid, exp ? &j->n_expect : &j->n_forbid, value))
            return true;
        snprintf(why, wlen, "%s text empty, longer than %d bytes, or more than %d rules",
                 key, JUDGE_MAX_TEXT - 1, JUDGE_MAX_RULES);
        return false;
    }
    if (strcmp(key, "anywhere") == 0) {
        if (add_rule(j->anywhere, &j->n_anywhere, value))
            return true;
        snprintf(why, wlen, "anywhere text empty, longer than %d bytes, or more than %d rules",
                 JUDGE_MAX_TEXT - 1, JUDGE_MAX_RULES);
        return false;
    }
    if (strcmp(key, "count") == 0) {
        const char *ge = strstr(value, " >= ");
        unsigned min;
        if (!ge || ge == value || sscanf(ge + 4, "%u", &min) != 1 ||
            (size_t)(ge - value) >= JUDGE_MAX_TEXT || j->n_count == JUDGE_MAX_COUNTS) {
            snprintf(why, wlen, "count must be 'PREFIX >= N' (at most %d)", JUDGE_MAX_COUNTS);
            return false;
        }
        judge_count_t *c = &j->count[j->n_count++];
        memcpy(c->prefix, value, (size_t)(ge - value));
        c->prefix[ge - value] = '\0';
        c->min_passed = min;
        return true;
    }
    if (strcmp(key, "verdict") == 0) {
        if (strcmp(value, "pass") == 0)
            j->want_verdict = JUDGE_VERDICT_PASS;
        else if (strcmp(value, "fail") == 0)
            j->want_verdict = JUDGE_VERDICT_FAIL;
        else {
            snprintf(why, wlen, "verdict must be 'pass' or 'fail', got '%s'", value);
            return false;
        }
    }
    return true;    /* harness keys */
}

bool judge_load(judge_t *j, const char *spec, const char *emu, char *err, size_t errlen)
{
    memset(j, 0, sizeof(*j));
    j->want_verdict = JUDGE_VERDICT_PASS;
    char line[JUDGE_MAX_TEXT + 64];
    size_t no = 0;
    for (const char *p = spec; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        no++;
        if (n >= sizeof(line)) {
            snprintf(err, errlen, "line %zu: longer than %zu bytes", no, sizeof(line) - 1);
            return false;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        p = nl ? nl + 1 : p + n;
        const char *s = skip_space(line);
        if (*s == '\0' || *s == '#')
            continue;
        char key[32], kemu[32], why[160];
        const char *value;
        if (!split_line(s, key, sizeof(key), kemu, sizeof(kemu), &value)) {
            snprintf(err, errlen, "line %zu: expected 'key: value' or 'key[emu]: value'", no);
            return false;
        }
        if (kemu[0] && (!emu || strcmp(kemu, emu) != 0))
            continue;
        if (!apply(j, key, value, why, sizeof(why))) {
            snprintf(err, errlen, "line %zu: %s", no, why);
            return false;
        }
    }
    return true;
}

judge_verdict_t judge_line_verdict(const char *line)
{
    if (strncmp(line, NESTOR_VERDICT_PASS_LINE, strlen(NESTOR_VERDICT_PASS_LINE)) == 0)
        return JUDGE_VERDICT_PASS;
    if (strncmp(line, NESTOR_VERDICT_FAIL_LINE, strlen(NESTOR_VERDICT_FAIL_LINE)) == 0)
        return JUDGE_VERDICT_FAIL;
    return JUDGE_VERDICT_NONE;
}

void judge_feed(judge_t *j, const char *line)
{
    j->lines++;
    if (j->next_expect < j->n_expect && strstr(line, j->expect[j->next_expect].text))
        j->expect[j->next_expect++].line_no = j->lines;
    for (size_t i = 0; i < j->n_forbid; i++)
        if (!j->forbid[i].line_no && strstr(line, j->forbid[i].text))
            j->forbid[i].line_no = j->lines;
    for (size_t i = 0; i < j->n_anywhere; i++)
        if (!j->anywhere[i].line_no && strstr(line, j->anywhere[i].text))
            j->anywhere[i].line_no = j->lines;
    for (size_t i = 0; i < j->n_count; i++) {
        judge_count_t *c = &j->count[i];
        size_t n = strlen(c->prefix);
        unsigned p, f;
        if (strncmp(line, c->prefix, n) == 0 &&
            sscanf(line + n, " %u passed, %u failed", &p, &f) == 2) {
            c->seen = true;
            c->passed = p;
            c->failed = f;
        }
    }
    judge_verdict_t v = judge_line_verdict(line);
    if (v != JUDGE_VERDICT_NONE && j->seen_verdict == JUDGE_VERDICT_NONE) {
        j->seen_verdict = v;
        j->verdict_line = j->lines;
    }
}

static const char *verdict_name(judge_verdict_t v)
{
    return v == JUDGE_VERDICT_PASS ? "PASS" : v == JUDGE_VERDICT_FAIL ? "FAIL" : "none";
}

typedef struct {
    char *buf;
    size_t len, pos;
} report_t;

static void say(report_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(report_t *r, const char *fmt, ...)
{
    if (r->pos >= r->len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->buf + r->pos, r->len - r->pos, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->pos += (size_t)n;
}

bool judge_finish(const judge_t *j, char *report, size_t len)
{
    report_t r = { report, len, 0 };
    bool ok = true;
    if (len)
        report[0] = '\0';
    if (j->next_expect < j->n_expect) {
        ok = false;
        size_t after = j->next_expect ? j->expect[j->next_expect - 1].line_no : 0;
        say(&r, "missing: expected '%s' after line %zu (of %zu)\n",
            j->expect[j->next_expect].text, after, j->lines);
    }
    for (size_t i = 0; i < j->n_forbid; i++) {
        if (j->forbid[i].line_no) {
            ok = false;
            say(&r, "forbidden: '%s' at line %zu\n", j->forbid[i].text, j->forbid[i].line_no);
        }
    }
    for (size_t i = 0; i < j->n_anywhere; i++) {
        if (!j->anywhere[i].line_no) {
            ok = false;
            say(&r, "missing: expected '%s' somewhere (of %zu lines)\n", j->anywhere[i].text,
                j->lines);
        }
    }
    for (size_t i = 0; i < j->n_count; i++) {
        const judge_count_t *c = &j->count[i];
        if (!c->seen) {
            ok = false;
            say(&r, "count: no '%s N passed, N failed' line\n", c->prefix);
        } else if (c->failed || c->passed < c->min_passed) {
            ok = false;
            say(&r, "count: %s %u passed, %u failed (need >= %u passed, 0 failed)\n", c->prefix,
                c->passed, c->failed, c->min_passed);
        }
    }
    if (j->seen_verdict != j->want_verdict) {
        ok = false;
        say(&r, "verdict: expected %s, got %s%s\n", verdict_name(j->want_verdict),
            verdict_name(j->seen_verdict),
            j->seen_verdict == JUDGE_VERDICT_NONE ? " (no verdict line: the system did not finish)"
                                                  : "");
    }
    if (ok)
        say(&r, "ok: %zu expectations met in order, verdict %s at line %zu\n", j->n_expect,
            verdict_name(j->seen_verdict), j->verdict_line);
    return ok;
}

/* ---- bare against virtual ---- */

#define COMPARE_SHOWN 160               /* bytes of a differing line shown */

/* One side of the comparison: a log walked line by line. */
typedef struct {
    const char *p;          /* next line */
    size_t line_no;         /* serial line of the last one returned */
    const char *prefix;     /* "[vm] " under Nestor; NULL bare */
    size_t prefix_len;
    judge_verdict_t verdict;  /* bare: the verdict line that ended the guest's lines */
} cmp_side_t;

/* The next line of the guest's own output on @s (its text in @text, @len
 * bytes, no newline), or false at the end. */
static bool next_guest_line(cmp_side_t *s, const char **text, size_t *len)
{
    size_t mark_len = strlen(NESTOR_ENV_LINE_MARK);
    while (*s->p && s->verdict == JUDGE_VERDICT_NONE) {
        const char *line = s->p, *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        s->p = nl ? nl + 1 : line + n;
        s->line_no++;
        if (n && line[n - 1] == '\r')
            n--;
        if (s->prefix) {
            if (n < s->prefix_len || strncmp(line, s->prefix, s->prefix_len) != 0)
                continue;                       /* not the guest's */
            line += s->prefix_len;
            n -= s->prefix_len;
        } else {
            char head[JUDGE_MAX_TEXT];
            size_t h = n < sizeof(head) - 1 ? n : sizeof(head) - 1;
            memcpy(head, line, h);
            head[h] = '\0';
            s->verdict = judge_line_verdict(head);
            if (s->verdict != JUDGE_VERDICT_NONE)
                return false;                   /* the guest's last word */
        }
        if (n == 0 || (n >= mark_len && strncmp(line, NESTOR_ENV_LINE_MARK, mark_len) == 0))
            continue;
        *text = line;
        *len = n;
        return true;
    }
    return false;
}

static void say_line(report_t *r, const char *side, const cmp_side_t *s, bool have,
                     const char *text, size_t n)
{
    if (have)
        say(r, "  %s (serial line %zu): '%.*s'%s\n", side, s->line_no,
            (int)(n < COMPARE_SHOWN ? n : COMPARE_SHOWN), text, n > COMPARE_SHOWN ? "..." : "");
    else
        say(r, "  %s: no more lines (serial line %zu)\n", side, s->line_no);
}

bool judge_compare(const char *virt_log, const char *bare_log, const char *vm, char *report,
                   size_t len)
{
    report_t r = { report, len, 0 };
    if (len)
        report[0] = '\0';
    char prefix[JUDGE_MAX_TEXT];
    int pn = snprintf(prefix, sizeof(prefix), "[%s] ", vm);
    if (pn <= 3 || (size_t)pn >= sizeof(prefix)) {
        say(&r, "compare: bad VM name '%s'\n", vm);
        return false;
    }
    cmp_side_t v = { virt_log, 0, prefix, (size_t)pn, JUDGE_VERDICT_NONE };
    cmp_side_t b = { bare_log, 0, NULL, 0, JUDGE_VERDICT_NONE };
    size_t same = 0;
    for (;;) {
        const char *vt = NULL, *bt = NULL;
        size_t vn = 0, bn = 0;
        bool hv = next_guest_line(&v, &vt, &vn), hb = next_guest_line(&b, &bt, &bn);
        if (!hv && !hb)
            break;
        if (hv && hb && vn == bn && memcmp(vt, bt, vn) == 0) {
            same++;
            continue;
        }
        say(&r, "bare and virtual differ at the guest's line %zu (after %zu the same; "
            "lines starting '%s' left out):\n", same + 1, same, NESTOR_ENV_LINE_MARK);
        say_line(&r, "virtual", &v, hv, vt, vn);
        say_line(&r, "bare   ", &b, hb, bt, bn);
        return false;
    }
    if (same == 0) {
        say(&r, "compare: no line of VM %s in the virtual run nor of the guest bare\n", vm);
        return false;
    }
    if (b.verdict != JUDGE_VERDICT_PASS) {
        say(&r, "compare: %u lines the same, but the bare run %s\n", (unsigned)same,
            b.verdict == JUDGE_VERDICT_NONE ? "has no verdict line (it did not finish)"
                                            : "ended with a FAIL verdict");
        return false;
    }
    say(&r, "ok: bare and virtual: %zu lines the same (serial lines %zu and %zu)\n", same,
        v.line_no, b.line_no);
    return true;
}
