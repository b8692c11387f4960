/*
 * kernel/invoke.h - invocations of kernel objects.
 *
 * Every invocation first decodes: it checks each argument and may fail with
 * an error code (and detail words) for the caller; only then does it act,
 * and the acting part cannot fail. Results and error details go back in the
 * caller's message registers; the error code is the reply's label.
 */
#ifndef KERNEL_INVOKE_H
#define KERNEL_INVOKE_H
#include "kernel/objects.h"
#include <nestor/errors.h>
#include <nestor/invocations.h>

typedef struct {
    tcb_t *t;                       /* the invoking thread */
    nestor_ipc_buffer_t *buf;       /* its IPC buffer (may be NULL) */
    uint64_t label;
    unsigned len;                   /* message registers supplied */
    cte_t *extra[NESTOR_MSG_MAX_EXTRA_CAPS];
    unsigned nextra;                /* extra capabilities supplied */
    unsigned reply_len;             /* message registers in the reply */
} inv_t;

/* Argument @i, or false if the message is too short (error already set). */
bool inv_arg(inv_t *iv, unsigned i, uint64_t *out);
/* Extra capability @i, or NULL if absent (error already set). */
cte_t *inv_cap(inv_t *iv, unsigned i);
/* Record an error with up to two detail words; returns @err. */
nestor_error_t inv_error(inv_t *iv, nestor_error_t err, uint64_t d0, uint64_t d1);
/* Put result word @i in the reply. */
void inv_result(inv_t *iv, unsigned i, uint64_t v);
/* Find an exact slot (index, depth) below CNode capability @root. */
nestor_error_t inv_slot(inv_t *iv, const cap_t *root, uint64_t index, uint64_t depth,
                        cte_t **out);

/* Perform the invocation @iv->label on the capability in @slot. */
nestor_error_t invoke(inv_t *iv, cte_t *slot);

nestor_error_t invoke_untyped(inv_t *iv, cte_t *slot);
nestor_error_t invoke_cnode(inv_t *iv, cte_t *slot);
nestor_error_t invoke_tcb(inv_t *iv, cte_t *slot);
nestor_error_t invoke_paging(inv_t *iv, cte_t *slot);
nestor_error_t invoke_irq(inv_t *iv, cte_t *slot);
nestor_error_t invoke_ioport(inv_t *iv, cte_t *slot);
nestor_error_t invoke_vcpu(inv_t *iv, cte_t *slot);
/* The field list of a bulk VMCS access (VCPU READ/WRITE_VMCS, shadow READ/
 * WRITE): fields into @f, with @val also their values (pairs in the MRs);
 * *@n of them, 1..NESTOR_VMCS_BULK_MAX, else the error (already set). */
nestor_error_t vmcs_bulk_decode(inv_t *iv, uint64_t *f, uint64_t *val, unsigned *n);
nestor_error_t invoke_ept(inv_t *iv, cte_t *slot);

#endif
