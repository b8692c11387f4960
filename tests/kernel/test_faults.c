/*
 * tests/kernel/test_faults.c - faults become messages to the fault endpoint;
 * the handler resumes the thread (fixing it first) or leaves it stopped.
 */
#include "ktest.h"
#include "arch/x86_64/trap.h"
#include <nestor/syscalls.h>

#define UNMAPPED_ADDR 0x0000300000000000ULL
#define FAULT_PRIO 100

static void read_unmapped(nestor_word_t addr)
{
    env_shared[0] = 1;
    env_shared[1] = *(volatile nestor_word_t *)addr;
    env_shared[0] = 2;
}

KTEST(page_fault_delivered)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    env_thread(read_unmapped, UNMAPPED_ADDR, FAULT_PRIO, ep);
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(ep, &m));
    KT_EQ(nestor_msginfo_label(m.info), NESTOR_FAULT_VM);
    KT_EQ(m.mr[1], UNMAPPED_ADDR);
    KT_EQ(m.mr[2] & 1, 0);              /* error code: page not present */
    KT_ASSERT(m.mr[0] > 0x400000 && m.mr[0] < 0x500000);   /* rip in our code */
    KT_EQ(env_shared[0], 1);
    return KT_PASS;
}

KTEST(page_fault_fixed_and_resumed)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), f;
    volatile nestor_word_t *page = env_page(&f);
    page[0] = 0xFEED;
    KT_OK(nu_frame_unmap(f));
    env_thread(read_unmapped, (uintptr_t)page, FAULT_PRIO, ep);
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(ep, &m));
    KT_EQ(m.mr[1], (uintptr_t)page);
    /* Fix: map the frame back, then resume with an empty reply. */
    KT_OK(nu_frame_map(f, ROOT_VSPACE, (uintptr_t)page, NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE, 0));
    m = (nu_msg_t){ 0 };
    KT_OK(nu_reply(&m));
    env_wait_idle();
    KT_EQ(env_shared[0], 2);
    KT_EQ(env_shared[1], 0xFEED);
    return KT_PASS;
}

static void write_to(nestor_word_t addr)
{
    env_shared[0] = 1;
    *(volatile nestor_word_t *)addr = 5;
    env_shared[0] = 2;
}

KTEST(write_to_readonly_page_faults)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), f;
    volatile nestor_word_t *page = env_page(&f);
    KT_OK(nu_frame_unmap(f));
    KT_OK(nu_frame_map(f, ROOT_VSPACE, (uintptr_t)page, NESTOR_RIGHT_READ, 0));
    env_thread(read_unmapped, (uintptr_t)page, FAULT_PRIO, ep);   /* reading is fine */
    env_wait_idle();
    KT_EQ(env_shared[0], 2);
    env_thread(write_to, (uintptr_t)page, FAULT_PRIO, ep);
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(ep, &m));
    KT_EQ(nestor_msginfo_label(m.info), NESTOR_FAULT_VM);
    KT_EQ(m.mr[1], (uintptr_t)page);
    KT_EQ(m.mr[2] & 3, 3);      /* error code: present, write (SDM Vol. 3A 4.7) */
    KT_EQ(page[0], 0);
    return KT_PASS;
}

static void do_ud2(nestor_word_t unused)
{
    (void)unused;
    __asm__ volatile("ud2");
    env_shared[0] = 1;
}

KTEST(exception_delivered_and_skipped)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    env_thread(do_ud2, 0, FAULT_PRIO, ep);
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(ep, &m));
    KT_EQ(nestor_msginfo_label(m.info), NESTOR_FAULT_USER_EXCEPTION);
    KT_EQ(m.mr[3], VEC_UD);
    /* A plain reply retries the ud2: it faults again at the same place. */
    nestor_word_t rip = m.mr[0];
    m.info = nestor_msginfo(0, 0, 0, 0);
    KT_OK(nu_reply(&m));
    KT_OK(nu_recv(ep, &m));
    KT_EQ(m.mr[0], rip);
    KT_EQ(env_shared[0], 0);
    return KT_PASS;
}

static void privileged(nestor_word_t unused)
{
    (void)unused;
    __asm__ volatile("cli");
    env_shared[0] = 1;
}

KTEST(privileged_instruction_faults)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    env_thread(privileged, 0, FAULT_PRIO, ep);
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(ep, &m));
    KT_EQ(nestor_msginfo_label(m.info), NESTOR_FAULT_USER_EXCEPTION);
    KT_EQ(m.mr[3], VEC_GP);
    KT_EQ(env_shared[0], 0);
    return KT_PASS;
}

