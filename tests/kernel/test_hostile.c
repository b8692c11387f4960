/*
 * tests/kernel/test_hostile.c - regression tests for attacks a security
 * review of the kernel found (each was a working exploit before its fix).
 */
#include "ktest.h"
#include <nestor/vmcs.h>

#define RW (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)
#define HOSTILE_REGION 0x0000200000000000ULL
#define TOP_PAGE       0x00007FFFFFFFF000ULL
#define PRIO           100

static void reader(nestor_word_t addr)
{
    env_shared[0] = 1;
    env_shared[1] = *(volatile nestor_word_t *)addr;
    env_shared[0] = 2;
}

/* A page table unmapped and mapped again elsewhere must not keep the
 * entries of frames whose own unmapping walks the old place. */
KTEST(hostile_page_table_remap_keeps_no_entries)
{
    nestor_cptr_t pdpt = env_obj(NESTOR_OBJ_PDPT, 0), pd = env_obj(NESTOR_OBJ_PD, 0);
    nestor_cptr_t pt = env_obj(NESTOR_OBJ_PT, 0), f = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    KT_OK(nu_page_table_map(pdpt, ROOT_VSPACE, HOSTILE_REGION));
    KT_OK(nu_page_table_map(pd, ROOT_VSPACE, HOSTILE_REGION));
    KT_OK(nu_page_table_map(pt, ROOT_VSPACE, HOSTILE_REGION));
    KT_OK(nu_frame_map(f, ROOT_VSPACE, HOSTILE_REGION, RW, 0));
    *(volatile nestor_word_t *)HOSTILE_REGION = 0x1111;
    KT_OK(nu_page_table_unmap(pt));
    KT_OK(nu_page_table_map(pt, ROOT_VSPACE, HOSTILE_REGION + (2ULL << 20)));
    env_thread(reader, HOSTILE_REGION + (2ULL << 20), PRIO, ep);
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(ep, &m));
    KT_EQ(nestor_msginfo_label(m.info), NESTOR_FAULT_VM);   /* nothing there any more */
    /* A table has one capability: it cannot be copied to map it twice. */
    KT_EQ(nu_cnode_copy(ROOT_CNODE, env_slot(), ROOT_DEPTH, ROOT_CNODE, pt, ROOT_DEPTH,
                        NESTOR_RIGHTS_ALL), NESTOR_ERR_ILLEGAL_OPERATION);
    return KT_PASS;
}

/* Code in the last page before the non-canonical hole could leave RIP at
 * 2^47, where SYSRET and IRETQ fault in ring 0: that page cannot be mapped. */
KTEST(hostile_top_user_page_unmappable)
{
    nestor_cptr_t pdpt = env_obj(NESTOR_OBJ_PDPT, 0), pd = env_obj(NESTOR_OBJ_PD, 0);
    nestor_cptr_t pt = env_obj(NESTOR_OBJ_PT, 0), f = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    KT_OK(nu_page_table_map(pdpt, ROOT_VSPACE, 0x00007F8000000000ULL));
    KT_OK(nu_page_table_map(pd, ROOT_VSPACE, 0x00007FFFC0000000ULL));
    KT_OK(nu_page_table_map(pt, ROOT_VSPACE, 0x00007FFFFFE00000ULL));
    KT_EQ(nu_frame_map(f, ROOT_VSPACE, TOP_PAGE, RW, 0), NESTOR_ERR_INVALID_ARGUMENT);
    KT_OK(nu_frame_map(f, ROOT_VSPACE, TOP_PAGE - 4096, RW, 0));
    return KT_PASS;
}

static void receive_forever(nestor_word_t ep)
{
    nu_msg_t m = { 0 };
    for (;;)
        nu_recv(ep, &m);
}

static void caller(nestor_word_t ep)
{
    nu_msg_t m = { 0 };
    env_shared[2] = nu_call(ep, &m);
}

/* The fast path must not switch to a receiver whose VSpace was revoked
 * while it waited (it would load CR3 from nothing). */
