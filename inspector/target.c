/*
 * inspector/target.c - the protocol engine's backend (rsp.h) on a VM:
 * registers from the VCPU's state page, guest-virtual memory through the
 * guest's own page tables (lib/x86/walk.c) into its RAM, software
 * breakpoints as int3 bytes hidden from gdb's reads, and run control at
 * exit boundaries (inspector.h).
 */
#include "inspector.h"
#include "count_monitor.h"
#include "rsp_x86.h"
#include "nvmx_insp.h"
#include "nvmx_setup.h"
#include "cpu_policy.h"
#include <stddef.h>
#include <string.h>
#include <nestor/vmcs.h>
#include <user/invoke.h>
#include <x86_arch.h>
#include <x86_vmx.h>
#include <x86_walk.h>

/* SDM 27.2.1, Table 27-1: the exit qualification of a #DB exit holds the
 * DR6 bits the exception would have set: B0-B3, BD, BS. */
#define DB_QUAL_BS         X86_DR6_BS
#define PAGE_SIZE          4096u
/* What we ask the kernel to write to the state page at our exits: all of
 * it (gdb may read any register), and what a reply may load back (the
 * groups we changed; never an injection of ours). */
#define CHANGEABLE         (NESTOR_MTD_ALL & ~NESTOR_MTD_INJECT)

static insp_t *I(void *ctx) { return ctx; }

/* ---- registers ---- */

typedef struct {
    uint16_t off;                 /* in nestor_vcpu_state_t */
    uint16_t group;               /* NESTOR_MTD_* */
    bool writable;                /* else writes must leave it unchanged */
} reg_map_t;

#define GPR(r, f)  [RSP_X86_##r] = { offsetof(nestor_vcpu_state_t, f), NESTOR_MTD_GPRS, true }
#define SEL(r, f)  [RSP_X86_##r] = { offsetof(nestor_vcpu_state_t, f.sel), NESTOR_MTD_SEGS, false }
#define BASE(r, f) [RSP_X86_##r] = { offsetof(nestor_vcpu_state_t, f.base), NESTOR_MTD_SEGS, false }
#define CR(r, f)   [RSP_X86_##r] = { offsetof(nestor_vcpu_state_t, f), NESTOR_MTD_CR, false }

static const reg_map_t reg_map[RSP_X86_NREGS] = {
    GPR(RAX, rax), GPR(RBX, rbx), GPR(RCX, rcx), GPR(RDX, rdx), GPR(RSI, rsi), GPR(RDI, rdi),
    GPR(RBP, rbp), GPR(R8, r8), GPR(R9, r9), GPR(R10, r10), GPR(R11, r11), GPR(R12, r12),
    GPR(R13, r13), GPR(R14, r14), GPR(R15, r15),
    [RSP_X86_RSP] = { offsetof(nestor_vcpu_state_t, rsp), NESTOR_MTD_RSP, true },
    [RSP_X86_RIP] = { offsetof(nestor_vcpu_state_t, rip), NESTOR_MTD_RIP, true },
    [RSP_X86_EFLAGS] = { offsetof(nestor_vcpu_state_t, rflags), NESTOR_MTD_RFLAGS, true },
    SEL(CS, cs), SEL(SS, ss), SEL(DS, ds), SEL(ES, es), SEL(FS, fs), SEL(GS, gs),
    BASE(FS_BASE, fs), BASE(GS_BASE, gs), BASE(CS_BASE, cs), BASE(SS_BASE, ss),
    BASE(DS_BASE, ds), BASE(ES_BASE, es),
    CR(CR0, cr0), CR(CR2, cr2), CR(CR3, cr3), CR(CR4, cr4), CR(EFER, efer),
};

/* The x87 and SSE state is the guest's in the CPU, not in the state page. */
static bool reg_mapped(unsigned regno)
{
    return regno < RSP_X86_NREGS && reg_map[regno].group != 0;
}

/* Whether a step may run with IF clear (mask_if, below). */
static bool if_maskable(const insp_t *in)
{
    return !in->l2 && in->step.kind != STEP_HLT;
}

static uint64_t guest_flags(const insp_t *in, uint64_t v);

static uint64_t reg_get(insp_t *in, unsigned regno)
{
    const uint8_t *p = (const uint8_t *)in->s + reg_map[regno].off;
    if (reg_map[regno].group == NESTOR_MTD_SEGS && regno <= RSP_X86_GS)
        return *(const uint16_t *)p;
    uint64_t v = *(const uint64_t *)p;
    /* While we step, TF and IF are ours: gdb sees the guest's own. */
    if (regno == RSP_X86_EFLAGS && in->stepping)
        v = guest_flags(in, v);
    return v;
}

static int t_read_reg(void *ctx, unsigned tid, unsigned regno, uint8_t *buf, unsigned bytes)
{
    insp_t *in = I(ctx);
    if (tid != 1 || in->state != TGT_STOPPED)
        return -RSP_EBUSY;
    if (!reg_mapped(regno))
        return RSP_UNAVAILABLE;
    uint64_t v = reg_get(in, regno);
    for (unsigned i = 0; i < bytes; i++)
        buf[i] = (uint8_t)(i < 8 ? v >> (8 * i) : 0);
    return 0;
}

static int t_write_reg(void *ctx, unsigned tid, unsigned regno, const uint8_t *buf,
                       unsigned bytes)
{
    insp_t *in = I(ctx);
    if (tid != 1 || in->state != TGT_STOPPED)
        return -RSP_EBUSY;
    if (!reg_mapped(regno))
        return -RSP_EPERM;
    if (bytes > 8)
        return -RSP_EINVAL;
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)buf[i] << (8 * i);
    /* A narrower view (EFLAGS, the i386 set) changes the low bytes only. */
    const uint64_t low = bytes == 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
    v |= reg_get(in, regno) & ~low;
    const reg_map_t *m = &reg_map[regno];
    if (!m->writable)
        /* Selectors, bases and control registers change with descriptors
         * and paging the guest set up: gdb may only write them unchanged
         * (as its G packet does). */
        return v == reg_get(in, regno) ? 0 : -RSP_EPERM;
    if (regno == RSP_X86_EFLAGS) {
        /* SDM Vol. 1 3.4.3: bit 1 is fixed; TF stays ours while we step. */
        v |= X86_RFLAGS_FIXED;
        if (in->stepping) {
            in->guest_tf = v & X86_RFLAGS_TF;
            v |= X86_RFLAGS_TF;
            in->if_masked = (v & X86_RFLAGS_IF_BIT) && if_maskable(in);
            if (in->if_masked)
                v &= ~X86_RFLAGS_IF_BIT;
        }
    }
    *(uint64_t *)((uint8_t *)in->s + m->off) = v;
    in->dirty |= m->group;
    return 0;
}

/* ---- memory ---- */

static bool read_entry(void *ctx, uint64_t gpa, unsigned size, uint64_t *entry)
{
    insp_t *in = I(ctx);
    if (gpa >= in->ram_bytes || in->ram_bytes - gpa < size)
        return false;
    uint64_t v = 0;
    memcpy(&v, in->ram + gpa, size);
    *entry = v;
    return true;
}

bool target_translate(insp_t *in, uint64_t va, uint64_t *gpa)
{
    const x86_paging_t p = { in->s->cr0, in->s->cr3, in->s->cr4, in->s->efer };
    /* An address the guest itself could not use is no address: in IA-32e
     * mode it must be canonical (SDM Vol. 1 3.3.7.1), elsewhere 32 bits
     * wide. The walk alone would drop the high bits and alias it. */
    if (!dregs_va_ok(va, p.efer & X86_EFER_LMA))
        return false;
    /* L2's linear address: through L2's paging, every paging-structure
     * entry and the result through EPT12 in L1's RAM (SDM 28.3.1), with
     * the EPTP L2 runs with now (the L2 page: L1 waits while we hold L2). */
    const uint64_t eptp12 = in->l2 ? in->l2->eptp12 : NVMX_L2_NO_EPT;
    if (eptp12 != NVMX_L2_NO_EPT)
        return x86_nested_linear_to_phys(&p, eptp12, va, read_entry, in, gpa) &&
               *gpa < in->ram_bytes;
    return x86_linear_to_phys(&p, va, read_entry, in, gpa) && *gpa < in->ram_bytes;
}

/* The RAM bytes of [va, va+len) one page at a time; how many from the
 * start are there (the walk stops at the first page that is not RAM). */
typedef void (*chunk_fn)(insp_t *in, uint64_t gpa, uint8_t *buf, size_t n, bool write);

static size_t walk_mem(insp_t *in, uint64_t va, uint8_t *buf, size_t len, bool write,
                       chunk_fn fn)
{
    size_t done = 0;
    while (done < len) {
        uint64_t gpa, a = va + done;
        size_t n = PAGE_SIZE - (a & (PAGE_SIZE - 1));
        if (n > len - done)
            n = len - done;
        if (!target_translate(in, a, &gpa) || in->ram_bytes - gpa < n)
            break;
        fn(in, gpa, buf + done, n, write);
        done += n;
    }
    return done;
}

/* Copy, keeping our int3 bytes out of gdb's sight and under its writes:
 * a write over a breakpoint changes the byte the breakpoint restores. (A
 * lifted one has the guest's byte in RAM: bps_replant keeps what is there.) */
static void copy_chunk(insp_t *in, uint64_t gpa, uint8_t *buf, size_t n, bool write)
{
    if (write)
        memcpy(in->ram + gpa, buf, n);
    else
        memcpy(buf, in->ram + gpa, n);
    swbp_mask(in->sw, INSP_MAX_SW_BPS, gpa, buf, n, write, in->ram);
    swbp_mask(in->sw_temp, INSP_STEP_BPS, gpa, buf, n, write, in->ram);
}

/* 64-bit mode: IA32_EFER.LMA and CS.L (SDM Vol. 3A 5.2.1). */
static bool mode64(const nestor_vcpu_state_t *s)
{
    return (s->efer & X86_EFER_LMA) && (s->cs.ar & X86_AR_L);
}

/* The linear address of @seg:@off (SDM Vol. 3A 3.4: base + offset; in
 * 64-bit mode the bases of CS, SS, DS and ES count as 0, 3.4.4), @off cut
 * to the segment's address size when @sized (a stack: SS.B, 3.4.5). */
static uint64_t linear(const nestor_vcpu_state_t *s, const nestor_vcpu_seg_t *seg, uint64_t off,
                       bool sized)
{
    if (mode64(s))
        return off;
    if (sized && !(seg->ar & X86_AR_DB))
        off = (uint16_t)off;
    return (uint32_t)(seg->base + off);
}

