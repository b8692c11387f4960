/*
 * nestor/faults.h - fault messages. When a thread faults, the kernel sends a
 * message to the thread's fault endpoint as if the thread had called it; the
 * handler replies to resume the thread (possibly with new registers) or does
 * not reply, leaving it stopped.
 *
 * Label: the fault type. MRs by type:
 *   VM_FAULT:       MR0 rip, MR1 fault address (CR2), MR2 error code, MR3 0
 *   USER_EXCEPTION: MR0 rip, MR1 rsp, MR2 rflags, MR3 vector, MR4 error code
 *   UNKNOWN_SYSCALL: MR0..: the nestor_user_context_t, syscall number in rax
 * Reply: label 0 resumes; for USER_EXCEPTION and UNKNOWN_SYSCALL a reply
 * with length >= NESTOR_CONTEXT_WORDS first installs those registers.
 */
#ifndef NESTOR_FAULTS_H
#define NESTOR_FAULTS_H

typedef enum {
    NESTOR_FAULT_NONE = 0,
    NESTOR_FAULT_VM = 1,
    NESTOR_FAULT_USER_EXCEPTION = 2,
    NESTOR_FAULT_UNKNOWN_SYSCALL = 3,
    NESTOR_FAULT_VM_EXIT = 4,        /* a VM exit (nestor/vcpu.h) */
} nestor_fault_t;

#endif
