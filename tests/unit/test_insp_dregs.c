/*
 * tests/unit/test_insp_dregs.c - the inspector's debug-register and address
 * rules (inspector/dregs.c) against the SDM: DR7's fields for each slot
 * (Vol. 3B 17.2.4, 17.2.5), the breakpoints a debug register can and cannot
 * serve, canonical and 32-bit linear addresses (Vol. 1 3.3.7.1).
 */
#include "unit.h"
#include "../../inspector/dregs.h"
#include <x86_arch.h>

static void test_check(void)
{
    unsigned rw = 99, len = 99;
    CU_ASSERT_EQUAL(dregs_check(RSP_BP_HARDWARE, 0x100137, 1, &rw, &len), 0);
    CU_ASSERT_EQUAL(rw, X86_DR7_RW_EXEC);
    CU_ASSERT_EQUAL(len, 1);
    /* An instruction breakpoint is LEN 00 whatever gdb's kind says. */
    CU_ASSERT_EQUAL(dregs_check(RSP_BP_HARDWARE, 0x100137, 3, &rw, &len), 0);
    CU_ASSERT_EQUAL(len, 1);
    CU_ASSERT_EQUAL(dregs_check(RSP_BP_WRITE, 0x1000, 8, &rw, &len), 0);
    CU_ASSERT_EQUAL(rw, X86_DR7_RW_WRITE);
    CU_ASSERT_EQUAL(len, 8);
    CU_ASSERT_EQUAL(dregs_check(RSP_BP_ACCESS, 0x1002, 2, &rw, &len), 0);
    CU_ASSERT_EQUAL(rw, X86_DR7_RW_ACCESS);
    /* Lengths and alignments DR7 cannot express. */
    CU_ASSERT_EQUAL(dregs_check(RSP_BP_WRITE, 0x1000, 3, &rw, &len), -RSP_EINVAL);
    CU_ASSERT_EQUAL(dregs_check(RSP_BP_WRITE, 0x1000, 16, &rw, &len), -RSP_EINVAL);
    CU_ASSERT_EQUAL(dregs_check(RSP_BP_WRITE, 0x1004, 8, &rw, &len), -RSP_EINVAL);
    CU_ASSERT_EQUAL(dregs_check(RSP_BP_ACCESS, 0x1001, 2, &rw, &len), -RSP_EINVAL);
    /* No read-only data breakpoints; software ones are not DR business. */
    CU_ASSERT_EQUAL(dregs_check(RSP_BP_READ, 0x1000, 4, &rw, &len), RSP_UNSUPPORTED);
    CU_ASSERT_EQUAL(dregs_check(RSP_BP_SOFTWARE, 0x1000, 1, &rw, &len), -RSP_EINVAL);
}

static void test_dr7(void)
{
    insp_hwbp_t hw[X86_DEBUG_SLOTS] = { 0 };
    /* Nothing set: only the bit that reads as 1 (SDM 17.2.4: bit 10). */
    CU_ASSERT_EQUAL(dregs_dr7(hw, X86_DEBUG_SLOTS), 0x400);
    /* Slot 0: write watch of 8 bytes: L0, LE, R/W0 = 01, LEN0 = 10. */
    hw[0] = (insp_hwbp_t){ .addr = 0x1020a0, .kind = 8, .rw = X86_DR7_RW_WRITE,
                           .type = RSP_BP_WRITE, .used = true };
    CU_ASSERT_EQUAL(dregs_dr7(hw, X86_DEBUG_SLOTS), 0x400 | 0x1 | 0x100 | (1ull << 16) |
                                                     (2ull << 18));
    /* That is the value Bochs held in the gdb test (monitor vmcs: 0x90501). */
    CU_ASSERT_EQUAL(dregs_dr7(hw, X86_DEBUG_SLOTS), 0x90501);
    /* Slot 3: execution: L3 (bit 6), R/W3 = 00, LEN3 = 00. */
    hw[3] = (insp_hwbp_t){ .addr = 0x100137, .kind = 1, .rw = X86_DR7_RW_EXEC,
                           .type = RSP_BP_HARDWARE, .used = true };
    CU_ASSERT_EQUAL(dregs_dr7(hw, X86_DEBUG_SLOTS), 0x90501 | 0x40);
    /* Slot 2: access of 4 bytes: L2 (bit 4), R/W2 = 11 (bits 25:24), LEN2 =
     * 11 (bits 27:26); slot 1 of 2 bytes: LEN1 = 01 (bits 23:22). */
    hw[2] = (insp_hwbp_t){ .addr = 0x2000, .kind = 4, .rw = X86_DR7_RW_ACCESS,
                           .type = RSP_BP_ACCESS, .used = true };
    hw[1] = (insp_hwbp_t){ .addr = 0x3000, .kind = 2, .rw = X86_DR7_RW_WRITE,
                           .type = RSP_BP_WRITE, .used = true };
    uint64_t dr7 = dregs_dr7(hw, X86_DEBUG_SLOTS);
    CU_ASSERT_EQUAL(dr7 & 0xFF, 0x55);
    CU_ASSERT_EQUAL((dr7 >> 24) & 0xF, 0xF);
    CU_ASSERT_EQUAL((dr7 >> 20) & 0xF, 0x5);
    /* A slot not in use contributes nothing, whatever it holds. */
    hw[2].used = false;
    CU_ASSERT_EQUAL((dregs_dr7(hw, X86_DEBUG_SLOTS) >> 24) & 0xF, 0);
    CU_ASSERT_EQUAL(dregs_dr7(hw, X86_DEBUG_SLOTS) & 0x30, 0);
}

