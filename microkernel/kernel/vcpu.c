/*
 * kernel/vcpu.c - VCPU objects, guest entry, VM exits delivered to monitors.
 *
 * Section numbers: SDM Vol. 3C (VMCS chapter 24, VM entry 26, VM exit 27).
 */
#include "kernel/vcpu.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cr.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/msr.h"
#include "arch/x86_64/platform.h"
#include "arch/x86_64/seg.h"
#include "arch/x86_64/vmx.h"
#include "kernel/console.h"
#include "kernel/cspace.h"
#include "kernel/fastpath.h"
#include "kernel/invoke.h"
#include "kernel/ipc.h"
#include "kernel/sched.h"
#include "kernel/shadow.h"
#include "kernel/vspace.h"
#include <nestor/faults.h>
#include <nestor/syscalls.h>
#include <string.h>
#include <x86_arch.h>

extern char vmx_exit_entry[];
__attribute__((noreturn)) void vmx_enter(uint64_t *gprs, int launched);
__attribute__((noreturn)) void vmx_exit_handler(uint64_t *gprs);
__attribute__((noreturn)) void vmx_entry_failed(void);

#define VPID_MAX 0xFFFF          /* SDM 24.6.12: 16 bits; VPID 0 is the host's */
#define VPID_WORDS ((VPID_MAX + 1) / 64)
#define PAT_POWER_UP 0x0007040600070406ULL     /* SDM Vol. 3A 11.12.4, Table 11-12 */
#define GUEST_CR0_INIT (BIT(0) | BIT(4))        /* PE, ET: 32-bit protected mode */
#define FLAT_LIMIT 0xFFFFFFFF
#define TR_LIMIT_INIT 0xFF

/*
 * Exceptions that exit whatever the tables say. #DB and #AC: a guest can
 * make their delivery raise them again (a breakpoint on the stack the #DB
 * frame goes to; an #AC while pushing the #AC frame), and the CPU then
 * loops inside the delivery with no instruction boundary at which an
 * interrupt or the preemption timer could exit (CVE-2015-8104, -5307): with
 * the exit, every round leaves the guest. #MC: a machine check is the
 * host's (SDM 15.10.1). Without a handler the first two are reflected.
 */
#define EXCEPTIONS_ALWAYS_EXIT (BIT(VEC_DB) | BIT(VEC_AC) | BIT(VEC_MC))

static uint64_t current_vmcs;
static uint64_t vpid_used[VPID_WORDS];
static uint32_t vpids_free = VPID_MAX;
static vcpu_t *dr_owner;            /* whose DR0-3/DR6 the CPU holds */
static uint64_t cpu_xcr0;           /* XCR0 in the CPU when it is a guest's, else the host's */

/* The host's values of the switched MSRs, loaded at every exit (SDM 27.6). */
static vmx_msr_entry_t host_msrs[VCPU_SWITCHED_MSRS] __attribute__((aligned(16)));
static const uint32_t switched_msr_index[VCPU_SWITCHED_MSRS] = {
    [GMSR_STAR] = MSR_IA32_STAR, [GMSR_LSTAR] = MSR_IA32_LSTAR, [GMSR_CSTAR] = MSR_IA32_CSTAR,
    [GMSR_FMASK] = MSR_IA32_FMASK, [GMSR_KERNEL_GS_BASE] = MSR_IA32_KERNEL_GS_BASE,
    [GMSR_TSC_AUX] = MSR_IA32_TSC_AUX,
};

bool vcpu_supported(void) { return vmx_enabled(); }

bool vcpu_can_create(uint64_t count)
{
    return vmx_enabled() && count <= vpids_free;
}

/* VPIDs are reused once their VCPU is gone; a reused one is flushed first. */
static uint16_t vpid_alloc(void)
{
    for (unsigned w = 0; w < VPID_WORDS; w++) {
        uint64_t free = ~vpid_used[w] & (w == 0 ? ~1ULL : ~0ULL);  /* never VPID 0 */
        if (!free)
            continue;
        unsigned bit = (unsigned)__builtin_ctzll(free);
        vpid_used[w] |= 1ULL << bit;
        vpids_free--;
        uint16_t vpid = (uint16_t)(w * 64 + bit);
        vmx_flush_vpid(vpid);
        return vpid;
    }
    return 0;
}

static void vpid_free(uint16_t vpid)
{
    if (vpid && (vpid_used[vpid / 64] & 1ULL << (vpid % 64))) {
        vpid_used[vpid / 64] &= ~(1ULL << (vpid % 64));
        vpids_free++;
    }
}

static uint64_t kernel_static_paddr(const void *p)
{
    return (uint64_t)(uintptr_t)p - KERNEL_VMA;
}

static bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;     /* 48-bit linear addresses */
}

static vcpu_t *obj_vcpu(kaddr_t obj) { return (vcpu_t *)kobj_ptr(obj + VCPU_KERNEL_OFFSET); }

static void vmcs_load(vcpu_t *v)
{
    if (current_vmcs != v->vmcs_pa) {
        vmx_vmptrld(v->vmcs_pa);
        current_vmcs = v->vmcs_pa;
    }
}

/* ---- VMCS set-up ---- */

static void setup_host_state(vcpu_t *v)
{
    /* SDM 26.2.2-26.2.4: host state loaded at every VM exit. */
    vmwrite(VMCS_HOST_CR0, read_cr0());
    vmwrite(VMCS_HOST_CR3, vspace_kernel_pml4_paddr());
    vmwrite(VMCS_HOST_CR4, read_cr4());
    vmwrite(VMCS_HOST_CS_SEL, SEL_KCODE);
    vmwrite(VMCS_HOST_SS_SEL, SEL_KDATA);
    vmwrite(VMCS_HOST_DS_SEL, SEL_KDATA);
    vmwrite(VMCS_HOST_ES_SEL, SEL_KDATA);
    vmwrite(VMCS_HOST_FS_SEL, 0);
    vmwrite(VMCS_HOST_GS_SEL, 0);
    vmwrite(VMCS_HOST_TR_SEL, SEL_TSS);
    vmwrite(VMCS_HOST_FS_BASE, VCPU_HOST_TLS_BASE);
    vmwrite(VMCS_HOST_GS_BASE, VCPU_HOST_TLS_BASE);
    v->host_fs = v->host_gs = VCPU_HOST_TLS_BASE;
    vmwrite(VMCS_HOST_TR_BASE, (uint64_t)(uintptr_t)&tss_iopb);
    vmwrite(VMCS_HOST_GDTR_BASE, gdt_base());
    vmwrite(VMCS_HOST_IDTR_BASE, idt_base());
    vmwrite(VMCS_HOST_SYSENTER_CS, 0);
    vmwrite(VMCS_HOST_SYSENTER_ESP, 0);
    vmwrite(VMCS_HOST_SYSENTER_EIP, 0);
    vmwrite(VMCS_HOST_EFER, rdmsr(MSR_IA32_EFER));
    vmwrite(VMCS_HOST_PAT, rdmsr(MSR_IA32_PAT));
    vmwrite(VMCS_HOST_RSP, (uint64_t)(uintptr_t)&v->cr2);
    vmwrite(VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_entry);
}

/* SDM 23.8, A.7-A.8: the CR0/CR4 bits fixed to 1 in VMX operation, which
 * the host owns. With unrestricted guest, CR0.PE and PG are the guest's
 * (SDM 26.3.1.1). Read once (host_msrs_init). */
static uint64_t cr0_vmx_fixed, cr4_vmx_fixed;

uint64_t vcpu_cr_mask_floor(uint64_t mask_field)
{
    if (mask_field == VMCS_CR0_MASK)
        return cr0_vmx_fixed;
    /* CR4.OSXSAVE too: whether the guest's XCR0 is live (vcpu_run) is read
     * from the real CR4 at entry, so changing it must exit (SDM 2.5, 13.3);
     * and the bits that would give the guest state the kernel does not
     * switch (CR4_UNSWITCHED), so setting them exits and is refused. */
    return cr4_vmx_fixed | CR4_OSXSAVE | CR4_UNSWITCHED;
}

/* SDM 26.2.4/26.3.1.1: the "IA-32e mode guest" entry control must equal the
 * EFER.LMA that entry loads; it follows the monitor's EFER (VM exits store
 * LMA into it, SDM 27.2). */
static void follow_efer_lma(uint64_t efer)
{
    uint64_t entry = vmread(VMCS_ENTRY_CONTROLS) & ~(uint64_t)ENTRY_IA32E_MODE_GUEST;
    vmwrite(VMCS_ENTRY_CONTROLS, entry | (efer & EFER_LMA ? ENTRY_IA32E_MODE_GUEST : 0));
}

static void setup_controls(vcpu_t *v)
{
    const vmx_caps_raw_t *r = vmx_raw_caps();
    /* The floors and defaults, and why: nestor/vmcs.h. */
    vmwrite(VMCS_PIN_CONTROLS, vmx_controls(r->pinbased, NESTOR_PIN_FLOOR));
    vmwrite(VMCS_PROC_CONTROLS, vmx_controls(r->procbased, NESTOR_PROC_DEFAULT));
    vmwrite(VMCS_PROC_CONTROLS2, vmx_controls(r->procbased2, NESTOR_PROC2_DEFAULT));
    /* SDM 24.7.1, 24.8.1: EFER, PAT and the debug controls (DR7, DEBUGCTL)
     * are the guest's in the guest and the host's in the host. */
    vmwrite(VMCS_EXIT_CONTROLS,
            vmx_controls(r->exit, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_EFER | EXIT_LOAD_EFER |
                                      EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_DEBUG_CTLS |
                                      EXIT_SAVE_PREEMPT_TIMER));
    vmwrite(VMCS_ENTRY_CONTROLS,
            vmx_controls(r->entry, ENTRY_LOAD_EFER | ENTRY_LOAD_PAT | ENTRY_LOAD_DEBUG_CTLS));
    vmwrite(VMCS_EXCEPTION_BITMAP, EXCEPTIONS_ALWAYS_EXIT);
    vmwrite(VMCS_CR3_TARGET_COUNT, 0);
    /* SDM 24.7.2, 24.8.2: the guest's switched MSRs are loaded at entry and
     * stored at exit in one area; the host's are loaded at exit. */
    uint64_t guest_area = v->vmcs_pa + VCPU_KERNEL_OFFSET + __builtin_offsetof(vcpu_t, msrs);
    vmwrite(VMCS_ENTRY_MSR_LOAD_ADDR, guest_area);
    vmwrite(VMCS_EXIT_MSR_STORE_ADDR, guest_area);
    vmwrite(VMCS_EXIT_MSR_LOAD_ADDR, kernel_static_paddr(host_msrs));
    vmwrite(VMCS_EXIT_MSR_STORE_COUNT, VCPU_SWITCHED_MSRS);
    vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, VCPU_SWITCHED_MSRS);
    vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, VCPU_SWITCHED_MSRS);
    vmwrite(VMCS_ENTRY_INTR_INFO, 0);
    vmwrite(VMCS_VPID, v->vpid);
    vmwrite(VMCS_LINK_POINTER, VMCS_LINK_POINTER_NONE);
    /* The guest owns CR0 and CR4 but for the bits VMX fixes: those read as
     * it last wrote them (shadows), and changing them exits. */
    vmwrite(VMCS_CR0_MASK, vcpu_cr_mask_floor(VMCS_CR0_MASK));
    vmwrite(VMCS_CR0_SHADOW, GUEST_CR0_INIT);
    vmwrite(VMCS_CR4_MASK, vcpu_cr_mask_floor(VMCS_CR4_MASK));
    vmwrite(VMCS_CR4_SHADOW, 0);
}

