/*
 * tests/unit/unit.h - CUnit glue. A test file declares its suite with
 *
 *   UNIT_SUITE(my_suite) {
 *       CU_pSuite s = CU_add_suite("my component", NULL, NULL);
 *       CU_add_test(s, "does the thing", test_thing);
 *   }
 *
 * and is linked into one of the unit-* binaries (tests/unit/SConscript);
 * unit_main.c runs every registered suite.
 */
#ifndef TESTS_UNIT_H
#define TESTS_UNIT_H
#include <CUnit/CUnit.h>

typedef void (*unit_suite_fn)(void);
void unit_register(unit_suite_fn fn);

#define UNIT_SUITE(fn)                                                    \
    static void fn(void);                                                 \
    __attribute__((constructor)) static void fn##_register(void)          \
    {                                                                     \
        unit_register(fn);                                                \
    }                                                                     \
    static void fn(void)

#endif
