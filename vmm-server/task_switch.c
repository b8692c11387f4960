/*
 * vmm-server/task_switch.c - hardware task switches. In VMX non-root
 * operation every task switch exits (SDM Vol. 3C 25.4.2) after the CPU's own
 * checks of the new TSS descriptor (present, limit, type); the VMM carries
 * out the switch as SDM Vol. 3A 7.3 describes, for 32-bit TSSs:
 *
 *   - the current state (EIP, EFLAGS, general registers, segment selectors)
 *     goes into the current TSS;
 *   - JMP and IRET clear the old TSS descriptor's busy bit; CALL, JMP and a
 *     task gate set the new one's; CALL and a gate store the old TR in the
 *     new TSS's link field and set EFLAGS.NT; IRET clears NT in the saved
 *     EFLAGS (7.4);
 *   - the new state is loaded: CR3 (with paging), LDTR, EFLAGS, EIP, the
 *     registers, the segments from their descriptors (accessed bits set);
 *     TR is the new TSS and CR0.TS is set (7.3 step 11);
 *   - a task gate for an exception with an error code pushes it on the new
 *     task's stack (6.13).
 *
 * Not emulated (the VM stops and says so): 16-bit TSSs, a new task in
 * virtual-8086 mode, an LDT or CS/SS the CPU would refuse with #TS after
 * the switch, and a CR3 switch under PAE paging (the PDPTEs come from VMCS
 * fields the state page does not carry). Data segments the CPU would refuse
 * are left unusable and #TS(selector) is raised in the new task (7.3,
 * exceptions after the commit point).
 */
#include "vmm.h"
#include <string.h>

#define TSQ_SELECTOR(q) ((q) & 0xFFFF)
#define TSQ_SOURCE(q)   (((q) >> 30) & 3)
enum { TS_CALL, TS_IRET, TS_JMP, TS_GATE };

/* 32-bit TSS (SDM Vol. 3A 7.2.1, Figure 7-2). */
#define TSS_LINK    0x00
#define TSS_CR3     0x1C
#define TSS_EIP     0x20
#define TSS_EFLAGS  0x24
#define TSS_GPRS    0x28   /* EAX ECX EDX EBX ESP EBP ESI EDI */
#define TSS_SEGS    0x48   /* ES CS SS DS FS GS */
#define TSS_LDT     0x60
#define TSS_SIZE    0x68

/* Segment descriptors (SDM Vol. 3A 3.4.5, Figure 3-8; 3.5 system types). */
#define DESC_ACCESSED    X86_BIT(40)
#define DESC_TSS_BUSY    X86_BIT(41)
#define DESC_TYPE(d)     (((d) >> 40) & 0xF)
#define DESC_S           X86_BIT(44)
#define DESC_P           X86_BIT(47)
#define DESC_G           X86_BIT(55)
#define TYPE_CODE        0x8
#define TYPE_DATA_WRITE  0x2
#define TYPE_CODE_READ   0x2
#define TYPE_LDT         0x2
#define TYPE_TSS32_AVAIL 0x9
#define TYPE_TSS32_BUSY  0xB
#define SEL_TI           0x4
#define SEL_RPL          0x3
#define SEL_INDEX(sel)   ((sel) & ~7u)

static uint32_t rd32(const uint8_t *b, unsigned off)
{
    uint32_t v;
    memcpy(&v, b + off, 4);
    return v;
}

static void wr32(uint8_t *b, unsigned off, uint32_t v)
{
    memcpy(b + off, &v, 4);
}

/* The descriptor @sel selects, and its linear address (GDT or LDT). */
static bool read_desc(vm_t *vm, const nestor_vcpu_state_t *s, uint16_t sel, uint64_t *d,
                      uint64_t *at)
{
    uint64_t base = (sel & SEL_TI) ? s->ldtr.base : s->gdtr_base;
    uint64_t limit = (sel & SEL_TI) ? s->ldtr.limit : s->gdtr_limit;
    if ((sel & SEL_TI) && (s->ldtr.ar & X86_AR_UNUSABLE))
        return false;
    if (SEL_INDEX(sel) + 7 > limit)
        return false;
    *at = base + SEL_INDEX(sel);
    return guest_read_linear(vm, s, *at, d, sizeof(*d));
}

/* The VMCS form of a descriptor (SDM Vol. 3C 24.4.1: AR bits 7:0 are
 * descriptor bits 47:40, bits 15:12 are 55:52). */
static nestor_vcpu_seg_t seg_from_desc(uint16_t sel, uint64_t d)
{
    uint32_t limit = (uint32_t)((d & 0xFFFF) | ((d >> 32) & 0xF0000));
    if (d & DESC_G)
        limit = (limit << 12) | 0xFFF;
    return (nestor_vcpu_seg_t){
        .sel = sel,
        .base = ((d >> 16) & 0xFFFFFF) | ((d >> 32) & 0xFF000000),
        .limit = limit,
        .ar = (uint32_t)(((d >> 40) & 0xFF) | (((d >> 52) & 0xF) << 12)),
    };
}