static void seg(uint64_t sel_f, uint16_t sel, uint64_t base_f, uint64_t base, uint64_t lim_f,
                uint32_t limit, uint64_t ar_f, uint32_t ar)
{
    vmwrite(sel_f, sel);
    vmwrite(base_f, base);
    vmwrite(lim_f, limit);
    vmwrite(ar_f, ar);
}

/* 32-bit protected mode, flat, paging off: what a Multiboot loader leaves. */
static void setup_guest_state(void)
{
    vmwrite(VMCS_GUEST_CR0, GUEST_CR0_INIT | cr0_vmx_fixed);
    vmwrite(VMCS_GUEST_CR3, 0);
    vmwrite(VMCS_GUEST_CR4, cr4_vmx_fixed);
    vmwrite(VMCS_GUEST_EFER, 0);
    seg(VMCS_GUEST_CS_SEL, 0x08, VMCS_GUEST_CS_BASE, 0, VMCS_GUEST_CS_LIMIT, FLAT_LIMIT,
        VMCS_GUEST_CS_AR, AR_CODE32_FLAT);
    static const uint64_t data[][4] = {
        { VMCS_GUEST_DS_SEL, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR },
        { VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR },
        { VMCS_GUEST_SS_SEL, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR },
        { VMCS_GUEST_FS_SEL, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR },
        { VMCS_GUEST_GS_SEL, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR },
    };
    for (unsigned i = 0; i < sizeof(data) / sizeof(data[0]); i++)
        seg(data[i][0], 0x10, data[i][1], 0, data[i][2], FLAT_LIMIT, data[i][3], AR_DATA32_FLAT);
    seg(VMCS_GUEST_LDTR_SEL, 0, VMCS_GUEST_LDTR_BASE, 0, VMCS_GUEST_LDTR_LIMIT, 0,
        VMCS_GUEST_LDTR_AR, AR_UNUSABLE);
    seg(VMCS_GUEST_TR_SEL, 0, VMCS_GUEST_TR_BASE, 0, VMCS_GUEST_TR_LIMIT, TR_LIMIT_INIT,
        VMCS_GUEST_TR_AR, AR_TSS32_BUSY);
    vmwrite(VMCS_GUEST_GDTR_BASE, 0);
    vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xFFFF);
    vmwrite(VMCS_GUEST_IDTR_BASE, 0);
    vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xFFFF);
    vmwrite(VMCS_GUEST_DR7, DR7_INIT);
    vmwrite(VMCS_GUEST_RSP, 0);
    vmwrite(VMCS_GUEST_RIP, 0);
    vmwrite(VMCS_GUEST_RFLAGS, RFLAGS_GUEST_INIT);
    vmwrite(VMCS_GUEST_PENDING_DBG, 0);
    vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmwrite(VMCS_GUEST_ACTIVITY, 0);
    vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
    vmwrite(VMCS_GUEST_SYSENTER_ESP, 0);
    vmwrite(VMCS_GUEST_SYSENTER_EIP, 0);
    vmwrite(VMCS_GUEST_DEBUGCTL, 0);
    vmwrite(VMCS_GUEST_PAT, PAT_POWER_UP);
}

/* The host values are the boot CPU's, set up before any VCPU exists. */
static void host_msrs_init(void)
{
    static bool done;
    if (done)
        return;
    for (unsigned i = 0; i < VCPU_SWITCHED_MSRS; i++) {
        host_msrs[i].index = switched_msr_index[i];
        /* KERNEL_GS_BASE and TSC_AUX: the kernel uses neither; 0 keeps a
         * guest's value from user threads (RDTSCP/RDPID are unprivileged). */
        host_msrs[i].value = i == GMSR_KERNEL_GS_BASE || i == GMSR_TSC_AUX
                                 ? 0 : rdmsr(switched_msr_index[i]);
    }
    cpu_xcr0 = fpu_xcr0;            /* fpu_init set it at boot */
    cr0_vmx_fixed = rdmsr(MSR_IA32_VMX_CR0_FIXED0) & ~(uint64_t)(CR0_PE | CR0_PG);
    cr4_vmx_fixed = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
    done = true;
}

bool vcpu_init_object(kaddr_t obj)
{
    if (!vmx_enabled() || !vpids_free)
        return false;
    host_msrs_init();
    vcpu_t *v = obj_vcpu(obj);
    v->vmcs_pa = kobj_paddr(obj);
    v->vpid = vpid_alloc();
    /* Architectural reset values (SDM Vol. 3A 9.1.1, Table 9-1; Vol. 1 13.3). */
    v->xcr0 = fpu_xcr0 ? XCR0_X87 : 0;
    for (unsigned i = 0; i < VCPU_SWITCHED_MSRS; i++)
        v->msrs[i] = (vmx_msr_entry_t){ .index = switched_msr_index[i] };
    v->drs[GDR_DR6] = DR6_INIT;
    uint32_t rev = (uint32_t)vmx_revision();
    memcpy(kobj_ptr(obj), &rev, sizeof(rev));          /* SDM 24.2: revision id */
    vmx_vmclear(v->vmcs_pa);
    current_vmcs = 0;
    vmcs_load(v);
    setup_host_state(v);
    setup_controls(v);
    setup_guest_state();
    return true;
}

void vcpu_finalise(vcpu_t *v)
{
    tcb_t *t = v->tcb;
    if (t) {
        /* Its thread stops where it is (waiting for an exit's reply, or
         * ready to enter): without a VCPU it would otherwise resume in ring 3
         * with registers nobody set. */
        ipc_cancel(t);
        sched_remove(t);
        t->state = TS_INACTIVE;
        t->vcpu = 0;
        v->tcb = 0;
    }
    if (dr_owner == v)
        dr_owner = 0;
    shadow_vcpu_gone(v);
    vpid_free((uint16_t)v->vpid);
    vmx_vmclear(v->vmcs_pa);
    if (current_vmcs == v->vmcs_pa)
        current_vmcs = 0;
}

/* ---- the state page ---- */

static nestor_vcpu_state_t *page_in(const vcpu_t *v, unsigned cte)
{
    const cap_t *f = &v->ctes[cte].cap;
    return f->type == NESTOR_OBJ_FRAME_4K ? (nestor_vcpu_state_t *)kobj_ptr(f->obj) : 0;
}

static nestor_vcpu_state_t *state_page(vcpu_t *v)
{
    return page_in(v, VCPU_CTE_STATE_PAGE);
}

/* The page the current exit's handler was given: a doorbell's server has
 * its own (nestor/vcpu.h "Doorbells"). */
static nestor_vcpu_state_t *exit_page(vcpu_t *v)
{
    return v->exit_level == VCPU_DOORBELL_LEVEL ? page_in(v, VCPU_CTE_DOORBELL_PAGE + v->doorbell)
                                                : state_page(v);
}

typedef struct {
    uint64_t sel, base, limit, ar;
} seg_fields_t;

/* es cs ss ds fs gs ldtr tr, in nestor_vcpu_state_t order */
static const seg_fields_t seg_fields[] = {
    { VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR },
    { VMCS_GUEST_CS_SEL, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR },
    { VMCS_GUEST_SS_SEL, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR },
    { VMCS_GUEST_DS_SEL, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR },
    { VMCS_GUEST_FS_SEL, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR },
    { VMCS_GUEST_GS_SEL, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR },
    { VMCS_GUEST_LDTR_SEL, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_LDTR_LIMIT, VMCS_GUEST_LDTR_AR },
    { VMCS_GUEST_TR_SEL, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT, VMCS_GUEST_TR_AR },
};

static nestor_vcpu_seg_t *state_seg(nestor_vcpu_state_t *s, unsigned i)
{
    return &s->es + i;
}

#define STATE_OFF(f) __builtin_offsetof(nestor_vcpu_state_t, f)
/* gprs[i] (trap_frame order) and its field in the state page: copied
 * register by register, straight-line (this is on every exit). The empty
 * asm after each move keeps it a load and a store: left alone, the compiler
 * loaded all 15 first and spilled (~50 instructions a copy instead of 30). */
#define VCPU_GPR_FIELDS(X)                                                         \
    X(0, r15) X(1, r14) X(2, r13) X(3, r12) X(4, r11) X(5, r10) X(6, r9) X(7, r8) \
    X(8, rbp) X(9, rdi) X(10, rsi) X(11, rdx) X(12, rcx) X(13, rbx) X(14, rax)
#define GPR_TO_STATE_(i, r) s->r = v->gprs[i]; __asm__ volatile("" ::: "memory");
#define GPR_FROM_STATE_(i, r) v->gprs[i] = s->r; __asm__ volatile("" ::: "memory");
_Static_assert(VCPU_GPRS == 15, "VCPU_GPR_FIELDS lists every register");

