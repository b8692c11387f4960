/*
 * arch/x86_64/cpu.c - identify the CPU and its virtualization support.
 */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/cpuid.h"
#include "arch/x86_64/cr.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/msr.h"
#include "kernel/console.h"
#include <string.h>

#define CPUID_FAMILY_EXTENDED 0xF

static void read_vendor(cpu_info_t *c)
{
    cpuid_regs_t r = cpuid(CPUID_LEAF_VENDOR, 0);
    memcpy(c->vendor, &r.ebx, 4);
    memcpy(c->vendor + 4, &r.edx, 4);
    memcpy(c->vendor + 8, &r.ecx, 4);
    c->vendor[12] = '\0';
}

/* SDM Vol. 2A CPUID, "Display Family / Display Model" computation. */
static void read_signature(cpu_info_t *c, uint32_t eax)
{
    unsigned base_family = (eax >> 8) & 0xF, base_model = (eax >> 4) & 0xF;
    c->stepping = eax & 0xF;
    c->family = base_family;
    if (base_family == CPUID_FAMILY_EXTENDED)
        c->family += (eax >> 20) & 0xFF;
    c->model = base_model;
    if (base_family == 0x6 || base_family == CPUID_FAMILY_EXTENDED)
        c->model += ((eax >> 16) & 0xF) << 4;
}

static void read_brand(cpu_info_t *c, uint32_t ext_max)
{
    c->brand[0] = '\0';
    if (ext_max < CPUID_LEAF_BRAND_LAST)
        return;
    for (uint32_t leaf = CPUID_LEAF_BRAND_FIRST; leaf <= CPUID_LEAF_BRAND_LAST; leaf++) {
        cpuid_regs_t r = cpuid(leaf, 0);
        memcpy(c->brand + (leaf - CPUID_LEAF_BRAND_FIRST) * 16, &r, 16);
    }
    c->brand[48] = '\0';
}

/* Read only the MSRs the CPU has: a missing one raises #GP (SDM Appendix A). */
static void read_vmx_msrs(vmx_caps_raw_t *raw)
{
    raw->feature_control = rdmsr(MSR_IA32_FEATURE_CONTROL);
    raw->basic = rdmsr(MSR_IA32_VMX_BASIC);
    bool true_ctls = raw->basic & VMX_BASIC_TRUE_CTLS;
    raw->pinbased = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS
                                    : MSR_IA32_VMX_PINBASED_CTLS);
    raw->procbased = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
                                     : MSR_IA32_VMX_PROCBASED_CTLS);
    raw->exit = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
    raw->entry = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
    raw->misc = rdmsr(MSR_IA32_VMX_MISC);
    raw->procbased2_valid = vmx_caps_has_procbased2(raw->procbased);
    if (!raw->procbased2_valid)
        return;
    raw->procbased2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
    raw->ept_vpid_valid = vmx_caps_has_ept_vpid(raw->procbased2);
    if (raw->ept_vpid_valid)
        raw->ept_vpid = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
}

void cpu_detect(cpu_info_t *c)
{
    *c = (cpu_info_t){ 0 };
    read_vendor(c);
    cpuid_regs_t f = cpuid(CPUID_LEAF_FEATURES, 0);
    read_signature(c, f.eax);
    c->pae = f.edx & CPUID_1_EDX_PAE;
    c->apic = f.edx & CPUID_1_EDX_APIC;
    c->x2apic = f.ecx & CPUID_1_ECX_X2APIC;
    c->xsave = f.ecx & CPUID_1_ECX_XSAVE;
    c->avx = f.ecx & CPUID_1_ECX_AVX;
    c->hypervisor = f.ecx & CPUID_1_ECX_HYPERVISOR;
    uint32_t ext_max = cpuid(CPUID_LEAF_EXT_MAX, 0).eax;
    if (ext_max >= CPUID_LEAF_EXT_FEATURES) {
        cpuid_regs_t e = cpuid(CPUID_LEAF_EXT_FEATURES, 0);
        c->nx = e.edx & CPUID_81_EDX_NX;
        c->lm = e.edx & CPUID_81_EDX_LM;
        c->page1gb = e.edx & CPUID_81_EDX_PAGE1GB;
        c->svm = e.ecx & CPUID_81_ECX_SVM;
    }
    if (cpuid(CPUID_LEAF_VENDOR, 0).eax >= CPUID_LEAF_EXT_FEATURES7) {
        cpuid_regs_t s = cpuid(CPUID_LEAF_EXT_FEATURES7, 0);
        c->smep = s.ebx & CPUID_7_EBX_SMEP;
        c->smap = s.ebx & CPUID_7_EBX_SMAP;
    }
    read_brand(c, ext_max);
    c->vmx_raw.vmx_cpuid = f.ecx & CPUID_1_ECX_VMX;
    if (c->vmx_raw.vmx_cpuid)
        read_vmx_msrs(&c->vmx_raw);
    vmx_caps_decode(&c->vmx_raw, &c->vmx);
}