static void test_va(void)
{
    CU_ASSERT_TRUE(dregs_va_ok(0, true));
    CU_ASSERT_TRUE(dregs_va_ok(0x00007FFFFFFFFFFFull, true));
    CU_ASSERT_TRUE(dregs_va_ok(0xFFFF800000000000ull, true));
    CU_ASSERT_TRUE(dregs_va_ok(~0ull, true));
    CU_ASSERT_FALSE(dregs_va_ok(0x0000800000000000ull, true));
    CU_ASSERT_FALSE(dregs_va_ok(0x0010000000000000ull, true));   /* the fuzzer's find */
    CU_ASSERT_FALSE(dregs_va_ok(0xFFFF7FFFFFFFFFFFull, true));
    CU_ASSERT_TRUE(dregs_va_ok(0xFFFFFFFFull, false));
    CU_ASSERT_FALSE(dregs_va_ok(0x100000000ull, false));
}

/* The instructions a step must look after (dregs_step_insn, SDM Vol. 2A
 * Appendix A opcodes, 2.1.1 and 2.2.1 prefixes). */
static void step_of(const uint8_t *b, unsigned n, bool mode64, insp_step_kind_t kind,
                    unsigned vector, unsigned len)
{
    insp_step_insn_t si;
    dregs_step_insn(b, n, mode64, &si);
    CU_ASSERT_EQUAL(si.kind, kind);
    if (kind == STEP_INT)
        CU_ASSERT_EQUAL(si.vector, vector);
    if (kind != STEP_PLAIN)
        CU_ASSERT_EQUAL(si.len, len);
}

static void test_step_insn(void)
{
    step_of((const uint8_t[]){ 0x9C }, 1, true, STEP_PUSHF, 0, 1);
    step_of((const uint8_t[]){ 0x66, 0x9C }, 2, false, STEP_PUSHF, 0, 2);     /* PUSHF 16 */
    step_of((const uint8_t[]){ 0x48, 0x9C }, 2, true, STEP_PUSHF, 0, 2);      /* REX.W */
    /* REX is INC/DEC outside 64-bit mode: 48 is an instruction there. */
    step_of((const uint8_t[]){ 0x48, 0x9C }, 2, false, STEP_PLAIN, 0, 0);
    step_of((const uint8_t[]){ 0xCD, 0x80 }, 2, true, STEP_INT, 0x80, 2);
    step_of((const uint8_t[]){ 0xCD }, 1, true, STEP_PLAIN, 0, 0);           /* cut short */
    step_of((const uint8_t[]){ 0xCC }, 1, false, STEP_INT, X86_VEC_BP, 1);
    step_of((const uint8_t[]){ 0xCE }, 1, false, STEP_INT, X86_VEC_OF, 1);
    step_of((const uint8_t[]){ 0xCE }, 1, true, STEP_PLAIN, 0, 0);           /* #UD there */
    step_of((const uint8_t[]){ 0xF1 }, 1, true, STEP_INT, X86_VEC_DB, 1);
    step_of((const uint8_t[]){ 0x0F, 0x05 }, 2, true, STEP_SYSCALL, 0, 2);
    step_of((const uint8_t[]){ 0x0F, 0xA2 }, 2, true, STEP_PLAIN, 0, 0);     /* CPUID */
    step_of((const uint8_t[]){ 0x9D }, 1, true, STEP_POPF, 0, 1);
    step_of((const uint8_t[]){ 0x66, 0x9D }, 2, false, STEP_POPF, 0, 2);     /* POPF 16 */
    step_of((const uint8_t[]){ 0x48, 0xCF }, 2, true, STEP_IRET, 0, 2);      /* IRETQ */
    step_of((const uint8_t[]){ 0xCF }, 1, false, STEP_IRET, 0, 1);
    step_of((const uint8_t[]){ 0xFA }, 1, true, STEP_CLI_STI, 0, 1);
    step_of((const uint8_t[]){ 0xFB }, 1, false, STEP_CLI_STI, 0, 1);
    step_of((const uint8_t[]){ 0x48, 0x0F, 0x07 }, 3, true, STEP_SYSRET, 0, 3);
    step_of((const uint8_t[]){ 0x0F, 0x07 }, 1, true, STEP_PLAIN, 0, 0);     /* cut short */
    step_of((const uint8_t[]){ 0xF4 }, 1, true, STEP_HLT, 0, 1);
    step_of((const uint8_t[]){ 0x0F, 0x01, 0xD9 }, 3, true, STEP_PLAIN, 0, 0); /* 0F 01: not SYSRET */
    /* Fifteen prefixes leave no room for the opcode; sixteen bytes are
     * never read. */
    uint8_t many[16];
    for (unsigned i = 0; i < 16; i++)
        many[i] = 0x66;
    many[15] = 0x9C;
    step_of(many, 16, true, STEP_PLAIN, 0, 0);
    many[14] = 0x9C;
    step_of(many, 16, true, STEP_PUSHF, 0, 15);
    step_of(many, 0, true, STEP_PLAIN, 0, 0);
}

UNIT_SUITE(insp_dregs_suite)
{
    CU_pSuite s = CU_add_suite("inspector: debug registers and addresses", NULL, NULL);
    CU_add_test(s, "which breakpoints a debug register serves", test_check);
    CU_add_test(s, "DR7 for a set of slots", test_dr7);
    CU_add_test(s, "canonical and 32-bit linear addresses", test_va);
    CU_add_test(s, "the instructions a step hides TF and IF from", test_step_insn);
}
