/*
 * tests/kernel/test_guestmem.c - guest memory at 4 KiB (issue 9): EPT
 * accessed/dirty flags (NESTOR_EPT_READ_AD). The guests run under VT-x
 * (Bochs); without VMX (QEMU TCG) the tests skip.
 */
#include "vm_env.h"
#include <string.h>

/* Instruction bytes, 32-bit protected mode (SDM Vol. 2): moffs32 forms. */
#define I_MOV_EAX_MOFFS(a) 0xA1, (a) & 0xFF, ((a) >> 8) & 0xFF, ((a) >> 16) & 0xFF, 0x00
#define I_MOV_MOFFS_EAX(a) 0xA3, (a) & 0xFF, ((a) >> 8) & 0xFF, ((a) >> 16) & 0xFF, 0x00

static nestor_error_t read_ad(nestor_cptr_t ept, nestor_word_t gpa, nestor_word_t flags,
                              nestor_word_t *res)
{
    const nestor_word_t args[] = { gpa, flags };
    return nu_invoke(ept, NESTOR_EPT_READ_AD, args, 2, 0, 0, res, 2);
}

/* SDM 28.3.5: with EPTP bit 6 set the CPU sets the accessed flag of every
 * leaf it uses and the dirty flag of those it writes through. The guest
 * writes page 5 and reads page 1: D only on page 5, A on both (and on the
 * code page), nothing on page 2. Cleared flags are set again by the next
 * access (the clear invalidates the EPT's cached translations). */
KTEST(guestmem_ept_accessed_dirty_flags)
{
    static const uint8_t code[] = { I_MOV_MOFFS_EAX(0x5000), I_MOV_EAX_MOFFS(0x1000), I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    nestor_word_t res[2];
    nestor_error_t e = read_ad(vm.ept, 0x5000, 0, res);
    if (e == NESTOR_ERR_ILLEGAL_OPERATION) {
        printf("    (no EPT accessed/dirty flags here: nothing to check)\n");
        return KT_PASS;
    }
    KT_OK(e);
    KT_EQ(res[0], 0);
    KT_EQ(res[1], 12);
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_OK(read_ad(vm.ept, 0x5000, 0, res));
    KT_EQ(res[0], NESTOR_EPT_ACCESSED | NESTOR_EPT_DIRTY);
    KT_OK(read_ad(vm.ept, 0x1000, 0, res));
    KT_EQ(res[0], NESTOR_EPT_ACCESSED);
    KT_OK(read_ad(vm.ept, 0x4000, 0, res));
    KT_EQ(res[0], NESTOR_EPT_ACCESSED);
    KT_OK(read_ad(vm.ept, 0x2000, 0, res));
    KT_EQ(res[0], 0);
    /* Read and clear, then the flags come back with the next run. */
    KT_OK(read_ad(vm.ept, 0x5000, NESTOR_EPT_AD_CLEAR, res));
    KT_EQ(res[0], NESTOR_EPT_ACCESSED | NESTOR_EPT_DIRTY);
    KT_OK(read_ad(vm.ept, 0x1000, NESTOR_EPT_AD_CLEAR, res));
    KT_OK(read_ad(vm.ept, 0x5000, 0, res));
    KT_EQ(res[0], 0);
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    KT_OK(read_ad(vm.ept, 0x5000, 0, res));
    KT_EQ(res[0], NESTOR_EPT_ACCESSED | NESTOR_EPT_DIRTY);
    KT_OK(read_ad(vm.ept, 0x1000, 0, res));
    KT_EQ(res[0], NESTOR_EPT_ACCESSED);
    /* Refused: nothing mapped, beyond 48 bits, unknown flags, not an EPT. */
    KT_EQ(read_ad(vm.ept, 0x100000, 0, res), NESTOR_ERR_FAILED_LOOKUP);
    KT_EQ(read_ad(vm.ept, 1ULL << 48, 0, res), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(read_ad(vm.ept, 0x5000, 2, res), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(res[0], 1);
    KT_EQ(read_ad(vm.vcpu, 0x5000, 0, res), NESTOR_ERR_ILLEGAL_OPERATION);
    return KT_PASS;
}