/* Guest-linear bytes as gdb sees them (our int3 bytes hidden, written
 * under). */
static size_t read_linear(insp_t *in, uint64_t va, void *buf, size_t n)
{
    return walk_mem(in, va, buf, n, false, copy_chunk);
}

static bool write_linear(insp_t *in, uint64_t va, const void *buf, size_t n)
{
    return walk_mem(in, va, (uint8_t *)buf, n, true, copy_chunk) == n;
}

/* The guest-linear bytes the instruction at RIP reads and writes
 * (insn_access.h), how many accesses, -1 where it cannot be decoded.
 * The CPU's mode: IA32_EFER.LMA and CS.L, else CS.D in protected mode
 * outside virtual-8086 mode (SDM Vol. 3A 5.2.1, 20.2); the stack's
 * address size: SS.B (3.4.5). */
static int insn_at_rip(insp_t *in, insn_access_t a[INSN_ACCESS_MAX])
{
    const nestor_vcpu_state_t *s = in->s;
    const bool m64 = mode64(s);
    const bool m32 = !m64 && (s->cr0 & X86_CR0_PE) && !(s->rflags & X86_RFLAGS_VM) &&
                     (s->cs.ar & X86_AR_DB);
    const insn_cpu_t cpu = {
        .mode = m64 ? X86_MODE_64 : m32 ? X86_MODE_32 : X86_MODE_16,
        .gpr = { s->rax, s->rcx, s->rdx, s->rbx, s->rsp, s->rbp, s->rsi, s->rdi,
                 s->r8, s->r9, s->r10, s->r11, s->r12, s->r13, s->r14, s->r15 },
        .rip = s->rip,
        .seg_base = { s->es.base, s->cs.base, s->ss.base, s->ds.base, s->fs.base, s->gs.base },
        .stack_size = m64 ? 8 : (s->ss.ar & X86_AR_DB) ? 4 : 2,
        .df = s->rflags & X86_RFLAGS_DF,
    };
    uint8_t code[X86_MAX_INSN_LEN];
    const size_t n = read_linear(in, linear(s, &s->cs, s->rip, false), code, sizeof code);
    return insn_accesses(code, n, &cpu, a);
}

static long t_read_mem(void *ctx, unsigned tid, uint64_t addr, uint8_t *buf, size_t len)
{
    insp_t *in = I(ctx);
    if (tid != 1 || in->state != TGT_STOPPED)
        return -RSP_EBUSY;
    size_t n = walk_mem(in, addr, buf, len, false, copy_chunk);
    return n ? (long)n : -RSP_EFAULT;
}

static long t_write_mem(void *ctx, unsigned tid, uint64_t addr, const uint8_t *buf, size_t len)
{
    insp_t *in = I(ctx);
    if (tid != 1 || in->state != TGT_STOPPED)
        return -RSP_EBUSY;
    /* All or nothing: check every page first. */
    for (uint64_t a = addr; a - addr < len; a = (a | (PAGE_SIZE - 1)) + 1) {
        uint64_t gpa;
        if (!target_translate(in, a, &gpa))
            return -RSP_EFAULT;
    }
    size_t n = walk_mem(in, addr, (uint8_t *)buf, len, true, copy_chunk);
    return n == len ? (long)n : -RSP_EFAULT;
}

/* ---- breakpoints ---- */

static bool ew_protect_leaf(insp_t *in, uint64_t gpa);
static bool ew_take_violations(insp_t *in, bool on);

/*
 * Breakpoints the guest cannot see or overwrite (README "Breakpoints").
 * gdb's Z0 is an int3 byte in guest RAM (SDM Vol. 2A INT3), which the guest
 * could read (0xCC where its code was) or write over (a loader,
 * self-modifying code: the breakpoint gone, and our saved byte put back
 * over its new code at z0). Where the VMM gave us its EPT and the CPU has
 * execute-only EPT (IA32_VMX_EPT_VPID_CAP bit 0, SDM Vol. 3D A.10), the
 * leaf holding an int3 loses its read and write rights (SDM 28.3.2; the
 * fetches go on and the int3 traps as before): every data access of the
 * guest there exits as an EPT violation (SDM 28.3.3.2), and for that one
 * instruction the guest's own bytes are back (bps_lift) with the rights,
 * the instruction single-stepped (step_begin: our hidden TF, as for the
 * EPT watchpoints, which share the leaves' protection); when the step ends
 * the byte in RAM is the one to keep (a write of the guest over it
 * included) and the int3 goes back (bps_replant), the rights withheld
 * again. Without execute-only EPT the kernel refuses read and write
 * withheld (NESTOR_ERR_ILLEGAL_OPERATION): then a free debug register
 * takes the breakpoint (an instruction breakpoint, SDM Vol. 3B 17.2.4:
 * nothing in RAM), and only with all four taken is the int3 visible.
 */
static bool bp_hiding(const insp_t *in)
{
    return in->ept && !in->ept_all && !in->int3_plain;
}

/* Without execute-only EPT (or with inspector.no-exec-only), and at L2: a
 * free debug register first, at L2 in our overlay (hw_program; neither L1
 * nor L2 sees it, with nothing in RAM at all). At L2 an int3 beyond them is
 * hidden from L2 in nested-vmx's EPT02 mask and from L1 by nested-vmx
 * lifting it at each exit of L2 to L1 (the L2 page's bps): each access of
 * L2 there costs its step, each exit to L1 the lifting. */
static bool bp_dr_first(const insp_t *in)
{
    return !in->int3_plain && ((in->ept && in->ept_all) || in->l2);
}

/* The slots whose int3s the EPT hides: gdb's, and a step's temporary ones
 * while their leaves are protected for the step (step_bps_protect; not
 * those of a step over an access of ours, whose leaf is given back: they
 * must not leave a leaf protected for their sake once they are gone). */
static unsigned sw_protected_temps(const insp_t *in)
{
    return in->step_protected ? INSP_STEP_BPS : 0;
}

/* Whether one of our int3s is in the leaf of 1 << @shift bytes at @base. */
static bool sw_in_leaf(const insp_t *in, uint64_t base, unsigned shift)
{
    return swbp_in_leaf(in->sw, INSP_MAX_SW_BPS, base, shift) ||
           swbp_in_leaf(in->sw_temp, sw_protected_temps(in), base, shift);
}

/* Whether we withhold rights anywhere in the EPT (then its violations are
 * ours to look at first: ew_take_violations). */
static bool ept_in_use(const insp_t *in)
{
    return ewatch_count(&in->ew) ||
           (bp_hiding(in) && (swbp_any(in->sw, INSP_MAX_SW_BPS) ||
                              swbp_any(in->sw_temp, sw_protected_temps(in))));
}

/* Whether a step's hidden int3 at a handler's entry is at @gpa and stays
 * for the guest's access (step_begin: the step's instruction does not
 * read or write it; ept_violation: unless the decoder does not know it). */
static bool step_entry_at(void *ctx, uint64_t gpa)
{
    const insp_t *in = ctx;
    for (unsigned i = 0; in->stepping && !in->lift_entries && i < in->n_step_bps; i++)
        if (in->step_bps[i].gpa == gpa)
            return true;
    return false;
}

/* A data access of the guest in a breakpoint's leaf: the guest's bytes
 * back in RAM for the step over it (swbp.h), a step's temporary int3s at
 * handlers' entries as gdb's. Not the one at @rip_gpa (the instruction
 * about to run: the exit is its fetch's page walk, and our int3 must run,
 * SDM Vol. 2A INT3), nor where a step has its int3 at a handler's entry
 * (step_begin counted on it to end the step if the instruction raises an
 * exception; it left none where the instruction itself reads or writes). */
static void bps_lift(insp_t *in, uint64_t rip_gpa)
{
    swbp_lift(in->sw, INSP_MAX_SW_BPS, in->ram, rip_gpa, step_entry_at, in);
    swbp_lift(in->sw_temp, INSP_STEP_BPS, in->ram, rip_gpa, step_entry_at, in);
}

/* The step is over: the byte there is the guest's (what it wrote over
 * it, if it did), the int3 back. */
static void bps_replant(insp_t *in)
{
    swbp_replant(in->sw, INSP_MAX_SW_BPS, in->ram);
    swbp_replant(in->sw_temp, INSP_STEP_BPS, in->ram);
}

static insp_swbp_t *find_bp(insp_t *in, uint64_t addr)
{
    return swbp_find(in->sw, INSP_MAX_SW_BPS, addr);     /* (a temporary one is not gdb's) */
}

static int sw_insert(insp_t *in, uint64_t addr)
{
    uint64_t gpa;
    if (find_bp(in, addr))
        return 0;                 /* E.2 "Z0": inserting twice is not an error */
    if (!target_translate(in, addr, &gpa))
        return -RSP_EFAULT;       /* not RAM: MMIO, unmapped, outside the VM */
    /* Hidden: EPT violations ours before the leaf is execute-only. */
    const bool hide = bp_hiding(in);
    if (hide && !ept_in_use(in) && !ew_take_violations(in, true))
        return -RSP_EPERM;
    if (!swbp_plant(in->sw, INSP_MAX_SW_BPS, addr, gpa, in->ram)) {
        if (hide && !ept_in_use(in))
            ew_take_violations(in, false);
        return -RSP_ENOSPC;
    }
    if (hide) {
        /* (Refused, the CPU without execute-only EPT found out: the
         * caller gives it a debug register if one is free.) */
        ew_protect_leaf(in, gpa);
        if (!ept_in_use(in))
            ew_take_violations(in, false);
    }
    return 0;
}

static void sw_remove(insp_t *in, insp_swbp_t *b)
{
    swbp_unplant(b, in->ram);
    if (bp_hiding(in)) {          /* its leaf as the rest needs it */
        ew_protect_leaf(in, b->gpa);
        if (!ept_in_use(in))
            ew_take_violations(in, false);
    }
}

/*
 * Hardware breakpoints and watchpoints in the guest's debug registers (SDM
 * Vol. 3B 17.2): the guest's own DR0-DR3/DR7 are kept aside while any slot
 * is ours and put back when the last goes. Meanwhile "MOV-DR exiting" (SDM
 * 24.6.2, 25.1.3) makes every MOV DR exit to us (dr_access): the guest
 * reads and writes its own values, never ours.
 */