/* The segment registers a mask names, as a range of seg_fields (es..gs are
 * NESTOR_MTD_SEGS, ldtr and tr NESTOR_MTD_SYS_SEGS). */
#define SEGS_SYS_FIRST 6
static unsigned segs_first(uint64_t mask) { return mask & NESTOR_MTD_SEGS ? 0 : SEGS_SYS_FIRST; }
static unsigned segs_end(uint64_t mask)
{
    return mask & NESTOR_MTD_SYS_SEGS ? 8 : SEGS_SYS_FIRST;
}

/*
 * Debug registers (SDM 17.2): the VMCS switches DR7 and DEBUGCTL; DR0-3 and
 * DR6 the guest reads and writes without exits, so they are switched here,
 * lazily: the CPU keeps the last guest's until another VCPU enters. The host
 * never arms a breakpoint (a VM exit sets DR7 to 0x400, SDM 27.5.1), so a
 * guest's addresses in DR0-3 do nothing outside it.
 */
#define READ_DR(n) ({ uint64_t _v; __asm__ volatile("mov %%dr" #n ", %0" : "=r"(_v)); _v; })
#define WRITE_DR(n, v) __asm__ volatile("mov %0, %%dr" #n : : "r"((uint64_t)(v)))

/* DR0-3 only: DR6 is kept from each exit and loaded at each entry. */
static void dr_save(vcpu_t *v)
{
    v->drs[GDR_DR0] = READ_DR(0);
    v->drs[GDR_DR1] = READ_DR(1);
    v->drs[GDR_DR2] = READ_DR(2);
    v->drs[GDR_DR3] = READ_DR(3);
}

static void dr_switch_to(vcpu_t *v)
{
    if (dr_owner)
        dr_save(dr_owner);
    WRITE_DR(0, v->drs[GDR_DR0]);
    WRITE_DR(1, v->drs[GDR_DR1]);
    WRITE_DR(2, v->drs[GDR_DR2]);
    WRITE_DR(3, v->drs[GDR_DR3]);
    dr_owner = v;
}

/* The guest's view of CR0/CR4: its own bits, the shadow for host-owned ones. */
static uint64_t guest_cr(uint64_t cr_f, uint64_t mask_f, uint64_t shadow_f)
{
    uint64_t mask = vmread(mask_f);
    return (vmread(cr_f) & ~mask) | (vmread(shadow_f) & mask);
}

/* Groups the exits of plain VMMs do not move (their exit paths pay one
 * test for them). */
#define RARE_GROUPS (NESTOR_MTD_XCR0 | NESTOR_MTD_TIMER | NESTOR_MTD_SHADOW)

static __attribute__((noinline)) void store_rare(vcpu_t *v, nestor_vcpu_state_t *s,
                                                 uint64_t mask)
{
    if (mask & NESTOR_MTD_XCR0)
        s->xcr0 = v->xcr0;
    if (mask & NESTOR_MTD_TIMER)
        s->timer = v->monitor_timer;    /* kept up to date at each exit */
    if ((mask & NESTOR_MTD_SHADOW) && !shadow_sync_store(v, s->shadow, s->shadow_fetch))
        mask &= ~(uint64_t)NESTOR_MTD_SHADOW;
    /* The shadow was borrowed: @v's VMCS current again (its exit fields are
     * read after the store, exit_to). */
    vmcs_load(v);
    v->fetched |= mask;
    s->mtd = v->fetched;
}

/* The groups a plain VMM's exits fetch and its replies load (the CPUID,
 * VMCALL and I/O exits): tested one by one inline, everything else behind
 * one test, out of line (a dozen tests fewer on each plain exit and reply). */
#define BASE_GROUPS (NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RIP | NESTOR_MTD_RFLAGS)

static void store_more(vcpu_t *v, nestor_vcpu_state_t *s, uint64_t mask);

static void store_state(vcpu_t *v, nestor_vcpu_state_t *s, uint64_t mask)
{
    if (mask & NESTOR_MTD_GPRS) {
        VCPU_GPR_FIELDS(GPR_TO_STATE_)
    }
    if (mask & NESTOR_MTD_RSP)
        s->rsp = vmread(VMCS_GUEST_RSP);
    if (mask & NESTOR_MTD_RIP)
        s->rip = vmread(VMCS_GUEST_RIP);
    if (mask & NESTOR_MTD_RFLAGS)
        s->rflags = vmread(VMCS_GUEST_RFLAGS);
    if (mask & ~(uint64_t)BASE_GROUPS) {
        store_more(v, s, mask);         /* (a tail call: no spills on the plain path) */
        return;
    }
    v->fetched |= mask;
    s->mtd = v->fetched;            /* every group valid in the page since the exit */
}

/* store_state's groups beyond BASE_GROUPS, then the bookkeeping. */
static __attribute__((noinline)) void store_more(vcpu_t *v, nestor_vcpu_state_t *s,
                                                 uint64_t mask)
{
    if (mask & NESTOR_MTD_CR) {
        s->cr0 = guest_cr(VMCS_GUEST_CR0, VMCS_CR0_MASK, VMCS_CR0_SHADOW);
        s->cr2 = v->cr2;
        s->cr3 = vmread(VMCS_GUEST_CR3);
        s->cr4 = guest_cr(VMCS_GUEST_CR4, VMCS_CR4_MASK, VMCS_CR4_SHADOW);
        s->efer = vmread(VMCS_GUEST_EFER);
    }
    for (unsigned i = segs_first(mask); i < segs_end(mask); i++) {
        nestor_vcpu_seg_t *g = state_seg(s, i);
        g->sel = (uint16_t)vmread(seg_fields[i].sel);
        g->base = vmread(seg_fields[i].base);
        g->limit = (uint32_t)vmread(seg_fields[i].limit);
        g->ar = (uint32_t)vmread(seg_fields[i].ar);
    }
    if (mask & NESTOR_MTD_SYS_SEGS) {
        s->gdtr_base = vmread(VMCS_GUEST_GDTR_BASE);
        s->gdtr_limit = vmread(VMCS_GUEST_GDTR_LIMIT);
        s->idtr_base = vmread(VMCS_GUEST_IDTR_BASE);
        s->idtr_limit = vmread(VMCS_GUEST_IDTR_LIMIT);
    }
    if (mask & NESTOR_MTD_INTR) {
        s->interruptibility = vmread(VMCS_GUEST_INTERRUPTIBILITY);
        s->activity = vmread(VMCS_GUEST_ACTIVITY);
        s->pending_dbg = vmread(VMCS_GUEST_PENDING_DBG);
    }
    if (mask & NESTOR_MTD_PDPTE)
        for (unsigned i = 0; i < 4; i++)
            s->pdpte[i] = vmread(VMCS_GUEST_PDPTE0 + 2 * i);
    if (mask & NESTOR_MTD_MSRS) {
        s->sysenter_cs = vmread(VMCS_GUEST_SYSENTER_CS);
        s->sysenter_esp = vmread(VMCS_GUEST_SYSENTER_ESP);
        s->sysenter_eip = vmread(VMCS_GUEST_SYSENTER_EIP);
        s->star = v->msrs[GMSR_STAR].value;
        s->lstar = v->msrs[GMSR_LSTAR].value;
        s->cstar = v->msrs[GMSR_CSTAR].value;
        s->fmask = v->msrs[GMSR_FMASK].value;
        s->kernel_gs_base = v->msrs[GMSR_KERNEL_GS_BASE].value;
        s->tsc_aux = v->msrs[GMSR_TSC_AUX].value;
        s->pat = vmread(VMCS_GUEST_PAT);
    }
    if (mask & NESTOR_MTD_DEBUG) {
        if (dr_owner == v)
            dr_save(v);
        s->dr0 = v->drs[GDR_DR0];
        s->dr1 = v->drs[GDR_DR1];
        s->dr2 = v->drs[GDR_DR2];
        s->dr3 = v->drs[GDR_DR3];
        s->dr6 = v->drs[GDR_DR6];
        s->dr7 = vmread(VMCS_GUEST_DR7);
        s->debugctl = vmread(VMCS_GUEST_DEBUGCTL);
    }
    if (mask & RARE_GROUPS) {           /* one test for three groups plain exits never fetch */
        store_rare(v, s, mask);         /* (a tail call: no spills on the plain path) */
        return;
    }
    v->fetched |= mask;
    s->mtd = v->fetched;            /* every group valid in the page since the exit */
}

/* The guest sees @value (the shadow holds the host-owned bits as it wrote
 * them, SDM 25.3); the CPU runs with @value plus the bits VMX fixes to 1 (SDM
 * 23.8). Every other bit, owned or not, is the guest's in the real register:
 * owning a bit only makes changing it exit. */
static void load_cr(uint64_t cr_f, uint64_t mask_f, uint64_t shadow_f, uint64_t value,
                    uint64_t vmx_fixed)
{
    vmwrite(shadow_f, value & vmread(mask_f));
    vmwrite(cr_f, value | vmx_fixed);
}

/*
 * Load groups from the state page. Nothing here can hurt the host: VMX keeps
 * host and guest apart, and a guest state VM entry rejects comes back as an
 * entry-failure exit to the monitor (SDM 26.3, 26.8).
 */
static void load_more(vcpu_t *v, const nestor_vcpu_state_t *s, uint64_t mask);

static void load_state(vcpu_t *v, const nestor_vcpu_state_t *s, uint64_t mask)
{
    if (mask & NESTOR_MTD_GPRS) {
        VCPU_GPR_FIELDS(GPR_FROM_STATE_)
    }
    if (mask & NESTOR_MTD_RSP)
        vmwrite(VMCS_GUEST_RSP, s->rsp);
    if (mask & NESTOR_MTD_RIP)
        vmwrite(VMCS_GUEST_RIP, s->rip);
    if (mask & NESTOR_MTD_RFLAGS)
        vmwrite(VMCS_GUEST_RFLAGS, s->rflags);
    if (mask & ~(uint64_t)BASE_GROUPS)
        load_more(v, s, mask);          /* (a tail call) */
}

