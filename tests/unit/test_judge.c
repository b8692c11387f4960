/* tests/unit/test_judge.c - the serial log judge of the system-test harness. */
#include "unit.h"
#include "judge.h"
#include <nestor/verdict.h>
#include <stdlib.h>
#include <string.h>

static judge_t *load(const char *spec, const char *emu)
{
    judge_t *j = calloc(1, sizeof(*j));
    char err[256];
    CU_ASSERT_TRUE_FATAL(judge_load(j, spec, emu, err, sizeof(err)));
    return j;
}

static bool run(judge_t *j, const char *const *lines, char *report, size_t len)
{
    for (; *lines; lines++)
        judge_feed(j, *lines);
    return judge_finish(j, report, len);
}

static const char *const good_boot[] = {
    "Nestor microkernel 0.1 (x86-64) booting",
    "cpu: vmx: present (revision 0x2b)",
    "nestor: boot complete",
    NESTOR_VERDICT_PASS_LINE,
    NULL,
};

static void test_pass_in_order(void)
{
    char rep[JUDGE_MAX_REPORT];
    judge_t *j = load("expect: booting\nexpect: boot complete\nforbid: EXCEPTION\n", NULL);
    CU_ASSERT_TRUE(run(j, good_boot, rep, sizeof(rep)));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "ok: 2 expectations"));
    free(j);
}

static void test_order_matters(void)
{
    char rep[JUDGE_MAX_REPORT];
    judge_t *j = load("expect: boot complete\nexpect: booting\n", NULL);
    CU_ASSERT_FALSE(run(j, good_boot, rep, sizeof(rep)));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "missing: expected 'booting' after line 3"));
    free(j);
}

static void test_forbidden_line(void)
{
    char rep[JUDGE_MAX_REPORT];
    judge_t *j = load("forbid: vmx: present\n", NULL);
    CU_ASSERT_FALSE(run(j, good_boot, rep, sizeof(rep)));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "forbidden: 'vmx: present' at line 2"));
    free(j);
}

static void test_per_emulator_rules(void)
{
    char rep[JUDGE_MAX_REPORT];
    const char *spec = "expect[bochs]: vmx: present\nexpect[qemu]: vmx: absent\n";
    judge_t *j = load(spec, "bochs");
    CU_ASSERT_TRUE(run(j, good_boot, rep, sizeof(rep)));
    free(j);
    j = load(spec, "qemu");
    CU_ASSERT_FALSE(run(j, good_boot, rep, sizeof(rep)));
    free(j);
}

static void test_verdicts(void)
{
    char rep[JUDGE_MAX_REPORT];
    static const char *const failed[] = { "EXCEPTION: vector 13",
                                          NESTOR_VERDICT_FAIL_LINE " (kernel exception)", NULL };
    static const char *const unfinished[] = { "booting", NULL };
    judge_t *j = load("expect: EXCEPTION\n", NULL);
    CU_ASSERT_FALSE(run(j, failed, rep, sizeof(rep)));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "verdict: expected PASS, got FAIL"));
    free(j);
    j = load("expect: EXCEPTION\nverdict: fail\n", NULL);
    CU_ASSERT_TRUE(run(j, failed, rep, sizeof(rep)));
    free(j);
    j = load("", NULL);
    CU_ASSERT_FALSE(run(j, unfinished, rep, sizeof(rep)));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "no verdict line"));
    free(j);
}

static void test_verdict_must_start_line(void)
{
    CU_ASSERT_EQUAL(judge_line_verdict(NESTOR_VERDICT_PASS_LINE), JUDGE_VERDICT_PASS);
    CU_ASSERT_EQUAL(judge_line_verdict("echo " NESTOR_VERDICT_PASS_LINE), JUDGE_VERDICT_NONE);
    CU_ASSERT_EQUAL(judge_line_verdict(""), JUDGE_VERDICT_NONE);
}

static void test_first_verdict_counts(void)
{
    char rep[JUDGE_MAX_REPORT];
    static const char *const two[] = { NESTOR_VERDICT_FAIL_LINE, NESTOR_VERDICT_PASS_LINE, NULL };
    judge_t *j = load("", NULL);
    CU_ASSERT_FALSE(run(j, two, rep, sizeof(rep)));
    free(j);
}

