/*
 * tests/kernel/test_doorbell.c - doorbells (NESTOR_VCPU_SET_DOORBELL,
 * nestor/vcpu.h "Doorbells"): EPT-violation exits in a guest-physical
 * range go to a device server's endpoint with the state in its own page;
 * its reply writes registers and RIP only; every other address, a server
 * that passes the exit on, does not answer in time or whose endpoint goes,
 * leaves the exit to the exit tables (the VMM). The test task plays VMM
 * (vm.ep) and server (its own endpoint). Bochs only (VMX); skipped on QEMU.
 */
#include "vm_env.h"
#include <nestor/limits.h>
#include <string.h>

#define DB_BASE       0x9000ULL        /* no EPT entry there (TVM_PAGES pages of RAM) */
#define DB_BYTES      0x10
#define DB_BADGE      0xD8
#define DB_TIMEOUT_MS 20
#define PAGE          4096ULL
#define RW            (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)
#define DB_VALUE      0x5EED1234u

typedef struct {
    nestor_cptr_t ep, badged, frame;
    nestor_vcpu_state_t *s;
} server_t;

static nestor_error_t set_doorbell(tvm_t *vm, nestor_word_t i, nestor_word_t base,
                                   nestor_word_t bytes, nestor_word_t ms, nestor_cptr_t ep,
                                   nestor_cptr_t page, nestor_word_t *res)
{
    const nestor_word_t args[] = { i, base, bytes, ms };
    const nestor_cptr_t caps[] = { ep, page };
    return nu_invoke(vm->vcpu, NESTOR_VCPU_SET_DOORBELL, args, 4, caps, ep ? 2 : 0, res,
                     res ? 2 : 0);
}

static nestor_error_t clear_doorbell(tvm_t *vm, nestor_word_t i)
{
    const nestor_word_t args[] = { i, 0, 0 };
    return nu_invoke(vm->vcpu, NESTOR_VCPU_SET_DOORBELL, args, 3, 0, 0, 0, 0);
}

/* A server: an endpoint, a send capability badged DB_BADGE, a state page. */
static void make_server(server_t *srv)
{
    srv->ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    srv->badged = env_slot();
    nu_cnode_mint(ROOT_CNODE, srv->badged, ROOT_DEPTH, ROOT_CNODE, srv->ep, ROOT_DEPTH,
                  NESTOR_RIGHT_WRITE, DB_BADGE);
    srv->s = env_page(&srv->frame);
}

static nestor_error_t arm(tvm_t *vm, const server_t *srv, nestor_word_t ms)
{
    return set_doorbell(vm, 0, DB_BASE, DB_BYTES, ms, srv->badged, srv->frame, 0);
}

/* A server with a doorbell over [DB_BASE, DB_BASE + DB_BYTES), then the
 * guest started (its first exit may be a doorbell's: tvm_run would wait on
 * the tables' endpoint). */
static nestor_error_t start_with_doorbell(tvm_t *vm, server_t *srv)
{
    make_server(srv);
    nestor_error_t e = arm(vm, srv, DB_TIMEOUT_MS);
    vm->started = 1;
    return e ? e : nu_tcb_resume(vm->tcb);
}

/* The VMM's reply to the exit it holds (not waiting for the next). */
static void vmm_resume(nestor_word_t mask)
{
    nu_msg_t r = { .info = nestor_msginfo(NESTOR_EXIT_REPLY_RESUME, 0, 0, 1), .mr = { mask } };
    nu_reply(&r);
}

/* The server's side: the next exit on its endpoint; its reply. */
static nestor_word_t serve_recv(const server_t *srv, nu_msg_t *m)
{
    *m = (nu_msg_t){ 0 };
    nestor_word_t st = nu_recv(srv->ep, m);
    return st == NESTOR_OK ? m->mr[NESTOR_EXIT_MR_REASON] : ~0ULL;
}

static void serve_reply(nestor_word_t label, nestor_word_t mask)
{
    nu_msg_t r = { .info = nestor_msginfo(label, 0, 0, 1), .mr = { mask } };
    nu_reply(&r);
}

