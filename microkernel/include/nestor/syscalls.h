/*
 * nestor/syscalls.h - system call numbers and the register ABI.
 *
 * Entry is the SYSCALL instruction (SDM Vol. 2B). Registers:
 *   in:  rax = syscall number, rdi = capability address (or argument),
 *        rsi = message info, rdx r8 r9 r10 = message registers 0-3
 *   out: rax = status (nestor_error_t) for the syscall itself,
 *        rdi = badge of the sender (receive side), rsi = message info,
 *        rdx r8 r9 r10 = message registers 0-3
 *   rcx and r11 are clobbered (SYSCALL saves RIP/RFLAGS there); every other
 *   register is preserved. Message registers beyond 3 are in the IPC buffer.
 */
#ifndef NESTOR_SYSCALLS_H
#define NESTOR_SYSCALLS_H

#define NESTOR_SYS_CALL          1  /* send, then wait for the reply */
#define NESTOR_SYS_REPLY_RECV    2  /* reply to the caller, then receive on rdi */
#define NESTOR_SYS_SEND          3  /* blocking send (signal, on a notification) */
#define NESTOR_SYS_NB_SEND       4  /* send only if a receiver is waiting */
#define NESTOR_SYS_RECV          5  /* blocking receive (wait, on a notification) */
#define NESTOR_SYS_NB_RECV       6  /* receive only if a sender is waiting (poll) */
#define NESTOR_SYS_REPLY         7  /* reply to the caller */
#define NESTOR_SYS_YIELD         8  /* end the time slice */
#define NESTOR_SYS_DEBUG_PUTCHAR 9  /* rdi = character, to the kernel console */
#define NESTOR_SYS_DEBUG_HALT    10 /* rdi = debug cap, rsi = 1 pass / 0 fail: end the system */
#define NESTOR_SYS_CAP_IDENTIFY  11 /* rdi = cptr -> MR0 type, MR1 rights, MR2 badge/size */
#define NESTOR_SYS_DEBUG_CHECK   12 /* rdi = debug cap: check kernel state -> MR0 errors,
                                       MR1 slots, MR2 threads */
#define NESTOR_SYS_DEBUG_NMI     13 /* rdi = debug cap: send this CPU an NMI (a host NMI, for
                                       tests) -> MR0 host NMIs the kernel has handled */
#define NESTOR_SYS_CALL_BOUNDED  14 /* CALL that gives up after the thread's call timeout
                                       (NESTOR_TCB_SET_CALL_TIMEOUT): status
                                       NESTOR_ERR_TIMED_OUT if no reply came by then */
#define NESTOR_SYS_VCPU_REPLY_RECV 15 /* answer the VM exit a VCPU's thread waits in
                                       (NESTOR_VCPU_REPLY: label = the answer, MR0 = the
                                       state groups to load, MR1 = the VCPU capability),
                                       then receive on rdi; the handler's own reply right
                                       stays as it is. Checked whole first: an error
                                       answers nothing and receives nothing */
#define NESTOR_SYS_COUNT         16

#define NESTOR_MSG_REGISTERS_IN_CPU 4

#endif
