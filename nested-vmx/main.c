/*
 * nested-vmx/main.c - the nested-vmx monitor as a program init starts from
 * a stack config ("nestor,nested-vmx", stack-configs/BINDINGS.md). Its boot
 * info grants it its endpoint ("exits") and its memory budget; the VMM
 * running its VM wires the endpoint into the VM's exit tables for the
 * reasons it takes and then calls it once, badged CM_BADGE_SETUP, with the
 * VM's VCPU, state page and RAM (nvmx_setup.h). We map those, set what the
 * kernel writes to the state page at our exits, say what the guest may now
 * be shown, and serve.
 */
#include "monitor.h"
#include "count_monitor.h"
#include "nvmx_setup.h"
#include "shadow12.h"
#include "cpu_policy.h"
#include <string.h>
#include <user/print.h>
#include <user/runtime.h>

#define NVMX_STATE_VA  0x0000200000000000ULL
#define NVMX_RAM_VA    0x0000300000000000ULL

static nvmx_monitor_t mon;
static nestor_cptr_t untypeds[NESTOR_BOOTINFO_MAX_UNTYPED];

/* What the kernel writes to the state page at each of our exits (below);
 * RDMSR/WRMSR need the GPRs and RIP, CR accesses the GPRs, RIP and CRs;
 * each the RFLAGS a #GP it may inject pushes with RF (serve.c inject). */
#define VMX_INSN_MASK (NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RIP | NESTOR_MTD_RFLAGS | \
                       NESTOR_MTD_CR | NESTOR_MTD_SEGS | NESTOR_MTD_INTR)
static const struct { nestor_word_t reason, mask; } exit_masks[] = {
    /* VMLAUNCH/VMRESUME: all of L1's state, which L2 inherits and which
     * comes back at the exit (l2.c), and the shadow's fields (shadow12.c
     * pulls them with the exit, no invocation); the others: what decoding
     * and the instruction's checks read (mode, CPL, operands, MOV-SS
     * blocking). */
    { NESTOR_EXIT_VMLAUNCH, NESTOR_MTD_ALL | NESTOR_MTD_SHADOW },
    { NESTOR_EXIT_VMRESUME, NESTOR_MTD_ALL | NESTOR_MTD_SHADOW },
    { NESTOR_EXIT_VMCLEAR, VMX_INSN_MASK }, { NESTOR_EXIT_VMPTRLD, VMX_INSN_MASK },
    { NESTOR_EXIT_VMPTRST, VMX_INSN_MASK }, { NESTOR_EXIT_VMREAD, VMX_INSN_MASK },
    { NESTOR_EXIT_VMWRITE, VMX_INSN_MASK }, { NESTOR_EXIT_VMXOFF, VMX_INSN_MASK },
    { NESTOR_EXIT_VMXON, VMX_INSN_MASK }, { NESTOR_EXIT_INVEPT, VMX_INSN_MASK },
    { NESTOR_EXIT_INVVPID, VMX_INSN_MASK },
    { NESTOR_EXIT_RDMSR, NESTOR_MTD_GPRS | NESTOR_MTD_RIP | NESTOR_MTD_RFLAGS },
    { NESTOR_EXIT_WRMSR, NESTOR_MTD_GPRS | NESTOR_MTD_RIP | NESTOR_MTD_RFLAGS },
    { NESTOR_EXIT_CR_ACCESS, NESTOR_MTD_GPRS | NESTOR_MTD_RIP | NESTOR_MTD_RFLAGS | NESTOR_MTD_CR },
};