/* The tables' side (the VMM): the next exit on vm.ep, without replying. */
static nestor_word_t vmm_recv(tvm_t *vm, nu_msg_t *m)
{
    *m = (nu_msg_t){ 0 };
    nu_recv(vm->ep, m);
    return m->mr[NESTOR_EXIT_MR_REASON];
}

/* Every argument is checked before anything changes. */
KTEST(doorbell_refusals)
{
    static const uint8_t code[] = { I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    server_t srv;
    make_server(&srv);
    nestor_word_t res[2];
    /* Entry, range, timeout. */
    KT_EQ(set_doorbell(&vm, NESTOR_DOORBELL_MAX, DB_BASE, 4, 10, srv.badged, srv.frame, res),
          NESTOR_ERR_RANGE);
    KT_EQ(set_doorbell(&vm, 0, DB_BASE + 0xFF8, 0x10, 10, srv.badged, srv.frame, res),
          NESTOR_ERR_RANGE);                                     /* across a page */
    KT_EQ(set_doorbell(&vm, 0, DB_BASE, NESTOR_DOORBELL_MAX_BYTES + 1, 10, srv.badged,
                       srv.frame, res), NESTOR_ERR_RANGE);
    KT_EQ(set_doorbell(&vm, 0, 1ULL << 48, 4, 10, srv.badged, srv.frame, res),
          NESTOR_ERR_RANGE);                                     /* past 48 bits */
    KT_EQ(set_doorbell(&vm, 0, ~0ULL - 1, 4, 10, srv.badged, srv.frame, res),
          NESTOR_ERR_RANGE);                                     /* wrapping */
    KT_EQ(set_doorbell(&vm, 0, DB_BASE, 4, 0, srv.badged, srv.frame, res), NESTOR_ERR_RANGE);
    KT_EQ(res[0], 3);
    KT_EQ(set_doorbell(&vm, 0, DB_BASE, 4, NESTOR_CALL_TIMEOUT_MAX_MS + 1, srv.badged, srv.frame, res),
          NESTOR_ERR_RANGE);
    /* Capabilities: kinds and rights (a receive-only endpoint, a read-only
     * page, a frame that is no 4 KiB one, none at all). */
    nestor_cptr_t recv_only = env_slot(), ro_page = env_slot();
    KT_OK(nu_cnode_mint(ROOT_CNODE, recv_only, ROOT_DEPTH, ROOT_CNODE, srv.ep, ROOT_DEPTH,
                        NESTOR_RIGHT_READ, DB_BADGE));
    KT_OK(nu_cnode_copy(ROOT_CNODE, ro_page, ROOT_DEPTH, ROOT_CNODE, srv.frame, ROOT_DEPTH,
                        NESTOR_RIGHT_READ));
    KT_EQ(set_doorbell(&vm, 0, DB_BASE, 4, 10, recv_only, srv.frame, res),
          NESTOR_ERR_INSUFFICIENT_RIGHTS);
    KT_EQ(set_doorbell(&vm, 0, DB_BASE, 4, 10, srv.badged, ro_page, res),
          NESTOR_ERR_INSUFFICIENT_RIGHTS);
    KT_EQ(set_doorbell(&vm, 0, DB_BASE, 4, 10, srv.frame, srv.frame, res),
          NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(set_doorbell(&vm, 0, DB_BASE, 4, 10, srv.badged, vm.ept, res),
          NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(set_doorbell(&vm, 0, DB_BASE, 4, 10, srv.badged, env_obj(NESTOR_OBJ_FRAME_2M, 0),
                       res), NESTOR_ERR_INVALID_CAPABILITY);
    const nestor_word_t short_args[] = { 0, DB_BASE, 4, 10 };
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_DOORBELL, short_args, 4, &srv.badged, 1, 0, 0),
          NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_DOORBELL, short_args, 3, 0, 0, 0, 0),
          NESTOR_ERR_TRUNCATED_MESSAGE);
    /* RAM: a page the VCPU's EPT maps is the guest's (MR0 ~0, MR1 the page). */
    KT_EQ(set_doorbell(&vm, 0, TVM_CODE + 0x50, 4, 10, srv.badged, srv.frame, res),
          NESTOR_ERR_DELETE_FIRST);
    KT_EQ(res[0], ~0ULL);
    KT_EQ(res[1], TVM_CODE);
    /* Overlaps: one entry set, another overlapping it refused (MR0 the
     * entry), one next to it taken; the same entry may move. */
    KT_OK(set_doorbell(&vm, 1, DB_BASE + 0x50, 0x18, 10, srv.badged, srv.frame, res));
    KT_EQ(set_doorbell(&vm, 2, DB_BASE + 0x60, 4, 10, srv.badged, srv.frame, res),
          NESTOR_ERR_DELETE_FIRST);
    KT_EQ(res[0], 1);
    KT_EQ(set_doorbell(&vm, 2, DB_BASE + 0x40, 0x11, 10, srv.badged, srv.frame, res),
          NESTOR_ERR_DELETE_FIRST);
    KT_OK(set_doorbell(&vm, 2, DB_BASE + 0x40, 0x10, 10, srv.badged, srv.frame, res));
    KT_OK(set_doorbell(&vm, 1, DB_BASE + 0x54, 0x10, 10, srv.badged, srv.frame, res));
    /* Removing takes no capability; a removed range is free again. */
    KT_EQ(set_doorbell(&vm, 1, DB_BASE, 0, 10, srv.badged, srv.frame, res),
          NESTOR_ERR_INVALID_ARGUMENT);
    KT_OK(clear_doorbell(&vm, 1));
    KT_OK(clear_doorbell(&vm, 1));
    KT_OK(set_doorbell(&vm, 3, DB_BASE + 0x50, 0x18, 10, srv.badged, srv.frame, res));
    /* With no range touched, the guest's exit is the tables' as ever. */
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    return KT_PASS;
}

