/*
 * tests/guests/vmxcheck.c - a test hypervisor (L1) that checks the VT-x it
 * is shown against the Intel SDM (Vol. 2C, 3C, 3D; the edition cited in
 * docs/platforms.md), deriving every expectation from the capability MSRs
 * it reads, never from one implementation's values: it runs bare on Bochs
 * (real emulated VMX) and under nested-vmx alike.
 *
 * Sections, one output line each ("vmxcheck: NAME: N checks, M failed"),
 * a line per failed check ("vmxcheck: FAILED what: expected X, got Y"):
 *   caps         CPUID.1:ECX.VMX, IA32_FEATURE_CONTROL, the capability MSRs'
 *                invariants (SDM Vol. 3D Appendix A);
 *   instructions VMXON/VMXOFF/VMCLEAR/VMPTRLD/VMPTRST/VMREAD/VMWRITE/
 *                VMLAUNCH/VMRESUME/VMCALL/INVEPT/INVVPID outcomes and error
 *                numbers (SDM Vol. 2C chapter 30 instruction pages, 30.2-30.4);
 *   fields       VMWRITE/VMREAD round trips of the Appendix B fields, width
 *                truncation, high halves of 64-bit fields (SDM 24.11.2, 30.3);
 *   vmentry      one broken field per VMLAUNCH: VMfailValid 7 (26.2.1),
 *                VMfailValid 8 (26.2.2-26.2.4), VM-entry failure exits 33/34
 *                (26.3, 26.4, 26.8) (vmxcheck_entry.c);
 *   l2           a trivial L2 run: CPUID, VMCALL, HLT exits; VMLAUNCH on a
 *                launched VMCS (vmxcheck_entry.c); skipped with "nol2" on
 *                the command line;
 *   vmxoff       VMXOFF, then VMX instructions #UD (SDM Vol. 2C VMXOFF, VMREAD).
 * Ends with "vmxcheck: P passed, F failed" and "vmxcheck: N checks, M
 * failed", then its status on the exit port. With "bare" on the command
 * line (booted by GRUB on Bochs, no VMM) it prints the verdict line the
 * harness judges and shuts Bochs down (nestor/verdict.h).
 */
#include "vmxcheck.h"
#include <fmt.h>
#include <nestor/verdict.h>
#include <nestor/vmcs.h>
#include <stdarg.h>
#include <string.h>
#include <x86_arch.h>
#include <x86_vmx.h>

#define VEC_UD        6
#define VEC_GP        13
#define GATE_NONE     0

static int opt_nol2, opt_reset;
static uint64_t vmcs_b[512] __attribute__((aligned(4096)));
static uint64_t bad_rev[512] __attribute__((aligned(4096)));

static void parse_cmdline(uint32_t magic, uint32_t info)
{
    const char *cmd = vmxc_cmdline(magic, info);
    vmxc_opt_bare = vmxc_has_word(cmd, "bare");
    opt_nol2 = vmxc_has_word(cmd, "nol2");
    opt_reset = vmxc_has_word(cmd, "reset");
    vmxc_opt_strict = vmxc_has_word(cmd, "strict");
}

/* ---- section reset (option "reset"): a system reset leaves VMX operation ----
 *
 * RESET puts the processor out of VMX operation (INIT would not: it is
 * blocked in VMX root operation, SDM 23.8). The first boot enters VMX
 * operation and resets the machine through port CF9h; the next boot's
 * VMXON must succeed. A battery-backed CMOS byte counts the boots. */
#define CMOS_INDEX       0x70
#define CMOS_DATA        0x71
#define CMOS_RESET_BOOTS 0x41
#define PORT_CF9         0xCF9
#define CF9_HARD_RESET   0x06

static uint64_t vmxon_as_fixed(void)
{
    vmxc_write_revision(vmxon_region, caps.revision);
    write_cr0(read_cr0() | (caps.cr0_fixed0 & 0xFFFFFFFF));
    write_cr4(read_cr4() | caps.cr4_fixed0 | X86_CR4_VMXE);
    return vmx_vmxon(pa(vmxon_region));
}