KTEST(hostile_fast_path_receiver_without_vspace)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), vcopy = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, vcopy, ROOT_DEPTH, ROOT_CNODE, ROOT_VSPACE, ROOT_DEPTH,
                        NESTOR_RIGHTS_ALL));
    nestor_cptr_t tcb = env_obj(NESTOR_OBJ_TCB, 0), buf_frame;
    uint8_t *stack = env_page(0);
    stack = env_page(0);
    uint8_t *buf = env_page(&buf_frame);
    KT_OK(nu_tcb_configure(tcb, 0, ROOT_CNODE, vcopy, buf_frame, (uintptr_t)buf));
    KT_OK(nu_tcb_set_priority(tcb, PRIO + 10));
    nestor_user_context_t ctx = { 0 };
    ctx.rip = (uintptr_t)receive_forever;
    ctx.rsp = (uintptr_t)(stack + 4096 - 8);
    ctx.rdi = ep;
    KT_OK(nu_tcb_write_registers(tcb, 1, &ctx));
    env_wait_idle();                                            /* it waits in RECV */
    KT_OK(nu_cnode_revoke(ROOT_CNODE, vcopy, ROOT_DEPTH));     /* its VSpace slot empties */
    env_thread(caller, ep, PRIO, 0);
    env_wait_idle();
    nestor_word_t slots, threads;
    KT_EQ(nu_debug_check(&slots, &threads), 0);
    return KT_PASS;
}

KTEST(hostile_io_port_range_wraps)
{
    nestor_cptr_t p = env_slot();
    KT_OK(nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, 0x80, 0x80, ROOT_CNODE, p, ROOT_DEPTH));
    nestor_word_t v = 0;
    KT_EQ(nu_ioport_in(p, 0x81, 1, &v), NESTOR_ERR_RANGE);
    KT_EQ(nu_ioport_in(p, ~0ULL, 2, &v), NESTOR_ERR_RANGE);
    KT_EQ(nu_ioport_in(p, ~0ULL - 2, 4, &v), NESTOR_ERR_RANGE);
    KT_EQ(nu_ioport_in(p, 0x7F, 2, &v), NESTOR_ERR_RANGE);
    KT_OK(nu_ioport_in(p, 0x80, 1, &v));
    return KT_PASS;
}

KTEST(hostile_rights_on_bind_and_ipc_buffer)
{
    nestor_cptr_t n = env_obj(NESTOR_OBJ_NOTIFICATION, 0), wo = env_slot();
    nestor_cptr_t tcb = env_obj(NESTOR_OBJ_TCB, 0);
    KT_OK(nu_cnode_copy(ROOT_CNODE, wo, ROOT_DEPTH, ROOT_CNODE, n, ROOT_DEPTH, NESTOR_RIGHT_WRITE));
    KT_EQ(nu_tcb_bind_notification(tcb, wo), NESTOR_ERR_INSUFFICIENT_RIGHTS);
    /* The kernel writes the IPC buffer: a read-only frame cannot be one. */
    nestor_cptr_t f, ro = env_slot();
    void *va = env_page(&f);
    KT_OK(nu_cnode_copy(ROOT_CNODE, ro, ROOT_DEPTH, ROOT_CNODE, f, ROOT_DEPTH, NESTOR_RIGHT_READ));
    KT_EQ(nu_tcb_configure(tcb, 0, ROOT_CNODE, ROOT_VSPACE, ro, (uintptr_t)va),
          NESTOR_ERR_INSUFFICIENT_RIGHTS);
    /* It also reads it (the thread's message registers 4 and up, sent on):
     * a write-only frame cannot be one either, or its contents would reach
     * a receiver the holder of that capability chooses. */
    nestor_cptr_t wof = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, wof, ROOT_DEPTH, ROOT_CNODE, f, ROOT_DEPTH,
                        NESTOR_RIGHT_WRITE));
    KT_EQ(nu_tcb_configure(tcb, 0, ROOT_CNODE, ROOT_VSPACE, wof, (uintptr_t)va),
          NESTOR_ERR_INSUFFICIENT_RIGHTS);
    KT_OK(nu_tcb_configure(tcb, 0, ROOT_CNODE, ROOT_VSPACE, f, (uintptr_t)va));
    return KT_PASS;
}