static void bad_syscall(nestor_word_t unused)
{
    (void)unused;
    nu_msg_t m = { 0 };
    env_shared[1] = nu_syscall(999, 0x77, &m);
    env_shared[0] = 1;
}

KTEST(unknown_syscall_becomes_fault)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    env_thread(bad_syscall, 0, FAULT_PRIO, ep);
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(ep, &m));
    KT_EQ(nestor_msginfo_label(m.info), NESTOR_FAULT_UNKNOWN_SYSCALL);
    KT_EQ(nestor_msginfo_length(m.info), NESTOR_CONTEXT_WORDS);
    /* Context layout: rip, rsp, rflags, rax, ...: rax is word 3, rdi word 8. */
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    KT_EQ(m.mr[3], 999);
    KT_EQ(b->msg[8], 0x77);
    /* Reply with a full context whose rax is the "result" of the emulated call. */
    nestor_word_t ctx[NESTOR_CONTEXT_WORDS];
    for (unsigned i = 0; i < NESTOR_CONTEXT_WORDS; i++)
        ctx[i] = i < 4 ? m.mr[i] : b->msg[i];
    ctx[3] = 4242;
    for (unsigned i = 4; i < NESTOR_CONTEXT_WORDS; i++)
        b->msg[i] = ctx[i];
    m.mr[0] = ctx[0]; m.mr[1] = ctx[1]; m.mr[2] = ctx[2]; m.mr[3] = ctx[3];
    m.info = nestor_msginfo(0, 0, 0, NESTOR_CONTEXT_WORDS);
    KT_OK(nu_reply(&m));
    env_wait_idle();
    KT_EQ(env_shared[0], 1);
    KT_EQ(env_shared[1], 4242);
    return KT_PASS;
}

KTEST(fault_without_handler_stops_thread)
{
    env_thread(read_unmapped, UNMAPPED_ADDR, FAULT_PRIO, 0);
    env_wait_idle();
    KT_EQ(env_shared[0], 1);    /* it ran up to the fault and never past it */
    return KT_PASS;
}

KTEST(fault_handler_can_leave_thread_stopped)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    env_thread(read_unmapped, UNMAPPED_ADDR, FAULT_PRIO, ep);
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(ep, &m));
    m.info = nestor_msginfo(1, 0, 0, 0);     /* non-zero label: do not resume */
    KT_OK(nu_reply(&m));
    env_wait_idle();
    KT_EQ(env_shared[0], 1);
    nu_msg_t none = { 0 };
    KT_EQ(nu_nbrecv(ep, &none), NESTOR_ERR_WOULD_BLOCK);
    return KT_PASS;
}

KTEST(fault_endpoint_must_be_endpoint)
{
    /* A fault "endpoint" that is a notification: the thread just stops. */
    nestor_cptr_t n = env_obj(NESTOR_OBJ_NOTIFICATION, 0);
    env_thread(read_unmapped, UNMAPPED_ADDR, FAULT_PRIO, n);
    env_wait_idle();
    KT_EQ(env_shared[0], 1);
    nu_msg_t m = { 0 };
    KT_EQ(nu_nbrecv(n, &m), NESTOR_ERR_WOULD_BLOCK);
    return KT_PASS;
}

KTEST(faulting_thread_deleted_while_handled)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    env_thread_t t = env_thread(read_unmapped, UNMAPPED_ADDR, FAULT_PRIO, ep);
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(ep, &m));
    KT_OK(nu_cnode_delete(ROOT_CNODE, t.tcb, ROOT_DEPTH));
    /* Our reply right went with the thread. */
    KT_EQ(nu_reply(&m), NESTOR_ERR_NO_REPLY);
    return KT_PASS;
}

#define CHILD_REGION 0x0000100000400000ULL   /* stack and IPC buffer in the child */

static void child_reads_parent_page(nestor_word_t addr)
{
    env_shared[0] = 1;      /* the child's own copy of env_shared */
    env_shared[1] = *(volatile nestor_word_t *)addr;
}

