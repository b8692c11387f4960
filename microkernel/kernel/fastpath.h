/*
 * kernel/fastpath.h - the IPC fast path for CALL and REPLY_RECV.
 *
 * Taken when the common case holds: a message of at most
 * NESTOR_MSG_REGISTERS_IN_CPU words and no capabilities, a CSpace that is a
 * single CNode, a partner already waiting, and a partner priority that makes
 * it the next thread to run anyway. It then moves the registers, links the
 * reply and switches directly. Anything else returns false and the general
 * path (ipc.c) handles the call with the same result.
 */
#ifndef KERNEL_FASTPATH_H
#define KERNEL_FASTPATH_H
#include "kernel/objects.h"

/* Hot paths: no frame pointer (the kernel's own dumps never walk frames). */
#define FASTPATH_HOT __attribute__((optimize("omit-frame-pointer")))

/* Called from the SYSCALL entry stub with the current thread's saved frame;
 * each returns only if the fast path does not apply. */
FASTPATH_HOT void fastpath_call(trap_frame_t *f);
FASTPATH_HOT void fastpath_reply_recv(trap_frame_t *f);

#endif