static void set_movdr_exiting(insp_t *in, bool on)
{
    /* At L2, L1 may ask for L2's MOV DR exits itself (the L2 page says so,
     * nvmx_setup.h; nested-vmx adds ours at each entry while our overlay
     * is on): then the control stays. */
    if (!on && in->l2 && in->l2->l1_movdr)
        return;
    nestor_word_t ctl;
    const nestor_word_t field = VMCS_PROC_CONTROLS;
    if (nu_invoke(in->vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &ctl, 1) != NESTOR_OK)
        return;
    ctl = on ? ctl | PROC_MOV_DR_EXITING : ctl & ~(nestor_word_t)PROC_MOV_DR_EXITING;
    const nestor_word_t args[] = { field, ctl };
    nu_invoke(in->vcpu, NESTOR_VCPU_WRITE_VMCS, args, 2, 0, 0, 0, 0);
}

static nestor_word_t *dr_slot(insp_t *in, unsigned i)
{
    nestor_word_t *drs[X86_DEBUG_SLOTS] = { &in->s->dr0, &in->s->dr1, &in->s->dr2, &in->s->dr3 };
    return drs[i];
}

static void hw_program(insp_t *in)
{
    const bool held = in->guest_dr_saved;
    bool any = false;
    for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
        any |= in->hw[i].used;
    if (any && !in->guest_dr_saved) {
        for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
            in->own_dr[i] = *dr_slot(in, i);
        *in->own_dr7 = in->s->dr7;
        in->guest_dr_saved = true;
    }
    if (!in->guest_dr_saved)
        return;
    for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
        *dr_slot(in, i) = in->hw[i].used ? in->hw[i].addr : any ? 0 : in->own_dr[i];
    const nestor_word_t dr7 = dregs_dr7(in->hw, X86_DEBUG_SLOTS);
    in->s->dr7 = any ? dr7 : *in->own_dr7;
    if (in->l2) {
        /* Our overlay for nested-vmx: it puts ours in at each entry of L2
         * and L2's own out at each exit to L1 (nvmx_setup.h). */
        for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
            in->l2->dr[i] = *dr_slot(in, i);
        in->l2->dr7 = dr7;
        in->l2->debug = any ? in->l2->debug | NVMX_L2_DEBUG_OVERLAY
                            : in->l2->debug & ~(uint64_t)NVMX_L2_DEBUG_OVERLAY;
    }
    if (held != any)
        set_movdr_exiting(in, any);
    in->guest_dr_saved = any;
    in->dirty |= NESTOR_MTD_DEBUG;
}

static int hw_breakpoint(insp_t *in, bool insert, enum rsp_bp_type type, uint64_t addr,
                         unsigned kind)
{
    unsigned rw, len;
    /* (A Z0 in a debug register is an instruction breakpoint, SDM 17.2.5.) */
    int rc = dregs_check(type == RSP_BP_SOFTWARE ? RSP_BP_HARDWARE : type, addr, kind, &rw,
                         &len);
    if (rc)
        return rc;
    kind = len;
    for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++) {
        insp_hwbp_t *h = &in->hw[i];
        if (h->used && h->addr == addr && h->rw == rw && h->kind == kind && h->type == type) {
            if (!insert) {
                h->used = false;
                hw_program(in);
            }
            return 0;
        }
    }
    if (!insert)
        return -RSP_ENOENT;
    for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
        if (!in->hw[i].used) {
            in->hw[i] = (insp_hwbp_t){ .addr = addr, .kind = kind, .rw = rw,
                                       .type = type, .used = true };
            hw_program(in);
            return 0;
        }
    /* gdb's hardware breakpoints and watchpoints first: a Z0 that holds a
     * slot goes to RAM (as an int3, visible without execute-only EPT) and
     * gives it up. */
    for (unsigned i = 0; type != RSP_BP_SOFTWARE && i < X86_DEBUG_SLOTS; i++)
        if (in->hw[i].used && in->hw[i].type == RSP_BP_SOFTWARE &&
            sw_insert(in, in->hw[i].addr) == 0) {
            in->hw[i] = (insp_hwbp_t){ .addr = addr, .kind = kind, .rw = rw,
                                       .type = type, .used = true };
            hw_program(in);
            return 0;
        }
    return -RSP_ENOSPC;           /* four debug registers */
}

/* ---- watchpoints by EPT protection (ewatch.h) ---- */

/* At L2 the EPT is nested-vmx's EPT02 and @gpa L1-physical: the same
 * request to nested-vmx (nvmx_insp.h NVMX_INSP_PROTECT), which withholds
 * the rights in every EPT02 entry into @gpa's region of L1's RAM (never
 * more than EPT12 gives) and answers as the kernel does; its refusals as
 * the kernel's (NVMX_INSP_E_NO_XO: execute-only EPT missing, SDM A.10). */
static nestor_error_t l2_protect(insp_t *in, uint64_t gpa, unsigned withhold, unsigned *shift,
                                 unsigned *before)
{
    nu_msg_t m = { .info = nestor_msginfo(NVMX_INSP_PROTECT, 0, 0, 2), .mr = { gpa, withhold } };
    if (nu_call(in->ept, &m) != NESTOR_OK)
        return NESTOR_ERR_FAILED_LOOKUP;
    if (nestor_msginfo_label(m.info) == NVMX_REQ_OK) {
        *shift = (unsigned)m.mr[0];
        *before = (unsigned)m.mr[2];
        return NESTOR_OK;
    }
    return m.mr[0] == NVMX_INSP_E_NO_XO   ? NESTOR_ERR_ILLEGAL_OPERATION
           : m.mr[0] == NVMX_INSP_E_RANGE ? NESTOR_ERR_RANGE
                                          : NESTOR_ERR_INVALID_ARGUMENT;
}

/* Withhold @withhold of the rights of the EPT leaf mapping @gpa (our
 * capability is restricted to the VM's RAM: NESTOR_EPT_PROTECT refuses
 * anything else, and never gives a page more than the VMM mapped it with).
 * *@shift: the leaf's level; *@before: what it withheld before. */
static nestor_error_t ept_protect(insp_t *in, uint64_t gpa, unsigned withhold, unsigned *shift,
                                  unsigned *before)
{
    if (in->l2)
        return l2_protect(in, gpa, withhold, shift, before);
    const nestor_word_t args[] = { gpa, withhold };
    nestor_word_t res[3];
    const nestor_error_t e = nu_invoke(in->ept, NESTOR_EPT_PROTECT, args, 2, 0, 0, res, 3);
    if (e == NESTOR_OK) {
        *shift = (unsigned)res[0];
        *before = (unsigned)res[2];
    }
    return e;
}

/* An EPT violation of vcpu02 at L2-physical @gpa2 (qualification @qual):
 * nested-vmx says whose it is (NVMX_INSP_FAULT: L1's where EPT12 refuses
 * the access, EPT02's lazy building where nothing of ours forbids it) and,
 * if ours, its L1-physical address (*@gpa1), what our watches and int3s
 * are kept in. */
static bool l2_violation_ours(insp_t *in, uint64_t gpa2, uint64_t qual, uint64_t *gpa1)
{
    nu_msg_t m = { .info = nestor_msginfo(NVMX_INSP_FAULT, 0, 0, 2), .mr = { gpa2, qual } };
    if (nu_call(in->ept, &m) != NESTOR_OK || nestor_msginfo_label(m.info) != NVMX_REQ_OK ||
        m.mr[0] != NVMX_INSP_MINE || m.mr[1] >= in->ram_bytes)
        return false;
    *gpa1 = m.mr[1];
    return true;
}

/*
 * 4 KiB leaves under our protections. The VMM maps RAM in 2 MiB frames;
 * protected whole, every access to the leaf (the guest's stack, data and
 * page tables beside a watched global or a breakpoint's code) would exit
 * and be stepped. So the 2 MiB leaf that holds a page we protect is split
 * first (NESTOR_EPT_SPLIT: the kernel puts 512 4 KiB entries of the same
 * frame, type and rights in an EPT PT of ours, kernel/ept.c) and we
 * withhold rights of that page alone (SDM 28.3.2): only the accesses to
 * it exit (28.3.3.2). The leaf is joined back (the PT unmapped) when no
 * page in it needs a protection any more; the PT stays ours for the next.
 * Where a split cannot be had (no memory for the PT, the option
 * inspector.no-split) we protect whole leaves again, as before: our
 * judging by address then covers the 2 MiB (leaf_bits), and a violation
 * in a page we did not protect is passed on (ept_violation: nothing
 * withheld there). If the VMM maps the frame again (our PT emptied by the
 * kernel), the kernel reports a 2 MiB leaf and we split it again.
 */
static insp_split_t *split_find(insp_t *in, uint64_t base)
{
    for (unsigned i = 0; i < INSP_SPLITS; i++)
        if (in->splits[i].used && in->splits[i].base == base)
            return &in->splits[i];
    return 0;
}

/* Split the 2 MiB leaf over @gpa: true if it is now (false too where the
 * kernel finds a 4 KiB leaf, a VMM's 4 KiB mapping, or nothing there;
 * any other refusal, or no memory for a PT: whole leaves from now on). */
static bool split_leaf(insp_t *in, uint64_t gpa)
{
    const uint64_t base = gpa & ~((1ULL << in->frame_bits) - 1);
    insp_split_t *s = split_find(in, base);
    if (s) {                      /* ours, gone with a remap: the PT back first */
        nu_page_table_unmap(s->pt);
        s->used = false;
    }
    for (unsigned i = 0; !s && i < INSP_SPLITS; i++)    /* a PT we have */
        if (!in->splits[i].used && in->splits[i].pt)
            s = &in->splits[i];
    for (unsigned i = 0; !s && i < INSP_SPLITS; i++)
        if (!in->splits[i].used) {
            in->splits[i].pt = nu_alloc_obj(&in->alloc, NESTOR_OBJ_EPT_PT, 0);
            if (in->splits[i].pt)
                s = &in->splits[i];
            break;
        }
    const nestor_word_t arg = base;
    const nestor_error_t e = s ? nu_invoke(in->ept, NESTOR_EPT_SPLIT, &arg, 1, &s->pt, 1, 0, 0)
                               : NESTOR_ERR_NOT_ENOUGH_MEMORY;
    if (e == NESTOR_OK) {
        s->base = base;
        s->used = true;
        in->splits_made++;
        return true;
    }
    if (e != NESTOR_ERR_ILLEGAL_OPERATION && e != NESTOR_ERR_FAILED_LOOKUP)
        in->leaf_bits = in->frame_bits;   /* whole leaves from now on (above) */
    return false;
}

/* What the leaf of 1 << @shift bytes at @base must withhold for every
 * watch and hidden int3 in it. */
