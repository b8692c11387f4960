/*
 * inspector/main.c - the inspector as a program init starts from a stack
 * config ("nestor,inspector", stack-configs/BINDINGS.md). Its boot info
 * grants it its endpoint ("exits"), its memory budget and the host serial
 * port of its node; the VMM running its VM wires the endpoint into the VM's
 * exit tables for the inspector's exits (#DB, #BP, its own pauses) and
 * calls it once, badged CM_BADGE_SETUP, with the VM's VCPU, state page and
 * RAM (nested-vmx/nvmx_setup.h, the same hand-over nested-vmx gets, without
 * the kick). An inspector of L2 ('level = <2>') gets that call from
 * nested-vmx instead, with L2's vCPU, the L2 page and L1's RAM, when L1
 * first enters L2. Then one loop: exits (target.c) and the bytes gdb sends
 * (the UART's IRQ, a notification bound to our thread).
 */
#include "inspector.h"
#include "../checkpoint/ckpt_proto.h"
#include "count_monitor.h"
#include "nvmx_insp.h"
#include "nvmx_setup.h"
#include <nestor/bootinfo.h>
#include <nestor/faults.h>
#include <string.h>
#include <user/print.h>
#include <user/runtime.h>

#define INSP_STATE_VA  0x0000200000000000ULL
#define INSP_RAM_VA    0x0000300000000000ULL
#define INSP_L2PAGE_VA 0x0000210000000000ULL     /* nested-vmx's L2 page (at level 2) */
#define UART_BADGE     (1ULL << 40)       /* our notification's badge bit (no endpoint badge) */
#define WAIT_OPT       "inspector.wait"   /* hold the VM at its first instruction for gdb */
/* Read watchpoints withhold all rights of their leaf, as on a CPU without
 * execute-only EPT: that way, tried on one with it. */
#define NO_XO_OPT      "inspector.no-exec-only"
/* gdb's breakpoints plain int3 bytes the guest can see and overwrite, for
 * the speed of a guest whose code shares its EPT leaf with busy data
 * (target.c "Breakpoints the guest cannot see"). */
#define PLAIN_INT3_OPT "inspector.plain-int3"
/* Protect the VMM's 2 MiB leaves whole, never split into 4 KiB ones (as
 * before NESTOR_EPT_SPLIT: for comparing costs, target.c "4 KiB leaves"). */
#define NO_SPLIT_OPT   "inspector.no-split"

static insp_t insp;
_Static_assert(INSP_MAX_SW_BPS == NVMX_L2_BPS, "at L2 our int3s are the L2 page's");
static nestor_cptr_t untypeds[NESTOR_BOOTINFO_MAX_UNTYPED];

/* The slots of our exits: the kernel writes the whole state page at them
 * (gdb may ask for any register). EPT violations last: they come to us
 * only while an EPT watchpoint is set (target.c ew_take_violations). */
const nestor_word_t insp_exit_slots[INSP_EXIT_SLOTS] = {
    NESTOR_EXIT_SLOT_EXCEPTION + 1,      /* #DB (SDM 6.15: vector 1) */
    NESTOR_EXIT_SLOT_EXCEPTION + 3,      /* #BP (vector 3) */
    NESTOR_EXIT_PREEMPT_TIMER,           /* our pauses */
    NESTOR_EXIT_DR_ACCESS,               /* MOV DR while we hold debug registers */
    NESTOR_EXIT_EPT_VIOLATION,           /* our EPT watchpoints' pages (ewatch.h) */
};

/* Map what the setup message @msg granted (the CNode in @node): from the
 * VMM, its VM; from nested-vmx (@flags NVMX_SETUP_L2), L2's vCPU with the
 * L2 page and L1's RAM. */