/* A server that receives a second call without replying to the first must
 * not leave the first caller pointing at it. */
KTEST(hostile_second_caller_overwrites_reply)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    env_thread_t s = env_thread(receive_forever, ep, PRIO, 0);
    env_thread(caller, ep, PRIO - 50, 0);
    env_thread(caller, ep, PRIO - 50, 0);
    env_wait_idle();
    nestor_word_t slots, threads;
    KT_EQ(nu_debug_check(&slots, &threads), 0);
    KT_OK(nu_cnode_delete(ROOT_CNODE, s.tcb, ROOT_DEPTH));
    KT_EQ(nu_debug_check(&slots, &threads), 0);
    return KT_PASS;
}

/* Reconfiguring a TCB deletes its old CSpace capability, which can destroy
 * the TCB itself (and the caller) through a chain of last capabilities. The
 * kernel must not then install capabilities into the dead TCB. */
static void reconfigure_from_inside(nestor_word_t unused)
{
    (void)unused;
    /* In this thread's CSpace R (guard 56, radix 4): R[1] = T, R[2] = Y holding
     * the new CSpace, VSpace and IPC buffer at Y[1], Y[2], Y[3]. */
    nu_tcb_configure(1 << 4, 0, (2 << 4) | 1, (2 << 4) | 2, (2 << 4) | 3, 0x10000);
    env_shared[0] = 0xBAD;      /* never reached: this thread is destroyed mid-call */
}

KTEST(hostile_configure_destroys_its_target)
{
    nestor_cptr_t ut = env_obj(NESTOR_OBJ_UNTYPED, 12), t = env_slot();
    KT_OK(nu_untyped_retype(ut, NESTOR_OBJ_TCB, 0, ROOT_CNODE, 0, 0, t, 1));
    nestor_cptr_t y = env_obj(NESTOR_OBJ_CNODE, 4), r = env_obj(NESTOR_OBJ_CNODE, 4);
    nestor_cptr_t x = env_obj(NESTOR_OBJ_CNODE, 2), rg = env_slot();
    nestor_cptr_t cnew = env_obj(NESTOR_OBJ_CNODE, 2), fbuf = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    KT_OK(nu_cnode_copy(y, 1, 4, ROOT_CNODE, cnew, ROOT_DEPTH, NESTOR_RIGHTS_ALL));
    KT_OK(nu_cnode_copy(y, 2, 4, ROOT_CNODE, ROOT_VSPACE, ROOT_DEPTH, NESTOR_RIGHTS_ALL));
    KT_OK(nu_cnode_copy(y, 3, 4, ROOT_CNODE, fbuf, ROOT_DEPTH, NESTOR_RIGHTS_ALL));
    KT_OK(nu_cnode_copy(r, 1, 4, ROOT_CNODE, t, ROOT_DEPTH, NESTOR_RIGHTS_ALL));
    KT_OK(nu_cnode_copy(r, 2, 4, ROOT_CNODE, y, ROOT_DEPTH, NESTOR_RIGHTS_ALL));
    KT_OK(nu_cnode_mint(ROOT_CNODE, rg, ROOT_DEPTH, ROOT_CNODE, r, ROOT_DEPTH,
                        NESTOR_RIGHTS_ALL, 56));
    nestor_cptr_t tbuf;
    env_page(&tbuf);
    KT_OK(nu_tcb_configure(t, 0, x, ROOT_VSPACE, tbuf, 0x10000));
    /* Thread I, CSpace R, runs reconfigure_from_inside. */
    nestor_cptr_t i = env_obj(NESTOR_OBJ_TCB, 0), ibuf_frame;
    uint8_t *stack = env_page(0);
    stack = env_page(0);
    uint8_t *ibuf = env_page(&ibuf_frame);
    nu_tls_t *tls = (nu_tls_t *)(ibuf + 2048);
    tls->self = tls;
    tls->ipc_buffer = (nestor_ipc_buffer_t *)ibuf;
    KT_OK(nu_tcb_configure(i, 0, rg, ROOT_VSPACE, ibuf_frame, (uintptr_t)ibuf));
    KT_OK(nu_tcb_set_priority(i, PRIO));
    nestor_user_context_t ctx = { 0 };
    ctx.fs_base = (uintptr_t)tls;
    ctx.rip = (uintptr_t)reconfigure_from_inside;
    ctx.rsp = (uintptr_t)(stack + 4096 - 8);
    KT_OK(nu_tcb_write_registers(i, 1, &ctx));
    /* The only capability to I now lives in X, T's CSpace; the only ones to
     * X, R and T live in TCBs and in R. */
    KT_OK(nu_cnode_move(x, 0, 2, ROOT_CNODE, i, ROOT_DEPTH));
    KT_OK(nu_cnode_delete(ROOT_CNODE, x, ROOT_DEPTH));
    KT_OK(nu_cnode_delete(ROOT_CNODE, rg, ROOT_DEPTH));
    KT_OK(nu_cnode_delete(ROOT_CNODE, r, ROOT_DEPTH));
    KT_OK(nu_cnode_delete(ROOT_CNODE, t, ROOT_DEPTH));
    env_wait_idle();                        /* I runs T.CONFIGURE and dies */
    KT_EQ(env_shared[0], 0);
    nestor_word_t slots, threads;
    KT_EQ(nu_debug_check(&slots, &threads), 0);
    /* T's memory is free: retyping over it leaves no dangling links. */
    KT_OK(nu_untyped_retype(ut, NESTOR_OBJ_FRAME_4K, 0, ROOT_CNODE, 0, 0, env_slot(), 1));
    KT_EQ(nu_debug_check(&slots, &threads), 0);
    return KT_PASS;
}

