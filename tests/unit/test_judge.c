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
