/*
 * inspector/cmds.c - gdb's "monitor CMD" (qRcmd) for the inspector:
 *   help             the commands
 *   vmcs             VMCS fields as the monitor sees them (the kernel hides
 *                    host-side ones such as the EPT pointer and VPID)
 *   exits            the exits that reached the inspector, and the link's bytes
 *   ept ADDR         where guest-virtual ADDR lands: guest-physical, RAM or not
 *   restart NAME     init kills device server NAME of this VM and starts it
 *                    again (devsrv.h DS_INIT_RESTART); the VMM reconnects at
 *                    its next access to the device (device-servers/README.md)
 *   checkpoint       ask the VM's checkpoint monitor for an image, taken once the
 *                    VM runs again (checkpoint/ckpt_proto.h CKPT_REQ_NOW)
 */
#include "inspector.h"
#include "nvmx_setup.h"
#include <devsrv.h>
#include "../checkpoint/ckpt_proto.h"
#include <fmt.h>
#include <nestor/vmcs.h>
#include <stdlib.h>
#include <string.h>
#include <user/invoke.h>

#define LINE_MAX 160

static const struct { const char *name; nestor_word_t field; } vmcs_fields[] = {
    { "guest-rip", VMCS_GUEST_RIP }, { "guest-rsp", VMCS_GUEST_RSP },
    { "guest-rflags", VMCS_GUEST_RFLAGS }, { "guest-cr0", VMCS_GUEST_CR0 },
    { "guest-cr3", VMCS_GUEST_CR3 }, { "guest-cr4", VMCS_GUEST_CR4 },
    { "guest-efer", VMCS_GUEST_EFER }, { "guest-dr7", VMCS_GUEST_DR7 },
    { "guest-interruptibility", VMCS_GUEST_INTERRUPTIBILITY },
    { "guest-activity", VMCS_GUEST_ACTIVITY },
    { "guest-pending-dbg", VMCS_GUEST_PENDING_DBG },
    { "pin-controls", VMCS_PIN_CONTROLS }, { "proc-controls", VMCS_PROC_CONTROLS },
    { "proc-controls2", VMCS_PROC_CONTROLS2 }, { "exception-bitmap", VMCS_EXCEPTION_BITMAP },
    { "exit-controls", VMCS_EXIT_CONTROLS }, { "entry-controls", VMCS_ENTRY_CONTROLS },
    { "exit-reason", VMCS_EXIT_REASON }, { "exit-qualification", VMCS_EXIT_QUALIFICATION },
};