static void section_reset(void)
{
    vmxc_section_begin();
    outb(CMOS_INDEX, CMOS_RESET_BOOTS);
    uint8_t boots = inb(CMOS_DATA);
    outb(CMOS_INDEX, CMOS_RESET_BOOTS);
    outb(CMOS_DATA, boots ? 0 : 1);
    if (!boots) {
        uint64_t r = vmxon_as_fixed();
        vmxc_check_vr("reset: VMXON before the reset (VMXON)", VR_OK, r);
        if (r == VR_OK) {
            vmxc_printf("vmxcheck: reset: in VMX operation, resetting through CF9h\n");
            outb(PORT_CF9, CF9_HARD_RESET);
            for (;;)
                __asm__ volatile("hlt");
        }
    } else {
        vmxc_check_eq("reset: CR4.VMXE clear after the reset (SDM 23.8)", 0,
                      read_cr4() & X86_CR4_VMXE);
        uint64_t r = vmxon_as_fixed();
        vmxc_check_vr("reset: VMXON after the reset (SDM 23.8: out of VMX operation)", VR_OK, r);
        if (r == VR_OK)
            vmx_vmxoff();
    }
    vmxc_section_end("reset");
}

/* ---- section instructions: SDM Vol. 2C chapter 30 (VMX instruction reference) ---- */