/* Map what the setup message @msg granted (the CNode in @node). */
static bool take_vm(nestor_cptr_t node, const nu_msg_t *msg)
{
    nvmx_grant_t g;
    if (!nvmx_grant_take(&mon.alloc, node, msg, true, NVMX_STATE_VA, NVMX_RAM_VA, &g) ||
        nu_tcb_bind_notification(NESTOR_CAP_INIT_TCB, g.kick))
        return false;
    mon.vcpu = g.vcpu;
    mon.vmm = g.vmm;
    mon.s = g.state;
    mon.events = g.events;
    mon.ram = g.ram;
    mon.ram_bytes = g.ram_bytes;
    mon.level = g.level;
    mon.grant = g.node;
    mon.grant_radix = g.radix;
    mon.frame_bits = g.frame_bits;
    mon.ram_frames = g.ram_frames;
    for (size_t i = 0; i < sizeof exit_masks / sizeof exit_masks[0]; i++) {
        const nestor_word_t args[] = { exit_masks[i].reason, exit_masks[i].mask, mon.level };
        if (nu_invoke(mon.vcpu, NESTOR_VCPU_SET_EXIT_MASK, args, 3, 0, 0, 0, 0) != NESTOR_OK)
            return false;
    }
    return true;
}

/* CPUID as this CPU answers it: the VMM shows L1 the policy's subset of
 * the same CPU (vmm-server/cpu_policy.h), which nested-vmx needs for the
 * EFER bits L1 (and so L2) may set. */
static cpuid_regs_t cpuid_here(uint32_t leaf, uint32_t sub)
{
    cpuid_regs_t r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                     : "a"(leaf), "c"(sub));
    return r;
}

int main(const nestor_bootinfo_t *bi)
{
    if (!nu_monitor_start(bi, "nested-vmx", mon.name, sizeof mon.name, untypeds, &mon.ep,
                          &mon.alloc))
        return 0;
    mon.timer_rate = (unsigned)bi->vmx_timer_rate;
    mon.efer_allowed = efer_allowed(cpuid_here);
    /* Under a hypervisor (CPUID.1:ECX bit 31, which a VMM sets and a CPU
     * leaves 0: SDM Vol. 2A Table 3-10 "not used") each VMCS field our
     * kernel writes may be an exit of its own (l2.c resume_l1). */
    mon.kernel_nested = cpuid_here(1, 0).ecx & CPUID_1_ECX_HYPERVISOR;
    /* The setup call brings one capability: receive it into a slot of ours. */
    nestor_cptr_t node = mon.alloc.next_slot++;
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    nu_receive_cap_into(node);
    nu_msg_t m = { 0 };
    while (nu_recv(mon.ep, &m) != NESTOR_OK || m.badge != CM_BADGE_SETUP) {
        printf("nested-vmx %s: a message before its setup (badge 0x%lx): ignored\n", mon.name,
               m.badge);
        m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 0) };
        nu_reply(&m);
    }
    b->receive_cnode = 0;
    /* The MRs past the CPU registers are in the IPC buffer: read them before
     * take_vm's invocations. */
    const nestor_word_t flags = nestor_msginfo_length(m.info) > NVMX_SETUP_MR_FLAGS
                                    ? b->msg[NVMX_SETUP_MR_FLAGS] : 0;
    if (!take_vm(node, &m) ||
        ((flags & NVMX_SETUP_INSPECTOR) &&
         !l2_inspector_take(&mon, node, (unsigned)m.mr[NVMX_SETUP_MR_RADIX]))) {
        printf("nested-vmx %s: the VM handed over is not usable (caps %u, %lu bytes of RAM, "
               "level %lu)\n", mon.name, nestor_msginfo_extra_caps(m.info),
               m.mr[NVMX_SETUP_MR_RAM_BYTES], m.mr[NVMX_SETUP_MR_LEVEL]);
        m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 0) };
        nu_reply(&m);
        return 0;
    }
    l1mem_env(&mon);
    nvmx_mask_init(&mon.insp_mask, mon.ram_bytes);
    mon.vmx.current = NVMX_NO_VMCS;
    if (flags & NVMX_SETUP_NO_SHADOWING)
        printf("nested-vmx %s: VMCS shadowing off (the VM's config): every VMREAD/VMWRITE of "
               "L1 exits\n", mon.name);
    else
        shadow12_setup(&mon);
    printf("nested-vmx %s: serving VMX to its VM (%lu MiB, level %u)\n", mon.name,
           mon.ram_bytes >> 20, mon.level);
    m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 1), .mr = { NVMX_SHOWS_VMX } };
    nu_reply(&m);
    nvmx_serve(&mon);
    return 1;
}