static bool take_vm(nestor_cptr_t node, const nu_msg_t *msg, nestor_word_t flags)
{
    nvmx_grant_t g;
    if (!nvmx_grant_take(&insp.alloc, node, msg, false, INSP_STATE_VA, INSP_RAM_VA, &g))
        return false;
    if (flags & NVMX_SETUP_L2) {
        const nestor_cptr_t page = insp.alloc.next_slot++;
        /* (Written: our debug overlay and steps, nvmx_setup.h.) */
        const nestor_word_t rw = NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE;
        if (nu_cnode_copy(insp.alloc.cnode, page, 64, node, NVMX_GRANT_L2_PAGE, g.radix, rw) ||
            nu_map_frame(&insp.alloc, NESTOR_CAP_INIT_VSPACE, INSP_L2PAGE_VA, page, rw))
            return false;
        insp.l2 = (nvmx_l2_page_t *)(uintptr_t)INSP_L2PAGE_VA;
        insp.own_dr = insp.l2->own_dr;
        insp.own_dr7 = &insp.l2->own_dr7;
        insp.sw = insp.l2->bps;
    } else {
        insp.sw = insp.sw_own;
        insp.own_dr = insp.guest_dr;
        insp.own_dr7 = &insp.guest_dr7;
    }
    insp.vcpu = g.vcpu;
    insp.s = g.state;
    insp.ram = g.ram;
    insp.ram_bytes = g.ram_bytes;
    insp.level = g.level;
    /* A checkpoint monitor on the same VM: its command capability, if the
     * VMM put one after the frames (checkpoint/ckpt_proto.h). */
    const nestor_cptr_t ckpt = insp.alloc.next_slot++;
    if (nu_cnode_copy(insp.alloc.cnode, ckpt, 64, node,
                      CKPT_GRANT_COMMAND(g.ram_bytes >> g.frame_bits), g.radix,
                      NESTOR_RIGHTS_ALL) == NESTOR_OK)
        insp.ckpt = ckpt;
    /* From the VMM: the VM's EPT restricted to its RAM, to withhold rights
     * of its pages for EPT watchpoints (ewatch.h) and hidden breakpoints;
     * from nested-vmx at L2, its endpoint for the same in EPT02, region by
     * region of L1's RAM (nvmx_insp.h; target.c ept_protect). */
    const nestor_cptr_t ept = insp.alloc.next_slot++;
    if (nu_cnode_copy(insp.alloc.cnode, ept, 64, node,
                      insp.l2 ? NVMX_GRANT_INSP_NVMX
                              : NVMX_GRANT_RAM_EPT(g.ram_bytes >> g.frame_bits),
                      g.radix, NESTOR_RIGHTS_ALL) == NESTOR_OK)
        insp.ept = ept;
    /* At L2 our leaves are nested-vmx's regions of L1's RAM (nvmx_insp.h,
     * never split); at L1 the VMM's frames, 4 KiB once gdb's options are
     * known (target.c "4 KiB leaves"). */
    insp.frame_bits = insp.l2 ? NVMX_INSP_REGION_BITS : (unsigned)g.frame_bits;
    insp.leaf_bits = insp.frame_bits;
    insp.ew_hit = -1;
    for (size_t i = 0; i < INSP_EXIT_SLOTS; i++) {
        if (!insp.ept && insp_exit_slots[i] == NESTOR_EXIT_EPT_VIOLATION)
            continue;             /* no EPT rights of ours to withhold (target.c) */
        const nestor_word_t args[] = { insp_exit_slots[i], NESTOR_MTD_ALL & ~NESTOR_MTD_INJECT,
                                       insp.level };
        if (nu_invoke(insp.vcpu, NESTOR_VCPU_SET_EXIT_MASK, args, 3, 0, 0, 0, 0) != NESTOR_OK)
            return false;
    }
    return true;
}

/* The exit's message registers, before our invocations reuse the buffer. */
static void exit_mrs(const nu_msg_t *msg, nestor_word_t *mr)
{
    const nestor_ipc_buffer_t *b = nu_ipc_buffer();
    for (unsigned i = 0; i < NESTOR_EXIT_MR_COUNT; i++)
        mr[i] = i < NESTOR_MSG_REGISTERS_IN_CPU ? msg->mr[i] : b->msg[i];
}

