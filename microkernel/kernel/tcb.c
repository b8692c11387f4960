/*
 * kernel/tcb.c - thread control block invocations.
 */
#include "arch/x86_64/apic.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/msr.h"
#include "kernel/cnode_ops.h"
#include "kernel/cspace.h"
#include "kernel/invoke.h"
#include "kernel/ipc.h"
#include "kernel/sched.h"
#include <nestor/limits.h>
#include <string.h>

#define FXSAVE_WORDS (FXSAVE_AREA_SIZE / sizeof(uint64_t))

_Static_assert(TCB_FPU_OFFSET % FPU_AREA_ALIGN == 0, "XSAVE area alignment");
_Static_assert(TCB_FPU_OFFSET + FPU_AREA_MAX <= (1u << NESTOR_TCB_BITS), "FPU area fits the TCB");

nestor_ipc_buffer_t *tcb_ipc_buffer(tcb_t *t)
{
    const cap_t *f = &t->ctes[TCB_CTE_IPC_BUFFER].cap;
    if (f->type != NESTOR_OBJ_FRAME_4K)
        return 0;
    /* The buffer's offset in its frame is the offset of its address. */
    uint64_t off = t->ipc_buffer_vaddr & ((1ULL << NESTOR_FRAME_4K_BITS) - 1);
    return (nestor_ipc_buffer_t *)kobj_ptr(f->obj + off);
}

/* Replace the capability in TCB slot @which with a copy of @src; false if
 * the deletion of the old one destroyed the TCB (named by @self) or @src. */
static bool install(tcb_t *t, const cte_t *self, int which, cte_t *src)
{
    return cap_install_copy(&t->ctes[which], src, self);
}

static nestor_error_t configure(inv_t *iv, const cte_t *self, tcb_t *t)
{
    uint64_t fault_ep, buf_vaddr;
    if (!inv_arg(iv, 0, &fault_ep) || !inv_arg(iv, 1, &buf_vaddr))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    cte_t *cs = inv_cap(iv, 0), *vs = inv_cap(iv, 1), *buf = inv_cap(iv, 2);
    if (!cs || !vs || !buf)
        return NESTOR_ERR_INVALID_CAPABILITY;
    if (cs->cap.type != NESTOR_OBJ_CNODE)
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 1, cs->cap.type);
    if (vs->cap.type != NESTOR_OBJ_PML4)
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 2, vs->cap.type);
    if (buf->cap.type != NESTOR_OBJ_FRAME_4K)
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 3, buf->cap.type);
    if (cap_is_alias(&buf->cap))        /* EPT use only (kernel/paging.c) */
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 3);
    /* The kernel writes the IPC buffer (messages received) and reads it
     * (messages sent): only through a readable, writable capability. */
    if ((buf->cap.rights & (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)) !=
        (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE))
        return inv_error(iv, NESTOR_ERR_INSUFFICIENT_RIGHTS, 3, buf->cap.rights);
    if (buf_vaddr & ((1ULL << NESTOR_IPC_BUFFER_ALIGN_BITS) - 1) || buf_vaddr >= NESTOR_USER_TOP)
        return inv_error(iv, NESTOR_ERR_ALIGNMENT, 1, buf_vaddr);
    if (t == iv->t)     /* replacing our own roots under our feet: not supported */
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    if (!install(t, self, TCB_CTE_CSPACE, cs) || !install(t, self, TCB_CTE_VSPACE, vs) ||
        !install(t, self, TCB_CTE_IPC_BUFFER, buf))
        return inv_error(iv, NESTOR_ERR_DELETED, 0, 0);
    t->fault_ep = fault_ep;
    t->ipc_buffer_vaddr = buf_vaddr;
    return NESTOR_OK;
}

