/* arch/x86_64/trap.h - exception/interrupt frames and vectors (SDM Vol. 3A 6.3.1). */
#ifndef ARCH_X86_64_TRAP_H
#define ARCH_X86_64_TRAP_H

#define TRAP_STUB_SIZE      16
#define IDT_VECTORS_ASM     256

/* Exception vectors (SDM Vol. 3A 6.3.1, Table 6-1) */
#define VEC_DE   0
#define VEC_DB   1
#define VEC_NMI  2
#define VEC_BP   3
#define VEC_OF   4
#define VEC_BR   5
#define VEC_UD   6
#define VEC_NM   7
#define VEC_DF   8
#define VEC_TS   10
#define VEC_NP   11
#define VEC_SS   12
#define VEC_GP   13
#define VEC_PF   14
#define VEC_MF   16
#define VEC_AC   17
#define VEC_MC   18
#define VEC_XM   19
#define VEC_VE   20
#define VEC_CP   21
#define VEC_HV   28
#define VEC_VC   29
#define VEC_SX   30
#define VEC_FIRST_EXTERNAL 32

/* Frame "vector" of a SYSCALL entry: not a hardware vector. */
#define TRAP_VECTOR_SYSCALL 0x100

/* Byte offsets in trap_frame_t, for assembly. */
#define TRAP_FRAME_GPRS     15
#define TRAP_FRAME_RIP      (8 * (TRAP_FRAME_GPRS + 2))
#define TRAP_FRAME_CS       (TRAP_FRAME_RIP + 8)
#define TRAP_FRAME_RFLAGS   (TRAP_FRAME_RIP + 16)
#define TRAP_FRAME_RSP      (TRAP_FRAME_RIP + 24)
#define TRAP_FRAME_SS       (TRAP_FRAME_RIP + 32)
#define TRAP_FRAME_SIZE     (TRAP_FRAME_RIP + 40)

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Pushed by trap_entry.S (GPRs, vector, error) and the CPU (the rest). */
typedef struct {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
} trap_frame_t;

_Static_assert(sizeof(trap_frame_t) == TRAP_FRAME_SIZE, "trap frame layout");

void trap_init(void);
/* A trap taken in kernel mode (on the kernel stack). */
void trap_from_kernel(trap_frame_t *f);
/* A trap taken in user mode: @f is the current thread's saved frame. */
__attribute__((noreturn)) void trap_from_user(trap_frame_t *f);
/* SYSCALL entry: @f is the current thread's saved frame. */
__attribute__((noreturn)) void syscall_from_user(trap_frame_t *f);
const char *trap_vector_name(uint64_t vector);
/* Linear address of the IDT (VMCS host state). */
uint64_t idt_base(void);
/* Print the frame of a fatal trap. */
void trap_dump(const trap_frame_t *f);

/* Return to user mode with the registers in @f (trap_entry.S). */
__attribute__((noreturn)) void arch_return_to_user(const trap_frame_t *f);
/* The kernel stack every kernel entry from user mode runs on. */
extern char kernel_stack_top[];

/* Reload the IDTR limit a VM exit left at 0xFFFF (SDM 27.5.2). */
void idt_restore_after_vm_exit(void);
/* How many host NMIs arrived (from user, kernel or guest mode). */
uint64_t trap_host_nmis(void);

#endif
#endif
