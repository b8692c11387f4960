/*
 * nested-vmx/checks_guest.c - VM-entry checks on the guest-state area (SDM
 * Vol. 3C 26.3.1). Any failure is a VM-entry failure: exit reason
 * NESTOR_EXIT_INVALID_STATE with bit 31, exit qualification 0, or 4 for the
 * VMCS link pointer, 2 for the PDPTEs, 3 for NMI injection under blocking by
 * STI (SDM 26.8).
 */
#include "checks_priv.h"
#include <string.h>

/* The six segment registers in the order of the VMCS (ES CS SS DS FS GS),
 * then LDTR and TR. */
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_LDTR, S_TR, S_COUNT };

typedef struct {
    uint16_t sel;
    uint64_t base;
    uint32_t limit;
    uint32_t ar;
} seg_t;

static const unsigned seg_field[S_COUNT][4] = {
    [S_ES] = { V12_GUEST_ES_SEL, V12_GUEST_ES_BASE, V12_GUEST_ES_LIMIT, V12_GUEST_ES_AR },
    [S_CS] = { V12_GUEST_CS_SEL, V12_GUEST_CS_BASE, V12_GUEST_CS_LIMIT, V12_GUEST_CS_AR },
    [S_SS] = { V12_GUEST_SS_SEL, V12_GUEST_SS_BASE, V12_GUEST_SS_LIMIT, V12_GUEST_SS_AR },
    [S_DS] = { V12_GUEST_DS_SEL, V12_GUEST_DS_BASE, V12_GUEST_DS_LIMIT, V12_GUEST_DS_AR },
    [S_FS] = { V12_GUEST_FS_SEL, V12_GUEST_FS_BASE, V12_GUEST_FS_LIMIT, V12_GUEST_FS_AR },
    [S_GS] = { V12_GUEST_GS_SEL, V12_GUEST_GS_BASE, V12_GUEST_GS_LIMIT, V12_GUEST_GS_AR },
    [S_LDTR] = { V12_GUEST_LDTR_SEL, V12_GUEST_LDTR_BASE, V12_GUEST_LDTR_LIMIT,
                 V12_GUEST_LDTR_AR },
    [S_TR] = { V12_GUEST_TR_SEL, V12_GUEST_TR_BASE, V12_GUEST_TR_LIMIT, V12_GUEST_TR_AR },
};

static seg_t get_seg(const vmcs12_t *v, unsigned s)
{
    return (seg_t){ .sel = (uint16_t)v->field[seg_field[s][0]],
                    .base = v->field[seg_field[s][1]],
                    .limit = (uint32_t)v->field[seg_field[s][2]],
                    .ar = (uint32_t)v->field[seg_field[s][3]] };
}

static bool usable(const seg_t *s) { return !(s->ar & X86_AR_UNUSABLE); }
static unsigned type_of(const seg_t *s) { return s->ar & X86_AR_TYPE_MASK; }
static unsigned dpl_of(const seg_t *s) { return (s->ar >> X86_AR_DPL_SHIFT) & X86_AR_DPL_MASK; }
static unsigned rpl_of(const seg_t *s) { return s->sel & X86_SEL_RPL_MASK; }

/* SDM 26.3.1.2: G must be 0 if any of limit[11:0] is 0, 1 if any of
 * limit[31:20] is 1. */
static bool granularity_ok(const seg_t *s)
{
    bool g = (s->ar & X86_AR_G) != 0;
    if ((s->limit & 0xFFF) != 0xFFF && g)
        return false;
    if ((s->limit & 0xFFF00000u) != 0 && !g)
        return false;
    return true;
}

#define AR_RESERVED_11_8  0x00000F00u
#define AR_RESERVED_31_17 0xFFFE0000u