static void say(struct rsp *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct rsp *r, const char *fmt, ...)
{
    char line[LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    rsp_console(r, line);
}

static int cmd_vmcs(insp_t *in, struct rsp *r)
{
    for (size_t i = 0; i < sizeof vmcs_fields / sizeof vmcs_fields[0]; i++) {
        nestor_word_t v = 0;
        if (nu_invoke(in->vcpu, NESTOR_VCPU_READ_VMCS, &vmcs_fields[i].field, 1, 0, 0, &v, 1) ==
            NESTOR_OK)
            say(r, "%-24s 0x%lx\n", vmcs_fields[i].name, v);
        else
            say(r, "%-24s (not readable)\n", vmcs_fields[i].name);
    }
    return 0;
}

static int cmd_exits(insp_t *in, struct rsp *r)
{
    say(r, "pauses %lu, breakpoints %lu, steps %lu, passed on %lu, MOV DR emulated %lu, "
        "EPT watch accesses %lu, fetches: %lu; (%u EPT watchpoints)\n",
        in->exits_pause, in->exits_bp, in->exits_db, in->passed_on, in->exits_dr, in->exits_ept,
        in->exits_ept_fetch, ewatch_count(&in->ew));
    /* (of the EPT accesses: in our hidden breakpoints' leaves, target.c) */
    say(r, "accesses over hidden breakpoints %lu\n", in->exits_bp_leaf);
    say(r, "EPT leaves split to 4 KiB %lu (protected leaves: %u bits)\n", in->splits_made,
        in->leaf_bits);
    say(r, "link: %lu bytes in, %lu out; packets %lu, bad checksums %lu, errors %lu\n",
        in->bytes_in, in->bytes_out, in->rsp.stats.packets, in->rsp.stats.bad_checksum,
        in->rsp.stats.errors);
    return 0;
}

static int cmd_ept(insp_t *in, struct rsp *r, const char *arg)
{
    char *end;
    uint64_t va = strtoul(arg, &end, 0);
    if (end == arg || *end)
        return -RSP_EINVAL;
    uint64_t gpa;
    if (!target_translate(in, va, &gpa)) {
        say(r, "0x%lx: not mapped to the VM's RAM by the guest's page tables\n", va);
        return 0;
    }
    if (in->l2) {
        /* L2's paging, then EPT12 (SDM 28.3.1): an address in L1's RAM. */
        say(r, "0x%lx -> L1-physical 0x%lx through L2's paging and EPT12 (EPTP 0x%lx): L1's "
            "RAM (%lu MiB)\n", va, gpa, in->l2->eptp12, in->ram_bytes >> 20);
        return 0;
    }
    /* The VMM maps the VM's RAM at guest-physical 0 with 2 MiB EPT pages,
     * read/write/execute (vmm-server/vm.c). */
    say(r, "0x%lx -> guest-physical 0x%lx: RAM (EPT: 2 MiB page 0x%lx, rwx, of %lu MiB)\n", va,
        gpa, gpa & ~(uint64_t)0x1FFFFF, in->ram_bytes >> 20);
    return 0;
}

static int cmd_restart(insp_t *in, struct rsp *r, const char *name)
{
    nu_msg_t m = { .info = nestor_msginfo(DS_INIT_RESTART, 0, 0, DS_RECONNECT_MRS) };
    char padded[DS_NAME_MRS * sizeof(nestor_word_t)] = { 0 };
    if (!*name || strlen(name) >= sizeof padded)
        return -RSP_EINVAL;
    memcpy(padded, name, strlen(name));
    /* MRs 1..DS_NAME_MRS: those past the registers in the IPC buffer. */
    for (unsigned i = 0; i < DS_NAME_MRS; i++)
        memcpy(1 + i < NESTOR_MSG_REGISTERS_IN_CPU ? &m.mr[1 + i] : &nu_ipc_buffer()->msg[1 + i],
               padded + i * sizeof(nestor_word_t), sizeof(nestor_word_t));
    if (!in->parent_ep || nu_call(in->parent_ep, &m) != NESTOR_OK ||
        nestor_msginfo_label(m.info) != DS_OK)
        say(r, "init refused to restart %s\n", name);
    else
        say(r, "init restarted %s (restart %lu)\n", name, m.mr[0]);
    return 0;
}

static int cmd_checkpoint(insp_t *in, struct rsp *r)
{
    if (!in->ckpt) {
        say(r, "no checkpoint monitor on this VM\n");
        return 0;
    }
    nu_msg_t m = { .info = nestor_msginfo(CKPT_REQ_NOW, 0, 0, 0) };
    if (nu_call(in->ckpt, &m) != NESTOR_OK) {
        say(r, "the checkpoint monitor does not answer\n");
        return 0;
    }
    const nestor_word_t e = nestor_msginfo_label(m.info);
    say(r, "%s\n", e == 0 ? "checkpoint: taken when the VM runs again"
                   : e == CKPT_CMD_E_RESTORING ? "checkpoint refused: the VM is being restored"
                   : e == CKPT_CMD_E_OFF ? "checkpoint refused: checkpoints have ended"
                                         : "checkpoint refused");
    return 0;
}

int insp_monitor_cmd(void *ctx, struct rsp *r, const char *cmd)
{
    insp_t *in = ctx;
    if (in->state != TGT_STOPPED && strcmp(cmd, "exits") != 0)
        return -RSP_EBUSY;
    if (strcmp(cmd, "vmcs") == 0)
        return cmd_vmcs(in, r);
    if (strcmp(cmd, "exits") == 0)
        return cmd_exits(in, r);
    if (strncmp(cmd, "ept ", 4) == 0)
        return cmd_ept(in, r, cmd + 4);
    if (strncmp(cmd, "restart ", 8) == 0)
        return cmd_restart(in, r, cmd + 8);
    if (strcmp(cmd, "checkpoint") == 0)
        return cmd_checkpoint(in, r);
    say(r, "monitor commands: vmcs, exits, ept ADDR, restart SERVER, checkpoint\n");
    return strcmp(cmd, "help") == 0 ? 0 : -RSP_ENOENT;
}