static unsigned leaf_wants(insp_t *in, uint64_t base, unsigned shift)
{
    unsigned want = ewatch_leaf_withhold(&in->ew, base, shift);
    /* Our int3s there: read and write (execute-only). */
    if (bp_hiding(in) && sw_in_leaf(in, base, shift))
        want |= NESTOR_EPT_WITHHOLD_RW;
    /* Read and write withheld leave the leaf execute-only, which the CPU
     * may not have (SDM 28.3.3.1, A.10): then all three (the fetches from
     * it exit too, and step on silently). */
    if (want == NESTOR_EPT_WITHHOLD_RW && in->ept_all)
        want = NESTOR_EPT_WITHHOLD_ALL;
    return want;
}

/* The split leaf over @gpa joined back if no page in it needs a
 * protection of ours. */
static void join_leaf_if_idle(insp_t *in, uint64_t gpa)
{
    const uint64_t base = gpa & ~((1ULL << in->frame_bits) - 1);
    insp_split_t *s = split_find(in, base);
    if (!s || leaf_wants(in, base, in->frame_bits))
        return;
    nu_page_table_unmap(s->pt);
    s->used = false;
}

/* The leaf mapping @gpa protected as every watch in it needs now. The VMM
 * maps RAM in 2 MiB frames but may map some of it in 4 KiB pages: the
 * kernel says which leaf it is (its level), and the rights follow that.
 * A 2 MiB leaf with a page to protect is split first, before any right is
 * withheld (what the leaf withholds at the split, every piece does). */
static bool ew_protect_leaf(insp_t *in, uint64_t gpa)
{
    const uint64_t region = gpa & ~((1ULL << in->frame_bits) - 1);
    if (in->leaf_bits == EWATCH_PAGE_BITS && !split_find(in, region) &&
        leaf_wants(in, gpa & ~(EWATCH_PAGE - 1), EWATCH_PAGE_BITS))
        split_leaf(in, gpa);
    unsigned shift = in->leaf_bits, before;
    for (unsigned tries = 0; tries < 4; tries++) {
        const uint64_t base = gpa & ~((1ULL << shift) - 1);
        const unsigned want = leaf_wants(in, base, shift);
        unsigned got;
        const nestor_error_t e = ept_protect(in, gpa, want, &got, &before);
        if (e == NESTOR_ERR_ILLEGAL_OPERATION && want == NESTOR_EPT_WITHHOLD_RW) {
            in->ept_all = true;
            continue;
        }
        if (e != NESTOR_OK)
            return false;
        if (got == shift) {
            if (!want && got < in->frame_bits)
                join_leaf_if_idle(in, gpa);
            return true;
        }
        /* Our split gone (the VMM mapped the frame again, the kernel
         * emptied our PT): the leaf's rights back, split again. (The
         * other pages' protections there went with the remap.) */
        if (got > shift && in->leaf_bits == EWATCH_PAGE_BITS && split_find(in, region) &&
            ept_protect(in, gpa, NESTOR_EPT_WITHHOLD_NONE, &got, &before) == NESTOR_OK &&
            split_leaf(in, gpa))
            continue;
        shift = got;
    }
    return false;
}

/* The leaves of watch @i (page by page) protected as all watches need. */
static bool ew_apply(insp_t *in, int i)
{
    uint64_t page[2];
    unsigned n;
    bool ok = true;
    ewatch_leaves(&in->ew, i, EWATCH_PAGE_BITS, page, &n);
    for (unsigned k = 0; k < n; k++)
        ok &= ew_protect_leaf(in, page[k]);
    return ok;
}

/* EPT violations come to us only while an EPT watchpoint is set: every
 * MMIO access of the VM exits as one (the VMM's devices), and a VM we do
 * not watch that way must not pay a round trip through us for each. The
 * VMM's table at our level has #DB, #BP, our pauses and MOV DR; we put
 * one of our own there (the VCPU is ours to stack on, at our level only,
 * as nested-vmx does for vcpu02), with the EPT slot (@on) or without. */
static bool ew_take_violations(insp_t *in, bool on)
{
    nestor_cptr_t *t = on ? &in->table_ew : &in->table_plain;
    const unsigned n = on ? INSP_EXIT_SLOTS : INSP_EXIT_SLOTS - 1;
    if (!*t) {
        const nestor_cptr_t table = nu_alloc_obj(&in->alloc, NESTOR_OBJ_CNODE,
                                                 NESTOR_EXIT_TABLE_RADIX);
        for (unsigned i = 0; table && i < n; i++)
            if (nu_cnode_mint(table, insp_exit_slots[i], NESTOR_EXIT_TABLE_RADIX,
                              in->alloc.cnode, in->ep, 64, CM_EXIT_RIGHTS, CM_BADGE_EXIT))
                return false;
        *t = table;
    }
    const nestor_word_t level = in->level;
    return *t && nu_invoke(in->vcpu, NESTOR_VCPU_SET_EXIT_TABLE, &level, 1, t, 1, 0, 0) ==
                     NESTOR_OK;
}

static int ew_breakpoint(insp_t *in, bool insert, enum rsp_bp_type type, uint64_t addr,
                         unsigned kind)
{
    int rc = ewatch_check(type, addr, kind);
    if (rc)
        return rc;
    if (!insert) {
        const int i = ewatch_remove(&in->ew, type, addr, kind);
        if (i < 0)
            return i;
        if (!ept_in_use(in))
            ew_take_violations(in, false);
        return ew_apply(in, i) ? 0 : -RSP_EIO;
    }
    /* Its bytes in RAM, page by page (MMIO and unmapped pages refused). */
    const unsigned len0 = ewatch_first_len(addr, kind);
    uint64_t gpa0, gpa1 = 0;
    if (!target_translate(in, addr, &gpa0) ||
        (len0 < kind && !target_translate(in, addr + len0, &gpa1)))
        return -RSP_EFAULT;
    const bool first = !ept_in_use(in);
    const int i = ewatch_add(&in->ew, type, addr, kind, gpa0, gpa1);
    if (i < 0)
        return i;
    if (first && !ew_take_violations(in, true)) {
        ewatch_remove(&in->ew, type, addr, kind);
        return -RSP_EPERM;
    }
    if (!ew_apply(in, i)) {
        /* Refused (the kernel's reason: a leaf outside our range, a
         * mapping without the rights to withhold): the leaves as they were. */
        ewatch_remove(&in->ew, type, addr, kind);
        ew_apply(in, i);
        if (first)
            ew_take_violations(in, false);
        return -RSP_EPERM;
    }
    return 0;
}

static int t_breakpoint(void *ctx, bool insert, enum rsp_bp_type type, uint64_t addr,
                        unsigned kind)
{
    insp_t *in = I(ctx);
    if (in->state != TGT_STOPPED)
        return -RSP_EBUSY;
    /* (At L2 the debug registers are an overlay nested-vmx keeps apart
     * from L2's and L1's, hw_program; the EPT is nested-vmx's EPT02, our
     * rights withheld there on request, in->ept our capability for them:
     * ept_protect.) */
    if (type != RSP_BP_SOFTWARE) {
        /* A data watchpoint the debug registers cannot take (all four
         * ours, a length or alignment DR7 has not, a read-only one) or do
         * not hold: by EPT protection where the VMM gave us its EPT. */
        const int rc = hw_breakpoint(in, insert, type, addr, kind);
        if (rc != 0 && type != RSP_BP_HARDWARE && in->ept)
            return ew_breakpoint(in, insert, type, addr, kind);
        return rc;
    }
    if (kind != 1)
        return -RSP_EINVAL;       /* x86: int3 is one byte */
    if (insert) {
        /* Hidden in its EPT leaf, else in a free debug register, else a
         * visible int3 (above, "Breakpoints the guest cannot see"). */
        uint64_t gpa;
        if (!target_translate(in, addr, &gpa))
            return -RSP_EFAULT;   /* (as an int3: MMIO, unmapped, outside the VM) */
        if (bp_dr_first(in) && hw_breakpoint(in, true, type, addr, kind) == 0)
            return 0;
        const bool hide = bp_hiding(in);
        const int rc = sw_insert(in, addr);
        insp_swbp_t *b = find_bp(in, addr);
        if (rc == 0 && hide && bp_dr_first(in) && b &&
            hw_breakpoint(in, true, type, addr, kind) == 0)
            sw_remove(in, b);
        return rc;
    }
    insp_swbp_t *b = find_bp(in, addr);
    if (!b)
        return hw_breakpoint(in, false, type, addr, kind);
    sw_remove(in, b);
    return 0;
}

/* ---- run control ---- */

static unsigned t_threads(void *ctx)
{
    (void)ctx;
    return 1;                     /* one vCPU per VM today (BINDINGS.md) */
}

/*
 * Single steps the guest does not see. SDM 17.3.1.4: with TF set the CPU
 * takes a #DB (DR6.BS) after the next instruction; the #DB exits to us
 * (exception bitmap, SDM 25.2), and the guest never sees it. Our TF must
 * not show where the instruction stores RFLAGS (dregs.h): PUSHF's image on
 * the stack and SYSCALL's R11 lose it after the step. An exception or INT
 * n delivered during the step (INT3, INTO, INT1, a fault the instruction
 * raises, one the VMM injects for it, an interrupt it injects before the
 * instruction) enters its handler with TF clear (SDM Vol. 3A 6.12.1.2), so
 * the step could only end after the handler's IRET: hidden int3s at the
 * handlers' first instructions end it there instead, as gdb expects of a
 * bare machine, and the frame's RFLAGS image loses our TF. Those int3s are
 * temporary software breakpoints (swbp.h), hidden from the guest as gdb's
 * are (above), and none is where the instruction reads or writes. The IF
 * we clear for the step (mask_if) is hidden in the same places.
 */
#define TF_IMAGE_BYTE  1                          /* TF, IF: bits 8, 9, byte 1 of the image */
#define FRAME_RFLAGS   2                          /* slots below it: (E/R)IP, CS (6.12.1, 6.14.2) */

/* The guest's IDT (or real mode's IVT) as the step began: read once per
 * step, not per vector (each read walks the guest's page tables). */
static uint8_t idt_copy[X86_VECTORS * X86_IDT_GATE_SIZE_64];
static size_t idt_bytes;

static void read_idt(insp_t *in)
{
    const nestor_vcpu_state_t *s = in->s;
    size_t n = (size_t)s->idtr_limit + 1;
    if (n > sizeof idt_copy)
        n = sizeof idt_copy;
    idt_bytes = read_linear(in, s->idtr_base, idt_copy, n);
}

/* Where vector @v's handler starts: its RIP, its linear address and the
 * size of its frame's slots. Real mode: the IVT (SDM Vol. 3A 20.1.4);
 * IA-32e mode: a 16-byte 64-bit gate (6.14.1); else an 8-byte interrupt
 * or trap gate (6.11) through a GDT or LDT code descriptor (3.4.5). Task
 * gates (the handler is another task: 7.3, its TSS's EIP), absent gates
 * and gates beyond the IDT's limit are not followed (false). @desc caches
 * the last code descriptor read. */
