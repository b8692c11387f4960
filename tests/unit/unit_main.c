/*
 * tests/unit/unit_main.c - runs every suite registered with UNIT_SUITE and
 * ends with a line the harness reads: "unit-results: tests=N failed=M".
 */
#include "unit.h"
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

#define UNIT_MAX_SUITES 64

static unit_suite_fn suites[UNIT_MAX_SUITES];
static int n_suites;

void unit_register(unit_suite_fn fn)
{
    if (n_suites == UNIT_MAX_SUITES) {
        fprintf(stderr, "unit: more than %d suites; raise UNIT_MAX_SUITES\n", UNIT_MAX_SUITES);
        exit(2);
    }
    suites[n_suites++] = fn;
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (int i = 0; i < n_suites; i++)
        suites[i]();
    if (CU_get_error() != CUE_SUCCESS) {
        fprintf(stderr, "unit: registering tests failed: %s\n", CU_get_error_msg());
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned run = CU_get_number_of_tests_run(), failed = CU_get_number_of_tests_failed();
    unsigned suites_failed = CU_get_number_of_suites_failed();
    printf("\nunit-results: tests=%u failed=%u suites-failed=%u\n", run, failed, suites_failed);
    CU_cleanup_registry();
    return (failed || suites_failed) ? 1 : 0;
}