static nestor_error_t set_priority(inv_t *iv, tcb_t *t)
{
    uint64_t prio;
    if (!inv_arg(iv, 0, &prio))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    /* A thread cannot raise another above itself (no escalation). */
    if (prio > iv->t->priority)
        return inv_error(iv, NESTOR_ERR_RANGE, 0, iv->t->priority);
    sched_set_priority(t, (uint8_t)prio);
    return NESTOR_OK;
}

static nestor_error_t read_regs(inv_t *iv, tcb_t *t)
{
    nestor_user_context_t ctx;
    if (t == iv->t)
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    tcb_get_context(t, &ctx);
    const uint64_t *w = (const uint64_t *)&ctx;
    for (unsigned i = 0; i < NESTOR_CONTEXT_WORDS; i++)
        inv_result(iv, i, w[i]);
    return NESTOR_OK;
}

static nestor_error_t write_regs(inv_t *iv, tcb_t *t)
{
    uint64_t resume, w[NESTOR_CONTEXT_WORDS];
    if (t == iv->t)
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    if (!inv_arg(iv, 0, &resume))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    for (unsigned i = 0; i < NESTOR_CONTEXT_WORDS; i++)
        if (!inv_arg(iv, 1 + i, &w[i]))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
    nestor_user_context_t ctx;
    memcpy(&ctx, w, sizeof(ctx));
    tcb_set_context(t, &ctx);
    if (resume && t->state == TS_INACTIVE)
        sched_make_ready(t);
    return NESTOR_OK;
}

static nestor_error_t resume(inv_t *iv, tcb_t *t)
{
    /* A vCPU thread runs its guest and needs no address space of its own. */
    if (!t->vcpu && t->ctes[TCB_CTE_VSPACE].cap.type != NESTOR_OBJ_PML4)
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 1);
    if (t->state == TS_INACTIVE)
        sched_make_ready(t);
    return NESTOR_OK;
}

static nestor_error_t suspend(tcb_t *t)
{
    ipc_cancel(t);              /* also drops a fault being delivered or handled */
    sched_remove(t);
    t->state = TS_INACTIVE;
    return NESTOR_OK;
}

static nestor_error_t bind_ntfn(inv_t *iv, tcb_t *t)
{
    cte_t *n = inv_cap(iv, 0);
    if (!n)
        return NESTOR_ERR_INVALID_CAPABILITY;
    if (n->cap.type != NESTOR_OBJ_NOTIFICATION)
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 1, n->cap.type);
    if (!(n->cap.rights & NESTOR_RIGHT_READ))     /* binding means receiving its signals */
        return inv_error(iv, NESTOR_ERR_INSUFFICIENT_RIGHTS, 1, n->cap.rights);
    notification_t *ntfn = cap_ntfn(&n->cap);
    if (t->bound_ntfn || ntfn->bound)
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    t->bound_ntfn = ntfn;
    ntfn->bound = t;
    return NESTOR_OK;
}

static nestor_error_t unbind_ntfn(inv_t *iv, tcb_t *t)
{
    if (!t->bound_ntfn)
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    t->bound_ntfn->bound = 0;
    t->bound_ntfn = 0;
    return NESTOR_OK;
}

static nestor_error_t set_tls(inv_t *iv, tcb_t *t)
{
    uint64_t fs, gs;
    if (!inv_arg(iv, 0, &fs) || !inv_arg(iv, 1, &gs))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    if (fs >= NESTOR_USER_TOP || gs >= NESTOR_USER_TOP)
        return inv_error(iv, NESTOR_ERR_INVALID_ARGUMENT, fs >= NESTOR_USER_TOP ? 0 : 1, 0);
    t->fs_base = fs;
    t->gs_base = gs;
    if (t == sched_current) {       /* the switch code will not run for us */
        wrmsr(MSR_IA32_FS_BASE, fs);
        wrmsr(MSR_IA32_GS_BASE, gs);
    }
    return NESTOR_OK;
}