/* load_state's groups beyond BASE_GROUPS, in the order they had. */
static __attribute__((noinline)) void load_more(vcpu_t *v, const nestor_vcpu_state_t *s,
                                                uint64_t mask)
{
    if (mask & NESTOR_MTD_CR) {
        load_cr(VMCS_GUEST_CR0, VMCS_CR0_MASK, VMCS_CR0_SHADOW, s->cr0, cr0_vmx_fixed);
        v->cr2 = s->cr2;
        vmwrite(VMCS_GUEST_CR3, s->cr3);
        load_cr(VMCS_GUEST_CR4, VMCS_CR4_MASK, VMCS_CR4_SHADOW, s->cr4, cr4_vmx_fixed);
        vmwrite(VMCS_GUEST_EFER, s->efer);
        follow_efer_lma(s->efer);
        /* A monitor changed the guest's paging state where the guest's own
         * MOV CR would have flushed: drop this VPID's translations (SDM
         * 28.4.3.3), entry does not. */
        vmx_flush_vpid((uint16_t)v->vpid);
    }
    for (unsigned i = segs_first(mask); i < segs_end(mask); i++) {
        const nestor_vcpu_seg_t *g = &(&s->es)[i];
        vmwrite(seg_fields[i].sel, g->sel);
        vmwrite(seg_fields[i].base, g->base);
        vmwrite(seg_fields[i].limit, g->limit);
        vmwrite(seg_fields[i].ar, g->ar);
    }
    if (mask & NESTOR_MTD_SYS_SEGS) {
        vmwrite(VMCS_GUEST_GDTR_BASE, s->gdtr_base);
        vmwrite(VMCS_GUEST_GDTR_LIMIT, s->gdtr_limit);
        vmwrite(VMCS_GUEST_IDTR_BASE, s->idtr_base);
        vmwrite(VMCS_GUEST_IDTR_LIMIT, s->idtr_limit);
    }
    if (mask & NESTOR_MTD_INTR) {
        vmwrite(VMCS_GUEST_INTERRUPTIBILITY, s->interruptibility);
        vmwrite(VMCS_GUEST_ACTIVITY, s->activity);
        vmwrite(VMCS_GUEST_PENDING_DBG, s->pending_dbg);
        /* An event injected at entry wakes it (SDM Vol. 3C 26.6.2). */
        v->halted = s->activity == NESTOR_ACTIVITY_HLT &&
                    !((mask & NESTOR_MTD_INJECT) && (s->inject_info & INTR_INFO_VALID));
    }
    if (mask & NESTOR_MTD_PDPTE) {
        for (unsigned i = 0; i < 4; i++)
            vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, s->pdpte[i]);
        vmx_flush_vpid((uint16_t)v->vpid);
    }
    if (mask & NESTOR_MTD_INJECT) {
        vmwrite(VMCS_ENTRY_INTR_INFO, s->inject_info);
        vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, s->inject_error);
        vmwrite(VMCS_ENTRY_INSTR_LEN, s->inject_instr_len);
    }
    if (mask & NESTOR_MTD_MSRS) {
        vmwrite(VMCS_GUEST_SYSENTER_CS, s->sysenter_cs);
        vmwrite(VMCS_GUEST_SYSENTER_ESP, s->sysenter_esp);
        vmwrite(VMCS_GUEST_SYSENTER_EIP, s->sysenter_eip);
        v->msrs[GMSR_STAR].value = s->star;
        v->msrs[GMSR_LSTAR].value = s->lstar;
        v->msrs[GMSR_CSTAR].value = s->cstar;
        v->msrs[GMSR_FMASK].value = s->fmask;
        v->msrs[GMSR_KERNEL_GS_BASE].value = s->kernel_gs_base;
        v->msrs[GMSR_TSC_AUX].value = s->tsc_aux;
        vmwrite(VMCS_GUEST_PAT, s->pat);
    }
    if (mask & NESTOR_MTD_DEBUG) {
        v->drs[GDR_DR0] = s->dr0;
        v->drs[GDR_DR1] = s->dr1;
        v->drs[GDR_DR2] = s->dr2;
        v->drs[GDR_DR3] = s->dr3;
        v->drs[GDR_DR6] = s->dr6;
        if (dr_owner == v)
            dr_owner = 0;               /* the CPU's copy is stale: reload at entry */
        vmwrite(VMCS_GUEST_DR7, s->dr7);
        vmwrite(VMCS_GUEST_DEBUGCTL, s->debugctl);
    }
    if (mask & RARE_GROUPS) {
        if (mask & NESTOR_MTD_XCR0)
            v->xcr0 = s->xcr0;
        if (mask & NESTOR_MTD_TIMER) {
            /* As NESTOR_VCPU_SET_TIMER, for the level answered. */
            v->monitor_timer = s->timer;
            v->timer_level = v->exit_level;
            v->timer_due = 0;
        }
        if (mask & NESTOR_MTD_SHADOW)
            shadow_sync_load(v, s->shadow, s->shadow_load);  /* last: it borrows the shadow */
    }
}

/* SDM Vol. 3A 11.12.2: each PAT entry is a memory type; 2, 3 and 8-255 are
 * reserved (WRMSR #GP, VM entry fails, SDM 26.3.1.1). */
static bool pat_valid(uint64_t pat)
{
    for (unsigned i = 0; i < 8; i++) {
        uint8_t type = (uint8_t)(pat >> (8 * i));
        if (type == 2 || type == 3 || type > 7)
            return false;
    }
    return true;
}

/* SDM Vol. 1 13.3: XCR0 bit 0 set, AVX only with SSE, nothing the host does
 * not enable (the kernel executes the XSETBV: a #GP there would be its own). */
static bool xcr0_valid(uint64_t x)
{
    if (!fpu_xcr0)
        return x == 0;
    return (x & XCR0_X87) && !(x & ~fpu_xcr0) && (!(x & XCR0_AVX) || (x & XCR0_SSE));
}

#define REFUSE(field) (NESTOR_ENTRY_REFUSED | STATE_OFF(field))
/* The groups refused_state() looks at. */
/* Groups a reply may load without having fetched them (nestor/vcpu.h):
 * their page fields are the monitor's choice, not guest state that could
 * be stale (an event to inject, a timer, a guest hypervisor's fields). */
#define NESTOR_MTD_UNFETCHED_OK (NESTOR_MTD_INJECT | NESTOR_MTD_TIMER | NESTOR_MTD_SHADOW)
#define CHECKED_GROUPS (NESTOR_MTD_INTR | NESTOR_MTD_MSRS | NESTOR_MTD_DEBUG | NESTOR_MTD_XCR0 | \
                        NESTOR_MTD_CR)

/*
 * The guest state the kernel refuses whatever a monitor wants: states that
 * would take the CPU from the kernel, and values the kernel itself would
 * load with an instruction that faults. Everything else is the CPU's to
 * check at VM entry (SDM 26.3), whose failure is an exit like any other.
 * Returns 0 or the refusal qualification (nestor/vcpu.h).
 */
static uint64_t refused_state(const nestor_vcpu_state_t *s, uint64_t mask)
{
    if (mask & NESTOR_MTD_INTR) {
        bool hlt_ok = vmx_raw_caps()->misc & VMX_MISC_ACTIVITY_HLT;
        if (s->activity != NESTOR_ACTIVITY_ACTIVE &&
            !(s->activity == NESTOR_ACTIVITY_HLT && hlt_ok))
            return REFUSE(activity);
    }
    if (mask & NESTOR_MTD_MSRS) {
        /* SDM Vol. 4 Table 2-2 / 26.3.1.1 / 26.4: canonical addresses, TSC_AUX 32 bits. */
        if (!canonical(s->lstar))
            return REFUSE(lstar);
        if (!canonical(s->cstar))
            return REFUSE(cstar);
        if (!canonical(s->kernel_gs_base))
            return REFUSE(kernel_gs_base);
        if (!canonical(s->sysenter_esp))
            return REFUSE(sysenter_esp);
        if (!canonical(s->sysenter_eip))
            return REFUSE(sysenter_eip);
        if (s->tsc_aux >> 32)
            return REFUSE(tsc_aux);
        if (!pat_valid(s->pat))
            return REFUSE(pat);
    }
    if (mask & NESTOR_MTD_DEBUG) {
        /* SDM 17.2.4, Vol. 2B MOV DR: in 64-bit mode DR0-3 must be canonical and
         * DR6/DR7 bits 63:32 zero (else #GP in the kernel, or, for DR7, a
         * failed entry, SDM 26.3.1.1). */
        if (!canonical(s->dr0))
            return REFUSE(dr0);
        if (!canonical(s->dr1))
            return REFUSE(dr1);
        if (!canonical(s->dr2))
            return REFUSE(dr2);
        if (!canonical(s->dr3))
            return REFUSE(dr3);
        if (s->dr6 >> 32)
            return REFUSE(dr6);
        if (s->dr7 >> 32)
            return REFUSE(dr7);
    }
    if ((mask & NESTOR_MTD_XCR0) && !xcr0_valid(s->xcr0))
        return REFUSE(xcr0);
    if ((mask & NESTOR_MTD_CR) && (s->cr4 & CR4_UNSWITCHED))
        return REFUSE(cr4);
    return 0;
}

/* ---- running and exits ---- */

/* One kernel tick in VMX-preemption-timer units (at least 1). */
static uint32_t guest_slice_timer(void)
{
    static uint32_t slice;
    if (!slice) {
        uint64_t s = lapic_tsc_per_tick() >> (vmx_raw_caps()->misc & VMX_MISC_PREEMPT_RATE_MASK);
        slice = s == 0 ? 1 : s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
    }
    return slice;
}

static void stop(tcb_t *t, const char *why, uint64_t reason);
static void refuse_entry(tcb_t *t, vcpu_t *v);

bool vcpu_pml_supported(void)
{
    return vmx_ept_ad() && vmx_ctl_allowed1(vmx_raw_caps()->procbased2, PROC2_ENABLE_PML);
}

/*
 * Page-modification logging (SDM 28.3.6) follows the frame in VCPU_CTE_PML,
 * checked before every entry while logging is on: the frame can be revoked
 * at any time, and the CPU must never log into memory that is no longer the
 * monitor's. A new frame starts with an empty log (index 511).
 */