/* SDM 26.3.1.1: control registers, debug registers and MSRs. */
static nvmx_entry_check_t check_guest_regs(const vmcs12_t *v, const nvmx_env_t *env)
{
    uint64_t entry = F32(ENTRY_CONTROLS), cr0 = F(GUEST_CR0), cr4 = F(GUEST_CR4);
    bool ug = (eff_proc2(v) & PROC2_UNRESTRICTED_GUEST) != 0;
    bool ia32e = (entry & ENTRY_IA32E_MODE_GUEST) != 0;

    /* 26.3.1.1: CR0 honours the fixed bits, except PE and PG for an
     * unrestricted guest. */
    uint64_t fixed0 = NVMX_CR0_FIXED0 & ~(ug ? (X86_CR0_PE | X86_CR0_PG) : 0);
    if (!fixed_ok(cr0, fixed0, NVMX_CR0_FIXED1))
        FAIL_GUEST("26.3.1.1: guest CR0 violates IA32_VMX_CR0_FIXED0/1");
    /* 26.3.1.1: CR0.PG requires CR0.PE. */
    if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
        FAIL_GUEST("26.3.1.1: guest CR0.PG without CR0.PE");
    /* 26.3.1.1: CR4 honours the fixed bits. */
    if (!fixed_ok(cr4, NVMX_CR4_FIXED0, NVMX_CR4_FIXED1))
        FAIL_GUEST("26.3.1.1: guest CR4 violates IA32_VMX_CR4_FIXED0/1");
    /* 26.3.1.1: "load debug controls": IA32_DEBUGCTL reserved bits 0. */
    if ((entry & ENTRY_LOAD_DEBUG_CTLS) && (F(GUEST_DEBUGCTL) & X86_DEBUGCTL_RESERVED))
        FAIL_GUEST("26.3.1.1: guest IA32_DEBUGCTL reserved bits set");
    /* 26.3.1.1: an IA-32e mode guest has CR0.PG and CR4.PAE; otherwise
     * CR4.PCIDE is 0. */
    if (ia32e && !(cr0 & X86_CR0_PG))
        FAIL_GUEST("26.3.1.1: IA-32e mode guest with CR0.PG clear");
    if (ia32e && !(cr4 & X86_CR4_PAE))
        FAIL_GUEST("26.3.1.1: IA-32e mode guest with CR4.PAE clear");
    if (!ia32e && (cr4 & X86_CR4_PCIDE))
        FAIL_GUEST("26.3.1.1: CR4.PCIDE outside IA-32e mode");
    /* 26.3.1.1: CR3 bits beyond the physical-address width 0. */
    if (!pa_ok(env, F(GUEST_CR3)))
        FAIL_GUEST("26.3.1.1: guest CR3 beyond the physical-address width");
    /* 26.3.1.1: "load debug controls": DR7 bits 63:32 0. */
    if ((entry & ENTRY_LOAD_DEBUG_CTLS) && (F(GUEST_DR7) & X86_DR7_RESERVED_HIGH))
        FAIL_GUEST("26.3.1.1: guest DR7 bits 63:32 set");
    /* 26.3.1.1: IA32_SYSENTER_ESP and IA32_SYSENTER_EIP canonical. */
    if (!x86_canonical(F(GUEST_SYSENTER_ESP)))
        FAIL_GUEST("26.3.1.1: guest IA32_SYSENTER_ESP not canonical");
    if (!x86_canonical(F(GUEST_SYSENTER_EIP)))
        FAIL_GUEST("26.3.1.1: guest IA32_SYSENTER_EIP not canonical");
    /* 26.3.1.1: "load IA32_PAT": every entry a valid memory type. */
    if ((entry & ENTRY_LOAD_PAT) && !pat_ok(F(GUEST_PAT)))
        FAIL_GUEST("26.3.1.1: guest IA32_PAT has an invalid memory type");
    /* 26.3.1.1: "load IA32_EFER": reserved bits 0, LMA = "IA-32e mode
     * guest", and LME = LMA when CR0.PG is 1. */
    if (entry & ENTRY_LOAD_EFER) {
        uint64_t efer = F(GUEST_EFER);
        if (efer & X86_EFER_RESERVED)
            FAIL_GUEST("26.3.1.1: guest IA32_EFER reserved bits set");
        if (!!(efer & X86_EFER_LMA) != ia32e)
            FAIL_GUEST("26.3.1.1: guest IA32_EFER.LMA differs from IA-32e mode guest");
        if ((cr0 & X86_CR0_PG) && !!(efer & X86_EFER_LME) != ia32e)
            FAIL_GUEST("26.3.1.1: guest IA32_EFER.LME differs from IA-32e mode guest with CR0.PG");
    }
    return chk_ok();
}