/* A VCPU outliving its thread must not write into the thread's old memory. */
KTEST(hostile_vcpu_outlives_its_thread)
{
    nestor_cptr_t v = env_slot();
    if (nu_untyped_retype(env_untyped(), NESTOR_OBJ_VCPU, 0, ROOT_CNODE, 0, 0, v, 1) ==
        NESTOR_ERR_ILLEGAL_OPERATION) {
        printf("    (no VMX here: nothing to check)\n");
        return KT_PASS;
    }
    nestor_cptr_t ut = env_obj(NESTOR_OBJ_UNTYPED, 12), t = env_slot(), f = env_slot();
    KT_OK(nu_untyped_retype(ut, NESTOR_OBJ_TCB, 0, ROOT_CNODE, 0, 0, t, 1));
    KT_OK(nu_invoke(v, NESTOR_VCPU_SET_TCB, 0, 0, &t, 1, 0, 0));
    KT_OK(nu_cnode_delete(ROOT_CNODE, t, ROOT_DEPTH));
    KT_OK(nu_untyped_retype(ut, NESTOR_OBJ_FRAME_4K, 0, ROOT_CNODE, 0, 0, f, 1));
    volatile nestor_word_t *p = (volatile nestor_word_t *)((uintptr_t)env_page(0) + 64 * 4096);
    KT_OK(nu_frame_map(f, ROOT_VSPACE, (uintptr_t)p, RW, 0));
    for (int k = 0; k < 512; k++)
        p[k] = 0x4141414141414141ULL;
    KT_OK(nu_cnode_delete(ROOT_CNODE, v, ROOT_DEPTH));
    for (int k = 0; k < 512; k++)
        KT_EQ(p[k], 0x4141414141414141ULL);
    return KT_PASS;
}

/* A monitor may set the controls under the ceiling of nestor/vmcs.h, never
 * clear the floor that keeps the CPU and the ports the kernel's: a write of
 * 0 leaves the floor set, a bit above the ceiling is refused, and the
 * preemption timer value and the host state are not writable. PAUSE on an
 * idle VCPU is harmless. */