static void pml_follow_frame(vcpu_t *v)
{
    const cap_t *f = &v->ctes[VCPU_CTE_PML].cap;
    uint64_t pa = f->type == NESTOR_OBJ_FRAME_4K ? kobj_paddr(f->obj) : 0;
    if (pa == v->pml_pa)
        return;
    uint64_t proc2 = vmread(VMCS_PROC_CONTROLS2) & ~(uint64_t)PROC2_ENABLE_PML;
    if (pa) {
        vmwrite(VMCS_PML_ADDRESS, pa);
        vmwrite(VMCS_GUEST_PML_INDEX, NESTOR_PML_ENTRIES - 1);
        proc2 |= PROC2_ENABLE_PML;
    }
    vmwrite(VMCS_PROC_CONTROLS2, proc2);
    v->pml_pa = pa;
    vcpu_follow_update(v);
}

void vcpu_pml_changed(vcpu_t *v)
{
    vmcs_load(v);
    v->pml_pa = 1;                      /* matches no frame: take the slot's */
    pml_follow_frame(v);
}

void vcpu_set_shadowing(vcpu_t *v, uint64_t link, uint64_t vmread_bitmap, uint64_t vmwrite_bitmap)
{
    vmcs_load(v);
    uint64_t proc2 = vmread(VMCS_PROC_CONTROLS2) & ~(uint64_t)PROC2_VMCS_SHADOWING;
    if (link != VMCS_LINK_POINTER_NONE)
        proc2 |= PROC2_VMCS_SHADOWING;
    /* SDM 24.6.15, 24.4.2: the bitmaps' and the shadow's addresses. */
    vmwrite(VMCS_VMREAD_BITMAP, vmread_bitmap);
    vmwrite(VMCS_VMWRITE_BITMAP, vmwrite_bitmap);
    vmwrite(VMCS_LINK_POINTER, link);
    vmwrite(VMCS_PROC_CONTROLS2, proc2);
}

bool vcpu_vmcs_borrow(uint64_t pa, uint64_t *prev)
{
    *prev = current_vmcs;
    if (!vmx_vmptrld(pa))
        return false;               /* SDM 30.3: VMfail leaves the current VMCS */
    current_vmcs = pa;
    return true;
}

void vcpu_vmcs_return(uint64_t pa, uint64_t prev)
{
    /* SDM 30.3 VMCLEAR: the data reach memory and the VMCS is no longer
     * current; the shadow is then safe to link or to free. */
    vmx_vmclear(pa);
    current_vmcs = 0;
    if (prev && vmx_vmptrld(prev))
        current_vmcs = prev;
}

void vcpu_run(tcb_t *t)
{
    vcpu_t *v = t->vcpu;
    const cap_t *ept = &v->ctes[VCPU_CTE_EPT].cap;
    vmcs_load(v);
    /* The exit loads these as FS/GS bases (SDM 27.5.2; canonical: user
     * bases, 26.2.3): the last ring-3 thread's, most often the handler of
     * the exit, which then runs with no WRMSR (sched.c). */
    if (__builtin_expect(v->host_fs != sched_tls.fs, 0)) {
        v->host_fs = sched_tls.fs;
        vmwrite(VMCS_HOST_FS_BASE, v->host_fs);
    }
    if (__builtin_expect(v->host_gs != sched_tls.gs, 0)) {
        v->host_gs = sched_tls.gs;
        vmwrite(VMCS_HOST_GS_BASE, v->host_gs);
    }
    if (ept->type != NESTOR_OBJ_EPT_PML4) {
        /* No guest-physical space (never set, or revoked): nothing to run. */
        stop(t, "no EPT (set one with NESTOR_VCPU_SET_EPT)", 0);
        sched_run();
    }
    if (v->refused) {
        refuse_entry(t, v);
        sched_run();
    }
    /* SDM 25.5.1: the timer counts down from this value at the TSC rate
     * shifted right by IA32_VMX_MISC[4:0]; 0 makes the guest exit before it
     * executes any instruction (a pause). (Without the timer, as the
     * capability MSR allows, PAUSE is refused at invocation.) */
    uint32_t timer = guest_slice_timer();
    v->pause_armed = v->pause_pending ? NESTOR_PREEMPT_PAUSE
                     : v->timer_due   ? NESTOR_PREEMPT_MONITOR_TIMER : 0;
    if (v->pause_armed)
        timer = 0;
    else if (v->monitor_timer && v->monitor_timer < timer)
        timer = (uint32_t)v->monitor_timer;
    vmwrite(VMCS_PREEMPT_TIMER_VALUE, timer);
    v->timer_loaded = timer;
    v->pause_pending = 0;
    v->timer_due = 0;
    uint64_t eptp = vspace_eptp(ept->obj);
    if (v->eptp != eptp) {
        vmwrite(VMCS_EPT_POINTER, eptp);
        v->eptp = eptp;
    }
    if (v->follow) {
        if (v->pml_pa)
            pml_follow_frame(v);
        if (v->shadow)
            shadow_check_before_entry(v);
    }
    if (dr_owner != v)
        dr_switch_to(v);
    WRITE_DR(6, v->drs[GDR_DR6]);
    /* SDM Vol. 1 13.3: XCR0 is not part of the VMCS; the guest's is loaded
     * last, with interrupts off, and the host's comes back first thing after
     * the exit (host_state_restore). While the guest's CR4.OSXSAVE is 0 its
     * XCR0 cannot be seen or used (XGETBV, XSAVE* and AVX all #UD, SDM Vol. 1
     * 13.3, 14.3): it then keeps the host's and nothing is switched. */
    if (v->xcr0 != cpu_xcr0 && (vmread(VMCS_GUEST_CR4) & CR4_OSXSAVE)) {
        fpu_set_xcr0(v->xcr0);
        cpu_xcr0 = v->xcr0;
    }
    vmx_enter(v->gprs, v->launched);
}

/*
 * After any exit or failed entry, before anything else: the CPU has the
 * host state of the VMCS (SDM 27.5), which leaves hazards behind. The GDTR
 * and IDTR limits and TR (SDM 27.5.2) are reloaded, XCR0 is the host's
 * again; the MSRs the VMCS does not switch came back through the VM-exit
 * MSR-load area (SDM 27.6), DR7 and DEBUGCTL through the VMCS (27.5.1).
 */
static void host_state_restore(void)
{
    gdt_restore_after_vm_exit();
    idt_restore_after_vm_exit();
    if (cpu_xcr0 != fpu_xcr0) {
        fpu_set_xcr0(fpu_xcr0);
        cpu_xcr0 = fpu_xcr0;
    }
    vspace_active_cr3 = vspace_kernel_pml4_paddr();
}

static void stop(tcb_t *t, const char *why, uint64_t reason)
{
    kprintf("vcpu: thread %u: %s (exit reason 0x%lx, rip 0x%lx): vCPU stopped\n", t->id, why,
            reason, vmread(VMCS_GUEST_RIP));
    t->state = TS_INACTIVE;
    sched_remove(t);
}

/* Word @i of the exit message: reason and qualification as kept, the rest
 * from the VMCS's exit-information fields (valid until the next entry). */
static inline __attribute__((always_inline)) uint64_t exit_mr(const vcpu_t *v, unsigned i)
{
    switch (i) {
    case NESTOR_EXIT_MR_REASON:        return v->exit_reason;
    case NESTOR_EXIT_MR_QUALIFICATION: return v->exit_qual;
    case NESTOR_EXIT_MR_GUEST_LINEAR:  return vmread(VMCS_GUEST_LINEAR_ADDR);
    case NESTOR_EXIT_MR_GUEST_PHYS:    return vmread(VMCS_GUEST_PHYS_ADDR);
    case NESTOR_EXIT_MR_INSTR_LEN:     return vmread(VMCS_EXIT_INSTR_LEN);
    case NESTOR_EXIT_MR_INSTR_INFO:    return vmread(VMCS_EXIT_INSTR_INFO);
    case NESTOR_EXIT_MR_INTR_INFO:     return vmread(VMCS_EXIT_INTR_INFO);
    case NESTOR_EXIT_MR_INTR_ERROR:    return vmread(VMCS_EXIT_INTR_ERROR);
    case NESTOR_EXIT_MR_RIP:           return vmread(VMCS_GUEST_RIP);
    case NESTOR_EXIT_MR_IDT_VECTORING: return vmread(VMCS_IDT_VECTORING_INFO);
    default:                           return vmread(VMCS_IDT_VECTORING_ERROR);
    }
}
_Static_assert(NESTOR_EXIT_MR_IDT_ERROR == NESTOR_EXIT_MR_COUNT - 1,
               "exit_mr's default is the last word");

/* The exit message into @mrs. */
static inline __attribute__((always_inline)) void exit_message(const vcpu_t *v, uint64_t *mrs)
{
#pragma GCC unroll 16
    for (unsigned i = 0; i < NESTOR_EXIT_MR_COUNT; i++)
        mrs[i] = exit_mr(v, i);
}

/*
 * The exit fast path: the handler already waits on the endpoint, at a
 * priority that lets it run now, with an address space and an IPC buffer.
 * Write the message straight into it and hand the CPU over, as the IPC fast
 * path does; the result is what ipc_send would have produced. Returns only
 * when this does not apply.
 */