static bool handler_of(insp_t *in, unsigned v, uint64_t *rip, uint64_t *lin, unsigned *word,
                       bool *trap, uint64_t desc[2])
{
    const nestor_vcpu_state_t *s = in->s;
    if (!(s->cr0 & X86_CR0_PE)) {
        uint16_t ivt[2];
        if ((uint64_t)X86_IVT_ENTRY_SIZE * v + sizeof ivt > idt_bytes)
            return false;
        memcpy(ivt, idt_copy + X86_IVT_ENTRY_SIZE * v, sizeof ivt);
        *rip = ivt[0];
        *lin = ((uint64_t)ivt[1] << X86_REAL_SEG_SHIFT) + ivt[0];
        *word = sizeof(uint16_t);
        *trap = false;            /* real mode clears IF (20.1.4) */
        return true;
    }
    const bool ia32e = s->efer & X86_EFER_LMA;
    const unsigned size = ia32e ? X86_IDT_GATE_SIZE_64 : X86_IDT_GATE_SIZE;
    uint64_t g[2] = { 0, 0 };
    if ((uint64_t)size * v + size > idt_bytes)
        return false;
    memcpy(g, idt_copy + (size_t)size * v, size);
    if (!(g[0] & X86_DESC_P))
        return false;
    const unsigned type = X86_DESC_TYPE(g[0]);
    if (type != X86_GATE_INT32 && type != X86_GATE_TRAP32 &&
        (ia32e || (type != X86_GATE_INT16 && type != X86_GATE_TRAP16)))
        return false;
    /* 6.12.1.3: an interrupt gate clears IF, a trap gate leaves it. */
    *trap = type == X86_GATE_TRAP32 || type == X86_GATE_TRAP16;
    uint64_t off = X86_GATE_OFFSET(g[0]);
    if (ia32e) {
        *rip = *lin = off | g[1] << 32;
        *word = sizeof(uint64_t);
        return true;
    }
    *word = (type & X86_GATE_32BIT) ? sizeof(uint32_t) : sizeof(uint16_t);
    if (*word == sizeof(uint16_t))
        off = (uint16_t)off;
    const unsigned sel = X86_GATE_SEL(g[0]);
    if (desc[0] != sel) {
        /* The code segment's descriptor in the GDT, or with the selector's
         * TI bit in the LDT that LDTR holds (SDM Vol. 3A 3.4.2, 3.5.1). */
        const bool ldt = sel & X86_SEL_TI;
        if (ldt && (s->ldtr.ar & X86_AR_UNUSABLE))
            return false;
        const uint64_t base = ldt ? s->ldtr.base : s->gdtr_base;
        const uint64_t limit = ldt ? s->ldtr.limit : s->gdtr_limit;
        uint64_t d;
        if ((sel & ~7u) + sizeof d - 1 > limit ||
            read_linear(in, base + (sel & ~7u), &d, sizeof d) != sizeof d)
            return false;
        desc[0] = sel;
        desc[1] = d;
    }
    *rip = off;
    *lin = (uint32_t)(X86_DESC_BASE(desc[1]) + off);
    return true;
}

/* The guest's RFLAGS image in @v, where the step stored ours: its own TF
 * and IF, not the TF we set and the IF we cleared (mask_if). */
static uint64_t guest_flags(const insp_t *in, uint64_t v)
{
    if (!in->guest_tf)
        v &= ~X86_RFLAGS_TF;
    if (in->if_masked)
        v |= X86_RFLAGS_IF_BIT;
    return v;
}

/* The guest's TF and IF in an RFLAGS image at guest-linear @va (both in
 * its second byte). */
static void fix_image(insp_t *in, uint64_t va)
{
    uint8_t b;
    if (read_linear(in, va + TF_IMAGE_BYTE, &b, 1) != 1)
        return;
    const uint8_t g = (uint8_t)(guest_flags(in, (uint64_t)b << 8 * TF_IMAGE_BYTE) >>
                                8 * TF_IMAGE_BYTE);
    if (g != b)
        write_linear(in, va + TF_IMAGE_BYTE, &g, 1);
}

/* The guest-physical bytes an instruction's accesses touch (insn_at_rip),
 * each access in at most two pages (an access is at most a page long). */
#define STEP_RANGES (2 * INSN_ACCESS_MAX)
typedef struct {
    uint64_t gpa;
    uint64_t len;
} gpa_range_t;

static unsigned access_ranges(insp_t *in, const insn_access_t *a, int k,
                              gpa_range_t r[STEP_RANGES])
{
    unsigned n = 0;
    for (int i = 0; i < k; i++)
        for (uint64_t off = 0; off < a[i].len && n < STEP_RANGES;) {
            const uint64_t lin = a[i].lin + off;
            uint64_t len = PAGE_SIZE - (lin & (PAGE_SIZE - 1));
            if (len > a[i].len - off)
                len = a[i].len - off;
            if (target_translate(in, lin, &r[n].gpa))
                r[n++].len = len;
            off += len;
        }
    return n;
}

static bool ranges_cover(const gpa_range_t *r, unsigned n, uint64_t gpa)
{
    for (unsigned i = 0; i < n; i++)
        if (gpa - r[i].gpa < r[i].len)
            return true;
    return false;
}

/* A hidden int3 at the entry @rip (guest-linear @lin) of vector @vector's
 * handler, or of SYSCALL's (STEP_BP_SYSCALL), for this step: a temporary
 * software breakpoint, hidden from the guest's reads and writes as gdb's
 * are (above, "Breakpoints the guest cannot see"). One of gdb's own
 * breakpoints there, or one of ours for another vector, serves too. None
 * where the step's instruction reads or writes that byte itself (@r,
 * decoded, @r its @nr guest-physical ranges: through any mapping), so
 * that even where nothing hides an int3 (no execute-only EPT, at L2) the
 * guest reads its own byte; but for inspector.plain-int3. */
static void hide_bp(insp_t *in, unsigned vector, uint64_t rip, uint64_t lin, unsigned word,
                    bool trap, const gpa_range_t *r, unsigned nr)
{
    /* The page of the last translation (handlers share a few pages). */
    static uint64_t last_va = ~0ull, last_gpa;
    uint64_t gpa;
    if (in->n_step_bps >= INSP_STEP_BPS)
        return;
    if (in->n_step_bps && (lin & ~(uint64_t)(PAGE_SIZE - 1)) == last_va) {
        gpa = last_gpa | (lin & (PAGE_SIZE - 1));
    } else {
        if (!target_translate(in, lin, &gpa))
            return;
        last_va = lin & ~(uint64_t)(PAGE_SIZE - 1);
        last_gpa = gpa & ~(uint64_t)(PAGE_SIZE - 1);
    }
    if (!in->int3_plain && ranges_cover(r, nr, gpa))
        return;
    /* gdb's there, or ours for another vector (handlers share a stub). */
    bool taken = false;
    for (unsigned i = 0; i < INSP_MAX_SW_BPS && !taken; i++)
        taken = in->sw[i].used && !in->sw[i].lifted && in->sw[i].gpa == gpa;
    for (unsigned i = 0; i < in->n_step_bps && !taken; i++)
        taken = in->step_bps[i].bp && in->step_bps[i].gpa == gpa;
    insp_stepbp_t *b = &in->step_bps[in->n_step_bps++];
    *b = (insp_stepbp_t){ .rip = rip, .gpa = gpa, .vector = (uint16_t)vector,
                          .word = (uint8_t)word, .trap = trap };
    if (!taken) {
        b->bp = swbp_plant(in->sw_temp, INSP_STEP_BPS, lin, gpa, in->ram);
        if (b->bp)
            b->bp->temp = true;
    }
}

/* The leaves of the step's temporary int3s (planted, or just removed)
 * protected as every breakpoint and watch there needs now, one call per
 * page they are in (handlers share a few). */
static void step_leaves_protect(insp_t *in)
{
    for (unsigned i = 0; i < in->n_step_bps; i++) {
        const insp_stepbp_t *b = &in->step_bps[i];
        bool seen = false;
        for (unsigned j = 0; j < i && !seen; j++)
            seen = in->step_bps[j].bp &&
                   in->step_bps[j].gpa >> EWATCH_PAGE_BITS == b->gpa >> EWATCH_PAGE_BITS;
        if (b->bp && !seen)
            ew_protect_leaf(in, b->gpa);
    }
}

/* The leaves of the step's int3s protected (step_leaves_protect:
 * execute-only where they are hidden); EPT violations ours while any is. Not during a step over an access of ours (the rights are back
 * for that instruction: ew_step_end withholds them again). */
static void step_bps_protect(insp_t *in, bool was_in_use)
{
    in->step_protected = bp_hiding(in) && !in->n_ew_leaves;
    if (!in->step_protected)
        return;
    if (!was_in_use && ept_in_use(in) && !ew_take_violations(in, true)) {
        in->step_protected = false;
        return;
    }
    step_leaves_protect(in);
}

/* No maskable interrupt inside a step (as QEMU's gdbstub): with the
 * guest's IF 1, ours is 0 until the step ends (step_end gives it back), so
 * the VMM injects none (its injection needs IF, SDM Vol. 3C 26.3.1.5; the
 * window it opens instead cannot open with IF 0, 25.2) and gdb's stepi
 * does not land in a timer's handler. NMIs are not masked by IF (Vol. 3A
 * 6.8.1): one may still come, and the step ends at its handler. Not over
 * HLT (with IF 0 it would wait for nothing: the VMM stops such a guest),
 * and not at L2 (L1 reads and injects by L2's IF: a step there keeps the
 * guest's). Whether the instruction writes IF itself (step_end keeps
 * that): CLI, STI and SYSRET always (Vol. 2A CLI, Vol. 2B STI, SYSRET:
 * RFLAGS <- R11); POPF and IRET in real mode, in virtual-8086 mode with
 * IOPL 3, else with CPL <= IOPL (Vol. 2B POPF, Vol. 2A IRET; CPL is
 * SS.DPL, Vol. 3C 24.4.1), as before the instruction. */