static int section_instructions(void)
{
    uint64_t r, v;
    vmxc_section_begin();
    vmxc_write_revision(vmxon_region, caps.revision);
    vmxc_write_revision(vmcs_region, caps.revision);
    vmxc_write_revision(vmcs_b, caps.revision);
    vmxc_write_revision(bad_rev, caps.revision ^ 1);

    /* VMXON: #UD with CR4.VMXE = 0 (Vol. 2C VMXON, Operation). */
    write_cr4(read_cr4() & ~X86_CR4_VMXE);
    vmxc_check_vr("VMXON with CR4.VMXE=0 #UD (VMXON)", VR_FAULT(VEC_UD), vmx_vmxon(pa(vmxon_region)));
    /* SDM Vol. 3B 17.3.1.1: a fault pushes RF = 1, whoever delivers it (the
     * CPU, or a VMM under L1 carrying out the instruction). */
    vmxc_check(vmxc_fault_rflags & X86_RFLAGS_RF, "VMXON #UD pushes RF = 1 (17.3.1.1)");
    /* VMX instructions other than VMXON #UD outside VMX operation (e.g. VMPTRST, VMXOFF). */
    vmxc_check_vr("VMXOFF outside VMX operation #UD (VMXOFF)", VR_FAULT(VEC_UD), vmx_vmxoff());

    /* CR0 and CR4 as IA32_VMX_CR0/CR4_FIXED0 want them (SDM 23.8). */
    write_cr0(read_cr0() | (caps.cr0_fixed0 & 0xFFFFFFFF));
    write_cr4(read_cr4() | caps.cr4_fixed0 | X86_CR4_VMXE);
    uint64_t cr0 = read_cr0();
    if (caps.cr0_fixed0 & X86_CR0_NE) {
        /* VMXON: #GP(0) when a CR0 bit is not as FIXED0/FIXED1 allow (VMXON, Operation). */
        write_cr0(cr0 & ~X86_CR0_NE);
        r = vmx_vmxon(pa(vmxon_region));
        write_cr0(cr0);
        vmxc_check_vr("VMXON with CR0.NE=0 #GP (VMXON)", VR_FAULT(VEC_GP), r);
        vmxc_check(r != VR_FAULT(VEC_GP) || (vmxc_fault_rflags & X86_RFLAGS_RF),
                   "VMXON #GP pushes RF = 1 (17.3.1.1)");
        if (r == VR_OK)
            vmx_vmxoff();
    }
    /* VMXON: a misaligned, too wide or wrong-revision region -> VMfailInvalid. */
    vmxc_check_vr("VMXON misaligned pointer (VMXON)", VR_INVALID, vmx_vmxon(pa(vmxon_region) + 8));
    vmxc_check_vr("VMXON pointer beyond MAXPHYADDR (VMXON)", VR_INVALID, vmx_vmxon(beyond_phys()));
    vmxc_check_vr("VMXON bad revision (VMXON)", VR_INVALID, vmx_vmxon(pa(bad_rev)));
    vmxc_write_revision(bad_rev, caps.revision | VMCS_REVISION_SHADOW);
    vmxc_check_vr("VMXON region with bit 31 set (VMXON)", VR_INVALID, vmx_vmxon(pa(bad_rev)));
    vmxc_write_revision(bad_rev, caps.revision ^ 1);
    r = vmx_vmxon(pa(vmxon_region));
    vmxc_check_vr("VMXON (VMXON)", VR_OK, r);
    if (r != VR_OK) {
        vmxc_section_end("instructions");
        return 0;
    }
    /* In VMX root operation without a current VMCS: VMfailInvalid. */
    vmxc_check_vr("VMXON again, no current VMCS (VMXON)", VR_INVALID, vmx_vmxon(pa(vmxon_region)));
    vmxc_check_vr("VMREAD without current VMCS (VMREAD)", VR_INVALID, vmx_vmread(VMCS_GUEST_RIP, &v));
    vmxc_check_vr("VMWRITE without current VMCS (VMWRITE)", VR_INVALID, vmx_vmwrite(VMCS_GUEST_RIP, 0));
    vmxc_check_vr("VMLAUNCH without current VMCS (VMLAUNCH)", VR_INVALID, vmx_launch(0));
    v = 0;
    vmxc_check_vr("VMPTRST without current VMCS (VMPTRST)", VR_OK, vmx_vmptrst(&v));
    vmxc_check_eq("VMPTRST without current VMCS stores FFFFFFFF_FFFFFFFFH (VMPTRST)", ~0ULL, v);

    /* VMfail without a current VMCS is VMfailInvalid (SDM 30.2) ... */
    vmxc_check_vr("VMCLEAR misaligned, no current VMCS (VMCLEAR, 30.2)", VR_INVALID,
                  vmx_vmclear(pa(vmcs_region) + 0x10));
    vmxc_check_vr("VMPTRLD VMXON pointer, no current VMCS (VMPTRLD, 30.2)", VR_INVALID,
                  vmx_vmptrld(pa(vmxon_region)));
    vmxc_check_eq("VMfailInvalid: CF=1, PF AF ZF SF OF cleared (30.2)", VMX_RFLAGS_CF,
                  vmclear_arith_flags(pa(vmcs_region) + 0x10));
    /* ... and VMfailValid with one: make vmcs_b current for the error numbers. */
    vmxc_check_vr("VMCLEAR (VMCLEAR)", VR_OK, vmx_vmclear(pa(vmcs_b)));
    vmxc_check_vr("VMPTRLD (VMPTRLD)", VR_OK, vmx_vmptrld(pa(vmcs_b)));
    /* VMCLEAR: 2 invalid address, 3 the VMXON pointer (Vol. 2C VMCLEAR). */
    vmxc_check_vr("VMCLEAR misaligned (VMCLEAR)", VR_VALID(VMXERR_VMCLEAR_INVALID_ADDR),
                  vmx_vmclear(pa(vmcs_region) + 0x10));
    vmxc_check_vr("VMCLEAR beyond MAXPHYADDR (VMCLEAR)", VR_VALID(VMXERR_VMCLEAR_INVALID_ADDR),
                  vmx_vmclear(beyond_phys()));
    vmxc_check_vr("VMCLEAR VMXON pointer (VMCLEAR)", VR_VALID(VMXERR_VMCLEAR_VMXON_PTR),
                  vmx_vmclear(pa(vmxon_region)));
    vmxc_check_eq("VMfailValid: ZF=1, CF PF AF SF OF cleared (30.2)", VMX_RFLAGS_ZF,
                  vmclear_arith_flags(pa(vmcs_region) + 0x10));
    vmxc_check_eq("VMsucceed: CF PF AF ZF SF OF cleared (30.2)", 0,
                  vmclear_arith_flags(pa(vmcs_region)));
    /* VMPTRLD: 9 invalid address, 10 VMXON pointer, 11 wrong revision (Vol. 2C VMPTRLD). */
    vmxc_check_vr("VMPTRLD misaligned (VMPTRLD)", VR_VALID(VMXERR_VMPTRLD_INVALID_ADDR),
                  vmx_vmptrld(pa(vmcs_region) + 0x800));
    vmxc_check_vr("VMPTRLD beyond MAXPHYADDR (VMPTRLD)", VR_VALID(VMXERR_VMPTRLD_INVALID_ADDR),
                  vmx_vmptrld(beyond_phys()));
    vmxc_check_vr("VMPTRLD VMXON pointer (VMPTRLD)", VR_VALID(VMXERR_VMPTRLD_VMXON_PTR),
                  vmx_vmptrld(pa(vmxon_region)));
    vmxc_check_vr("VMPTRLD bad revision (VMPTRLD)", VR_VALID(VMXERR_VMPTRLD_BAD_REVISION),
                  vmx_vmptrld(pa(bad_rev)));
    if (!ctl_can1(proc2_msr(), PROC2_VMCS_SHADOWING)) {
        /* Bit 31 (shadow-VMCS indicator) set without VMCS shadowing: error 11. */
        vmxc_write_revision(bad_rev, caps.revision | VMCS_REVISION_SHADOW);
        vmxc_check_vr("VMPTRLD shadow-VMCS indicator without shadowing (VMPTRLD)",
                      VR_VALID(VMXERR_VMPTRLD_BAD_REVISION), vmx_vmptrld(pa(bad_rev)));
    }

    vmxc_check_vr("VMCLEAR (VMCLEAR)", VR_OK, vmx_vmclear(pa(vmcs_region)));
    vmxc_check_vr("VMPTRLD (VMPTRLD)", VR_OK, vmx_vmptrld(pa(vmcs_region)));
    v = 0;
    vmxc_check_vr("VMPTRST (VMPTRST)", VR_OK, vmx_vmptrst(&v));
    vmxc_check_eq("VMPTRST stores the current-VMCS pointer (VMPTRST)", pa(vmcs_region), v);
    /* With a current VMCS, VMXON in root operation: VMfailValid(15). */
    vmxc_check_vr("VMXON in VMX root operation (VMXON)", VR_VALID(VMXERR_VMXON_IN_ROOT),
                  vmx_vmxon(pa(vmxon_region)));
    /* VMCALL in VMX root operation, dual-monitor treatment off: VMfailValid(1).
     * Only with "strict" on the command line: Bochs 2.7 stops ("VMCALL:
     * not implemented yet") instead. */
    if (vmxc_opt_strict)
        vmxc_check_vr("VMCALL in VMX root operation (VMCALL)", VR_VALID(VMXERR_VMCALL_IN_ROOT),
                      vmx_vmcall());
    /* VMREAD/VMWRITE of an unsupported encoding (bit 12 is reserved, SDM 24.11.2): 12. */
    vmxc_check_vr("VMREAD unsupported field (VMREAD)", VR_VALID(VMXERR_UNSUPPORTED_FIELD),
                  vmx_vmread(0x1000, &v));
    vmxc_check_vr("VMWRITE unsupported field (VMWRITE)", VR_VALID(VMXERR_UNSUPPORTED_FIELD),
                  vmx_vmwrite(0x1000, 0));
    /* A 64-bit register operand with bits 63:32 set names no field (24.11.2:
     * encodings are 32 bits). */
    vmxc_check_vr("VMREAD encoding bits 63:32 (VMREAD)", VR_VALID(VMXERR_UNSUPPORTED_FIELD),
                  vmx_vmread(BIT(32) | VMCS_GUEST_RIP, &v));
    vmxc_check_vr("VMWRITE encoding bits 63:32 (VMWRITE)", VR_VALID(VMXERR_UNSUPPORTED_FIELD),
                  vmx_vmwrite(BIT(32) | VMCS_GUEST_RIP, 0));
    /* Access type 1 (high) exists only for 64-bit fields (SDM 24.11.2). */
    vmxc_check_vr("VMREAD high half of a natural-width field (VMREAD)",
                  VR_VALID(VMXERR_UNSUPPORTED_FIELD), vmx_vmread(VMCS_GUEST_RIP | 1, &v));
    /* VMWRITE of a read-only field: 13 unless IA32_VMX_MISC[29] (VMWRITE). */
    r = vmx_vmwrite(VMCS_EXIT_REASON, 0x1234);
    if (caps.misc & VMX_MISC_VMWRITE_ANY_FIELD)
        vmxc_check_vr("VMWRITE read-only field, MISC[29]=1 (VMWRITE)", VR_OK, r);
    else
        vmxc_check_vr("VMWRITE read-only field (VMWRITE)", VR_VALID(VMXERR_VMWRITE_READ_ONLY), r);
    /* VMLAUNCH right after MOV SS: VMfailValid(26), checked before the
     * launch state and the VMCS contents (VMLAUNCH/VMRESUME, Operation). */
    vmxc_check_vr("VMLAUNCH blocked by MOV SS (VMLAUNCH)", VR_VALID(VMXERR_ENTRY_MOVSS_BLOCKING),
                  vmx_launch(VMXC_ENTER_MOVSS));
    /* VMRESUME of a VMCS whose launch state is clear: 5 (VMLAUNCH/VMRESUME). */
    vmxc_check_vr("VMRESUME non-launched VMCS (VMRESUME)", VR_VALID(VMXERR_VMRESUME_NOT_LAUNCHED),
                  vmx_launch(VMXC_ENTER_RESUME));
    /* A second VMCS: VMPTRLD switches, VMCLEAR of the current one invalidates it. */
    vmxc_check_vr("VMCLEAR second VMCS (VMCLEAR)", VR_OK, vmx_vmclear(pa(vmcs_b)));
    vmxc_check_vr("VMPTRLD second VMCS (VMPTRLD)", VR_OK, vmx_vmptrld(pa(vmcs_b)));
    vmxc_check_vr("VMWRITE GUEST_RIP in second VMCS", VR_OK, vmx_vmwrite(VMCS_GUEST_RIP, 0xB0B0));
    vmxc_check_vr("VMPTRLD first VMCS (VMPTRLD)", VR_OK, vmx_vmptrld(pa(vmcs_region)));
    vmxc_check_vr("VMWRITE GUEST_RIP in first VMCS", VR_OK, vmx_vmwrite(VMCS_GUEST_RIP, 0xA0A0));
    vmxc_check_vr("VMPTRLD second VMCS again (VMPTRLD)", VR_OK, vmx_vmptrld(pa(vmcs_b)));
    vmxc_check_eq("second VMCS keeps its GUEST_RIP (SDM 24.1)", 0xB0B0, vmrd(VMCS_GUEST_RIP));
    vmxc_check_vr("VMCLEAR current VMCS (VMCLEAR)", VR_OK, vmx_vmclear(pa(vmcs_b)));
    v = 0;
    vmx_vmptrst(&v);
    vmxc_check_eq("VMCLEAR of the current VMCS makes it invalid (VMCLEAR)", ~0ULL, v);
    vmxc_check_vr("VMREAD after VMCLEAR of current (VMREAD)", VR_INVALID,
                  vmx_vmread(VMCS_GUEST_RIP, &v));
    vmxc_check_vr("VMPTRLD first VMCS (VMPTRLD)", VR_OK, vmx_vmptrld(pa(vmcs_region)));
    vmxc_check_eq("first VMCS keeps its GUEST_RIP (SDM 24.1)", 0xA0A0, vmrd(VMCS_GUEST_RIP));

    /* INVEPT/INVVPID (Vol. 2C): #UD if not supported; a type the caps do not
     * report: VMfailValid(28). */
    int invept = ctl_can1(proc2_msr(), PROC2_ENABLE_EPT) && (caps.ept_vpid & EPT_CAP_INVEPT);
    int invvpid = ctl_can1(proc2_msr(), PROC2_ENABLE_VPID) && (caps.ept_vpid & VPID_CAP_INVVPID);
    if (invept) {
        vmxc_check_vr("INVEPT type 0 (INVEPT)", VR_VALID(VMXERR_INVALID_INVEPT_INVVPID),
                      vmx_invept(0, 0));
        vmxc_check_vr("INVEPT type 3 (INVEPT)", VR_VALID(VMXERR_INVALID_INVEPT_INVVPID),
                      vmx_invept(3, 0));
        if (caps.ept_vpid & EPT_CAP_INVEPT_ALL)
            vmxc_check_vr("INVEPT all-context (INVEPT)", VR_OK, vmx_invept(INVEPT_ALL_CONTEXT, 0));
        else
            vmxc_check_vr("INVEPT all-context unsupported (INVEPT)",
                          VR_VALID(VMXERR_INVALID_INVEPT_INVVPID),
                          vmx_invept(INVEPT_ALL_CONTEXT, 0));
    }
    if (invvpid) {
        vmxc_check_vr("INVVPID type 4 (INVVPID)", VR_VALID(VMXERR_INVALID_INVEPT_INVVPID),
                      vmx_invvpid(4, 1, 0));
        if (caps.ept_vpid & VPID_CAP_INVVPID_SINGLE)
            /* Single-context with VPID 0: VMfailValid(28) (INVVPID, Operation). */
            vmxc_check_vr("INVVPID single-context VPID 0 (INVVPID)",
                          VR_VALID(VMXERR_INVALID_INVEPT_INVVPID),
                          vmx_invvpid(INVVPID_SINGLE_CONTEXT, 0, 0));
        if (caps.ept_vpid & VPID_CAP_INVVPID_ALL)
            vmxc_check_vr("INVVPID all-context (INVVPID)", VR_OK,
                          vmx_invvpid(INVVPID_ALL_CONTEXT, 0, 0));
        if (caps.ept_vpid & VPID_CAP_INVVPID_ADDR)
            /* Individual-address with a non-canonical address: 28. */
            vmxc_check_vr("INVVPID address non-canonical (INVVPID)",
                          VR_VALID(VMXERR_INVALID_INVEPT_INVVPID),
                          vmx_invvpid(INVVPID_ADDRESS, 1, 1ULL << 62));
    }
    if (!invept)
        vmxc_check_vr("INVEPT unsupported #UD (INVEPT)", VR_FAULT(VEC_UD),
                      vmx_invept(INVEPT_ALL_CONTEXT, 0));
    if (!invvpid)
        vmxc_check_vr("INVVPID unsupported #UD (INVVPID)", VR_FAULT(VEC_UD),
                      vmx_invvpid(INVVPID_ALL_CONTEXT, 0, 0));
    vmxc_section_end("instructions");
    return 1;
}