static void test_bad_specs(void)
{
    judge_t *j = calloc(1, sizeof(*j));
    char err[256];
    CU_ASSERT_FALSE(judge_load(j, "expect booting\n", NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 1"));
    CU_ASSERT_FALSE(judge_load(j, "# c\nverdict: maybe\n", NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2: verdict must be"));
    CU_ASSERT_FALSE(judge_load(j, "expect:\n", NULL, err, sizeof(err)));
    CU_ASSERT_FALSE(judge_load(j, "expect[bochs: x\n", NULL, err, sizeof(err)));
    char big[JUDGE_MAX_TEXT + 100];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CU_ASSERT_FALSE(judge_load(j, big, NULL, err, sizeof(err)));
    CU_ASSERT_TRUE(judge_load(j, "name: boot\ntimeout: 30\n\n  # indented comment\n", NULL, err,
                              sizeof(err)));
    free(j);
}

static void test_too_many_rules(void)
{
    size_t n = (JUDGE_MAX_RULES + 1) * 16;
    char *spec = malloc(n + 1), *p = spec;
    for (int i = 0; i <= JUDGE_MAX_RULES; i++)
        p += sprintf(p, "expect: %03d\n", i);
    judge_t *j = calloc(1, sizeof(*j));
    char err[256];
    CU_ASSERT_FALSE(judge_load(j, spec, NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "more than"));
    free(j);
    free(spec);
}

UNIT_SUITE(judge_suite)
{
    CU_pSuite s = CU_add_suite("serial line judge", NULL, NULL);
    CU_add_test(s, "expectations met in order pass", test_pass_in_order);
    CU_add_test(s, "out-of-order expectations fail", test_order_matters);
    CU_add_test(s, "a forbidden line fails", test_forbidden_line);
    CU_add_test(s, "per-emulator rules", test_per_emulator_rules);
    CU_add_test(s, "verdicts: pass, expected fail, none", test_verdicts);
    CU_add_test(s, "a verdict must start its line", test_verdict_must_start_line);
    CU_add_test(s, "the first verdict counts", test_first_verdict_counts);
    CU_add_test(s, "malformed specs are refused with a line number", test_bad_specs);
    CU_add_test(s, "rule count is bounded", test_too_many_rules);
}

static void test_count_rule(void)
{
    char rep[JUDGE_MAX_REPORT];
    static const char *const good[] = { "kernel: 81 passed, 0 failed", NESTOR_VERDICT_PASS_LINE,
                                        NULL };
    static const char *const few[] = { "kernel: 12 passed, 0 failed", NESTOR_VERDICT_PASS_LINE,
                                       NULL };
    static const char *const failing[] = { "kernel: 80 passed, 1 failed",
                                           NESTOR_VERDICT_PASS_LINE, NULL };
    static const char *const none[] = { NESTOR_VERDICT_PASS_LINE, NULL };
    judge_t *j = load("count: kernel: >= 60\n", NULL);
    CU_ASSERT_TRUE(run(j, good, rep, sizeof(rep)));
    free(j);
    j = load("count: kernel: >= 60\n", NULL);
    CU_ASSERT_FALSE(run(j, few, rep, sizeof(rep)));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "kernel: 12 passed, 0 failed (need >= 60"));
    free(j);
    j = load("count: kernel: >= 60\n", NULL);
    CU_ASSERT_FALSE(run(j, failing, rep, sizeof(rep)));
    free(j);
    j = load("count: kernel: >= 60\n", NULL);
    CU_ASSERT_FALSE(run(j, none, rep, sizeof(rep)));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "count: no 'kernel:"));
    free(j);
    judge_t *bad = calloc(1, sizeof(*bad));
    char err[256];
    CU_ASSERT_FALSE(judge_load(bad, "count: kernel: 60\n", NULL, err, sizeof(err)));
    CU_ASSERT_FALSE(judge_load(bad, "count:  >= 60\n", NULL, err, sizeof(err)));
    free(bad);
}

UNIT_SUITE(judge_count_suite)
{
    CU_pSuite s = CU_add_suite("serial line judge: counts", NULL, NULL);
    CU_add_test(s, "count rule: minimum passed, zero failed", test_count_rule);
}

static void test_anywhere_rule(void)
{
    char rep[JUDGE_MAX_REPORT];
    /* Any order passes (the log has them as 3, 2). */
    judge_t *j = load("anywhere: boot complete\nanywhere: vmx: present\n", NULL);
    CU_ASSERT_TRUE(run(j, good_boot, rep, sizeof(rep)));
    free(j);
    j = load("anywhere: vmx: present\nanywhere: vm spin stopped\n", NULL);
    CU_ASSERT_FALSE(run(j, good_boot, rep, sizeof(rep)));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "missing: expected 'vm spin stopped' somewhere"));
    CU_ASSERT_PTR_NULL(strstr(rep, "'vmx: present' somewhere"));
    free(j);
    judge_t *bad = calloc(1, sizeof(*bad));
    char err[256];
    CU_ASSERT_FALSE(judge_load(bad, "anywhere: \n", NULL, err, sizeof(err)));
    free(bad);
}

UNIT_SUITE(judge_anywhere_suite)
{
    CU_pSuite s = CU_add_suite("serial line judge: unordered lines", NULL, NULL);
    CU_add_test(s, "anywhere rule: each text in some line, any order", test_anywhere_rule);
}

/* ---- bare against virtual (judge_compare) ---- */

#define PASS_LINE NESTOR_VERDICT_PASS_LINE "\n"