/* gdb's bytes. While the guest runs and gdb waits for no stop, a packet
 * (or a Ctrl-C) means gdb is (re)attaching or talking out of turn: stop the
 * guest first and hold the bytes until the pause arrives. Anything else
 * (the ack of our last reply, noise) goes to the engine, which has no use
 * for it: it must not stop a guest gdb has let go. */
static bool wants_target(const uint8_t *buf, size_t n)
{
    return memchr(buf, RSP_START, n) || memchr(buf, RSP_INTERRUPT, n);
}

static void from_gdb(void)
{
    uint8_t buf[64];
    size_t n;
    while ((n = uart_drain(&insp, buf, sizeof buf)) > 0) {
        if (insp.state == TGT_STOPPED || rsp_running(&insp.rsp) ||
            (!insp.inlen && !wants_target(buf, n))) {
            rsp_input(&insp.rsp, buf, n);
            continue;
        }
        if (insp.inlen + n <= INSP_INBUF) {
            memcpy(insp.inbuf + insp.inlen, buf, n);
            insp.inlen += n;
        }
        target_pause(&insp);
    }
}

/* The VM ended (@how, count_monitor.h CM_QUERY_*): gdb, if it waits for a
 * stop of the running guest, gets the process's end (E.3 "W"/"X"). The
 * query comes once: nothing of ours runs the VM after it. */
static void vm_ended(nestor_word_t how, nestor_word_t status)
{
    if (!rsp_running(&insp.rsp))
        return;
    if (how == CM_QUERY_EXITED)
        rsp_stopped(&insp.rsp, 1, (unsigned)(status & 0xFF), RSP_STOP_EXITED, 0);
    else
        rsp_stopped(&insp.rsp, 1, RSP_SIGKILL, RSP_STOP_KILLED, 0);
    printf("inspector %s: the VM ended (%s %lu): told gdb\n", insp.name,
           how == CM_QUERY_EXITED ? "exit status" : "stopped by its VMM, signal",
           how == CM_QUERY_EXITED ? (unsigned long)(status & 0xFF) : (unsigned long)RSP_SIGKILL);
}

static void serve(void)
{
    nu_msg_t m = { 0 };
    nestor_word_t mr[NESTOR_EXIT_MR_COUNT];
    for (;;) {
        nu_recv(insp.ep, &m);
        if (m.badge & UART_BADGE) {
            from_gdb();
        } else if (m.badge == CM_BADGE_EXIT && nestor_msginfo_label(m.info) == NESTOR_FAULT_VM_EXIT) {
            exit_mrs(&m, mr);
            target_exit(&insp, mr);
        } else if (m.badge == CM_BADGE_QUERY) {
            /* The VMM's question at the end, as to every stacked monitor,
             * saying how the VM ended (count_monitor.h CM_QUERY_*): a gdb
             * waiting for the running guest's next stop hears it first
             * ("W", or "X" with SIGKILL where the VMM stopped it: README
             * "The VM's end"). We answer MR0 the exits we took (held),
             * MR1 those we passed on. */
            vm_ended(m.mr[CM_QUERY_MR_HOW], m.mr[CM_QUERY_MR_STATUS]);
            m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 2),
                            .mr = { insp.exits_pause + insp.exits_bp + insp.exits_db +
                                        insp.exits_dr + insp.exits_ept,
                                    insp.passed_on } };
            nu_reply(&m);
            continue;
        } else if (m.badge) {
            m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 0) };   /* not ours to answer */
            nu_reply(&m);
            continue;
        }
        /* Bytes held while the guest was stopping go in once it stopped. */
        if (insp.state == TGT_STOPPED && insp.inlen) {
            size_t n = insp.inlen;
            insp.inlen = 0;
            rsp_input(&insp.rsp, insp.inbuf, n);
        }
    }
}