static inline __attribute__((always_inline)) void exit_fast_handoff(tcb_t *t, const vcpu_t *v,
                                                                     const cap_t *ep_cap,
                                                                     const uint64_t *mrs)
{
    endpoint_t *ep = cap_ep(ep_cap);
    tcb_t *recv = fastpath_receiver(ep, t->priority, true);
    nestor_ipc_buffer_t *buf = recv ? tcb_ipc_buffer(recv) : 0;
    if (!buf)
        return;
    ep_dequeue_head(ep);
    /* A handler that still owes a reply (one that answers exits with
     * NESTOR_VCPU_REPLY, as nested-vmx does: it waits for L1's exit while
     * L2's is unanswered) loses that reply right here, as on the general
     * path (ipc.c link_reply): the earlier caller stays blocked, unlinked;
     * a vCPU thread among them is still answered by NESTOR_VCPU_REPLY. */
    if (recv->caller)
        recv->caller->callee = 0;
    /* No @mrs: the message of this exit, written straight into the
     * handler's registers and IPC buffer (one copy less on every exit). */
    _Static_assert(NESTOR_MSG_REGISTERS_IN_CPU == 4, "rdx, r8, r9, r10 carry MRs 0-3");
    recv->frame.rdx = mrs ? mrs[0] : exit_mr(v, 0);
    recv->frame.r8 = mrs ? mrs[1] : exit_mr(v, 1);
    recv->frame.r9 = mrs ? mrs[2] : exit_mr(v, 2);
    recv->frame.r10 = mrs ? mrs[3] : exit_mr(v, 3);
#pragma GCC unroll 16
    for (unsigned i = NESTOR_MSG_REGISTERS_IN_CPU; i < NESTOR_EXIT_MR_COUNT; i++)
        buf->msg[i] = mrs ? mrs[i] : exit_mr(v, i);
    set_syscall_result(recv, NESTOR_OK,
                       nestor_msginfo(NESTOR_FAULT_VM_EXIT, 0, 0, NESTOR_EXIT_MR_COUNT),
                       cap_badge(ep_cap));
    fastpath_call_switch(t, recv, true);
}

/* The handler of @slot at the highest level <= @top that has one (its
 * level in *@level), or NULL. */
static const cap_t *exit_handler(const vcpu_t *v, unsigned slot, int top, unsigned *level)
{
    for (int l = top; l >= 0; l--) {
        const cap_t *table = &v->ctes[VCPU_CTE_EXIT_TABLE + l].cap;
        if (table->type != NESTOR_OBJ_CNODE)
            continue;
        const cap_t *ep = &cnode_slots(table)[slot].cap;
        if (ep->type == NESTOR_OBJ_ENDPOINT && (ep->rights & NESTOR_RIGHT_WRITE)) {
            *level = (unsigned)l;
            return ep;
        }
    }
    return 0;
}

static bool is_exception_slot(unsigned slot)
{
    return slot >= NESTOR_EXIT_SLOT_EXCEPTION && slot < NESTOR_EXIT_SLOT_EXCEPTION + 32;
}

/* An exception exit nobody handles goes into the guest as if it had not
 * been intercepted (SDM 24.8.3: the exit's interruption information, which
 * has the VM-entry layout but bit 12, and error code). */
/* Inject an event at the next entry (SDM 24.8.3, 26.6: information with
 * bit 12 clear, error code, instruction length for software events). */
static void inject_event(uint64_t info, uint64_t error, uint64_t instr_len)
{
    vmwrite(VMCS_ENTRY_INTR_INFO, info & INTR_INFO_REINJECT_MASK);
    vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, error);
    vmwrite(VMCS_ENTRY_INSTR_LEN, instr_len);
}

/* SDM Vol. 3A 6.15, Table 6-4: the exception classes. */
static bool contributory(unsigned vec)
{
    return vec == VEC_DE || vec == VEC_TS || vec == VEC_NP || vec == VEC_SS || vec == VEC_GP;
}

typedef enum { DELIVER_SERIALLY, DELIVER_DF, DELIVER_SHUTDOWN } exc_merge_t;

/* SDM Vol. 3A Table 6-5: a second exception raised while delivering a first
 * (a hardware exception, in the IDT-vectoring information) becomes #DF or
 * a shutdown, or is delivered on its own. */
static exc_merge_t merge_exceptions(uint64_t idt_info, unsigned second)
{
    if (!(idt_info & INTR_INFO_VALID) ||
        ((idt_info >> INTR_INFO_TYPE_SHIFT) & INTR_INFO_TYPE_MASK) != INTR_TYPE_HW_EXCEPTION)
        return DELIVER_SERIALLY;
    unsigned first = idt_info & INTR_INFO_VECTOR_MASK;
    bool second_bad = contributory(second) || second == VEC_PF;
    if (first == VEC_DF && second_bad)
        return DELIVER_SHUTDOWN;
    if ((contributory(first) && contributory(second)) || (first == VEC_PF && second_bad))
        return DELIVER_DF;
    return DELIVER_SERIALLY;
}

static bool reflect_exception(tcb_t *t, vcpu_t *v)
{
    uint64_t info = vmread(VMCS_EXIT_INTR_INFO), qual = vmread(VMCS_EXIT_QUALIFICATION);
    unsigned vec = info & INTR_INFO_VECTOR_MASK;
    switch (merge_exceptions(vmread(VMCS_IDT_VECTORING_INFO), vec)) {
    case DELIVER_SHUTDOWN:
        /* A triple fault (SDM 6.15, interrupt 8): the guest cannot go on. */
        stop(t, "triple fault (an exception while delivering #DF)", NESTOR_EXIT_TRIPLE_FAULT);
        return false;
    case DELIVER_DF:
        inject_event(INTR_INFO_VALID | INTR_INFO_ERROR_VALID |
                         INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT | VEC_DF, 0, 0);
        return true;
    case DELIVER_SERIALLY:
        break;
    }
    /* SDM 27.1: an exception exit leaves out what delivery would have done
     * first: a #PF's CR2 and a #DB's DR6 bits (in the qualification, SDM
     * Table 27-1) and DR7.GD cleared (SDM 17.2.4). */
    if (vec == VEC_PF) {
        v->cr2 = qual;
    } else if (vec == VEC_DB) {
        v->drs[GDR_DR6] = (v->drs[GDR_DR6] & ~(uint64_t)DR6_EXIT_QUAL_BITS) |
                          (qual & DR6_EXIT_QUAL_BITS);
        vmwrite(VMCS_GUEST_DR7, vmread(VMCS_GUEST_DR7) & ~(uint64_t)DR7_GD);
    }
    inject_event(info, vmread(VMCS_EXIT_INTR_ERROR), vmread(VMCS_EXIT_INSTR_LEN));
    return true;
}

typedef enum { EXIT_SENT, EXIT_REFLECTED, EXIT_STOPPED } exit_outcome_t;

/* The exit message @mrs (NULL: exit_message's, built where it goes) to
 * endpoint @ep, @t waiting for the reply. The fast hand-off applies only on
 * the exit path, where @t runs. */
static inline __attribute__((always_inline)) void exit_to(tcb_t *t, const vcpu_t *v,
                                                           const cap_t *ep, const uint64_t *mrs,
                                                           bool from_exit)
{
    t->fault_type = NESTOR_FAULT_VM_EXIT;
    if (from_exit)
        exit_fast_handoff(t, v, ep, mrs);  /* returns only when it does not apply */
    t->fault_len = NESTOR_EXIT_MR_COUNT;
    if (mrs)
        for (unsigned i = 0; i < NESTOR_EXIT_MR_COUNT; i++)
            t->fault_mrs[i] = mrs[i];
    else
        exit_message(v, t->fault_mrs);
    ipc_send(t, ep, true, true);
}

/* Send the exit in @mrs (NULL: exit_message's) to the handler of table slot
 * @slot at level @top or below. The fast hand-off applies only on the exit
 * path, where @t runs. */
static exit_outcome_t
send_exit(tcb_t *t, vcpu_t *v, unsigned slot, int top, const uint64_t *mrs, bool from_exit)
{
    unsigned level;
    const cap_t *ep = exit_handler(v, slot, top, &level);
    if (!ep) {
        if (is_exception_slot(slot))
            return reflect_exception(t, v) ? EXIT_REFLECTED : EXIT_STOPPED;
        stop(t, "no handler for this exit", v->exit_reason);   /* (= MR 0 of every exit) */
        return EXIT_STOPPED;
    }
    v->exit_level = (uint8_t)level;
    v->exit_slot = (uint8_t)slot;
    /* Any exit the handler sees serves a pause it asked for. */
    v->pause_pending = 0;
    nestor_vcpu_state_t *s = state_page(v);
    if (s)
        store_state(v, s, v->exit_mask[level][slot]);
    exit_to(t, v, ep, mrs, from_exit);
    return EXIT_SENT;
}

static void deliver_exit_at(tcb_t *t, vcpu_t *v, uint64_t reason, uint64_t qual, unsigned slot,
                            unsigned level);

/* A hardware exit, to its slot's handler. */
static inline __attribute__((always_inline)) void deliver_exit(tcb_t *t, vcpu_t *v,
                                                                 uint64_t reason, unsigned slot)
{
    deliver_exit_at(t, v, reason, vmread(VMCS_EXIT_QUALIFICATION), slot, v->slot_level[slot]);
}

/* An exit the kernel makes for a monitor at @level (a pause it asked for,
 * its timer): the search for a handler starts at that level. */
static void deliver_exit_at(tcb_t *t, vcpu_t *v, uint64_t reason, uint64_t qual, unsigned slot,
                            unsigned level)
{
    v->exit_reason = reason;
    v->exit_qual = qual;
    send_exit(t, v, slot, (int)level, 0, true);
}

/*
 * The guest time that passed in this stay comes off the monitor's timer: the
 * loaded value less what the CPU saved at the exit ("save VMX-preemption
 * timer value", SDM 24.7.1, 27.3.3); without that control, all of it (the
 * monitor's timer then runs out early rather than late). True when it ran
 * out (it is one-shot: off from then on).
 */
static bool monitor_timer_ran_out(vcpu_t *v)
{
    uint64_t left = 0;
    if (vmread(VMCS_EXIT_CONTROLS) & EXIT_SAVE_PREEMPT_TIMER)
        left = vmread(VMCS_PREEMPT_TIMER_VALUE);
    uint64_t spent = v->timer_loaded > left ? v->timer_loaded - left : 0;
    v->monitor_timer = v->monitor_timer > spent ? v->monitor_timer - spent : 0;
    return v->monitor_timer == 0;
}

/* PASS_ON: the same exit to the next lower level that handles its slot. */
static inline __attribute__((always_inline)) bool pass_on(tcb_t *t, vcpu_t *v)
{
    int top = (int)v->exit_level - 1;
    if (__builtin_expect(v->exit_level == VCPU_DOORBELL_LEVEL, 0)) {
        /* From a doorbell's server to the tables, as if it had not taken
         * the exit; what the server was given is not the tables' page. */
        top = v->slot_level[v->exit_slot];
        v->fetched = 0;
    }
    vmcs_load(v);
    return send_exit(t, v, v->exit_slot, top, 0, false) == EXIT_REFLECTED;
}