static const char virt_timer[] =
    "Nestor microkernel 0.1 (x86-64) booting\n"
    "vmm: vm timer: 8 MiB RAM\n"
    "[timer] timer: 20 PIT ticks\n"
    "[other] timer: not this VM\n"
    "[timer] " NESTOR_ENV_LINE_MARK "timer: TSC at 1000 MHz\n"
    "[timer] timer: 9 passed, 0 failed\n"
    "vmm: vm timer exited with status 0\n" PASS_LINE;

static bool cmp(const char *virt, const char *bare, char *rep)
{
    return judge_compare(virt, bare, "timer", rep, JUDGE_MAX_REPORT);
}

static void test_compare_same(void)
{
    char rep[JUDGE_MAX_REPORT];
    /* Marked lines differ, CRLF, an empty line bare: the same. */
    CU_ASSERT_TRUE(cmp(virt_timer,
                       "timer: 20 PIT ticks\r\n\n" NESTOR_ENV_LINE_MARK "timer: TSC at 3500 MHz\n"
                       NESTOR_ENV_LINE_MARK "bare only\ntimer: 9 passed, 0 failed\n" PASS_LINE
                       "after the verdict: not the guest's\n", rep));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "ok: bare and virtual: 2 lines the same"));
}

static void test_compare_first_difference(void)
{
    char rep[JUDGE_MAX_REPORT];
    CU_ASSERT_FALSE(cmp(virt_timer, "timer: 20 PIT ticks\ntimer: 8 passed, 1 failed\n" PASS_LINE,
                        rep));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "differ at the guest's line 2 (after 1 the same"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "virtual (serial line 6): 'timer: 9 passed, 0 failed'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "bare    (serial line 2): 'timer: 8 passed, 1 failed'"));
    /* A prefix of the other line is not the same line. */
    CU_ASSERT_FALSE(cmp(virt_timer, "timer: 20 PIT tick\ntimer: 9 passed, 0 failed\n" PASS_LINE,
                        rep));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "differ at the guest's line 1"));
}

static void test_compare_lengths(void)
{
    char rep[JUDGE_MAX_REPORT];
    /* Bare has one line more: virtual runs out first. */
    CU_ASSERT_FALSE(cmp(virt_timer, "timer: 20 PIT ticks\ntimer: 9 passed, 0 failed\nextra\n"
                        PASS_LINE, rep));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "virtual: no more lines"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "'extra'"));
    /* Bare stopped early (a line after its verdict is not counted). */
    CU_ASSERT_FALSE(cmp(virt_timer, "timer: 20 PIT ticks\n" PASS_LINE
                        "timer: 9 passed, 0 failed\n", rep));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "bare   : no more lines"));
}

static void test_compare_bare_verdict(void)
{
    char rep[JUDGE_MAX_REPORT];
    const char *lines = "timer: 20 PIT ticks\ntimer: 9 passed, 0 failed\n";
    char bare[256];
    snprintf(bare, sizeof(bare), "%s", lines);
    CU_ASSERT_FALSE(cmp(virt_timer, bare, rep));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "no verdict line"));
    snprintf(bare, sizeof(bare), "%s%s (guest status 1)\n", lines, NESTOR_VERDICT_FAIL_LINE);
    CU_ASSERT_FALSE(cmp(virt_timer, bare, rep));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "FAIL verdict"));
}

static void test_compare_nothing(void)
{
    char rep[JUDGE_MAX_REPORT];
    /* No line of the VM and none bare: nothing was compared, a failure. */
    CU_ASSERT_FALSE(cmp("vmm: vm timer: 8 MiB RAM\n[timerx] timer: x\n" PASS_LINE, PASS_LINE, rep));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "no line of VM timer"));
    CU_ASSERT_FALSE(judge_compare(virt_timer, PASS_LINE, "", rep, sizeof(rep)));
    /* Only marked lines on both sides: still nothing compared. */
    CU_ASSERT_FALSE(cmp("[timer] " NESTOR_ENV_LINE_MARK "a\n", NESTOR_ENV_LINE_MARK "b\n" PASS_LINE,
                        rep));
}

static void test_compare_long_line(void)
{
    char rep[JUDGE_MAX_REPORT];
    char virt[1200], bare[1200];
    char long_text[1000];
    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    snprintf(virt, sizeof(virt), "[timer] %s\n", long_text);
    snprintf(bare, sizeof(bare), "%sy\n%s", long_text, PASS_LINE);
    CU_ASSERT_FALSE(cmp(virt, bare, rep));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "'..."));
    CU_ASSERT_TRUE(strlen(rep) < 600);
}

UNIT_SUITE(judge_compare_suite)
{
    CU_pSuite s = CU_add_suite("serial line judge: bare against virtual", NULL, NULL);
    CU_add_test(s, "the same lines, marked and empty ones left out", test_compare_same);
    CU_add_test(s, "the first differing line of each side is named", test_compare_first_difference);
    CU_add_test(s, "one side longer than the other", test_compare_lengths);
    CU_add_test(s, "the bare run must end with PASS", test_compare_bare_verdict);
    CU_add_test(s, "nothing compared is a failure", test_compare_nothing);
    CU_add_test(s, "a long differing line is shown cut", test_compare_long_line);
}