static void mask_if(insp_t *in)
{
    nestor_vcpu_state_t *s = in->s;
    in->if_masked = (s->rflags & X86_RFLAGS_IF_BIT) && if_maskable(in);
    if (in->if_masked)
        s->rflags &= ~X86_RFLAGS_IF_BIT;
    const unsigned iopl = (s->rflags >> X86_RFLAGS_IOPL_SHIFT) & X86_RFLAGS_IOPL_MASK;
    const unsigned cpl = (s->ss.ar >> X86_AR_DPL_SHIFT) & X86_AR_DPL_MASK;
    const bool privileged = !(s->cr0 & X86_CR0_PE) ||
                            ((s->rflags & X86_RFLAGS_VM) ? iopl == X86_RFLAGS_IOPL_MASK
                                                         : cpl <= iopl);
    switch (in->step.kind) {
    case STEP_CLI_STI: case STEP_SYSRET:
        in->step_sets_if = true;
        break;
    case STEP_POPF: case STEP_IRET:
        in->step_sets_if = privileged;
        break;
    default:
        in->step_sets_if = false;
    }
}

static void step_begin(insp_t *in)
{
    nestor_vcpu_state_t *s = in->s;
    uint8_t code[DREGS_INSN_MAX];
    const size_t n = read_linear(in, linear(s, &s->cs, s->rip, false), code, sizeof code);
    dregs_step_insn(code, (unsigned)n, mode64(s), &in->step);
    in->step_rip = s->rip;
    in->n_step_bps = 0;
    /* The bytes the instruction reads and writes (none if not known). */
    insn_access_t acc[INSN_ACCESS_MAX];
    gpa_range_t r[STEP_RANGES];
    const unsigned nr = access_ranges(in, acc, insn_at_rip(in, acc), r);
    const bool was_in_use = ept_in_use(in);
    /* Every vector's handler: an exception (an instruction's fault, an
     * NMI), an INT n, and an external interrupt (vectors 32-255) the VMM
     * injects at an exit before the instruction runs, each enters its
     * handler with TF clear (SDM Vol. 3A 6.12.1.2), where the step ends as
     * on a bare machine, before the handler's first instruction (17.3.1.4).
     * The int3s are hidden (above). */
    read_idt(in);
    uint64_t desc[2] = { ~0ull, 0 };
    const uint64_t here = linear(s, &s->cs, s->rip, false);
    for (unsigned v = 0; v < X86_VECTORS; v++) {
        uint64_t rip, lin;
        unsigned word;
        bool trap;
        if (handler_of(in, v, &rip, &lin, &word, &trap, desc) && lin != here)
            hide_bp(in, v, rip, lin, word, trap, r, nr);   /* (never where the step starts) */
    }
    /* SDM Vol. 2B SYSCALL: RIP <- IA32_LSTAR, RFLAGS &= ~IA32_FMASK; with
     * TF in FMASK (as Linux has it) no trap follows (17.3.1.4: TF is clear
     * when it completes), so the entry gets an int3 too. */
    if (in->step.kind == STEP_SYSCALL && mode64(s) && s->lstar != here)
        hide_bp(in, STEP_BP_SYSCALL, s->lstar, s->lstar, 0, false, r, nr);
    step_bps_protect(in, was_in_use);
    in->guest_tf = s->rflags & X86_RFLAGS_TF;
    s->rflags |= X86_RFLAGS_TF;
    mask_if(in);
    in->dirty |= NESTOR_MTD_RFLAGS;
    in->stepping = true;
    /* At L2 the step may exit to L1 (an instruction L1 intercepts, L1's
     * interrupt): nested-vmx hides our TF and trap from L1 and goes on
     * with the step when L1 enters L2 again (nvmx_setup.h). */
    if (in->l2)
        in->l2->debug |= NVMX_L2_DEBUG_STEP | (in->guest_tf ? NVMX_L2_DEBUG_GUEST_TF : 0);
}

/* The step ended at a handler's entry (one of our hidden int3s): the
 * frame the delivery pushed there, (E/R)IP (after an error code, for the
 * exceptions that push one outside real mode: SDM Vol. 3A 6.13, Table
 * 6-1; an INT n never does), CS, RFLAGS. It is a frame of this step only
 * if its IP is where the step began (a fault, an event before the
 * instruction) or after it (INT n): a CALL to a handler pushes neither.
 * Vectors sharing a handler that disagree on the error code leave it.
 * True if it is (@trap: through trap gates only, IF as it was, SDM Vol. 3A
 * 6.12.1.3), the frame's image then the guest's TF and IF (fix_image). */
static bool fix_frame(insp_t *in, bool *trap)
{
    nestor_vcpu_state_t *s = in->s;
    const bool real = !(s->cr0 & X86_CR0_PE);
    int err = -1;
    unsigned word = 0;
    for (unsigned i = 0; i < in->n_step_bps; i++) {
        const insp_stepbp_t *b = &in->step_bps[i];
        if (b->rip != s->rip || b->vector == STEP_BP_SYSCALL)
            continue;
        const bool soft = in->step.kind == STEP_INT && b->vector == in->step.vector;
        const int e = !real && !soft && x86_exception_has_error(b->vector);
        if ((err >= 0 && e != err) || (word && word != b->word))
            return false;
        err = e;
        word = b->word;
        *trap = *trap && b->trap;
    }
    if (err < 0)
        return false;
    uint64_t ip = 0;
    const uint64_t at = s->rsp + (uint64_t)err * word;
    if (read_linear(in, linear(s, &s->ss, at, true), &ip, word) != word)
        return false;
    if (ip != in->step_rip && !(in->step.len && ip == in->step_rip + in->step.len))
        return false;
    fix_image(in, linear(s, &s->ss, at + FRAME_RFLAGS * word, true));
    return true;
}

/* The guest's IF back at the step's end (mask_if cleared it). An event the
 * step delivered (@frame) through an interrupt gate cleared it, as it
 * would have (SDM Vol. 3A 6.12.1.3); through trap gates (@trap) it is the
 * guest's. An instruction that wrote IF itself and completed (RIP moved)
 * keeps what it wrote; STI, which executed with our IF 0, opened an
 * interrupt shadow that the guest's IF 1 would not have (Vol. 2B STI:
 * blocking only if IF was 0; Vol. 3C 24.4.2, blocking by STI): it goes.
 * Anything else (the #DB of a plain instruction, a stop before it ran) has
 * the guest's IF. */
static void give_if_back(insp_t *in, bool frame, bool trap)
{
    nestor_vcpu_state_t *s = in->s;
    if (frame) {
        if (trap)
            s->rflags |= X86_RFLAGS_IF_BIT;
    } else if (in->step_sets_if && s->rip != in->step_rip) {
        if (in->step.kind == STEP_CLI_STI && (s->rflags & X86_RFLAGS_IF_BIT) &&
            (s->interruptibility & X86_INTR_BLOCK_STI)) {
            s->interruptibility &= ~(nestor_word_t)X86_INTR_BLOCK_STI;
            in->dirty |= NESTOR_MTD_INTR;
        }
    } else {
        s->rflags |= X86_RFLAGS_IF_BIT;
    }
    in->dirty |= NESTOR_MTD_RFLAGS;
}

/* The step is over (we hold an exit): our TF out of RFLAGS and out of
 * whatever the instruction stored it in; the hidden int3s out of RAM. */
static void step_end(insp_t *in)
{
    nestor_vcpu_state_t *s = in->s;
    /* (A guest that wrote over one meanwhile keeps what it wrote.) */
    for (unsigned i = 0; i < in->n_step_bps; i++)
        if (in->step_bps[i].bp)
            swbp_unplant(in->step_bps[i].bp, in->ram);
    if (in->step_protected) {     /* their leaves as the rest needs them */
        in->step_protected = false;
        step_leaves_protect(in);
        if (!ept_in_use(in))
            ew_take_violations(in, false);
    }
    in->stepping = false;
    if (in->l2)
        in->l2->debug &= ~(uint64_t)(NVMX_L2_DEBUG_STEP | NVMX_L2_DEBUG_GUEST_TF);
    bool frame = false, trap = true, if_done = false;
    if (!in->guest_tf || in->if_masked) {
        const insp_stepbp_t *sc = in->n_step_bps ? &in->step_bps[in->n_step_bps - 1] : NULL;
        if (in->step.kind == STEP_PUSHF && s->rip == in->step_rip + in->step.len) {
            fix_image(in, linear(s, &s->ss, s->rsp, true));
        } else if (in->step.kind == STEP_SYSCALL && sc && sc->vector == STEP_BP_SYSCALL &&
                   s->rip == sc->rip) {
            /* SDM Vol. 2B SYSCALL: R11 <- RFLAGS, RIP <- IA32_LSTAR,
             * RFLAGS <- RFLAGS AND NOT IA32_FMASK. */
            s->r11 = guest_flags(in, s->r11);
            in->dirty |= NESTOR_MTD_GPRS;
            if (in->if_masked && !(s->fmask & X86_RFLAGS_IF_BIT))
                s->rflags |= X86_RFLAGS_IF_BIT;
            if_done = true;
        } else {
            frame = fix_frame(in, &trap);
        }
    }
    if (!in->guest_tf)
        s->rflags &= ~X86_RFLAGS_TF;
    if (in->if_masked && !if_done)
        give_if_back(in, frame, trap);
    in->if_masked = false;
    in->dirty |= NESTOR_MTD_RFLAGS;
    in->n_step_bps = 0;
    in->step.kind = STEP_PLAIN;
    bps_replant(in);              /* (after the step's int3s are out) */
}

/* Let the held exit go: a deferred reply loads what we changed. */
static void release(insp_t *in, nestor_word_t label)
{
    const nestor_word_t args[] = { label, in->dirty & CHANGEABLE };
    nu_invoke(in->vcpu, NESTOR_VCPU_REPLY, args, 2, 0, 0, 0, 0);
    in->dirty = 0;
    in->state = TGT_RUNNING;
}

static int t_resume(void *ctx, const uint8_t *acts, unsigned n)
{
    insp_t *in = I(ctx);
    if (n != 1 || in->state != TGT_STOPPED)
        return -RSP_EBUSY;
    if (acts[0] == RSP_ACT_STEP && !in->stepping)
        step_begin(in);
    release(in, NESTOR_EXIT_REPLY_RESUME);
    return 0;
}

void target_pause(insp_t *in)
{
    if (in->state != TGT_RUNNING)
        return;
    const nestor_word_t level = in->level;
    if (nu_invoke(in->vcpu, NESTOR_VCPU_PAUSE, &level, 1, 0, 0, 0, 0) == NESTOR_OK)
        in->state = TGT_STOPPING;
}

static void t_interrupt(void *ctx)
{
    insp_t *in = I(ctx);
    in->interrupt_pending = true;
    target_pause(in);
}