static const nestor_vcpu_seg_t unusable_seg = { .ar = (uint32_t)X86_AR_UNUSABLE };

typedef enum { LOAD_OK, LOAD_TS, LOAD_STOP } load_t;

/* Load segment register @i (es cs ss ds fs gs) of the new task with @sel:
 * the checks of SDM Vol. 3A 7.3 step 12 / 6.15 #TS, in short. */
static load_t load_seg(vm_t *vm, nestor_vcpu_state_t *s, unsigned i, uint16_t sel)
{
    nestor_vcpu_seg_t *seg = &s->es + i;
    bool cs = i == 1, ss = i == 2;
    if (SEL_INDEX(sel) == 0 && !(sel & SEL_TI)) {
        *seg = unusable_seg;
        seg->sel = sel;
        return cs || ss ? LOAD_STOP : LOAD_OK;
    }
    uint64_t d, at;
    if (!read_desc(vm, s, sel, &d, &at) || !(d & DESC_S) || !(d & DESC_P))
        return cs || ss ? LOAD_STOP : LOAD_TS;
    unsigned type = (unsigned)DESC_TYPE(d);
    bool code = type & TYPE_CODE;
    if ((cs && !code) || (ss && (code || !(type & TYPE_DATA_WRITE))) ||
        (!cs && !ss && code && !(type & TYPE_CODE_READ)))
        return cs || ss ? LOAD_STOP : LOAD_TS;
    if (!(d & DESC_ACCESSED)) {
        d |= DESC_ACCESSED;                     /* the CPU sets it (3.4.5.1) */
        guest_write_linear(vm, s, at, &d, sizeof(d));
    }
    *seg = seg_from_desc(sel, d);
    return LOAD_OK;
}

static bool set_desc(vm_t *vm, const nestor_vcpu_state_t *s, uint16_t sel, bool busy)
{
    uint64_t d, at;
    if (!read_desc(vm, s, sel, &d, &at))
        return false;
    d = busy ? d | DESC_TSS_BUSY : d & ~DESC_TSS_BUSY;
    return guest_write_linear(vm, s, at, &d, sizeof(d));
}