int main(const nestor_bootinfo_t *bi)
{
    if (!nu_monitor_start(bi, "inspector", insp.name, sizeof insp.name, untypeds, &insp.ep,
                          &insp.alloc))
        return 0;
    insp.parent_ep = bi->parent_ep;
    nestor_cptr_t note = nu_alloc_obj(&insp.alloc, NESTOR_OBJ_NOTIFICATION, 0);
    nestor_cptr_t badged = insp.alloc.next_slot++;
    bool link = note &&
                nu_cnode_mint(insp.alloc.cnode, badged, 64, insp.alloc.cnode, note, 64,
                              NESTOR_RIGHTS_ALL, UART_BADGE) == NESTOR_OK &&
                uart_setup(&insp, bi, badged) &&
                nu_tcb_bind_notification(NESTOR_CAP_INIT_TCB, note) == NESTOR_OK;
    /* The setup call brings one capability: receive it into a slot of ours. */
    nestor_cptr_t node = insp.alloc.next_slot++;
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    nu_receive_cap_into(node);
    nu_msg_t m = { 0 };
    while (nu_recv(insp.ep, &m) != NESTOR_OK || m.badge != CM_BADGE_SETUP) {
        if (m.badge & UART_BADGE)
            continue;             /* gdb early: its bytes wait in the port */
        printf("inspector %s: a message before its setup (badge 0x%lx): ignored\n", insp.name,
               m.badge);
        m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 0) };
        nu_reply(&m);
    }
    b->receive_cnode = 0;
    /* The flags are past the MRs in registers: read before our invocations. */
    const nestor_word_t flags = nestor_msginfo_length(m.info) > NVMX_SETUP_MR_FLAGS
                                    ? b->msg[NVMX_SETUP_MR_FLAGS] : 0;
    if (!take_vm(node, &m, flags)) {
        printf("inspector %s: the VM handed over is not usable\n", insp.name);
        m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 0) };
        nu_reply(&m);
        return 0;
    }
    rsp_init(&insp.rsp, &insp_ops, &insp);
    insp.state = TGT_RUNNING;
    /* Without a link it still takes its exits (passing on what is not its
     * own), which is what `./nestor bench exits` measures. */
    bool wait = link && nu_option(bi->cmdline, WAIT_OPT) != NULL;
    insp.ept_all = nu_option(bi->cmdline, NO_XO_OPT) != NULL;
    if (insp.ept_all)
        printf("inspector %s: read watchpoints withhold all rights (%s)\n", insp.name,
               NO_XO_OPT);
    /* Our protections on 4 KiB leaves: the VMM's 2 MiB ones split where
     * we withhold rights (target.c "4 KiB leaves"). */
    if (insp.ept && !insp.l2 && !nu_option(bi->cmdline, NO_SPLIT_OPT))
        insp.leaf_bits = EWATCH_PAGE_BITS;
    else if (insp.ept && !insp.l2)
        printf("inspector %s: EPT leaves protected whole (%s)\n", insp.name, NO_SPLIT_OPT);
    insp.int3_plain = nu_option(bi->cmdline, PLAIN_INT3_OPT) != NULL;
    if (insp.int3_plain)
        printf("inspector %s: breakpoints are plain int3s the guest can see (%s)\n",
               insp.name, PLAIN_INT3_OPT);
    if (wait)
        target_pause(&insp);      /* taken at the VM's first entry */
    if (link && insp.l2)
        printf("inspector %s: gdb stub for the L2 guest of its VM (L1's %lu MiB, level %u of "
               "nested-vmx's vcpu02) on the serial port at 0x%x%s\n", insp.name,
               insp.ram_bytes >> 20, insp.level, insp.uart.base,
               wait ? "; L2 waits for gdb" : "");
    else if (link)
        printf("inspector %s: gdb stub for its VM (%lu MiB, level %u) on the serial port at "
               "0x%x%s\n", insp.name, insp.ram_bytes >> 20, insp.level, insp.uart.base,
               wait ? "; the VM waits for gdb" : "");
    else
        printf("inspector %s: stacked on its VM (%lu MiB, level %u) without a link to gdb\n",
               insp.name, insp.ram_bytes >> 20, insp.level);
    m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 1), .mr = { 0 } };
    nu_reply(&m);
    /* gdb may have spoken before the setup (an inspector of L2 gets it at
     * L1's first VMLAUNCH): its bytes wait in the port, whose interrupt
     * waits for our acknowledgement. */
    if (link)
        from_gdb();
    serve();
    return 1;
}