static void t_detach(void *ctx)
{
    insp_t *in = I(ctx);
    for (unsigned i = 0; i < INSP_MAX_SW_BPS; i++)
        if (in->sw[i].used)
            sw_remove(in, &in->sw[i]);
    for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
        in->hw[i].used = false;
    hw_program(in);
    const bool any_ew = ewatch_count(&in->ew);
    for (int i = 0; i < EWATCH_MAX; i++)
        if (in->ew.w[i].used) {
            in->ew.w[i].used = false;
            ew_apply(in, i);
        }
    if (any_ew)
        ew_take_violations(in, false);
    if (in->l2 && in->ept) {      /* nothing of ours stays in EPT02 (nvmx_insp.h) */
        nu_msg_t m = { .info = nestor_msginfo(NVMX_INSP_CLEAR, 0, 0, 0) };
        nu_call(in->ept, &m);
    }
    in->attached = false;
    if (in->stepping)
        step_end(in);
    if (in->state == TGT_STOPPED)
        release(in, NESTOR_EXIT_REPLY_RESUME);
}

/* gdb's register set follows the guest's mode when gdb attaches: i386 for
 * a guest outside IA-32e mode (EFER.LMA, SDM Vol. 3A 2.2.1), which is what
 * gdb wants for a 32-bit ELF. */
static void t_attach(void *ctx, struct rsp *r)
{
    insp_t *in = I(ctx);
    if (in->state == TGT_STOPPED)
        rsp_set_arch(r, (in->s->efer & X86_EFER_LMA) ? &rsp_x86_64 : &rsp_i386);
}

static void t_put(void *ctx, const uint8_t *buf, size_t n)
{
    uart_put(I(ctx), buf, n);
}

const struct rsp_ops insp_ops = {
    .put = t_put,
    .threads = t_threads,
    .read_reg = t_read_reg,
    .write_reg = t_write_reg,
    .read_mem = t_read_mem,
    .write_mem = t_write_mem,
    .resume = t_resume,
    .interrupt = t_interrupt,
    .breakpoint = t_breakpoint,
    .monitor = insp_monitor_cmd,
    .detach = t_detach,
    .attach = t_attach,
};

/* ---- exits ---- */

static void pass_on(insp_t *in)
{
    in->passed_on++;
    const nestor_word_t args[] = { NESTOR_EXIT_REPLY_PASS_ON, 0 };
    nu_invoke(in->vcpu, NESTOR_VCPU_REPLY, args, 2, 0, 0, 0, 0);
}

/* The step over an access to protected leaves is over (or cut short):
 * their rights withheld again. Returns the watch it hit, or -1. */
static int ew_step_end(insp_t *in)
{
    for (int i = 0; in->ew_hit < 0 && in->n_ew_leaves && i < EWATCH_MAX; i++)
        if (in->ew.w[i].used && in->ew.w[i].type != RSP_BP_READ &&
            ewatch_digest(&in->ew, i, in->ram, in->ram_bytes) != in->ew_digest[i])
            in->ew_hit = i;       /* written by an access we did not see */
    if (in->n_ew_leaves > INSP_EW_STEP_LEAVES) {
        for (int i = 0; i < EWATCH_MAX; i++)    /* more than we kept: all of them */
            if (in->ew.w[i].used)
                ew_apply(in, i);
        for (unsigned i = 0; bp_hiding(in) && i < INSP_MAX_SW_BPS; i++)
            if (in->sw[i].used)
                ew_protect_leaf(in, in->sw[i].gpa);
        for (unsigned i = 0; bp_hiding(in) && i < INSP_STEP_BPS; i++)
            if (in->sw_temp[i].used)
                ew_protect_leaf(in, in->sw_temp[i].gpa);
    } else {
        for (unsigned k = 0; k < in->n_ew_leaves; k++)
            ew_protect_leaf(in, in->ew_leaf[k]);
    }
    const int hit = in->ew_hit;
    in->n_ew_leaves = 0;
    in->ew_hit = -1;
    in->ew_silent = false;
    in->ew_decoded = false;
    return hit;
}

static bool ew_xlate(void *ctx, uint64_t lin, uint64_t *gpa)
{
    return target_translate(I(ctx), lin, gpa);
}

/* The watch the instruction at RIP hits by the bytes it reads and writes
 * (decoded: insn_at_rip), -1 for none; false where it cannot be decoded. */
static bool ew_insn_hit(insp_t *in, int *hit)
{
    insn_access_t a[INSN_ACCESS_MAX];
    const int k = insn_at_rip(in, a);
    if (k < 0)
        return false;
    *hit = ewatch_accesses_hit(&in->ew, a, k, ew_xlate, in);
    return true;
}

/* Resume the exit we hold with what we changed, the target running on. */
static void resume_held(insp_t *in)
{
    /* (An event the exit interrupted goes again: ept_violation.) */
    const nestor_word_t args[] = { NESTOR_EXIT_REPLY_RESUME,
                                   in->dirty & (CHANGEABLE | NESTOR_MTD_INJECT) };
    nu_invoke(in->vcpu, NESTOR_VCPU_REPLY, args, 2, 0, 0, 0, 0);
    in->dirty = 0;
}

/*
 * An EPT violation (SDM 28.3.3.2): in a leaf of our watches, the rights
 * come back for one single step of the instruction (RFLAGS.TF, as gdb's
 * steps: step_begin), withheld again when it ends (ew_step_end); one that
 * hits a watch is reported then, after the access as a data breakpoint's
 * trap is (SDM Vol. 3B 17.2.4, 17.3.1.2). Any other goes on (the VMM's, a
 * pager's). The exit's qualification (SDM 27.2.1, Table 27-7) says read or
 * write; the guest-physical address is the access's.
 */
static void ept_violation(insp_t *in, const nestor_word_t *mr)
{
    uint64_t gpa = mr[NESTOR_EXIT_MR_GUEST_PHYS];
    int hit;
    /* At L2: L2-physical; ours only where nested-vmx's EPT02 mask (ours)
     * alone refused it, and then L1-physical as our watches are. */
    if (in->l2 && (!in->ept ||
                   !l2_violation_ours(in, gpa, mr[NESTOR_EXIT_MR_QUALIFICATION], &gpa))) {
        pass_on(in);
        return;
    }
    const bool bp_leaf = bp_hiding(in) && sw_in_leaf(in, gpa, in->leaf_bits);
    if (!in->ept ||
        (ewatch_violation(&in->ew, gpa, mr[NESTOR_EXIT_MR_GUEST_LINEAR],
                          mr[NESTOR_EXIT_MR_QUALIFICATION], in->leaf_bits,
                          &hit) == EWATCH_NOT_OURS &&
         !bp_leaf)) {
        pass_on(in);
        return;
    }
    /* Near a watch of ours: the rights back if we withheld any there; if
     * not, the violation is not ours (a hole, the VMM's read-only page). */
    unsigned shift, before;
    if (ept_protect(in, gpa, NESTOR_EPT_WITHHOLD_NONE, &shift, &before) != NESTOR_OK ||
        !before) {
        pass_on(in);
        return;
    }
    in->exits_ept++;
    in->exits_ept_fetch += (mr[NESTOR_EXIT_MR_QUALIFICATION] & EPT_QUAL_FETCH) != 0;
    if (bp_leaf) {                /* our int3s: the guest's bytes for the step */
        in->exits_bp_leaf++;
        uint64_t rip_gpa;
        if (!target_translate(in, linear(in->s, &in->s->cs, in->s->rip, false), &rip_gpa))
            rip_gpa = ~0ull;
        /* A step's int3s at handlers' entries stay (step_begin left none
         * where the instruction reads or writes), but for an instruction
         * the decoder does not know (an SSE or x87 read of a handler's
         * bytes) whose access here is a data access, not a page walk nor
         * an event's delivery (its IDT, GDT, LDT, stack: SDM 27.2.4):
         * then the guest reads its own bytes, and should the instruction
         * raise an exception, the step ends after the handler. */
        insn_access_t acc[INSN_ACCESS_MAX];
        in->lift_entries = in->stepping &&
                           !ewatch_is_walk(mr[NESTOR_EXIT_MR_QUALIFICATION]) &&
                           !(mr[NESTOR_EXIT_MR_IDT_VECTORING] & X86_INTR_VALID) &&
                           insn_at_rip(in, acc) < 0;
        bps_lift(in, rip_gpa);
        in->lift_entries = false;
    }
    if (!in->n_ew_leaves) {       /* the instruction's first exit in our leaves */
        for (int i = 0; i < EWATCH_MAX; i++)   /* the write and access watches' bytes */
            if (in->ew.w[i].used && in->ew.w[i].type != RSP_BP_READ)
                in->ew_digest[i] = ewatch_digest(&in->ew, i, in->ram, in->ram_bytes);
        /* What it reads and writes decides (once the rights are back for
         * the step, its other accesses exit no more): decoded, where the
         * decoder knows it. */
        int by_insn;
        in->ew_decoded = ew_insn_hit(in, &by_insn);
        if (in->ew_decoded)
            in->ew_hit = by_insn;
    }
    /* A page walk's linear address judges the access only where the
     * instruction could not be decoded (it may be the fetch's walk). */
    if (in->ew_decoded && ewatch_is_walk(mr[NESTOR_EXIT_MR_QUALIFICATION]))
        hit = -1;
    /* (More leaves than we keep, a walk through many: the step's end
     * protects every watch's leaves again.) */
    if (in->n_ew_leaves < INSP_EW_STEP_LEAVES)
        in->ew_leaf[in->n_ew_leaves] = gpa;
    if (in->n_ew_leaves <= INSP_EW_STEP_LEAVES)
        in->n_ew_leaves++;
    if (in->ew_hit < 0)
        in->ew_hit = hit;
    /* The instruction did not complete (an EPT violation is a fault-like
     * exit, SDM 27.1, 28.3.3.2), so no single-step trap is due for it; a
     * step's TF set before it makes Bochs leave BS in the pending debug
     * exceptions (24.4.2), which would end the step at the entry, before
     * the instruction ran: gdb's step over a breakpoint would go nowhere. */
    if (in->stepping && (in->s->pending_dbg & PENDING_DBG_BS)) {
        in->s->pending_dbg &= ~(nestor_word_t)PENDING_DBG_BS;
        in->dirty |= NESTOR_MTD_INTR;
    }
    if (!in->stepping) {          /* (else gdb's own step goes on, and ends ours) */
        in->ew_silent = true;
        step_begin(in);
    }
    /* The violation may have interrupted an event's delivery (its frame
     * pushed into the leaf: SDM 27.2.4): it goes again at the entry, or it
     * is lost (a PIC's interrupt in service that never ends); its handler
     * is entered with TF clear (26.6.1.1, 6.12.1.2), at the step's int3. */
    uint32_t info, error, len;
    if (idt_reinject((uint32_t)mr[NESTOR_EXIT_MR_IDT_VECTORING],
                     (uint32_t)mr[NESTOR_EXIT_MR_IDT_ERROR], (uint32_t)mr[NESTOR_EXIT_MR_INSTR_LEN],
                     &info, &error, &len)) {
        in->s->inject_info = info;
        in->s->inject_error = error;
        in->s->inject_instr_len = len;
        in->dirty |= NESTOR_MTD_INJECT;
    }
    resume_held(in);
}

