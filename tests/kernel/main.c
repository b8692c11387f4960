/*
 * tests/kernel/main.c - run every KTEST and report "kernel: N passed, N failed".
 */
#include "ktest.h"
#include <user/runtime.h>

extern const ktest_t __start_ktests[], __stop_ktests[];
int env_init(const nestor_bootinfo_t *bi);
void env_reset(void);

int main(const nestor_bootinfo_t *bi)
{
    printf("ktest: kernel test suite starting\n");
    if (bi->magic != NESTOR_BOOTINFO_MAGIC || !env_init(bi)) {
        printf("ktest: cannot set up the test environment\n");
        return 0;
    }
    unsigned passed = 0, failed = 0;
    for (const ktest_t *t = __start_ktests; t < __stop_ktests; t++) {
        int ok = t->fn();
        env_reset();
        printf("ktest: %-44s %s\n", t->name, ok == KT_PASS ? "ok" : "FAILED");
        if (ok == KT_PASS)
            passed++;
        else
            failed++;
    }
    /* Last: every object the tests made is gone; kernel state must be sound. */
    nestor_word_t slots, threads, errors = nu_debug_check(&slots, &threads);
    printf("ktest: %-44s %s (%lu slots, %lu threads checked)\n", "consistency_after_all_tests",
           errors ? "FAILED" : "ok", slots, threads);
    if (errors)
        failed++;
    else
        passed++;
    printf("kernel: %u passed, %u failed\n", passed, failed);
    return failed == 0;
}