/* SDM 26.3.1.2: segment registers. */
static nvmx_entry_check_t check_guest_segs(const vmcs12_t *v)
{
    seg_t s[S_COUNT];
    for (unsigned i = 0; i < S_COUNT; i++)
        s[i] = get_seg(v, i);
    bool ug = (eff_proc2(v) & PROC2_UNRESTRICTED_GUEST) != 0;
    bool ia32e = (F(ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST) != 0;
    bool v86 = (F(GUEST_RFLAGS) & X86_RFLAGS_VM) != 0;
    bool pe = (F(GUEST_CR0) & X86_CR0_PE) != 0;
    const seg_t *cs = &s[S_CS], *ss = &s[S_SS], *tr = &s[S_TR], *ldtr = &s[S_LDTR];
    static const unsigned data_segs[] = { S_ES, S_DS, S_FS, S_GS };

    /* Selectors. 26.3.1.2: TR.TI 0; LDTR.TI 0 if usable; SS.RPL = CS.RPL
     * unless virtual-8086 or unrestricted guest. */
    if (tr->sel & X86_SEL_TI)
        FAIL_GUEST("26.3.1.2: TR selector TI set");
    if (usable(ldtr) && (ldtr->sel & X86_SEL_TI))
        FAIL_GUEST("26.3.1.2: LDTR selector TI set");
    if (!v86 && !ug && rpl_of(ss) != rpl_of(cs))
        FAIL_GUEST("26.3.1.2: SS.RPL differs from CS.RPL");

    /* Bases. 26.3.1.2: virtual-8086: base = selector * 16; TR, FS, GS (and
     * a usable LDTR) canonical; CS (and usable SS, DS, ES) bits 63:32 0. */
    if (v86)
        for (unsigned i = S_ES; i <= S_GS; i++)
            if (s[i].base != (uint64_t)s[i].sel << 4)
                FAIL_GUEST("26.3.1.2: virtual-8086 segment base not selector * 16");
    if (!x86_canonical(tr->base))
        FAIL_GUEST("26.3.1.2: TR base not canonical");
    if (!x86_canonical(s[S_FS].base) || !x86_canonical(s[S_GS].base))
        FAIL_GUEST("26.3.1.2: FS or GS base not canonical");
    if (usable(ldtr) && !x86_canonical(ldtr->base))
        FAIL_GUEST("26.3.1.2: LDTR base not canonical");
    if (cs->base >> 32)
        FAIL_GUEST("26.3.1.2: CS base bits 63:32 set");
    if ((usable(ss) && ss->base >> 32) || (usable(&s[S_DS]) && s[S_DS].base >> 32) ||
        (usable(&s[S_ES]) && s[S_ES].base >> 32))
        FAIL_GUEST("26.3.1.2: SS, DS or ES base bits 63:32 set");

    /* Limits. 26.3.1.2: virtual-8086: 0000FFFFH. */
    if (v86)
        for (unsigned i = S_ES; i <= S_GS; i++)
            if (s[i].limit != 0xFFFF)
                FAIL_GUEST("26.3.1.2: virtual-8086 segment limit not FFFFH");

    /* Access rights of CS SS DS ES FS GS. */
    if (v86) {
        /* 26.3.1.2: virtual-8086: F3H (present read/write accessed data, DPL 3). */
        for (unsigned i = S_ES; i <= S_GS; i++)
            if (s[i].ar != 0xF3)
                FAIL_GUEST("26.3.1.2: virtual-8086 segment access rights not F3H");
    } else {
        unsigned cst = type_of(cs);
        /* Type. 26.3.1.2: CS accessed code (9, 11, 13, 15), or 3
         * (read/write accessed data) for an unrestricted guest. */
        if (!(cst == 9 || cst == 11 || cst == 13 || cst == 15 || (ug && cst == 3)))
            FAIL_GUEST("26.3.1.2: CS type not accessed code (or data type 3 when unrestricted)");
        /* SS, if usable: read/write accessed data (3 or 7). */
        if (usable(ss) && type_of(ss) != 3 && type_of(ss) != 7)
            FAIL_GUEST("26.3.1.2: SS type not read/write accessed data");
        /* DS ES FS GS, if usable: accessed; code only if readable. */
        for (unsigned k = 0; k < 4; k++) {
            const seg_t *d = &s[data_segs[k]];
            if (!usable(d))
                continue;
            if (!(type_of(d) & X86_SEG_TYPE_ACCESSED))
                FAIL_GUEST("26.3.1.2: ES/DS/FS/GS type not accessed");
            if ((type_of(d) & X86_SEG_TYPE_CODE) && !(type_of(d) & X86_SEG_TYPE_RW))
                FAIL_GUEST("26.3.1.2: ES/DS/FS/GS execute-only code segment");
        }
        /* S. 26.3.1.2: 1 for CS and every usable one. */
        for (unsigned i = S_ES; i <= S_GS; i++)
            if ((i == S_CS || usable(&s[i])) && !(s[i].ar & X86_AR_S))
                FAIL_GUEST("26.3.1.2: code/data segment with S clear");
        /* DPL. 26.3.1.2: CS type 3: 0; non-conforming code: = SS.DPL;
         * conforming code: <= SS.DPL. */
        if (cst == 3 && dpl_of(cs) != 0)
            FAIL_GUEST("26.3.1.2: CS type 3 with DPL not 0");
        if ((cst == 9 || cst == 11) && dpl_of(cs) != dpl_of(ss))
            FAIL_GUEST("26.3.1.2: non-conforming CS.DPL differs from SS.DPL");
        if ((cst == 13 || cst == 15) && dpl_of(cs) > dpl_of(ss))
            FAIL_GUEST("26.3.1.2: conforming CS.DPL above SS.DPL");
        /* SS: DPL = RPL unless unrestricted guest; 0 if CS type 3 or
         * CR0.PE 0. */
        if (!ug && dpl_of(ss) != rpl_of(ss))
            FAIL_GUEST("26.3.1.2: SS.DPL differs from SS.RPL");
        if ((cst == 3 || !pe) && dpl_of(ss) != 0)
            FAIL_GUEST("26.3.1.2: SS.DPL not 0 with CS type 3 or CR0.PE clear");
        /* DS ES FS GS: unless unrestricted guest, a usable data or
         * non-conforming code segment (type 0-11) has DPL >= RPL. */
        if (!ug)
            for (unsigned k = 0; k < 4; k++) {
                const seg_t *d = &s[data_segs[k]];
                if (usable(d) && type_of(d) <= 11 && dpl_of(d) < rpl_of(d))
                    FAIL_GUEST("26.3.1.2: ES/DS/FS/GS DPL below RPL");
            }
        /* P. 26.3.1.2: 1 for CS and every usable one. */
        for (unsigned i = S_ES; i <= S_GS; i++)
            if ((i == S_CS || usable(&s[i])) && !(s[i].ar & X86_AR_P))
                FAIL_GUEST("26.3.1.2: code/data segment not present");
        /* Bits 11:8 reserved (CS and every usable one). */
        for (unsigned i = S_ES; i <= S_GS; i++)
            if ((i == S_CS || usable(&s[i])) && (s[i].ar & AR_RESERVED_11_8))
                FAIL_GUEST("26.3.1.2: code/data segment access rights bits 11:8 set");
        /* D/B. 26.3.1.2: a 64-bit CS (IA-32e mode guest, L 1) has D/B 0. */
        if (ia32e && (cs->ar & X86_AR_L) && (cs->ar & X86_AR_DB))
            FAIL_GUEST("26.3.1.2: CS.L and CS.D both 1");
        /* G (CS and every usable one). */
        for (unsigned i = S_ES; i <= S_GS; i++)
            if ((i == S_CS || usable(&s[i])) && !granularity_ok(&s[i]))
                FAIL_GUEST("26.3.1.2: code/data segment G inconsistent with the limit");
        /* Bits 31:17 reserved (CS and every usable one). */
        for (unsigned i = S_ES; i <= S_GS; i++)
            if ((i == S_CS || usable(&s[i])) && (s[i].ar & AR_RESERVED_31_17))
                FAIL_GUEST("26.3.1.2: code/data segment access rights bits 31:17 set");
    }

    /* TR. 26.3.1.2: busy TSS (32-bit; or 16-bit outside IA-32e mode), S 0,
     * P 1, bits 11:8 0, G per limit, usable, bits 31:17 0. */
    if (!(type_of(tr) == X86_SYS_TYPE_TSS32_BUSY ||
          (!ia32e && type_of(tr) == X86_SYS_TYPE_TSS16_BUSY)))
        FAIL_GUEST("26.3.1.2: TR type not a busy TSS (32-bit in IA-32e mode)");
    if (tr->ar & X86_AR_S)
        FAIL_GUEST("26.3.1.2: TR with S set");
    if (!(tr->ar & X86_AR_P))
        FAIL_GUEST("26.3.1.2: TR not present");
    if (tr->ar & AR_RESERVED_11_8)
        FAIL_GUEST("26.3.1.2: TR access rights bits 11:8 set");
    if (!granularity_ok(tr))
        FAIL_GUEST("26.3.1.2: TR G inconsistent with the limit");
    if (!usable(tr))
        FAIL_GUEST("26.3.1.2: TR unusable");
    if (tr->ar & AR_RESERVED_31_17)
        FAIL_GUEST("26.3.1.2: TR access rights bits 31:17 set");

    /* LDTR, if usable. 26.3.1.2: type LDT, S 0, P 1, bits 11:8 0, G per
     * limit, bits 31:17 0. */
    if (usable(ldtr)) {
        if (type_of(ldtr) != X86_SYS_TYPE_LDT)
            FAIL_GUEST("26.3.1.2: LDTR type not LDT");
        if (ldtr->ar & X86_AR_S)
            FAIL_GUEST("26.3.1.2: LDTR with S set");
        if (!(ldtr->ar & X86_AR_P))
            FAIL_GUEST("26.3.1.2: LDTR not present");
        if (ldtr->ar & AR_RESERVED_11_8)
            FAIL_GUEST("26.3.1.2: LDTR access rights bits 11:8 set");
        if (!granularity_ok(ldtr))
            FAIL_GUEST("26.3.1.2: LDTR G inconsistent with the limit");
        if (ldtr->ar & AR_RESERVED_31_17)
            FAIL_GUEST("26.3.1.2: LDTR access rights bits 31:17 set");
    }
    return chk_ok();
}

/* SDM 26.3.1.3: GDTR and IDTR. */
static nvmx_entry_check_t check_guest_dtrs(const vmcs12_t *v)
{
    /* 26.3.1.3: bases canonical; limits' bits 31:16 0. */
    if (!x86_canonical(F(GUEST_GDTR_BASE)) || !x86_canonical(F(GUEST_IDTR_BASE)))
        FAIL_GUEST("26.3.1.3: GDTR or IDTR base not canonical");
    if ((F32(GUEST_GDTR_LIMIT) | F32(GUEST_IDTR_LIMIT)) >> 16)
        FAIL_GUEST("26.3.1.3: GDTR or IDTR limit bits 31:16 set");
    return chk_ok();
}

/* SDM 26.3.1.4: RIP and RFLAGS. */
static nvmx_entry_check_t check_guest_rip_rflags(const vmcs12_t *v)
{
    bool ia32e = (F(ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST) != 0;
    bool cs_l = (F(GUEST_CS_AR) & X86_AR_L) != 0;
    uint64_t rflags = F(GUEST_RFLAGS), info = F32(ENTRY_INTR_INFO);

    /* 26.3.1.4: RIP bits 63:32 0 unless 64-bit mode (IA-32e mode guest and
     * CS.L); in 64-bit mode, canonical (48 linear-address bits). */
    if (!(ia32e && cs_l)) {
        if (F(GUEST_RIP) >> 32)
            FAIL_GUEST("26.3.1.4: RIP bits 63:32 set outside 64-bit mode");
    } else if (!x86_canonical(F(GUEST_RIP))) {
        FAIL_GUEST("26.3.1.4: RIP not canonical in 64-bit mode");
    }
    /* 26.3.1.4: RFLAGS bits 63:22, 15, 5, 3 are 0 and bit 1 is 1. */
    if (rflags & X86_RFLAGS_RESERVED)
        FAIL_GUEST("26.3.1.4: RFLAGS reserved bits set");
    if (!(rflags & X86_RFLAGS_FIXED))
        FAIL_GUEST("26.3.1.4: RFLAGS bit 1 clear");
    /* 26.3.1.4: VM 0 for an IA-32e mode guest or with CR0.PE 0. */
    if ((rflags & X86_RFLAGS_VM) && (ia32e || !(F(GUEST_CR0) & X86_CR0_PE)))
        FAIL_GUEST("26.3.1.4: RFLAGS.VM with IA-32e mode guest or CR0.PE clear");
    /* 26.3.1.4: IF 1 when injecting an external interrupt. */
    if ((info & X86_INTR_VALID) && (info & X86_INTR_TYPE_MASK) == X86_INTR_TYPE_EXT &&
        !(rflags & X86_RFLAGS_IF_BIT))
        FAIL_GUEST("26.3.1.4: RFLAGS.IF clear while injecting an external interrupt");
    return chk_ok();
}

/* SDM 26.3.1.5: non-register state. */
static nvmx_entry_check_t check_guest_nonreg(const vmcs12_t *v, const nvmx_env_t *env,
                                             const nvmx_entry_ctx_t *ctx)
{
    uint64_t act = F32(GUEST_ACTIVITY), intr = F32(GUEST_INTERRUPTIBILITY);
    uint64_t info = F32(ENTRY_INTR_INFO), rflags = F(GUEST_RFLAGS);
    bool inject = (info & X86_INTR_VALID) != 0;
    uint32_t itype = (uint32_t)info & X86_INTR_TYPE_MASK;
    bool inj_ext = inject && itype == X86_INTR_TYPE_EXT;
    bool inj_nmi = inject && itype == X86_INTR_TYPE_NMI;
    unsigned ss_dpl = (F(GUEST_SS_AR) >> X86_AR_DPL_SHIFT) & X86_AR_DPL_MASK;

    /* Activity state. 26.3.1.5: a state IA32_VMX_MISC supports: active, or
     * HLT (bit 6); no shutdown or wait-for-SIPI. */
    if (act != NESTOR_ACTIVITY_ACTIVE && act != NESTOR_ACTIVITY_HLT)
        FAIL_GUEST("26.3.1.5: activity state not active or HLT");
    /* 26.3.1.5: not HLT with SS.DPL other than 0. */
    if (act == NESTOR_ACTIVITY_HLT && ss_dpl != 0)
        FAIL_GUEST("26.3.1.5: HLT activity state with SS.DPL not 0");
    /* 26.3.1.5: active under blocking by STI or MOV SS. */
    if ((intr & X86_INTR_BLOCK_SHADOW) && act != NESTOR_ACTIVITY_ACTIVE)
        FAIL_GUEST("26.3.1.5: blocking by STI or MOV SS outside the active state");
    /* 26.3.1.5: an injected event is not one the activity state blocks: in
     * HLT only external interrupts, NMIs, and hardware exceptions #DB (1)
     * and #MC (18) (and MTF's "other event", not offered). */
    if (inject && act == NESTOR_ACTIVITY_HLT) {
        unsigned vec = (uint32_t)info & X86_INTR_VECTOR_MASK;
        bool allowed = itype == X86_INTR_TYPE_EXT || itype == X86_INTR_TYPE_NMI ||
                       (itype == X86_INTR_TYPE_HW_EXC && (vec == X86_VEC_DB || vec == X86_VEC_MC));
        if (!allowed)
            FAIL_GUEST("26.3.1.5: injected event blocked in the HLT state");
    }

    /* Interruptibility state. 26.3.1.5: reserved bits 0 (bit 4, enclave
     * interruption, too: no SGX). */
    if (intr & VMX_INTERRUPTIBILITY_RESERVED)
        FAIL_GUEST("26.3.1.5: interruptibility state reserved bits set");
    /* 26.3.1.5: not both blocking by STI and by MOV SS. */
    if ((intr & X86_INTR_BLOCK_SHADOW) == X86_INTR_BLOCK_SHADOW)
        FAIL_GUEST("26.3.1.5: blocking by both STI and MOV SS");
    /* 26.3.1.5: blocking by STI needs RFLAGS.IF. */
    if ((intr & X86_INTR_BLOCK_STI) && !(rflags & X86_RFLAGS_IF_BIT))
        FAIL_GUEST("26.3.1.5: blocking by STI with RFLAGS.IF clear");
    /* 26.3.1.5: no STI/MOV-SS blocking when injecting an external interrupt. */
    if (inj_ext && (intr & X86_INTR_BLOCK_SHADOW))
        FAIL_GUEST("26.3.1.5: blocking by STI or MOV SS while injecting an external interrupt");
    /* 26.3.1.5: no MOV-SS blocking when injecting an NMI. */
    if (inj_nmi && (intr & X86_INTR_BLOCK_MOVSS))
        FAIL_GUEST("26.3.1.5: blocking by MOV SS while injecting an NMI");
    /* 26.3.1.5: blocking by SMI only in SMM (never, for L1). */
    if (intr & VMX_INTR_BLOCK_SMI)
        FAIL_GUEST("26.3.1.5: blocking by SMI outside SMM");
    /* 26.3.1.5, 26.8: a processor may require no STI blocking when injecting
     * an NMI; this one does (exit qualification 3). */
    if (inj_nmi && (intr & X86_INTR_BLOCK_STI))
        FAIL_GUEST_Q(ENTRY_FAIL_QUAL_NMI_INJECT,
                     "26.3.1.5: blocking by STI while injecting an NMI");
    /* 26.3.1.5: with "virtual NMIs", no virtual-NMI blocking when injecting
     * an NMI. */
    if (inj_nmi && (F(PIN_CONTROLS) & PIN_VIRTUAL_NMIS) && (intr & X86_INTR_BLOCK_NMI))
        FAIL_GUEST("26.3.1.5: virtual-NMI blocking while injecting an NMI");

    /* Pending debug exceptions. 26.3.1.5: reserved bits 0 (bits 11:4, 13,
     * 15, 63:17; bit 16, RTM, too: RTM is not offered). */
    uint64_t pdbg = F(GUEST_PENDING_DBG);
    if (pdbg & VMX_PENDING_DBG_RESERVED)
        FAIL_GUEST("26.3.1.5: pending debug exceptions reserved bits set");
    /* 26.3.1.5: under STI/MOV-SS blocking or in HLT, BS is 1 iff RFLAGS.TF
     * is 1 and IA32_DEBUGCTL.BTF is 0. */
    if ((intr & X86_INTR_BLOCK_SHADOW) || act == NESTOR_ACTIVITY_HLT) {
        uint64_t debugctl = (F(ENTRY_CONTROLS) & ENTRY_LOAD_DEBUG_CTLS) ? F(GUEST_DEBUGCTL)
                                                                        : ctx->l1_debugctl;
        bool tf = (rflags & X86_RFLAGS_TF) != 0, btf = (debugctl & X86_DEBUGCTL_BTF) != 0;
        bool bs = (pdbg & VMX_PENDING_DBG_BS) != 0;
        if (tf && !btf && !bs)
            FAIL_GUEST("26.3.1.5: pending BS clear with RFLAGS.TF set and BTF clear");
        if ((!tf || btf) && bs)
            FAIL_GUEST("26.3.1.5: pending BS set with RFLAGS.TF clear or BTF set");
    }

    /* VMCS link pointer. 26.3.1.5: all 1s, or 4-KiB aligned within the
     * width, referencing a VMCS whose bits 30:0 are our revision identifier
     * and whose bit 31 (shadow-VMCS indicator) is the setting of "VMCS
     * shadowing", and not the current VMCS (exit qualification 4). */
    uint64_t lp = F(LINK_POINTER);
    if (lp != VMCS_LINK_PTR_NONE) {
        if ((lp & 0xFFF) || !pa_ok(env, lp))
            FAIL_GUEST_Q(ENTRY_FAIL_QUAL_LINK_PTR,
                         "26.3.1.5: VMCS link pointer unaligned or beyond the physical-address width");
        const void *p = env->phys(env->ctx, lp, sizeof(uint32_t));
        uint32_t rev = 0xFFFFFFFFu;   /* what reading outside RAM returns */
        if (p)
            memcpy(&rev, p, sizeof rev);
        const uint32_t shadow = (eff_proc2(v) & PROC2_VMCS_SHADOWING) ? VMCS_REVISION_SHADOW : 0;
        if (rev != (NVMX_REVISION | shadow))
            FAIL_GUEST_Q(ENTRY_FAIL_QUAL_LINK_PTR,
                         "26.3.1.5: VMCS link pointer references a wrong revision or shadow indicator");
        if (lp == ctx->vmcs_ptr)
            FAIL_GUEST_Q(ENTRY_FAIL_QUAL_LINK_PTR,
                         "26.3.1.5: VMCS link pointer equals the current-VMCS pointer");
    }
    return chk_ok();
}

/* SDM 26.3.1.6: PDPTEs for PAE paging (CR0.PG, CR4.PAE, not IA-32e mode):
 * from the guest-state fields with EPT, else loaded from CR3[31:5] as MOV
 * to CR3 would; a present one has no reserved bit set (exit qualification
 * 2). */
static nvmx_entry_check_t check_guest_pdptes(const vmcs12_t *v, const nvmx_env_t *env)
{
    static const unsigned pdpte_field[X86_PAE_PDPTE_COUNT] = {
        V12_GUEST_PDPTE0, V12_GUEST_PDPTE1, V12_GUEST_PDPTE2, V12_GUEST_PDPTE3 };
    bool ia32e = (F(ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST) != 0;
    uint64_t pdpte[X86_PAE_PDPTE_COUNT];

    if (!(F(GUEST_CR0) & X86_CR0_PG) || !(F(GUEST_CR4) & X86_CR4_PAE) || ia32e)
        return chk_ok();
    if (eff_proc2(v) & PROC2_ENABLE_EPT) {
        for (unsigned i = 0; i < X86_PAE_PDPTE_COUNT; i++)
            pdpte[i] = v->field[pdpte_field[i]];
    } else {
        const void *p = env->phys(env->ctx, F(GUEST_CR3) & X86_PAE_PDPT_MASK, sizeof pdpte);
        if (!p)
            FAIL_GUEST_Q(ENTRY_FAIL_QUAL_PDPTE, "26.3.1.6: PDPTEs outside L1's RAM");
        memcpy(pdpte, p, sizeof pdpte);
    }
    for (unsigned i = 0; i < X86_PAE_PDPTE_COUNT; i++)
        if ((pdpte[i] & X86_PTE_P) && ((pdpte[i] & X86_PDPTE_RESERVED) || !pa_ok(env, pdpte[i])))
            FAIL_GUEST_Q(ENTRY_FAIL_QUAL_PDPTE, "26.3.1.6: present PDPTE with reserved bits set");
    return chk_ok();
}

/*
 * The inputs of each group, for nvmx_check_guest_known: every vmcs12 field
 * the group's function reads (eff_proc2 reads the primary and secondary
 * processor-based controls), each with the bits it reads where that
 * matters (RFLAGS and CR0 change between exits in bits some groups never
 * read). 26.3.1.4 (RIP, which every exit changes) and 26.3.1.6 (the PDPTEs,
 * read from L1's memory without EPT) have none: they run at every entry.
 * Lists, not tables, so that the compare compiles to a load, an XOR and an
 * OR per field (a table walk cost as much as the checks themselves).
 */
#define ALL_BITS ~(uint64_t)0
#define SEG_IN(X, s) X(GUEST_##s##_SEL, ALL_BITS) X(GUEST_##s##_BASE, ALL_BITS) \
                     X(GUEST_##s##_LIMIT, ALL_BITS) X(GUEST_##s##_AR, ALL_BITS)
#define REGS_IN(X)                                          /* check_guest_regs */          \
    X(ENTRY_CONTROLS, ALL_BITS) X(PROC_CONTROLS, ALL_BITS) X(PROC_CONTROLS2, ALL_BITS)     \
    X(GUEST_CR0, ALL_BITS) X(GUEST_CR4, ALL_BITS) X(GUEST_CR3, ALL_BITS)                   \
    X(GUEST_DEBUGCTL, ALL_BITS) X(GUEST_DR7, ALL_BITS) X(GUEST_SYSENTER_ESP, ALL_BITS)     \
    X(GUEST_SYSENTER_EIP, ALL_BITS) X(GUEST_PAT, ALL_BITS) X(GUEST_EFER, ALL_BITS)
#define SEGS_LAZY_IN(X)         /* the lazy ones (nvmx.h NVMX_LAZY_GROUPS) first */         \
    SEG_IN(X, ES) SEG_IN(X, CS) SEG_IN(X, SS) SEG_IN(X, DS) SEG_IN(X, FS) SEG_IN(X, GS)     \
    SEG_IN(X, LDTR) SEG_IN(X, TR)
#define SEGS_REST_IN(X)                                                                    \
    X(PROC_CONTROLS, ALL_BITS) X(PROC_CONTROLS2, ALL_BITS) X(ENTRY_CONTROLS, ALL_BITS)      \
    X(GUEST_RFLAGS, X86_RFLAGS_VM) X(GUEST_CR0, X86_CR0_PE)
#define SEGS_IN(X) SEGS_LAZY_IN(X) SEGS_REST_IN(X)          /* check_guest_segs */
#define DTRS_IN(X)                                          /* check_guest_dtrs */          \
    X(GUEST_GDTR_BASE, ALL_BITS) X(GUEST_IDTR_BASE, ALL_BITS)                              \
    X(GUEST_GDTR_LIMIT, ALL_BITS) X(GUEST_IDTR_LIMIT, ALL_BITS)
#define NONREG_IN(X)                                        /* check_guest_nonreg */        \
    X(GUEST_ACTIVITY, ALL_BITS) X(GUEST_INTERRUPTIBILITY, ALL_BITS)                        \
    X(ENTRY_INTR_INFO, ALL_BITS) X(GUEST_SS_AR, ALL_BITS) X(PIN_CONTROLS, ALL_BITS)        \
    X(GUEST_PENDING_DBG, ALL_BITS) X(ENTRY_CONTROLS, ALL_BITS) X(GUEST_DEBUGCTL, ALL_BITS)  \
    X(LINK_POINTER, ALL_BITS) X(PROC_CONTROLS, ALL_BITS) X(PROC_CONTROLS2, ALL_BITS)       \
    X(GUEST_RFLAGS, X86_RFLAGS_IF_BIT | X86_RFLAGS_TF)

#define COUNT_(name, mask) + 1
#define DIFF_(name, mask) d |= (v->field[V12_##name] ^ *val++) & (mask);
#define SAVE_(name, mask) *val++ = v->field[V12_##name];
/* For inputs LIST: NAME_diff (nonzero: some input differs from @val's)
 * and NAME_save (store them at @val), and NAME_group (the check). */
#define MEMO_DIFF(name, LIST)                                                    \
    static uint64_t name##_diff(const vmcs12_t *v, const uint64_t *val)          \
    {                                                                            \
        uint64_t d = 0;                                                          \
        LIST(DIFF_)                                                              \
        return d;                                                                \
    }
#define MEMO_FUNCS(name, LIST)                                                   \
    MEMO_DIFF(name, LIST)                                                        \
    static void name##_save(const vmcs12_t *v, uint64_t *val)                    \
    {                                                                            \
        LIST(SAVE_)                                                              \
    }
MEMO_FUNCS(regs, REGS_IN)
MEMO_FUNCS(segs, SEGS_IN)
MEMO_DIFF(segs_rest, SEGS_REST_IN)
MEMO_FUNCS(dtrs, DTRS_IN)
MEMO_FUNCS(nonreg, NONREG_IN)

static nvmx_entry_check_t regs_group(const vmcs12_t *v, const nvmx_env_t *env,
                                     const nvmx_entry_ctx_t *ctx)
{
    (void)ctx;
    return check_guest_regs(v, env);
}
static nvmx_entry_check_t segs_group(const vmcs12_t *v, const nvmx_env_t *env,
                                     const nvmx_entry_ctx_t *ctx)
{
    (void)env, (void)ctx;
    return check_guest_segs(v);
}
static nvmx_entry_check_t dtrs_group(const vmcs12_t *v, const nvmx_env_t *env,
                                     const nvmx_entry_ctx_t *ctx)
{
    (void)env, (void)ctx;
    return check_guest_dtrs(v);
}
static nvmx_entry_check_t rip_rflags_group(const vmcs12_t *v, const nvmx_env_t *env,
                                           const nvmx_entry_ctx_t *ctx)
{
    (void)env, (void)ctx;
    return check_guest_rip_rflags(v);
}
static nvmx_entry_check_t pdptes_group(const vmcs12_t *v, const nvmx_env_t *env,
                                       const nvmx_entry_ctx_t *ctx)
{
    (void)ctx;
    return check_guest_pdptes(v, env);
}

/*
 * The lazy groups (nvmx.h NVMX_LAZY_GROUPS) whose fields each check group
 * reads where its result depends on them, given the other fields: for a
 * VMRESUME with some of them stale in vmcs12 (nvmx_check_guest_known).
 * 26.3.1.2 reads every segment register, 26.3.1.3 GDTR and IDTR; 26.3.1.4
 * reads CS.L only for an IA-32e mode guest whose RIP has a bit of 63:32
 * set (otherwise both of its RIP rules pass); 26.3.1.5 reads SS.DPL only
 * in the HLT activity state; 26.3.1.6 reads the PDPTE fields only for PAE
 * paging with EPT; 26.3.1.1 reads none.
 */
static uint64_t reads_none(const vmcs12_t *v) { (void)v; return 0; }
static uint64_t reads_segs(const vmcs12_t *v)
{
    (void)v;
    return NESTOR_MTD_SEGS | NESTOR_MTD_SYS_SEGS;
}
static uint64_t reads_dtrs(const vmcs12_t *v) { (void)v; return NESTOR_MTD_SYS_SEGS; }
static uint64_t reads_rip_rflags(const vmcs12_t *v)
{
    return (F(ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST) && (F(GUEST_RIP) >> 32)
               ? NESTOR_MTD_SEGS : 0;
}
static uint64_t reads_nonreg(const vmcs12_t *v)
{
    return F32(GUEST_ACTIVITY) == NESTOR_ACTIVITY_HLT ? NESTOR_MTD_SEGS : 0;
}
static uint64_t reads_pdptes(const vmcs12_t *v)
{
    return (F(GUEST_CR0) & X86_CR0_PG) && (F(GUEST_CR4) & X86_CR4_PAE) &&
                   !(F(ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST) &&
                   (eff_proc2(v) & PROC2_ENABLE_EPT)
               ? NESTOR_MTD_PDPTE : 0;
}

/*
 * A group whose inputs start with every field of some lazy groups
 * (lazy_in) compares only the rest (diff_rest, from input rest_at on;
 * NULL: none) while they are all stale: a stale field is one nobody
 * wrote since the checks last passed on it (l2.c writes it only when it
 * syncs, and a sync clears it; L1's VMWRITE syncs first), so it equals
 * the memo's but for L1's plain writes to its VMCS region (SDM 24.11.1),
 * which are never loaded either: a stale group is not loaded.
 */
#define GROUP(check, name, LIST, lazy) \
    { check, name##_diff, name##_save, lazy, 0, NULL, 0, 0 LIST(COUNT_) }
#define GROUP_LAZY_IN(check, name, LIST, lazy, lazy_in, rest, rest_at) \
    { check, name##_diff, name##_save, lazy, lazy_in, rest, rest_at, 0 LIST(COUNT_) }
static const struct {
    nvmx_entry_check_t (*check)(const vmcs12_t *, const nvmx_env_t *, const nvmx_entry_ctx_t *);
    uint64_t (*diff)(const vmcs12_t *, const uint64_t *);   /* NULL: runs at every entry */
    void (*save)(const vmcs12_t *, uint64_t *);
    uint64_t (*lazy)(const vmcs12_t *);                     /* the lazy groups it reads */
    uint64_t lazy_in;
    uint64_t (*diff_rest)(const vmcs12_t *, const uint64_t *);
    unsigned rest_at;
    unsigned n;                                             /* its inputs */
} guest_groups[] = {            /* SDM 26.3.1.1-26.3.1.6, in the SDM's order */
    GROUP(regs_group, regs, REGS_IN, reads_none),
    GROUP_LAZY_IN(segs_group, segs, SEGS_IN, reads_segs, NESTOR_MTD_SEGS | NESTOR_MTD_SYS_SEGS,
                  segs_rest_diff, 0 SEGS_LAZY_IN(COUNT_)),
    GROUP_LAZY_IN(dtrs_group, dtrs, DTRS_IN, reads_dtrs, NESTOR_MTD_SYS_SEGS, NULL, 0),
    { rip_rflags_group, NULL, NULL, reads_rip_rflags, 0, NULL, 0, 0 },
    GROUP(check_guest_nonreg, nonreg, NONREG_IN, reads_nonreg),
    { pdptes_group, NULL, NULL, reads_pdptes, 0, NULL, 0, 0 },
};
#define GUEST_GROUPS (sizeof guest_groups / sizeof guest_groups[0])
_Static_assert(0 REGS_IN(COUNT_) SEGS_IN(COUNT_) DTRS_IN(COUNT_) NONREG_IN(COUNT_) <=
                   NVMX_GUEST_MEMO_VALUES, "the memo holds every group's inputs");

nvmx_entry_check_t nvmx_check_guest_known(const vmcs12_t *v, const nvmx_env_t *env,
                                          const nvmx_entry_ctx_t *ctx, nvmx_guest_memo_t *memo)
{
    const bool known = memo->valid && memo->vmcs_ptr == ctx->vmcs_ptr &&
                       memo->l1_debugctl == ctx->l1_debugctl;
    /* 26.3.1.5: the link pointer's check reads the revision word of the
     * VMCS it references, in L1's memory, which no field tells changed. */
    const bool reads_memory = F(LINK_POINTER) != VMCS_LINK_PTR_NONE;
    memo->valid = false;
    uint64_t *val = memo->val;
    for (unsigned g = 0; g < GUEST_GROUPS; val += guest_groups[g].n, g++) {
        const bool memo_ok = guest_groups[g].diff &&
                             !(guest_groups[g].check == check_guest_nonreg && reads_memory);
        const bool rest_only = guest_groups[g].lazy_in &&
                               (ctx->stale & guest_groups[g].lazy_in) == guest_groups[g].lazy_in;
        if (known && memo_ok &&
            !(rest_only ? guest_groups[g].diff_rest &&
                              guest_groups[g].diff_rest(v, val + guest_groups[g].rest_at)
                        : guest_groups[g].diff(v, val)))
            continue;
        if (ctx->stale & guest_groups[g].lazy(v)) {
            /* (the groups before passed on fields that are not stale) */
            memo->valid = known;
            return (nvmx_entry_check_t){ .kind = NVMX_ENTRY_STALE };
        }
        nvmx_entry_check_t r = guest_groups[g].check(v, env, ctx);
        if (r.kind != NVMX_ENTRY_OK)
            return r;
        if (guest_groups[g].save)
            guest_groups[g].save(v, val);
    }
    memo->valid = true;
    memo->vmcs_ptr = ctx->vmcs_ptr;
    memo->l1_debugctl = ctx->l1_debugctl;
    return chk_ok();
}

nvmx_entry_check_t nvmx_check_guest(const vmcs12_t *v, const nvmx_env_t *env,
                                    const nvmx_entry_ctx_t *ctx)
{
    nvmx_entry_check_t r = check_guest_regs(v, env);
    if (r.kind == NVMX_ENTRY_OK)
        r = check_guest_segs(v);
    if (r.kind == NVMX_ENTRY_OK)
        r = check_guest_dtrs(v);
    if (r.kind == NVMX_ENTRY_OK)
        r = check_guest_rip_rflags(v);
    if (r.kind == NVMX_ENTRY_OK)
        r = check_guest_nonreg(v, env, ctx);
    if (r.kind == NVMX_ENTRY_OK)
        r = check_guest_pdptes(v, env);
    return r;
}
