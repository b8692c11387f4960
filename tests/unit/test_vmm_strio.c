/*
 * tests/unit/test_vmm_strio.c - string port I/O (vmm-server/strio.c): the
 * I/O exit qualification and instruction information of INS/OUTS decoded
 * (SDM Vol. 3C Tables 27-5, 27-8), REP counts with rCX = 0 and huge
 * rCX, linear addresses by address size and segment base, rSI/rDI/rCX
 * updates by address size and RFLAGS.DF.
 */
#include "unit.h"
#include "strio.h"
#include "decode/x86_emulate.h"

/* A qualification: size - 1, IN, string, REP, port. */
static uint64_t qual(unsigned size, bool in, bool rep, uint16_t port)
{
    return (size - 1) | (in ? X86_IOQ_IN : 0) | X86_IOQ_STRING | (rep ? X86_IOQ_REP : 0) |
           ((uint64_t)port << X86_IOQ_PORT_SHIFT);
}

static uint32_t info(unsigned asize_code, unsigned seg)
{
    return asize_code << X86_IOI_ASIZE_SHIFT | seg << X86_IOI_SEG_SHIFT;
}

static void test_decode(void)
{
    strio_op_t op;
    CU_ASSERT_TRUE(strio_decode(qual(2, false, true, 0x3F8), info(1, X86_SEG_FS), &op));
    CU_ASSERT_EQUAL(op.size, 2);
    CU_ASSERT_FALSE(op.in);
    CU_ASSERT_TRUE(op.rep);
    CU_ASSERT_EQUAL(op.port, 0x3F8);
    CU_ASSERT_EQUAL(op.addr_size, 4);
    CU_ASSERT_EQUAL(op.seg, X86_SEG_FS);
    /* INS: ES whatever the (undefined) segment field says. */
    CU_ASSERT_TRUE(strio_decode(qual(4, true, false, 0xFFFF), info(2, X86_SEG_DS), &op));
    CU_ASSERT_EQUAL(op.size, 4);
    CU_ASSERT_TRUE(op.in);
    CU_ASSERT_FALSE(op.rep);
    CU_ASSERT_EQUAL(op.port, 0xFFFF);
    CU_ASSERT_EQUAL(op.addr_size, 8);
    CU_ASSERT_EQUAL(op.seg, X86_SEG_ES);
    CU_ASSERT_TRUE(strio_decode(qual(1, true, false, 0x80), info(0, 7), &op));
    CU_ASSERT_EQUAL(op.addr_size, 2);
    CU_ASSERT_EQUAL(op.seg, X86_SEG_ES);
    /* Not a string instruction, reserved size, address size or segment. */
    CU_ASSERT_FALSE(strio_decode(qual(1, false, false, 0x80) & ~X86_IOQ_STRING, 0, &op));
    CU_ASSERT_FALSE(strio_decode(qual(3, false, false, 0x80), info(1, 3), &op));
    CU_ASSERT_FALSE(strio_decode(qual(1, false, false, 0x80), info(3, 3), &op));
    CU_ASSERT_FALSE(strio_decode(qual(1, false, false, 0x80), info(1, 6), &op));
}

static void test_count(void)
{
    strio_op_t op;
    CU_ASSERT_TRUE(strio_decode(qual(1, false, false, 0x80), info(1, X86_SEG_DS), &op));
    CU_ASSERT_EQUAL(strio_count(&op, 0), 1);            /* no REP: one, whatever rCX */
    CU_ASSERT_TRUE(strio_decode(qual(1, false, true, 0x80), info(1, X86_SEG_DS), &op));
    CU_ASSERT_EQUAL(strio_count(&op, 0), 0);            /* REP with ECX = 0: nothing */
    CU_ASSERT_EQUAL(strio_count(&op, 0xFFFFFFFF00000000ULL), 0);   /* ECX only */
    CU_ASSERT_EQUAL(strio_count(&op, 5), 5);
    CU_ASSERT_EQUAL(strio_count(&op, 0xFFFFFFFF), STRIO_BATCH);    /* bounded per exit */
    CU_ASSERT_TRUE(strio_decode(qual(1, false, true, 0x80), info(0, X86_SEG_DS), &op));
    CU_ASSERT_EQUAL(strio_count(&op, 0x10000), 0);      /* CX = 0 */
    CU_ASSERT_TRUE(strio_decode(qual(1, false, true, 0x80), info(2, X86_SEG_DS), &op));
    CU_ASSERT_EQUAL(strio_count(&op, ~0ULL), STRIO_BATCH);
}

static void test_linear(void)
{
    strio_op_t op;
    CU_ASSERT_TRUE(strio_decode(qual(1, false, false, 0x80), info(0, X86_SEG_DS), &op));
    CU_ASSERT_EQUAL(strio_linear(&op, 0x10000, 0xABCD1234, false), 0x11234);  /* SI only */
    CU_ASSERT_TRUE(strio_decode(qual(1, false, false, 0x80), info(1, X86_SEG_DS), &op));
    CU_ASSERT_EQUAL(strio_linear(&op, 0x1000, 0xFFFFF800ULL | (7ULL << 32), false), 0x800);
    CU_ASSERT_TRUE(strio_decode(qual(1, false, false, 0x80), info(2, X86_SEG_DS), &op));
    CU_ASSERT_EQUAL(strio_linear(&op, 0, 0x123456789ULL, true), 0x123456789ULL);
}

static void test_step(void)
{
    strio_op_t op;
    uint64_t idx, rcx;
    /* OUTSW, 32-bit addresses, REP, DF = 0: ESI + 2, ECX - 1, zero-extended. */
    CU_ASSERT_TRUE(strio_decode(qual(2, false, true, 0x80), info(1, X86_SEG_DS), &op));
    idx = 0x5000000000001000ULL;
    rcx = 0x7000000000000003ULL;
    strio_step(&op, 0, &idx, &rcx);
    CU_ASSERT_EQUAL(idx, 0x1002);
    CU_ASSERT_EQUAL(rcx, 2);
    /* DF = 1: down by the element size; 16-bit wrap keeps bits 63:16. */
    CU_ASSERT_TRUE(strio_decode(qual(4, true, true, 0x80), info(0, X86_SEG_ES), &op));
    idx = 0x12340002;
    rcx = 0xAB0001;
    strio_step(&op, X86_RFLAGS_DF, &idx, &rcx);
    CU_ASSERT_EQUAL(idx, 0x1234FFFE);
    CU_ASSERT_EQUAL(rcx, 0xAB0000);
    /* No REP: rCX untouched; 64-bit addresses. */
    CU_ASSERT_TRUE(strio_decode(qual(1, true, false, 0x80), info(2, X86_SEG_ES), &op));
    idx = 0xFFFFFFFFFFFFFFFFULL;
    rcx = 9;
    strio_step(&op, 0, &idx, &rcx);
    CU_ASSERT_EQUAL(idx, 0);
    CU_ASSERT_EQUAL(rcx, 9);
}

UNIT_SUITE(vmm_strio_suite)
{
    CU_pSuite s = CU_add_suite("vmm string I/O", NULL, NULL);
    CU_add_test(s, "INS/OUTS exit decoded (Tables 27-5, 27-8)", test_decode);
    CU_add_test(s, "REP counts: rCX = 0, huge rCX, address size", test_count);
    CU_add_test(s, "linear address by address size and base", test_linear);
    CU_add_test(s, "rSI/rDI/rCX updates, DF", test_step);
}