KTEST(hostile_vcpu_controls_stay)
{
    nestor_cptr_t v = env_slot();
    if (nu_untyped_retype(env_untyped(), NESTOR_OBJ_VCPU, 0, ROOT_CNODE, 0, 0, v, 1) ==
        NESTOR_ERR_ILLEGAL_OPERATION) {
        printf("    (no VMX here: nothing to check)\n");
        return KT_PASS;
    }
    const nestor_word_t timer[] = { VMCS_PREEMPT_TIMER_VALUE, 0 };
    const nestor_word_t posted[] = { VMCS_PIN_CONTROLS, PIN_POSTED_INTERRUPTS };
    const nestor_word_t msr_bitmaps[] = { VMCS_PROC_CONTROLS, PROC_USE_MSR_BITMAPS };
    const nestor_word_t host_rip[] = { VMCS_HOST_RIP, 0 };
    KT_EQ(nu_invoke(v, NESTOR_VCPU_WRITE_VMCS, timer, 2, 0, 0, 0, 0), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(nu_invoke(v, NESTOR_VCPU_WRITE_VMCS, posted, 2, 0, 0, 0, 0), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(nu_invoke(v, NESTOR_VCPU_WRITE_VMCS, msr_bitmaps, 2, 0, 0, 0, 0),
          NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(nu_invoke(v, NESTOR_VCPU_WRITE_VMCS, host_rip, 2, 0, 0, 0, 0),
          NESTOR_ERR_INVALID_ARGUMENT);
    const nestor_word_t zero[] = { VMCS_PROC_CONTROLS, 0, VMCS_PIN_CONTROLS, 0,
                                   VMCS_PROC_CONTROLS2, 0 };
    KT_OK(nu_invoke(v, NESTOR_VCPU_WRITE_VMCS, zero, 6, 0, 0, 0, 0));
    const nestor_word_t fields[] = { VMCS_PROC_CONTROLS, VMCS_PIN_CONTROLS, VMCS_PROC_CONTROLS2 };
    nestor_word_t ctl[3] = { 0 };
    KT_OK(nu_invoke(v, NESTOR_VCPU_READ_VMCS, fields, 3, 0, 0, ctl, 3));
    KT_EQ(ctl[0] & NESTOR_PROC_FLOOR, NESTOR_PROC_FLOOR);
    KT_EQ(ctl[1] & NESTOR_PIN_FLOOR, NESTOR_PIN_FLOOR);
    KT_EQ(ctl[2] & NESTOR_PROC2_FLOOR, NESTOR_PROC2_FLOOR);
    KT_OK(nu_invoke(v, NESTOR_VCPU_PAUSE, 0, 0, 0, 0, 0, 0));
    KT_OK(nu_cnode_delete(ROOT_CNODE, v, ROOT_DEPTH));
    return KT_PASS;
}

/* EPT memory types 2, 3 and 7 are reserved (an EPT misconfiguration at the
 * guest's first access, SDM Vol. 3C 28.3.3.1): refused at mapping time. */
KTEST(hostile_ept_reserved_memory_type)
{
    nestor_cptr_t ept = env_slot();
    if (nu_untyped_retype(env_untyped(), NESTOR_OBJ_EPT_PML4, 0, ROOT_CNODE, 0, 0, ept, 1) !=
        NESTOR_OK) {
        printf("    (no EPT here: nothing to check)\n");
        return KT_PASS;
    }
    nestor_cptr_t pdpt = env_obj(NESTOR_OBJ_EPT_PDPT, 0), pd = env_obj(NESTOR_OBJ_EPT_PD, 0);
    nestor_cptr_t pt = env_obj(NESTOR_OBJ_EPT_PT, 0), f = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    KT_OK(nu_page_table_map(pdpt, ept, 0));
    KT_OK(nu_page_table_map(pd, ept, 0));
    KT_OK(nu_page_table_map(pt, ept, 0));
    const nestor_word_t rwx = NESTOR_EPT_R | NESTOR_EPT_W | NESTOR_EPT_X;
    for (nestor_word_t bad = 2; bad < 9; bad += bad == 3 ? 4 : 1) {      /* 2, 3, 7, 8 */
        const nestor_word_t args[] = { 0x1000, rwx, bad };
        KT_EQ(nu_invoke(f, NESTOR_EPT_MAP_FRAME, args, 3, &ept, 1, 0, 0),
              NESTOR_ERR_INVALID_ARGUMENT);
    }
    const nestor_word_t uc[] = { 0x1000, rwx, NESTOR_EPT_MEMTYPE_UC };
    KT_OK(nu_invoke(f, NESTOR_EPT_MAP_FRAME, uc, 3, &ept, 1, 0, 0));
    return KT_PASS;
}

static void debug_without_cap(nestor_word_t unused)
{
    (void)unused;
    nu_msg_t m = { 0 };
    env_shared[0] = 1 + nu_syscall(NESTOR_SYS_DEBUG_CHECK, 0, &m);
    m = (nu_msg_t){ .info = 1 };
    env_shared[1] = 1 + nu_syscall(NESTOR_SYS_DEBUG_HALT, NESTOR_CAP_INIT_TCB, &m);
}

KTEST(hostile_debug_calls_need_the_debug_cap)
{
    env_thread(debug_without_cap, 0, PRIO, 0);
    env_wait_idle();
    KT_EQ(env_shared[0], 1 + NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(env_shared[1], 1 + NESTOR_ERR_INVALID_CAPABILITY);
    return KT_PASS;
}

/* A reply carries capabilities only if the server's endpoint capability has
 * GRANT_REPLY. */
static void granting_server(nestor_word_t ep_and_cap)
{
    nestor_cptr_t ep = ep_and_cap & 0xFFFF, give = ep_and_cap >> 16;
    nu_msg_t m = { 0 };
    nu_recv(ep, &m);
    nu_ipc_buffer()->caps_or_badges[0] = give;
    m.info = nestor_msginfo(0, 0, 1, 0);
    nu_reply(&m);
}

KTEST(hostile_reply_caps_need_grant_reply)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), srv = env_slot();
    nestor_cptr_t n = env_obj(NESTOR_OBJ_NOTIFICATION, 0), recv_slot = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, srv, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH,
                        NESTOR_RIGHTS_ALL & ~NESTOR_RIGHT_GRANT_REPLY));
    env_thread(granting_server, srv | (n << 16), PRIO, 0);
    env_wait_idle();
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    b->receive_cnode = ROOT_CNODE;
    b->receive_index = recv_slot;
    b->receive_depth = ROOT_DEPTH;
    nu_msg_t m = { .info = nestor_msginfo(0, 0, 0, 5) };   /* 5 words: general path */
    KT_OK(nu_call(ep, &m));
    KT_EQ(nestor_msginfo_extra_caps(m.info), 0);
    KT_EQ(nu_cap_identify(recv_slot, 0, 0, 0), NESTOR_ERR_INVALID_CAPABILITY);
    return KT_PASS;
}

/* A host NMI (SDM 6.7) is the kernel's: handled and counted, never a kernel
 * panic, a user exception or a monitor's exit (the VMX path hands NMI exits
 * to the same handler: kernel/vcpu.c). */
KTEST(hostile_host_nmi_is_the_kernels)
{
    nu_msg_t m = { 0 };
    KT_OK(nu_syscall(NESTOR_SYS_DEBUG_NMI, NESTOR_CAP_DEBUG, &m));
    nestor_word_t first = m.mr[0];
    KT_ASSERT(first >= 1);
    m = (nu_msg_t){ 0 };
    KT_OK(nu_syscall(NESTOR_SYS_DEBUG_NMI, NESTOR_CAP_DEBUG, &m));
    KT_EQ(m.mr[0], first + 1);
    m = (nu_msg_t){ 0 };
    KT_EQ(nu_syscall(NESTOR_SYS_DEBUG_NMI, 0, &m), NESTOR_ERR_INVALID_CAPABILITY);
    return KT_PASS;
}