static const char *yn(bool b)
{
    return b ? "present" : "absent";
}

static void print_vmx(const vmx_caps_t *v)
{
    kprintf("cpu: vmx: present (revision 0x%x, vmcs region %u bytes, true controls %s)\n",
            v->revision, v->vmcs_size, v->true_ctls ? "yes" : "no");
    kprintf("cpu: vmx: feature-control %s, vmxon outside smx %s\n",
            v->feature_control_locked ? "locked" : "unlocked",
            v->vmx_outside_smx ? "allowed" : "not allowed");
    kprintf("cpu: vmx: ept %s\n", yn(v->ept));
    kprintf("cpu: vmx: vpid %s\n", yn(v->vpid));
    kprintf("cpu: vmx: unrestricted-guest %s\n", yn(v->unrestricted_guest));
    kprintf("cpu: vmx: vmcs-shadowing %s\n", yn(v->vmcs_shadowing));
    kprintf("cpu: vmx: ept-details: 4-level-walk %s, wb %s, 2m-pages %s, 1g-pages %s, "
            "accessed-dirty %s, execute-only %s, invept %s, invvpid %s\n",
            yn(v->ept_walk4), yn(v->ept_wb), yn(v->ept_2m), yn(v->ept_1g), yn(v->ept_ad),
            yn(v->ept_exec_only), yn(v->invept), yn(v->invvpid));
    kprintf("cpu: vmx: other: preemption-timer %s (rate 2^%u), pml %s, mtf %s, "
            "virtual-nmis %s, posted-interrupts %s, vmfunc %s, vmwrite-any-field %s\n",
            yn(v->preemption_timer), v->preemption_timer_rate, yn(v->pml), yn(v->mtf),
            yn(v->virtual_nmis), yn(v->posted_interrupts), yn(v->vmfunc),
            yn(v->vmwrite_any_field));
}

void cpu_print(const cpu_info_t *c)
{
    kprintf("cpu: vendor %s family 0x%x model 0x%x stepping %u\n", c->vendor, c->family,
            c->model, c->stepping);
    if (c->brand[0]) {
        const char *b = c->brand;
        while (*b == ' ')
            b++;
        kprintf("cpu: brand \"%s\"\n", b);
    }
    kprintf("cpu: features: pae %s, nx %s, long-mode %s, apic %s, x2apic %s, xsave %s, "
            "avx %s, 1g-pages %s, running-under-hypervisor %s\n",
            yn(c->pae), yn(c->nx), yn(c->lm), yn(c->apic), yn(c->x2apic), yn(c->xsave),
            yn(c->avx), yn(c->page1gb), c->hypervisor ? "yes" : "no");
    if (c->vmx.present)
        print_vmx(&c->vmx);
    else
        kprintf("cpu: vmx: absent%s\n", c->svm ? " (this CPU has AMD SVM, not VT-x)" : "");
}

void cpu_protect_kernel(const cpu_info_t *c)
{
    /* SDM Vol. 3A 4.6.1: with CR4.SMEP a supervisor-mode fetch from a user
     * page faults; with CR4.SMAP so does a supervisor data access (the
     * kernel never sets RFLAGS.AC in ring 0, so there is no window). */
    uint64_t cr4 = read_cr4();
    if (c->smep)
        cr4 |= CR4_SMEP;
    if (c->smap)
        cr4 |= CR4_SMAP;
    write_cr4(cr4);
    kprintf("boot: smep %s, smap %s\n", c->smep ? "on" : "absent", c->smap ? "on" : "absent");
}