static void stopped(insp_t *in, unsigned sig, enum rsp_stop_why why, uint64_t addr)
{
    if (in->n_ew_leaves)
        ew_step_end(in);          /* a stop cuts an access's step short */
    in->state = TGT_STOPPED;
    in->dirty = 0;
    if (in->stepping)
        step_end(in);             /* any stop of ours ends a step */
    bps_replant(in);              /* (gdb reads and writes around our int3s) */
    rsp_stopped(&in->rsp, 1, sig, why, addr);
}

/* One of the step's hidden int3s at a handler's entry (step_begin). */
static bool step_bp_hit(insp_t *in, nestor_word_t rip)
{
    for (unsigned i = 0; in->stepping && i < in->n_step_bps; i++)
        if (in->step_bps[i].rip == rip)
            return true;
    return false;
}

/* A #DB that is ours: the end of our step (BS), or one of our debug
 * registers' conditions (B0-B3 of a slot we hold). */
/* Whether #DB qualification @q has a condition of one of our debug
 * registers met (SDM 27.2.1: DR6's B0-B3). */
static bool dr_hit(const insp_t *in, nestor_word_t q)
{
    for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
        if ((q & X86_DR6_B(i)) && in->hw[i].used)
            return true;
    return false;
}

static bool ours_db(insp_t *in, const nestor_word_t *mr)
{
    const nestor_word_t q = mr[NESTOR_EXIT_MR_QUALIFICATION];
    return (in->stepping && (q & DB_QUAL_BS)) || dr_hit(in, q);
}

/*
 * MOV DR while we hold debug registers (MOV-DR exiting, SDM 25.1.3): the
 * guest's own values, kept aside (hw_program), are what it reads and
 * writes; DR6 is its own throughout (our #DBs never write it, SDM 27.1).
 * Qualification: SDM 27.2.1, Table 27-3. The privilege check (#GP at CPL
 * > 0) and the #UD of a LOCK prefix come before the exit (SDM 25.1.1).
 */
static const uint8_t sdm_gpr[16] = {         /* Table 27-3: 0 RAX ... 15 R15 */
    RSP_X86_RAX, RSP_X86_RCX, RSP_X86_RDX, RSP_X86_RBX, RSP_X86_RSP, RSP_X86_RBP,
    RSP_X86_RSI, RSP_X86_RDI, RSP_X86_R8, RSP_X86_R9, RSP_X86_R10, RSP_X86_R11,
    RSP_X86_R12, RSP_X86_R13, RSP_X86_R14, RSP_X86_R15,
};

static volatile nestor_word_t *guest_dreg(insp_t *in, unsigned n)
{
    if (n < X86_DEBUG_SLOTS)
        return &in->own_dr[n];
    return n == X86_DR_STATUS ? &in->s->dr6 : in->own_dr7;
}

static void inject_fault(insp_t *in, unsigned vector, bool error)
{
    /* SDM 24.8.3: a hardware exception, its error code (0) if it has one. */
    in->s->inject_info = X86_INTR_VALID | X86_INTR_TYPE_HW_EXC | vector |
                         (error ? X86_INTR_DELIVER_ERR : 0);
    in->s->inject_error = 0;
    in->s->inject_instr_len = 0;
}

static void dr_access(insp_t *in, const nestor_word_t *mr)
{
    /* Not ours: we set no MOV-DR exiting; or at L2 L1 asks for it too
     * (nested-vmx reflects it, L1 seeing L2's own values). */
    if (!in->guest_dr_saved || (in->l2 && in->l2->l1_movdr)) {
        pass_on(in);
        return;
    }
    in->exits_dr++;
    nestor_vcpu_state_t *s = in->s;
    const nestor_word_t q = mr[NESTOR_EXIT_MR_QUALIFICATION];
    const unsigned r = sdm_gpr[DRQ_GPR(q)];
    nestor_word_t *reg = (nestor_word_t *)((uint8_t *)s + reg_map[r].off);
    unsigned n = DRQ_NUMBER(q);
    nestor_word_t groups = NESTOR_MTD_INJECT;
    if ((n == X86_DR_ALIAS_STATUS || n == X86_DR_ALIAS_CONTROL) && (s->cr4 & X86_CR4_DE)) {
        inject_fault(in, X86_VEC_UD, false);      /* SDM 17.2.2: DR4/DR5 with CR4.DE */
    } else if (*in->own_dr7 & X86_DR7_GD) {
        /* SDM 17.2.4: general detect, a fault before the MOV: DR6.BD, and
         * the CPU clears GD as the handler starts. */
        s->dr6 |= X86_DR6_BD;
        *in->own_dr7 &= ~(nestor_word_t)X86_DR7_GD;
        inject_fault(in, X86_VEC_DB, false);
        groups |= NESTOR_MTD_DEBUG;
    } else {
        /* SDM 17.2.2: without CR4.DE, DR4 and DR5 are DR6 and DR7. */
        if (n == X86_DR_ALIAS_STATUS || n == X86_DR_ALIAS_CONTROL)
            n += X86_DR_STATUS - X86_DR_ALIAS_STATUS;
        /* SDM Vol. 2A MOV DR: 64-bit operands in 64-bit mode, else 32. */
        const bool wide = mode64(s);
        nestor_word_t v = wide ? *reg : (uint32_t)*reg;
        if (q & DRQ_FROM_DR) {
            *reg = wide ? *guest_dreg(in, n) : (uint32_t)*guest_dreg(in, n);
            groups = reg_map[r].group;
        } else if (n >= X86_DR_STATUS && (v & X86_DR7_RESERVED_HIGH)) {
            inject_fault(in, X86_VEC_GP, true);   /* bits 63:32 of DR6/DR7 */
            groups = NESTOR_MTD_INJECT;
        } else {
            if (n == X86_DR_CONTROL)
                v = (v | X86_DR7_FIXED1) & ~(nestor_word_t)X86_DR7_FIXED0;
            else if (n == X86_DR_STATUS)
                v |= X86_DR6_FIXED1;
            *guest_dreg(in, n) = v;
            groups = n == X86_DR_STATUS ? NESTOR_MTD_DEBUG : 0;
        }
        if (!(groups & NESTOR_MTD_INJECT)) {
            s->rip += mr[NESTOR_EXIT_MR_INSTR_LEN];
            groups |= NESTOR_MTD_RIP | NESTOR_MTD_INTR;
            /* The MOV is done: its interrupt shadow ends, and a single
             * step of the guest's (or ours) traps now, as after any
             * instruction (SDM 17.3.1.4; 24.4.2, pending debug exceptions). */
            s->interruptibility &= ~(nestor_word_t)X86_INTR_BLOCK_SHADOW;
            if (s->rflags & X86_RFLAGS_TF)
                s->pending_dbg |= PENDING_DBG_BS;
        }
    }
    const nestor_word_t args[] = { NESTOR_EXIT_REPLY_RESUME, groups };
    nu_invoke(in->vcpu, NESTOR_VCPU_REPLY, args, 2, 0, 0, 0, 0);
}

void target_exit(insp_t *in, const nestor_word_t *mr)
{
    const nestor_word_t reason = mr[NESTOR_EXIT_MR_REASON] & NESTOR_EXIT_REASON_MASK;
    const unsigned vector = mr[NESTOR_EXIT_MR_INTR_INFO] & X86_INTR_VECTOR_MASK;
    if (reason == NESTOR_EXIT_PREEMPT_TIMER &&
        mr[NESTOR_EXIT_MR_QUALIFICATION] == NESTOR_PREEMPT_PAUSE) {
        in->exits_pause++;
        bool sigint = in->interrupt_pending;
        in->interrupt_pending = false;
        stopped(in, sigint ? RSP_SIGINT : RSP_SIGTRAP, RSP_STOP_SIGNAL, 0);
    } else if (reason == NESTOR_EXIT_EXCEPTION && vector == X86_VEC_BP &&
               find_bp(in, mr[NESTOR_EXIT_MR_RIP])) {
        /* SDM 27.1: an intercepted INT3 leaves RIP at the instruction. */
        in->exits_bp++;
        stopped(in, RSP_SIGTRAP, RSP_STOP_SWBREAK, 0);
    } else if (reason == NESTOR_EXIT_EXCEPTION && vector == X86_VEC_BP &&
               step_bp_hit(in, mr[NESTOR_EXIT_MR_RIP])) {
        in->exits_db++;           /* a step that ended in a handler */
        if (in->ew_silent) {      /* the access faulted: nothing was accessed */
            ew_step_end(in);
            step_end(in);
            resume_held(in);
            return;
        }
        stopped(in, RSP_SIGTRAP, RSP_STOP_SIGNAL, 0);
    } else if (reason == NESTOR_EXIT_EPT_VIOLATION) {
        ept_violation(in, mr);
    } else if (reason == NESTOR_EXIT_DR_ACCESS) {
        dr_access(in, mr);
    } else if (reason == NESTOR_EXIT_EXCEPTION && vector == X86_VEC_DB && ours_db(in, mr)) {
        in->exits_db++;
        const nestor_word_t q = mr[NESTOR_EXIT_MR_QUALIFICATION];
        enum rsp_stop_why why = RSP_STOP_HWBREAK;
        uint64_t addr = 0;
        const bool silent = in->ew_silent;
        const int ew = in->n_ew_leaves ? ew_step_end(in) : -1;
        if (ew >= 0) {
            why = ewatch_stop_why(&in->ew, ew);
            addr = in->ew.w[ew].addr;
        } else if (silent && !dr_hit(in, q)) {
            step_end(in);         /* an access that hit nothing: on it goes */
            resume_held(in);
            return;
        }
        for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
            if ((q & X86_DR6_B(i)) && in->hw[i].used && in->hw[i].type == RSP_BP_SOFTWARE) {
                why = RSP_STOP_SWBREAK;   /* a Z0 in a debug register */
                in->exits_bp++;
            } else if ((q & X86_DR6_B(i)) && in->hw[i].used && in->hw[i].type != RSP_BP_HARDWARE) {
                why = in->hw[i].type == RSP_BP_WRITE ? RSP_STOP_WATCH : RSP_STOP_AWATCH;
                addr = in->hw[i].addr;
            }
        stopped(in, RSP_SIGTRAP, why, addr);
    } else {
        pass_on(in);
    }
}