/* ---- section fields: SDM Vol. 3D Appendix B, 24.11.2, VMREAD/VMWRITE ---- */

/* A value for @enc with bits above the field's width set (they must be
 * dropped: VMWRITE writes only the field's width, VMREAD zero-extends,
 * SDM Vol. 2C VMREAD/VMWRITE Operation). Segment access rights keep their
 * reserved bits (11:8, 31:17) clear: a processor need not store them
 * (SDM 24.4.1, footnote to Table 24-2). */
static uint64_t pattern(uint32_t enc, unsigned round)
{
    uint64_t v = 0x8000000000000000ULL | (uint64_t)(enc * 0x9E37u + round * 0x1111u) << 20 |
                 (enc ^ (round ? 0x5A5A : 0xA5A5));
    v |= 0xFFFFFFFF00000000ULL & (round ? 0x5555555500000000ULL : 0xAAAAAAAA00000000ULL);
    if (enc >= 0x4814 && enc <= 0x4822)
        v = (v & ~0xFFFFFFFFULL) | (v & 0x1F0FF);
    return v;
}

static void section_fields(void)
{
    char what[80];
    uint64_t r, v;
    int ro_writable = (caps.misc & VMX_MISC_VMWRITE_ANY_FIELD) != 0;
    vmxc_section_begin();
    vmx_vmclear(pa(vmcs_b));
    vmxc_check_vr("VMPTRLD scratch VMCS", VR_OK, vmx_vmptrld(pa(vmcs_b)));
    for (unsigned i = 0; i < vmxc_n_fields; i++) {
        uint32_t enc = vmxc_fields[i].enc;
        int supported = vmxc_field_supported(i);
        int ro = VMCS_FIELD_TYPE(enc) == VMCS_TYPE_READ_ONLY;
        unsigned bad = 0;
        if (!supported) {
            /* A field whose feature is not offered may exist or not. */
            r = vmx_vmread(enc, &v);
            if (r != VR_OK && r != VR_VALID(VMXERR_UNSUPPORTED_FIELD)) {
                fmt_snprintf(what, sizeof(what), "VMREAD %#x (feature off): ok or 12", enc);
                vmxc_check_vr(what, VR_VALID(VMXERR_UNSUPPORTED_FIELD), r);
            }
            continue;
        }
        if (ro && !ro_writable) {
            fmt_snprintf(what, sizeof(what), "VMWRITE read-only %#x (VMWRITE)", enc);
            vmxc_check_vr(what, VR_VALID(VMXERR_VMWRITE_READ_ONLY), vmx_vmwrite(enc, 1));
            fmt_snprintf(what, sizeof(what), "VMREAD read-only %#x (VMREAD)", enc);
            vmxc_check_vr(what, VR_OK, vmx_vmread(enc, &v));
            continue;
        }
        for (unsigned round = 0; round < 2; round++) {
            uint64_t p = pattern(enc, round);
            r = vmx_vmwrite(enc, p);
            if (r != VR_OK) {
                fmt_snprintf(what, sizeof(what), "VMWRITE %#x (VMWRITE)", enc);
                vmxc_check_vr(what, VR_OK, r);
                bad = 1;
                break;
            }
            r = vmx_vmread(enc, &v);
            if (r != VR_OK || v != (p & vmxc_width_mask(enc))) {
                fmt_snprintf(what, sizeof(what), "VMREAD %#x after VMWRITE %#llx (24.11.2)", enc,
                             (unsigned long long)p);
                if (r != VR_OK)
                    vmxc_check_vr(what, VR_OK, r);
                else
                    vmxc_check_eq(what, p & vmxc_width_mask(enc), v);
                bad = 1;
                break;
            }
        }
        if (!bad && VMCS_FIELD_WIDTH(enc) == VMCS_WIDTH_64) {
            /* Access type 1: bits 63:32 of a 64-bit field (SDM 24.11.2). */
            uint64_t full = pattern(enc, 1);
            r = vmx_vmread(enc | 1, &v);
            if (r != VR_OK || v != full >> 32) {
                fmt_snprintf(what, sizeof(what), "VMREAD %#x high half (24.11.2)", enc | 1);
                if (r != VR_OK)
                    vmxc_check_vr(what, VR_OK, r);
                else
                    vmxc_check_eq(what, full >> 32, v);
                bad = 1;
            } else {
                r = vmx_vmwrite(enc | 1, 0xFFFFFFFF12345678ULL);
                vmx_vmread(enc, &v);
                if (r != VR_OK || v != (0x1234567800000000ULL | (full & 0xFFFFFFFF))) {
                    fmt_snprintf(what, sizeof(what), "VMWRITE %#x high half (24.11.2)", enc | 1);
                    if (r != VR_OK)
                        vmxc_check_vr(what, VR_OK, r);
                    else
                        vmxc_check_eq(what, 0x1234567800000000ULL | (full & 0xFFFFFFFF), v);
                    bad = 1;
                }
            }
        }
        if (!bad)
            vmxc_check(1, "");
    }
    vmx_vmclear(pa(vmcs_b));
    vmxc_section_end("fields");
}