/* The server gets the exit with the state in its page, emulates the read
 * (RAX, RIP past it) and resumes; the VMM sees the guest's next exit with
 * the value in RAX. A write goes the same way. An address outside the
 * range is the tables'. A reply naming a group the server was not given
 * refuses the entry; PASS_ON hands the exit to the tables, and so does
 * STOP (a server cannot stop the VM). */
KTEST(doorbell_exit_reaches_the_server)
{
    static const uint8_t code[] = { I_MOV_EAX_MOFFS(0x9004), I_MOV_MOFFS_EAX(0x9008),
                                    I_VMCALL, I_MOV_EAX_MOFFS(0x9100), I_MOV_EAX_MOFFS(0x9000),
                                    I_MOV_EAX_MOFFS(0x9004), I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    server_t srv;
    KT_OK(start_with_doorbell(&vm, &srv));
    nu_msg_t m;
    /* The read. */
    KT_EQ(serve_recv(&srv, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(nestor_msginfo_label(m.info), NESTOR_FAULT_VM_EXIT);
    KT_EQ(m.badge, DB_BADGE);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x9004);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE);
    KT_EQ(srv.s->mtd & NESTOR_DOORBELL_GROUPS, NESTOR_DOORBELL_GROUPS);
    KT_EQ(srv.s->rip, TVM_CODE);
    KT_EQ(srv.s->cr0 & 1, 1);                                    /* protected mode */
    srv.s->rax = DB_VALUE;
    srv.s->rip += I_MOFFS_LEN;
    serve_reply(NESTOR_EXIT_REPLY_RESUME, NESTOR_MTD_GPRS | NESTOR_MTD_RIP);
    /* The write: EAX as the read left it. */
    KT_EQ(serve_recv(&srv, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x9008);
    KT_EQ(srv.s->rax & 0xFFFFFFFF, DB_VALUE);
    KT_EQ(srv.s->rip, TVM_CODE + I_MOFFS_LEN);
    srv.s->rip += I_MOFFS_LEN;
    serve_reply(NESTOR_EXIT_REPLY_RESUME, NESTOR_MTD_RIP);
    /* The VMM's page never held the server's exits; now the VMCALL. */
    KT_EQ(vmm_recv(&vm, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->rip, TVM_CODE + 2 * I_MOFFS_LEN);
    KT_EQ(vm.s->rax & 0xFFFFFFFF, DB_VALUE);
    /* Outside the range (0x9100): the tables' exit. */
    vm.s->rip += 3;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x9100);
    vm.s->rip += I_MOFFS_LEN;
    /* The next one is the server's: it names CR (given, but not its to
     * write): the entry is refused to the VMM, nothing loaded. */
    vmm_resume(NESTOR_MTD_RIP);
    KT_EQ(serve_recv(&srv, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x9000);
    srv.s->rip += I_MOFFS_LEN;
    serve_reply(NESTOR_EXIT_REPLY_RESUME, NESTOR_MTD_RIP | NESTOR_MTD_CR);
    KT_EQ(vmm_recv(&vm, &m), (1ULL << 31) | NESTOR_EXIT_INVALID_STATE);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_QUALIFICATION),
          NESTOR_ENTRY_REFUSED | NESTOR_REFUSED_UNFETCHED | NESTOR_MTD_CR);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + 2 * I_MOFFS_LEN + 3 + I_MOFFS_LEN);
    /* Resumed, the same access is the server's again: it passes it on,
     * and the VMM gets the EPT violation with its own page fresh. */
    vmm_resume(0);
    KT_EQ(serve_recv(&srv, &m), NESTOR_EXIT_EPT_VIOLATION);
    srv.s->rbx = 0xB0B;
    serve_reply(NESTOR_EXIT_REPLY_PASS_ON, NESTOR_MTD_GPRS);
    KT_EQ(vmm_recv(&vm, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x9000);
    KT_EQ(vm.s->rbx, 0xB0B);
    KT_EQ(vm.s->mtd & NESTOR_MTD_GPRS, NESTOR_MTD_GPRS);
    vm.s->rip += I_MOFFS_LEN;
    /* The last read: the server answers STOP (it cannot stop the VM):
     * the VMM gets the exit, nothing of the server's loaded; then the
     * VMCALL. */
    vmm_resume(NESTOR_MTD_RIP);
    KT_EQ(serve_recv(&srv, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x9004);
    const nestor_word_t at = srv.s->rip;
    srv.s->rip += I_MOFFS_LEN;
    serve_reply(NESTOR_EXIT_REPLY_STOP, NESTOR_MTD_RIP);
    KT_EQ(vmm_recv(&vm, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x9004);
    KT_EQ(vm.s->rip, at);
    vm.s->rip += I_MOFFS_LEN;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    return KT_PASS;
}

/* A server that never answers: after the entry's timeout the exit goes to
 * the VMM, and so does the next one (the entry is off until set again).
 * An endpoint deleted while an exit waits on it: the same. Never a hang. */
KTEST(doorbell_silent_or_deleted_server_falls_back_to_the_vmm)
{
    static const uint8_t code[] = { I_MOV_EAX_MOFFS(0x9004), I_MOV_EAX_MOFFS(0x9004),
                                    I_MOV_EAX_MOFFS(0x9004), I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    server_t srv;
    KT_OK(start_with_doorbell(&vm, &srv));
    nu_msg_t m;
    /* Nobody receives on the server's endpoint. */
    KT_EQ(vmm_recv(&vm, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x9004);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE);
    KT_EQ(vm.s->mtd & NESTOR_MTD_RIP, NESTOR_MTD_RIP);
    /* Not re-executed at the server: the VMM resumes it past the read
     * and the second read is the VMM's at once (the entry is off). */
    vm.s->rip += I_MOFFS_LEN;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + I_MOFFS_LEN);
    nu_msg_t none = { 0 };
    KT_EQ(nu_syscall(NESTOR_SYS_NB_RECV, srv.ep, &none), NESTOR_ERR_WOULD_BLOCK);
    /* Set again, with a second endpoint nobody serves, which then goes. */
    server_t gone;
    make_server(&gone);
    KT_OK(arm(&vm, &gone, 1000));
    vm.s->rip += I_MOFFS_LEN;
    vmm_resume(NESTOR_MTD_RIP);
    env_wait_idle();                    /* the exit now waits on gone.ep */
    KT_EQ(nu_syscall(NESTOR_SYS_NB_RECV, vm.ep, &none), NESTOR_ERR_WOULD_BLOCK);
    KT_OK(nu_cnode_revoke(ROOT_CNODE, gone.ep, ROOT_DEPTH));
    KT_OK(nu_cnode_delete(ROOT_CNODE, gone.ep, ROOT_DEPTH));
    KT_EQ(vmm_recv(&vm, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + 2 * I_MOFFS_LEN);
    vm.s->rip += I_MOFFS_LEN;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    return KT_PASS;
}
