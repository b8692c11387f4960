/*
 * kernel/consistency.h - a checker of kernel invariants, run on request
 * (NESTOR_SYS_DEBUG_CHECK) after hostile workloads such as the fuzzer.
 */
#ifndef KERNEL_CONSISTENCY_H
#define KERNEL_CONSISTENCY_H
#include "kernel/objects.h"

typedef struct {
    uint64_t errors;
    uint64_t slots;         /* capability slots visited */
    uint64_t threads;       /* TCBs checked */
} consistency_t;

/* Check everything reachable from CNode capability @root (with every CNode
 * and TCB it leads to), plus the scheduler's queues. Prints each error. */
void consistency_check(const cap_t *root, consistency_t *out);

#endif