/* ---- section vmxoff: Vol. 2C VMXOFF, and #UD outside VMX operation ---- */

static void section_vmxoff(void)
{
    uint64_t v;
    vmxc_section_begin();
    vmxc_check_vr("VMXOFF (VMXOFF)", VR_OK, vmx_vmxoff());
    vmxc_check_vr("VMREAD after VMXOFF #UD (VMREAD)", VR_FAULT(VEC_UD),
                  vmx_vmread(VMCS_GUEST_RIP, &v));
    vmxc_check_vr("VMPTRLD after VMXOFF #UD (VMPTRLD)", VR_FAULT(VEC_UD),
                  vmx_vmptrld(pa(vmcs_region)));
    vmxc_check_vr("VMLAUNCH after VMXOFF #UD (VMLAUNCH)", VR_FAULT(VEC_UD), vmx_launch(0));
    /* VMXON works again, and the VMCS left current before is not (VMXON: current-VMCS
     * pointer set to FFFFFFFF_FFFFFFFFH). */
    vmxc_check_vr("VMXON after VMXOFF (VMXON)", VR_OK, vmx_vmxon(pa(vmxon_region)));
    v = 0;
    vmx_vmptrst(&v);
    vmxc_check_eq("VMXON leaves no current VMCS (VMXON)", ~0ULL, v);
    vmxc_check_vr("VMXOFF again (VMXOFF)", VR_OK, vmx_vmxoff());
    vmxc_section_end("vmxoff");
}