KTEST(fresh_process_is_isolated)
{
    /* A page only the parent (this root task) maps. */
    nestor_cptr_t f;
    volatile nestor_word_t *secret = env_page(&f);
    secret[0] = 0x5EC2E7;
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    /* A fresh process: a copy of this program in a new address space. */
    nu_alloc_t a = env_alloc(256);
    nestor_word_t scratch = (nestor_word_t)(uintptr_t)env_page(0) + 4096;
    nestor_cptr_t space = nu_clone_space(&a, scratch);
    KT_ASSERT(space != 0);
    KT_ASSERT(nu_thread_new(&a, space, CHILD_REGION, child_reads_parent_page,
                            (nestor_word_t)(uintptr_t)secret, FAULT_PRIO, ep) != 0);
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(ep, &m));
    /* It could not read the parent's page: the address is unmapped there. */
    KT_EQ(nestor_msginfo_label(m.info), NESTOR_FAULT_VM);
    KT_EQ(m.mr[1], (nestor_word_t)(uintptr_t)secret);
    /* And its write to env_shared went to its own copy, not ours. */
    KT_EQ(env_shared[0], 0);
    KT_EQ(secret[0], 0x5EC2E7);
    return KT_PASS;
}

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
#define CMOS_STATUS_A 0x0A

/* Read CMOS status A with IN/OUT straight from user mode. */
static void direct_port_user(nestor_word_t unused)
{
    (void)unused;
    uint8_t v;
    env_shared[0] = 1;
    __asm__ volatile("outb %b0, %w1" : : "a"((uint8_t)CMOS_STATUS_A), "Nd"(CMOS_INDEX));
    __asm__ volatile("inb %w1, %b0" : "=a"(v) : "Nd"(CMOS_DATA));
    env_shared[1] = v;
    env_shared[0] = 2;
}

KTEST(io_ports_direct_access_needs_grant)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), ports = env_slot();
    KT_OK(nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, CMOS_INDEX, CMOS_DATA, ROOT_CNODE, ports,
                          ROOT_DEPTH));
    /* Without a grant: #GP, delivered as a fault. */
    env_thread(direct_port_user, 0, FAULT_PRIO, ep);
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(ep, &m));
    KT_EQ(nestor_msginfo_label(m.info), NESTOR_FAULT_USER_EXCEPTION);
    KT_EQ(m.mr[3], VEC_GP);
    KT_EQ(env_shared[0], 1);
    /* With a grant: the same code runs. */
    env_thread_t t = env_thread(direct_port_user, 0, FAULT_PRIO, ep);
    KT_OK(nu_invoke(t.tcb, NESTOR_TCB_SET_IO_PORTS, 0, 0, &ports, 1, 0, 0));
    env_wait_idle();
    KT_EQ(env_shared[0], 2);
    KT_ASSERT(env_shared[1] <= 0xFF);
    /* A grant must be an I/O port capability. */
    nestor_cptr_t notports = ep;
    KT_EQ(nu_invoke(t.tcb, NESTOR_TCB_SET_IO_PORTS, 0, 0, &notports, 1, 0, 0),
          NESTOR_ERR_INVALID_CAPABILITY);
    return KT_PASS;
}

KTEST(io_ports_grant_ends_with_revoke)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), ports = env_slot();
    KT_OK(nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, CMOS_INDEX, CMOS_DATA, ROOT_CNODE, ports,
                          ROOT_DEPTH));
    env_thread_t t = env_thread(direct_port_user, 0, FAULT_PRIO, ep);
    KT_OK(nu_tcb_suspend(t.tcb));
    KT_OK(nu_invoke(t.tcb, NESTOR_TCB_SET_IO_PORTS, 0, 0, &ports, 1, 0, 0));
    /* Revoking the capability the grant came from removes the thread's copy. */
    KT_OK(nu_cnode_revoke(ROOT_CNODE, ports, ROOT_DEPTH));
    KT_OK(nu_tcb_resume(t.tcb));
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(ep, &m));
    KT_EQ(m.mr[3], VEC_GP);
    return KT_PASS;
}

KTEST(revoked_frame_mapping_disappears)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    nestor_cptr_t f = env_obj(NESTOR_OBJ_FRAME_4K, 0), copy = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, copy, ROOT_DEPTH, ROOT_CNODE, f, ROOT_DEPTH,
                        NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE));
    /* Far past the pages env_thread will map next, in the same page table. */
    volatile nestor_word_t *va = (volatile nestor_word_t *)((uintptr_t)env_page(0) + 64 * 4096);
    KT_OK(nu_frame_map(copy, ROOT_VSPACE, (uintptr_t)va,
                       NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE, 0));
    va[0] = 0xAB;
    KT_EQ(va[0], 0xAB);
    /* Revoking the original deletes the copy, and the copy's mapping with it. */
    KT_OK(nu_cnode_revoke(ROOT_CNODE, f, ROOT_DEPTH));
    env_thread(read_unmapped, (uintptr_t)va, FAULT_PRIO, ep);
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(ep, &m));
    KT_EQ(nestor_msginfo_label(m.info), NESTOR_FAULT_VM);
    KT_EQ(m.mr[1], (uintptr_t)va);
    return KT_PASS;
}