static nestor_error_t read_fpu(inv_t *iv, tcb_t *t)
{
    if (t == iv->t)
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    unsigned words = fpu_area_size() / sizeof(uint64_t);
    if (!iv->buf)
        return inv_error(iv, NESTOR_ERR_TRUNCATED_MESSAGE, words, 0);
    const uint64_t *w = tcb_fpu_area(t);
    for (unsigned i = 0; i < words; i++)
        inv_result(iv, i, w[i]);
    return NESTOR_OK;
}

/* At least the legacy FXSAVE region; words beyond the state image are ignored,
 * words not sent keep their value. Written in place, into the target's own
 * area (never through a kernel buffer that would keep the caller's bytes),
 * and sanitised before the thread can run again. */
static nestor_error_t write_fpu(inv_t *iv, tcb_t *t)
{
    unsigned words = fpu_area_size() / sizeof(uint64_t), n = iv->len < words ? iv->len : words;
    if (t == iv->t)
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    if (n < FXSAVE_WORDS)
        return inv_error(iv, NESTOR_ERR_TRUNCATED_MESSAGE, FXSAVE_WORDS, 0);
    uint64_t *w = tcb_fpu_area(t);
    for (unsigned i = 0; i < n; i++)
        inv_arg(iv, i, &w[i]);
    fpu_sanitize_area(w);
    return NESTOR_OK;
}

static nestor_error_t set_io_ports(inv_t *iv, const cte_t *self, tcb_t *t)
{
    cte_t *ports = iv->nextra ? iv->extra[0] : 0;
    if (ports && ports->cap.type != NESTOR_OBJ_IOPORT)
        return inv_error(iv, NESTOR_ERR_INVALID_CAPABILITY, 1, ports->cap.type);
    bool ok = install(t, self, TCB_CTE_IOPORTS, ports);
    sched_io_grants_changed();
    return ok ? NESTOR_OK : inv_error(iv, NESTOR_ERR_DELETED, 0, 0);
}

/* How long the thread's bounded calls wait: @ms in timer ticks rounded up,
 * plus one for the tick already under way when a call blocks (so a call
 * waits at least @ms). */
static nestor_error_t set_call_timeout(inv_t *iv, tcb_t *t)
{
    uint64_t ms;
    if (!inv_arg(iv, 0, &ms))
        return NESTOR_ERR_TRUNCATED_MESSAGE;
    if (ms > NESTOR_CALL_TIMEOUT_MAX_MS)
        return inv_error(iv, NESTOR_ERR_RANGE, 0, NESTOR_CALL_TIMEOUT_MAX_MS);
    t->call_timeout_ticks = ipc_timeout_ticks(ms);
    return NESTOR_OK;
}

nestor_error_t invoke_tcb(inv_t *iv, cte_t *slot)
{
    tcb_t *t = cap_tcb(&slot->cap);
    switch (iv->label) {
    case NESTOR_TCB_CONFIGURE: return configure(iv, slot, t);
    case NESTOR_TCB_SET_PRIORITY: return set_priority(iv, t);
    case NESTOR_TCB_READ_REGISTERS: return read_regs(iv, t);
    case NESTOR_TCB_WRITE_REGISTERS: return write_regs(iv, t);
    case NESTOR_TCB_RESUME: return resume(iv, t);
    case NESTOR_TCB_SUSPEND: return suspend(t);
    case NESTOR_TCB_BIND_NOTIFICATION: return bind_ntfn(iv, t);
    case NESTOR_TCB_UNBIND_NOTIFICATION: return unbind_ntfn(iv, t);
    case NESTOR_TCB_SET_TLS_BASE: return set_tls(iv, t);
    case NESTOR_TCB_READ_FPU: return read_fpu(iv, t);
    case NESTOR_TCB_WRITE_FPU: return write_fpu(iv, t);
    case NESTOR_TCB_SET_IO_PORTS: return set_io_ports(iv, slot, t);
    case NESTOR_TCB_SET_CALL_TIMEOUT: return set_call_timeout(iv, t);
    default: return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, 0);
    }
}