int vmxc_main(uint32_t magic, uint32_t info);
int vmxc_main(uint32_t magic, uint32_t info)
{
    parse_cmdline(magic, info);
    if (vmxc_opt_bare)
        vmxc_serial_init();
    vmxc_setup_descriptors();
    vmxc_printf("vmxcheck: VMX from a guest hypervisor's side (%s%s)\n",
                vmxc_opt_bare ? "bare" : "as a guest", opt_nol2 ? ", no L2" : "");
    const int caps_ok = vmxc_section_caps();
    if (caps_ok && opt_reset)
        section_reset();
    if (caps_ok && section_instructions()) {
        section_fields();
        vmxc_section_vmentry();
        if (opt_nol2)
            vmxc_printf("vmxcheck: l2: skipped (nol2)\n");
        else {
            vmxc_section_l2();
            vmxc_section_l2x();
        }
        section_vmxoff();
    }
    vmxc_printf("vmxcheck: %u passed, %u failed\n", vmxc_total_checks - vmxc_total_failed, vmxc_total_failed);
    vmxc_printf("vmxcheck: %u checks, %u failed\n", vmxc_total_checks, vmxc_total_failed);
    if (vmxc_opt_bare) {
        char why[32];
        fmt_snprintf(why, sizeof(why), "%u failed", vmxc_total_failed);
        vmxc_bare_finish(vmxc_total_failed ? why : 0);
    }
    return vmxc_total_failed ? 1 : 0;
}
