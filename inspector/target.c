/*
 * inspector/target.c - the protocol engine's backend (rsp.h) on a VM:
 * registers from the VCPU's state page, guest-virtual memory through the
 * guest's own page tables (lib/x86/walk.c) into its RAM, software
 * breakpoints as int3 bytes hidden from gdb's reads, and run control at
 * exit boundaries (inspector.h).
 */
#include "inspector.h"
#include "rsp_x86.h"
#include <stddef.h>
#include <string.h>
#include <user/invoke.h>
#include <x86_arch.h>
#include <x86_vmx.h>
#include <x86_walk.h>

#define INT3               0xCC            /* SDM Vol. 2A INT3: opcode CC */
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

static uint64_t reg_get(insp_t *in, unsigned regno)
{
    const uint8_t *p = (const uint8_t *)in->s + reg_map[regno].off;
    if (reg_map[regno].group == NESTOR_MTD_SEGS && regno <= RSP_X86_GS)
        return *(const uint16_t *)p;
    uint64_t v = *(const uint64_t *)p;
    /* While we step, TF is ours: gdb sees the guest's own. */
    if (regno == RSP_X86_EFLAGS && in->stepping && !in->guest_tf)
        v &= ~X86_RFLAGS_TF;
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
 * a write over a breakpoint changes the byte the breakpoint restores. */
static void copy_chunk(insp_t *in, uint64_t gpa, uint8_t *buf, size_t n, bool write)
{
    if (write)
        memcpy(in->ram + gpa, buf, n);
    else
        memcpy(buf, in->ram + gpa, n);
    for (unsigned i = 0; i < INSP_MAX_SW_BPS; i++) {
        insp_swbp_t *b = &in->sw[i];
        if (!b->used || b->gpa < gpa || b->gpa >= gpa + n)
            continue;
        if (write) {
            b->saved = buf[b->gpa - gpa];
            in->ram[b->gpa] = INT3;
        } else {
            buf[b->gpa - gpa] = b->saved;
        }
    }
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

static insp_swbp_t *find_bp(insp_t *in, uint64_t addr)
{
    for (unsigned i = 0; i < INSP_MAX_SW_BPS; i++)
        if (in->sw[i].used && in->sw[i].addr == addr)
            return &in->sw[i];
    return NULL;
}

static int sw_insert(insp_t *in, uint64_t addr)
{
    uint64_t gpa;
    if (find_bp(in, addr))
        return 0;                 /* E.2 "Z0": inserting twice is not an error */
    if (!target_translate(in, addr, &gpa))
        return -RSP_EFAULT;       /* not RAM: MMIO, unmapped, outside the VM */
    for (unsigned i = 0; i < INSP_MAX_SW_BPS; i++)
        if (!in->sw[i].used) {
            in->sw[i] = (insp_swbp_t){ .addr = addr, .gpa = gpa, .saved = in->ram[gpa],
                                       .used = true };
            in->ram[gpa] = INT3;
            return 0;
        }
    return -RSP_ENOSPC;
}

static void sw_remove(insp_t *in, insp_swbp_t *b)
{
    in->ram[b->gpa] = b->saved;
    b->used = false;
}

/*
 * Hardware breakpoints and watchpoints in the guest's debug registers (SDM
 * Vol. 3B 17.2): the guest's own DR0-DR3/DR7 are kept aside while any slot
 * is ours and put back when the last goes. (The guest could still read ours
 * with MOV DR meanwhile: MOV-DR exiting is not ours to set yet.)
 */
static nestor_word_t *dr_slot(insp_t *in, unsigned i)
{
    nestor_word_t *drs[X86_DEBUG_SLOTS] = { &in->s->dr0, &in->s->dr1, &in->s->dr2, &in->s->dr3 };
    return drs[i];
}

static void hw_program(insp_t *in)
{
    bool any = false;
    for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
        any |= in->hw[i].used;
    if (any && !in->guest_dr_saved) {
        for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
            in->guest_dr[i] = *dr_slot(in, i);
        in->guest_dr7 = in->s->dr7;
        in->guest_dr_saved = true;
    }
    if (!in->guest_dr_saved)
        return;
    for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
        *dr_slot(in, i) = in->hw[i].used ? in->hw[i].addr : any ? 0 : in->guest_dr[i];
    const nestor_word_t dr7 = dregs_dr7(in->hw, X86_DEBUG_SLOTS);
    in->s->dr7 = any ? dr7 : in->guest_dr7;
    in->guest_dr_saved = any;
    in->dirty |= NESTOR_MTD_DEBUG;
}

static int hw_breakpoint(insp_t *in, bool insert, enum rsp_bp_type type, uint64_t addr,
                         unsigned kind)
{
    unsigned rw, len;
    int rc = dregs_check(type, addr, kind, &rw, &len);
    if (rc)
        return rc;
    kind = len;
    for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++) {
        insp_hwbp_t *h = &in->hw[i];
        if (h->used && h->addr == addr && h->rw == rw && h->kind == kind) {
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
    return -RSP_ENOSPC;           /* four debug registers */
}

static int t_breakpoint(void *ctx, bool insert, enum rsp_bp_type type, uint64_t addr,
                        unsigned kind)
{
    insp_t *in = I(ctx);
    if (in->state != TGT_STOPPED)
        return -RSP_EBUSY;
    if (type != RSP_BP_SOFTWARE)
        return hw_breakpoint(in, insert, type, addr, kind);
    if (kind != 1)
        return -RSP_EINVAL;       /* x86: int3 is one byte */
    if (insert)
        return sw_insert(in, addr);
    insp_swbp_t *b = find_bp(in, addr);
    if (!b)
        return -RSP_ENOENT;
    sw_remove(in, b);
    return 0;
}

/* ---- run control ---- */

static unsigned t_threads(void *ctx)
{
    (void)ctx;
    return 1;                     /* one vCPU per VM today (BINDINGS.md) */
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
    if (acts[0] == RSP_ACT_STEP && !in->stepping) {
        /* SDM 17.3.1.4: with TF set the CPU takes a #DB (DR6.BS) after the
         * next instruction; the #DB exits to us (exception bitmap, SDM
         * 25.2), and the guest never sees it. */
        in->guest_tf = in->s->rflags & X86_RFLAGS_TF;
        in->s->rflags |= X86_RFLAGS_TF;
        in->dirty |= NESTOR_MTD_RFLAGS;
        in->stepping = true;
    }
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
    in->attached = false;
    if (in->stepping) {
        in->stepping = false;
        if (!in->guest_tf)
            in->s->rflags &= ~X86_RFLAGS_TF;
        in->dirty |= NESTOR_MTD_RFLAGS;
    }
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

static void stopped(insp_t *in, unsigned sig, enum rsp_stop_why why, uint64_t addr)
{
    in->state = TGT_STOPPED;
    in->dirty = 0;
    rsp_stopped(&in->rsp, 1, sig, why, addr);
}

/* A #DB that is ours: the end of our step (BS), or one of our debug
 * registers' conditions (B0-B3 of a slot we hold). */
static bool ours_db(insp_t *in, const nestor_word_t *mr)
{
    const nestor_word_t q = mr[NESTOR_EXIT_MR_QUALIFICATION];
    if (in->stepping && (q & DB_QUAL_BS))
        return true;
    for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
        if ((q & X86_DR6_B(i)) && in->hw[i].used)
            return true;
    return false;
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
    } else if (reason == NESTOR_EXIT_EXCEPTION && vector == X86_VEC_DB && ours_db(in, mr)) {
        in->exits_db++;
        const nestor_word_t q = mr[NESTOR_EXIT_MR_QUALIFICATION];
        enum rsp_stop_why why = RSP_STOP_HWBREAK;
        uint64_t addr = 0;
        for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
            if ((q & X86_DR6_B(i)) && in->hw[i].used && in->hw[i].type != RSP_BP_HARDWARE) {
                why = in->hw[i].type == RSP_BP_WRITE ? RSP_STOP_WATCH : RSP_STOP_AWATCH;
                addr = in->hw[i].addr;
            }
        bool dirty_flags = false;
        if (in->stepping) {
            in->stepping = false;
            if (!in->guest_tf)
                in->s->rflags &= ~X86_RFLAGS_TF;
            dirty_flags = true;
        }
        stopped(in, RSP_SIGTRAP, why, addr);
        if (dirty_flags)
            in->dirty |= NESTOR_MTD_RFLAGS;
    } else {
        pass_on(in);
    }
}