exit_action_t exit_task_switch(vmexit_t *e)
{
    vm_t *vm = e->vm;
    nestor_vcpu_state_t *s = e->s;
    uint16_t new_sel = (uint16_t)TSQ_SELECTOR(e->qualification);
    unsigned source = (unsigned)TSQ_SOURCE(e->qualification);
    uint64_t new_desc, new_at;
    if (!read_desc(vm, s, new_sel, &new_desc, &new_at))
        return vm_stop(vm, "task switch to selector 0x%x: no descriptor", new_sel);
    unsigned type = (unsigned)DESC_TYPE(new_desc);
    if (type != TYPE_TSS32_AVAIL && type != TYPE_TSS32_BUSY)
        return vm_stop(vm, "task switch to selector 0x%x: a 16-bit TSS (type %u) is not "
                           "emulated", new_sel, type);
    nestor_vcpu_seg_t new_tr = seg_from_desc(new_sel, new_desc);
    uint8_t tss[TSS_SIZE], old[TSS_SIZE];
    if (new_tr.limit < TSS_SIZE - 1 || !guest_read_linear(vm, s, new_tr.base, tss, sizeof(tss)) ||
        !guest_read_linear(vm, s, s->tr.base, old, sizeof(old)))
        return vm_stop(vm, "task switch to selector 0x%x: a TSS outside RAM", new_sel);

    /* Save the current task (7.3 step 8). EIP: past CALL/JMP/IRET and INT n
     * or INT3/INTO through a gate (the exit's instruction length); the
     * faulting or interrupted instruction for other events. */
    uint32_t ev_type = (uint32_t)e->idt_vectoring & X86_INTR_TYPE_MASK;
    bool soft = ev_type == X86_INTR_TYPE_SW_INT || ev_type == X86_INTR_TYPE_SW_EXC ||
                ev_type == X86_INTR_TYPE_PRIV_SW_EXC;
    uint64_t eip = e->rip + ((source != TS_GATE || soft) ? e->instr_len : 0);
    uint64_t flags = s->rflags;
    if (source == TS_IRET)
        flags &= ~X86_RFLAGS_NT;
    wr32(old, TSS_EIP, (uint32_t)eip);
    wr32(old, TSS_EFLAGS, (uint32_t)flags);
    for (unsigned i = 0; i < 8; i++)
        wr32(old, TSS_GPRS + 4 * i, (uint32_t)*vm_gpr(s, i));
    for (unsigned i = 0; i < 6; i++)
        wr32(old, TSS_SEGS + 4 * i, (&s->es)[i].sel);
    /* Only the dynamic fields change (7.2.1): write EIP .. GS back. */
    if (!guest_write_linear(vm, s, s->tr.base + TSS_EIP, old + TSS_EIP, TSS_LDT - TSS_EIP))
        return vm_stop(vm, "task switch: the current TSS is outside RAM");

    /* Busy bits (7.3 steps 7 and 10), the link and NT (7.4). */
    uint16_t old_sel = s->tr.sel;
    if (source == TS_JMP || source == TS_IRET)
        set_desc(vm, s, old_sel, false);
    if (source != TS_IRET)
        set_desc(vm, s, new_sel, true);
    uint32_t new_flags = rd32(tss, TSS_EFLAGS) | (uint32_t)X86_RFLAGS_FIXED;
    if (source == TS_CALL || source == TS_GATE) {
        wr32(tss, TSS_LINK, old_sel);
        guest_write_linear(vm, s, new_tr.base + TSS_LINK, tss + TSS_LINK, 2);
        new_flags |= (uint32_t)X86_RFLAGS_NT;
    }
    if (new_flags & X86_RFLAGS_VM)
        return vm_stop(vm, "task switch to selector 0x%x: a virtual-8086 task is not emulated",
                       new_sel);

    /* Load the new task (7.3 steps 11-12). */
    new_tr.ar = (new_tr.ar & ~0xFu) | TYPE_TSS32_BUSY;
    s->tr = new_tr;
    s->cr0 |= X86_CR0_TS;
    if (s->cr0 & X86_CR0_PG) {
        if ((s->cr4 & X86_CR4_PAE) && rd32(tss, TSS_CR3) != (uint32_t)s->cr3)
            return vm_stop(vm, "task switch to selector 0x%x: a CR3 change under PAE paging is "
                               "not emulated", new_sel);
        s->cr3 = rd32(tss, TSS_CR3);
    }
    uint16_t ldt = (uint16_t)rd32(tss, TSS_LDT);
    if (SEL_INDEX(ldt) == 0) {
        s->ldtr = unusable_seg;
    } else {
        uint64_t d, at;
        if ((ldt & SEL_TI) || !read_desc(vm, s, ldt, &d, &at) || (d & DESC_S) ||
            DESC_TYPE(d) != TYPE_LDT || !(d & DESC_P))
            return vm_stop(vm, "task switch to selector 0x%x: its LDT 0x%x is invalid", new_sel,
                           ldt);
        s->ldtr = seg_from_desc(ldt, d);
    }
    s->rip = rd32(tss, TSS_EIP);
    s->rflags = new_flags;
    for (unsigned i = 0; i < 8; i++)
        *vm_gpr(s, i) = rd32(tss, TSS_GPRS + 4 * i);
    int ts_sel = -1;
    for (unsigned i = 0; i < 6; i++) {
        uint16_t sel = (uint16_t)rd32(tss, TSS_SEGS + 4 * i);
        load_t r = load_seg(vm, s, i, sel);
        if (r == LOAD_STOP)
            return vm_stop(vm, "task switch to selector 0x%x: %s selector 0x%x is invalid (a CPU "
                               "raises #TS in the new task; not emulated)", new_sel,
                           i == 1 ? "CS" : "SS", sel);
        if (r == LOAD_TS && ts_sel < 0)
            ts_sel = sel & ~SEL_RPL;
    }
    /* No STI / MOV SS blocking carries over. NMI blocking (virtual NMIs,
     * SDM Vol. 3C 25.3; Vol. 3A 6.7.1) ends with an IRET, begins with an
     * NMI this switch delivers through a task gate (26.6.1.2: an injected
     * NMI blocks), and otherwise stays as it was. */
    nestor_word_t nmi_block = s->interruptibility & X86_INTR_BLOCK_NMI;
    if (source == TS_IRET)
        nmi_block = 0;
    else if (source == TS_GATE && (e->idt_vectoring & X86_INTR_TYPE_MASK) == X86_INTR_TYPE_NMI)
        nmi_block = X86_INTR_BLOCK_NMI;
    s->interruptibility = nmi_block;
    e->changed |= NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RIP | NESTOR_MTD_RFLAGS |
                  NESTOR_MTD_CR | NESTOR_MTD_SEGS | NESTOR_MTD_SYS_SEGS | NESTOR_MTD_INTR;
    if (source == TS_GATE) {
        e->event_consumed = true;               /* the task switch delivered it */
        if (e->idt_vectoring & X86_INTR_DELIVER_ERR) {
            uint32_t err = (uint32_t)e->idt_error;
            uint64_t amask = (s->ss.ar & X86_AR_DB) ? 0xFFFFFFFFULL : 0xFFFFULL;
            uint64_t sp = (s->rsp - 4) & amask;
            if (!guest_write_linear(vm, s, s->ss.base + sp, &err, sizeof(err)))
                return vm_stop(vm, "task switch to selector 0x%x: the new stack is outside RAM",
                               new_sel);
            s->rsp = (s->rsp & ~amask) | sp;
        }
    }
    if (ts_sel >= 0)
        return vm_inject_exception(e, X86_VEC_TS, (uint32_t)ts_sel);
    return EXIT_RESUME;
}