/*
 * An EPT violation (SDM Vol. 3C 28.3.3.2) at a guest-physical address
 * (27.2.1: the exit's guest-physical-address field) in a doorbell's range
 * goes to its server, with NESTOR_DOORBELL_GROUPS in the entry's page and
 * its timeout armed (nestor/vcpu.h "Doorbells"). False: no entry takes it
 * (none there, or its endpoint or page was deleted): the tables do.
 */
static __attribute__((noinline)) bool doorbell_exit(tcb_t *t, vcpu_t *v, uint64_t reason,
                                                    uint64_t gpa)
{
    for (unsigned i = 0; i < NESTOR_DOORBELL_MAX; i++) {
        const vcpu_doorbell_t *d = &v->doorbell_range[i];
        if (!(v->doorbells & BIT(i)) || gpa - d->base >= d->bytes)
            continue;
        const cap_t *ep = &v->ctes[VCPU_CTE_DOORBELL_EP + i].cap;
        nestor_vcpu_state_t *s = page_in(v, VCPU_CTE_DOORBELL_PAGE + i);
        if (ep->type != NESTOR_OBJ_ENDPOINT || !s)
            return false;
        v->exit_reason = reason;
        v->exit_qual = vmread(VMCS_EXIT_QUALIFICATION);
        v->exit_level = VCPU_DOORBELL_LEVEL;
        v->exit_slot = NESTOR_EXIT_EPT_VIOLATION;
        v->doorbell = (uint8_t)i;
        store_state(v, s, NESTOR_DOORBELL_GROUPS);
        ipc_timeout_arm(t, d->timeout_ticks);
        exit_to(t, v, ep, 0, true);
        return true;
    }
    return false;
}

void vcpu_doorbell_bounds(vcpu_t *v)
{
    const uint64_t in_page = (1ULL << NESTOR_FRAME_4K_BITS) - 1;
    uint64_t lo = ~0ULL, end = 0, off_lo = in_page, off_end = 0;
    for (unsigned i = 0; i < NESTOR_DOORBELL_MAX; i++) {
        const vcpu_doorbell_t *d = &v->doorbell_range[i];
        if (!(v->doorbells & BIT(i)) || !d->bytes)
            continue;
        lo = d->base < lo ? d->base : lo;
        end = d->base + d->bytes > end ? d->base + d->bytes : end;
        /* Each range lies in one page (vcpu_invoke.c doorbell_range_ok). */
        uint64_t off = d->base & in_page;
        off_lo = off < off_lo ? off : off_lo;
        off_end = off + d->bytes > off_end ? off + d->bytes : off_end;
    }
    v->doorbell_lo = end ? lo : 0;
    v->doorbell_span = end ? end - lo : 0;
    v->doorbell_off_lo = end ? (uint32_t)off_lo : 0;
    v->doorbell_off_span = end ? (uint32_t)(off_end - off_lo) : 0;
}

bool vcpu_doorbell_waits(const tcb_t *t)
{
    return t->vcpu && t->vcpu->exit_level == VCPU_DOORBELL_LEVEL &&
           t->fault_type == NESTOR_FAULT_VM_EXIT &&
           (t->state == TS_BLOCKED_SEND || t->state == TS_BLOCKED_REPLY);
}

bool vcpu_doorbell_lost(tcb_t *t, const char *why)
{
    vcpu_t *v = t->vcpu;
    if (!v || v->exit_level != VCPU_DOORBELL_LEVEL)
        return false;
    /* Said once: the entry is off until the VMM sets it again. */
    v->doorbells &= (uint8_t)~BIT(v->doorbell);
    vcpu_doorbell_bounds(v);
    kprintf("vcpu: thread %u: doorbell %u's server %s: its exit and the next go to the exit "
            "tables\n", t->id, v->doorbell, why);
    t->state = TS_INACTIVE;
    t->fault_type = NESTOR_FAULT_NONE;
    if (pass_on(t, v))
        sched_make_ready(t);
    return true;
}

bool vcpu_exit_reply(tcb_t *t, uint64_t label, uint64_t mask, bool by_handler)
{
    vcpu_t *v = t->vcpu;
    /* A doorbell's server cannot stop the VM: an answer other than RESUME
     * or PASS_ON leaves the exit to the VMM, nothing loaded (nestor/vcpu.h). */
    if (__builtin_expect(by_handler && v && v->exit_level == VCPU_DOORBELL_LEVEL, 0) &&
        label != NESTOR_EXIT_REPLY_RESUME && label != NESTOR_EXIT_REPLY_PASS_ON) {
        label = NESTOR_EXIT_REPLY_PASS_ON;
        mask = 0;
    }
    if (v && label == NESTOR_EXIT_REPLY_RESUME) {
        vcpu_resume_from_exit(t, mask);
        return true;
    }
    if (v && label == NESTOR_EXIT_REPLY_PASS_ON) {
        vcpu_resume_from_exit(t, mask);
        /* A refused state fails the next entry instead (to slot 127's handler). */
        return v->refused ? true : pass_on(t, v);
    }
    t->state = TS_INACTIVE;             /* the handler chose to leave it stopped */
    if (t->call_deadline)
        ipc_timeout_disarm(t);          /* (a doorbell's exit: RESUME and PASS_ON disarm in
                                           vcpu_resume_from_exit) */
    return false;
}

/* NESTOR_VCPU_REPLY: answer, from any thread, the exit @t waits on. */
void vcpu_deferred_reply(tcb_t *t, uint64_t label, uint64_t mask)
{
    if (t->callee && t->callee->caller == t)
        t->callee->caller = 0;
    t->callee = 0;
    t->fault_type = NESTOR_FAULT_NONE;
    t->state = TS_INACTIVE;
    if (vcpu_exit_reply(t, label, mask, false))
        sched_make_ready(t);
}

bool vcpu_waits_for_exit_reply(const vcpu_t *v)
{
    return v->tcb && v->tcb->state == TS_BLOCKED_REPLY &&
           v->tcb->fault_type == NESTOR_FAULT_VM_EXIT;
}

void vcpu_derive_routing(vcpu_t *v)
{
    uint32_t bitmap = EXCEPTIONS_ALWAYS_EXIT;
    for (unsigned slot = 0; slot < EXIT_TABLE_SLOTS; slot++) {
        unsigned level = 0;
        exit_handler(v, slot, NESTOR_EXIT_LEVELS - 1, &level);
        v->slot_level[slot] = (uint8_t)level;
        if (is_exception_slot(slot) && exit_handler(v, slot, NESTOR_EXIT_LEVELS - 1, &level))
            bitmap |= 1u << (slot - NESTOR_EXIT_SLOT_EXCEPTION);
    }
    vmcs_load(v);
    vmwrite(VMCS_EXCEPTION_BITMAP, bitmap);
}

/* A reply carried guest state the kernel refuses: the entry fails as a
 * hardware entry failure would (SDM 26.8), with the reason in the
 * qualification (nestor/vcpu.h), and nothing of it was loaded. */
static void refuse_entry(tcb_t *t, vcpu_t *v)
{
    uint64_t mrs[NESTOR_EXIT_MR_COUNT] = {
        [NESTOR_EXIT_MR_REASON] = EXIT_REASON_ENTRY_FAILURE | NESTOR_EXIT_INVALID_STATE,
        [NESTOR_EXIT_MR_QUALIFICATION] = v->refused,
        [NESTOR_EXIT_MR_RIP] = vmread(VMCS_GUEST_RIP),
    };
    kprintf("vcpu: thread %u: entry refused (qualification 0x%lx)\n", t->id, v->refused);
    v->exit_reason = mrs[NESTOR_EXIT_MR_REASON];
    v->exit_qual = mrs[NESTOR_EXIT_MR_QUALIFICATION];
    v->refused = 0;
    v->fetched = 0;
    send_exit(t, v, NESTOR_EXIT_SLOT_ENTRY_FAIL, v->slot_level[NESTOR_EXIT_SLOT_ENTRY_FAIL], mrs,
              true);
}

/*
 * An exit the kernel handles itself may have interrupted the delivery of an
 * event to the guest (SDM 27.2.4): inject it again, as it was, or it is lost
 * (SDM 27.2.4 and 26.6 on what entry injection needs: the type, vector and
 * error code, and the instruction length for software events).
 */
static void reinject_vectoring(void)
{
    uint64_t idt = vmread(VMCS_IDT_VECTORING_INFO);
    if (idt & INTR_INFO_VALID)
        inject_event(idt, vmread(VMCS_IDT_VECTORING_ERROR), vmread(VMCS_EXIT_INSTR_LEN));
}

/*
 * Exits that are the host's own events, never a monitor's: an NMI (NMI
 * exiting, SDM 24.6.1, 27.2.2) and a machine check (an exception exit with
 * vector 18, or one during VM entry, SDM 27.1, 15.10.1). The host's handler
 * runs through the IDT; for an NMI its IRETQ also ends the NMI blocking the
 * exit left (SDM 27.5.5, 6.7.1); a machine check is the host's end.
 */
static bool is_host_event(unsigned basic)
{
    if (basic == NESTOR_EXIT_MACHINE_CHECK)
        return true;
    if (basic != NESTOR_EXIT_EXCEPTION)
        return false;
    uint64_t info = vmread(VMCS_EXIT_INTR_INFO);
    return ((info >> INTR_INFO_TYPE_SHIFT) & INTR_INFO_TYPE_MASK) == INTR_TYPE_NMI ||
           (info & INTR_INFO_VECTOR_MASK) == VEC_MC;
}

static void host_event(unsigned basic)
{
    if (basic == NESTOR_EXIT_EXCEPTION &&
        (vmread(VMCS_EXIT_INTR_INFO) & INTR_INFO_VECTOR_MASK) == VEC_NMI) {
        __asm__ volatile("int %0" : : "i"(VEC_NMI) : "memory");
        return;
    }
    kprintf("vcpu: machine check while a guest ran\n");
    __asm__ volatile("int %0" : : "i"(VEC_MC) : "memory");
}

