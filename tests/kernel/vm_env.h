/*
 * tests/kernel/vm_env.h - tiny guests for the kernel's VMX tests: a VCPU,
 * its thread, an EPT over a few 4 KiB pages at guest-physical 0, a state
 * page and an exit table whose every slot is one endpoint of the test. The
 * test task itself handles the exits.
 */
#ifndef TESTS_KERNEL_VM_ENV_H
#define TESTS_KERNEL_VM_ENV_H
#include "ktest.h"
#include <nestor/vcpu.h>

#define TVM_PAGES      8
#define TVM_PML4       0x1000
#define TVM_PDPT       0x2000
#define TVM_PD         0x3000
#define TVM_CODE       0x4000
#define TVM_STACK_TOP  0x7000
#define TVM_PRIO       100          /* below the test task: it waits for each exit */

typedef struct {
    nestor_cptr_t vcpu, tcb, ept, ep, table, state_frame;
    nestor_vcpu_state_t *s;
    uint8_t *page[TVM_PAGES];       /* guest-physical i * 4096, as the test sees it */
    int started;
} tvm_t;

/* Build a VM whose code is @code at TVM_CODE: in 64-bit mode (4-level
 * paging, the first 2 MiB identity-mapped) if @long_mode, else in 32-bit
 * protected mode without paging (the VCPU's initial state). Returns
 * NESTOR_ERR_ILLEGAL_OPERATION where the machine has no VMX. Every exit
 * slot's transfer mask is NESTOR_MTD_ALL. */
nestor_error_t tvm_create(tvm_t *vm, const uint8_t *code, unsigned len, int long_mode);
/* Run until the next exit (resuming with @reply_mask after the first):
 * returns the full exit reason; @m gets the message. */
nestor_word_t tvm_run(tvm_t *vm, nestor_word_t reply_mask, nu_msg_t *m);
/* Exit message register @i of the last exit. */
nestor_word_t tvm_mr(const nu_msg_t *m, unsigned i);
/* Set the transfer mask of one exit slot. */
nestor_error_t tvm_set_mask(tvm_t *vm, unsigned slot, nestor_word_t mask);
/* Stack a handler: a table at @level whose slots @slots hold @ep (badge
 * @badge), each with the transfer mask NESTOR_MTD_ALL. Returns the table. */
nestor_cptr_t tvm_stack(tvm_t *vm, unsigned level, nestor_cptr_t ep, nestor_word_t badge,
                        const unsigned *slots, unsigned n);
/* Replace the level-0 table (every slot) with one that has every reason's
 * slot but no exception slot, as a VMM's has. Returns the table. */
nestor_cptr_t tvm_reasons_only(tvm_t *vm);
/* Load state groups from the page (NESTOR_VCPU_LOAD_STATE). */
nestor_error_t tvm_load(tvm_t *vm, nestor_word_t mask);

/* Skip a test where the machine has no VMX. */
#define TVM_CREATE_OR_SKIP(vm, code, long_mode)                                 \
    do {                                                                         \
        nestor_error_t _e = tvm_create((vm), (code), sizeof(code), (long_mode)); \
        if (_e == NESTOR_ERR_ILLEGAL_OPERATION) {                                \
            printf("    (no VMX here: nothing to check)\n");                     \
            return KT_PASS;                                                      \
        }                                                                        \
        KT_OK(_e);                                                               \
    } while (0)

/* Instruction bytes (SDM Vol. 2). */
#define I_VMCALL        0x0F, 0x01, 0xC1
#define I_SWAPGS        0x0F, 0x01, 0xF8
#define I_SYSCALL       0x0F, 0x05
#define I_XGETBV        0x0F, 0x01, 0xD0
#define I_XOR_ECX_ECX   0x31, 0xC9
#define I_MOV_DR0_RAX   0x0F, 0x23, 0xC0
#define I_MOV_RAX_DR0   0x0F, 0x21, 0xC0
#define I_MOV_RAX_IMM32 0x48, 0xC7, 0xC0     /* + imm32, sign-extended */
#define I_UD2           0x0F, 0x0B
/* 32-bit protected mode, moffs32 forms (a 5-byte instruction). */
#define I_MOV_EAX_MOFFS(a) 0xA1, (a) & 0xFF, ((a) >> 8) & 0xFF, ((a) >> 16) & 0xFF, 0x00
#define I_MOV_MOFFS_EAX(a) 0xA3, (a) & 0xFF, ((a) >> 8) & 0xFF, ((a) >> 16) & 0xFF, 0x00
#define I_MOFFS_LEN        5

#endif