/*
 * An exit from a guest its monitor entered in the HLT state (v->halted).
 * A host interrupt, a host event or the VMX-preemption timer (the kernel's
 * tick, a pause) that exits from the HLT state leaves the guest there: the
 * exit comes first, any return to the active state only after it (SDM Vol.
 * 3C 27.1), and the activity state saved is the one before the exit
 * (27.3.4). Bochs saves "active" (it wakes the CPU, then delivers the exit:
 * docs/platforms.md); re-entered so, the guest would run on past its HLT,
 * find nothing to do and halt again, one HLT exit per host tick. Put the
 * HLT state back. Any other exit means the guest ran: from then on its
 * monitor decides (a halted guest executes nothing, so it cannot make one).
 */
static __attribute__((noinline)) void keep_halted(vcpu_t *v, uint64_t reason)
{
    unsigned basic = reason & EXIT_REASON_BASIC_MASK;
    if (!(reason & EXIT_REASON_ENTRY_FAILURE) &&
        (basic == NESTOR_EXIT_EXTERNAL_INT || basic == NESTOR_EXIT_PREEMPT_TIMER ||
         is_host_event(basic))) {
        if (vmread(VMCS_GUEST_ACTIVITY) == NESTOR_ACTIVITY_ACTIVE) {
            vmwrite(VMCS_GUEST_ACTIVITY, NESTOR_ACTIVITY_HLT);
            /* The HLT has completed, so no STI or MOV SS shadow is in
             * effect; an entry in the HLT state with one fails (SDM Vol.
             * 3C 26.3.1.5), and Bochs may have saved one it still held. */
            uint64_t irq = vmread(VMCS_GUEST_INTERRUPTIBILITY);
            if (irq & X86_INTR_BLOCK_SHADOW)
                vmwrite(VMCS_GUEST_INTERRUPTIBILITY, irq & ~(uint64_t)X86_INTR_BLOCK_SHADOW);
        }
        return;
    }
    v->halted = 0;
}

void vmx_exit_handler(uint64_t *gprs)
{
    vcpu_t *v = (vcpu_t *)gprs;         /* gprs is vcpu_t's first member */
    tcb_t *t = v->tcb;
    host_state_restore();
    sched_vm_exited(v->host_fs, v->host_gs);
    uint64_t reason = vmread(VMCS_EXIT_REASON);
    unsigned basic = reason & EXIT_REASON_BASIC_MASK;
    /* SDM 26.8: a VM entry that failed (bit 31) leaves the VMCS unlaunched. */
    if (!(reason & EXIT_REASON_ENTRY_FAILURE))
        v->launched = 1;
    v->fetched = 0;
    /* DR6 changes in the host too (a user thread's single step): the guest's
     * is kept from the exit to the next entry (vcpu_run). */
    v->drs[GDR_DR6] = READ_DR(6);
    /* What the zero timer of this entry was for (a pause, a monitor timer
     * that ran out on an exit of another kind), and whether the monitor's
     * timer ran out now. Neither is lost if the kernel takes this exit. */
    unsigned armed = v->pause_armed;
    v->pause_armed = 0;
    bool time_out = armed == NESTOR_PREEMPT_MONITOR_TIMER ||
                    (v->monitor_timer && monitor_timer_ran_out(v));
    if (__builtin_expect(v->halted, 0))
        keep_halted(v, reason);
    if (reason & EXIT_REASON_ENTRY_FAILURE) {
        v->timer_due = time_out;
        deliver_exit(t, v, reason, NESTOR_EXIT_SLOT_ENTRY_FAIL);
    } else if (basic == NESTOR_EXIT_PREEMPT_TIMER && (armed || time_out)) {
        bool pause = armed == NESTOR_PREEMPT_PAUSE;
        v->timer_due = pause && time_out;       /* (a pause first, the timer next) */
        deliver_exit_at(t, v, reason, pause ? NESTOR_PREEMPT_PAUSE : NESTOR_PREEMPT_MONITOR_TIMER,
                        NESTOR_EXIT_PREEMPT_TIMER, pause ? v->pause_level : v->timer_level);
    } else if (basic == NESTOR_EXIT_EXTERNAL_INT || basic == NESTOR_EXIT_PREEMPT_TIMER ||
               is_host_event(basic)) {
        v->pause_pending = armed == NESTOR_PREEMPT_PAUSE;
        v->timer_due = time_out;
        reinject_vectoring();
        if (basic == NESTOR_EXIT_EXTERNAL_INT || basic == NESTOR_EXIT_PREEMPT_TIMER)
            /* An interrupt is still pending (no acknowledge-on-exit), or the
             * guest's tick ran out and one may be: open the window and take
             * it through the IDT like any kernel interrupt. */
            __asm__ volatile("sti; nop; cli" ::: "memory");
        else
            host_event(basic);
    } else if (basic == NESTOR_EXIT_EXCEPTION) {
        v->timer_due = time_out;
        unsigned vec = vmread(VMCS_EXIT_INTR_INFO) & INTR_INFO_VECTOR_MASK;
        deliver_exit(t, v, reason, NESTOR_EXIT_SLOT_EXCEPTION + (vec & 31));
    } else {
        v->timer_due = time_out;
        uint64_t gpa;
        if (basic != NESTOR_EXIT_EPT_VIOLATION ||
            (gpa = vmread(VMCS_GUEST_PHYS_ADDR)) - v->doorbell_lo >= v->doorbell_span ||
            ((gpa & ((1ULL << NESTOR_FRAME_4K_BITS) - 1)) - v->doorbell_off_lo) >=
                v->doorbell_off_span ||
            !doorbell_exit(t, v, reason, gpa))
            deliver_exit(t, v, reason,
                         basic < NESTOR_EXIT_REASONS ? basic : NESTOR_EXIT_SLOT_ENTRY_FAIL);
    }
    sched_run();
}

/* VMLAUNCH/VMRESUME itself failed (SDM 30.4 VM-instruction error numbers):
 * the CPU never left the host, but XCR0 is already the guest's. */
void vmx_entry_failed(void)
{
    tcb_t *t = sched_current;
    vcpu_t *v = t->vcpu;
    host_state_restore();
    v->fetched = 0;
    /* The guest never ran: a pause or monitor timer armed for this entry is
     * still owed. */
    v->pause_pending = v->pause_armed == NESTOR_PREEMPT_PAUSE;
    v->timer_due = v->pause_armed == NESTOR_PREEMPT_MONITOR_TIMER;
    v->pause_armed = 0;
    uint64_t err = vmread(VMCS_INSTR_ERROR);
    kprintf("vcpu: VM entry failed, VM-instruction error %lu\n", err);
    /* (No exit happened: the VMCS exit fields are stale, no qualification.) */
    deliver_exit_at(t, v, EXIT_REASON_ENTRY_FAILURE | err, 0, NESTOR_EXIT_SLOT_ENTRY_FAIL,
                    v->slot_level[NESTOR_EXIT_SLOT_ENTRY_FAIL]);
    sched_run();
}

bool vcpu_vmcs_read(vcpu_t *v, uint64_t field, uint64_t *value)
{
    vmcs_load(v);
    return vmread_checked(field, value);
}

void vcpu_vmcs_write_guest(vcpu_t *v, uint64_t field, uint64_t value)
{
    vmcs_load(v);
    if (field == VMCS_CR0_MASK || field == VMCS_CR4_MASK) {
        /* Bits becoming host-owned read from the shadow from now on: give it
         * the guest's current values (SDM 25.3). */
        uint64_t cr = field == VMCS_CR0_MASK ? VMCS_GUEST_CR0 : VMCS_GUEST_CR4;
        uint64_t shadow = field == VMCS_CR0_MASK ? VMCS_CR0_SHADOW : VMCS_CR4_SHADOW;
        uint64_t fresh = value & ~vmread(field);
        vmwrite(shadow, (vmread(shadow) & ~fresh) | (vmread(cr) & fresh));
    }
    vmwrite(field, value);
    if (field == VMCS_GUEST_EFER)
        follow_efer_lma(value);
}

uint64_t vcpu_check_state(const nestor_vcpu_state_t *s, uint64_t mask)
{
    return refused_state(s, mask);
}

bool vcpu_has_state_page(vcpu_t *v)
{
    return state_page(v) != 0;
}

void vcpu_load_from_state_page(vcpu_t *v, uint64_t mask)
{
    nestor_vcpu_state_t *s = state_page(v);
    if (s) {
        vmcs_load(v);
        load_state(v, s, mask);
    }
}

void vcpu_store_to_state_page(vcpu_t *v, uint64_t mask)
{
    nestor_vcpu_state_t *s = state_page(v);
    if (s) {
        vmcs_load(v);
        store_state(v, s, mask);
    }
}

const nestor_vcpu_state_t *vcpu_state_page(vcpu_t *v)
{
    return state_page(v);
}

/*
 * A handler replied "resume" with the groups it changed. A group it was not
 * given at this exit holds stale values in the page (loading it would undo
 * the guest's own changes since), so naming one refuses the entry, as does
 * state refused_state() rejects; nothing is loaded then (nestor/vcpu.h).
 */
void vcpu_resume_from_exit(tcb_t *t, uint64_t mask)
{
    vcpu_t *v = t->vcpu;
    if (!v)
        return;
    nestor_vcpu_state_t *s = state_page(v);
    uint64_t given = v->fetched | NESTOR_MTD_UNFETCHED_OK;
    if (__builtin_expect(v->exit_level == VCPU_DOORBELL_LEVEL, 0)) {
        /* A doorbell's exit answered (every reply comes through here or
         * vcpu_exit_reply): its time is up no more. Its server writes
         * registers and RIP, nothing else (not the timer or the shadow:
         * those bits are refused as unfetched). */
        if (t->call_deadline)
            ipc_timeout_disarm(t);
        s = exit_page(v);
        given = NESTOR_DOORBELL_REPLY_GROUPS;
    }
    mask &= NESTOR_MTD_VALID;
    if (!s || !mask)
        return;
    uint64_t unfetched = mask & ~given;
    uint64_t why = unfetched ? NESTOR_ENTRY_REFUSED | NESTOR_REFUSED_UNFETCHED | unfetched
                   : mask & CHECKED_GROUPS ? refused_state(s, mask) : 0;
    if (why) {
        v->refused = why;
        return;
    }
    vmcs_load(v);
    load_state(v, s, mask);
}
