/*
 * tests/guests/vmxc_lib.c - what a 64-bit test hypervisor guest needs,
 * shared by vmxcheck (vmxcheck.c, vmxcheck_entry.c), nestbench
 * (nestbench.c) and vmxfuzz (vmxfuzz.c): serial output, the check bookkeeping, the VMX instruction
 * wrappers with their outcome (SDM Vol. 3C 30.2), the descriptors, the
 * Multiboot command line and the capability MSRs (section caps: each one
 * read and its invariants checked, SDM Vol. 3D Appendix A), the Appendix B
 * field list (each field with the feature it needs, SDM Vol. 3D Appendix B),
 * the verdict of a bare run.
 */
#include "vmxcheck.h"
#include <fmt.h>
#include <nestor/verdict.h>
#include <nestor/vmcs.h>
#include <stdarg.h>
#include <string.h>
#include <x86_arch.h>
#include <x86_vmx.h>

#define COM1          0x3F8
#define COM1_LSR      (COM1 + 5)
#define LSR_THRE      0x20
#define RFLAGS_CF     BIT(0)
#define RFLAGS_ZF     BIT(6)
#define CPUID1_ECX_VMX BIT(5)               /* SDM Vol. 3C 23.6 */
#define FC_VMXON_OUTSIDE_SMX BIT(2)         /* SDM Vol. 3C 23.7 */
#define MB_LOADER_MAGIC 0x2BADB002u
#define MB_INFO_CMDLINE BIT(2)
#define VEC_GP        13

struct vmxc_caps caps;
const char *vmxc_name = "vmxcheck";
unsigned vmxc_total_checks, vmxc_total_failed;
static unsigned sec_checks, sec_failed;
int vmxc_opt_bare, vmxc_opt_strict;

uint64_t vmxon_region[512] __attribute__((aligned(4096)));
uint64_t vmcs_region[512] __attribute__((aligned(4096)));
static uint32_t idt[VMXC_IDT_VECTORS][4] __attribute__((aligned(16)));
static uint32_t tss[26] __attribute__((aligned(16)));     /* 104-byte 64-bit TSS */

/* ---- output and bookkeeping ---- */
/* ---- output and bookkeeping ---- */


static void serial_put(void *ctx, char c)
{
    (void)ctx;
    while (!(inb(COM1_LSR) & LSR_THRE))
        ;
    outb(COM1, (uint8_t)c);
}

int vmxc_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vformat(serial_put, 0, fmt, ap);
    va_end(ap);
    return n;
}

/* Bare, nobody set the UART up: 8N1 at 115200 baud, FIFOs on, no
 * interrupts (16550: LCR, DLL/DLM, FCR, MCR). */
void vmxc_serial_init(void)
{
    outb(COM1 + 1, 0);
    outb(COM1 + 3, 0x80);
    outb(COM1 + 0, 1);
    outb(COM1 + 1, 0);
    outb(COM1 + 3, 0x03);
    outb(COM1 + 2, 0xC7);
    outb(COM1 + 4, 0x0B);
}

void vmxc_section_begin(void) { sec_checks = sec_failed = 0; }

void vmxc_section_end(const char *name)
{
    vmxc_printf("%s: %s: %u checks, %u failed\n", vmxc_name, name, sec_checks, sec_failed);
}

static void count(int ok)
{
    sec_checks++;
    vmxc_total_checks++;
    if (!ok) {
        sec_failed++;
        vmxc_total_failed++;
    }
}

void vmxc_check(int ok, const char *what)
{
    count(ok);
    if (!ok)
        vmxc_printf("%s: FAILED %s\n", vmxc_name, what);
}

void vmxc_check_eq(const char *what, uint64_t expected, uint64_t got)
{
    count(expected == got);
    if (expected != got)
        vmxc_printf("%s: FAILED %s: expected %#llx, got %#llx\n", vmxc_name, what,
                    (unsigned long long)expected, (unsigned long long)got);
}

static void vr_name(uint64_t r, char *buf, size_t n)
{
    if (r == VR_OK)
        fmt_snprintf(buf, n, "VMsucceed");
    else if (r == VR_INVALID)
        fmt_snprintf(buf, n, "VMfailInvalid");
    else if ((r >> 32) == 1)
        fmt_snprintf(buf, n, "exit %#x", (unsigned)r);
    else if ((r & ~0xFFULL) == VR_VALID(0))
        fmt_snprintf(buf, n, "VMfailValid(%u)", (unsigned)(r & 0xFF));
    else if ((r & ~0xFFULL) == VR_FAULT(0))
        fmt_snprintf(buf, n, "exception %u", (unsigned)(r & 0xFF));
    else
        fmt_snprintf(buf, n, "%#llx", (unsigned long long)r);
}

void vmxc_check_vr(const char *what, uint64_t expected, uint64_t got)
{
    count(expected == got);
    if (expected != got) {
        char e[32], g[32];
        vr_name(expected, e, sizeof(e));
        vr_name(got, g, sizeof(g));
        vmxc_printf("%s: FAILED %s: expected %s, got %s\n", vmxc_name, what, e, g);
    }
}

/* Bare on Bochs: the verdict line the harness judges (@why on a failure),
 * once the UART has sent it, then Bochs shut down (nestor/verdict.h). */
void vmxc_bare_finish(const char *why)
{
    if (why)
        vmxc_printf("%s (%s: %s)\n", NESTOR_VERDICT_FAIL_LINE, vmxc_name, why);
    else
        vmxc_printf("%s\n", NESTOR_VERDICT_PASS_LINE);
    while (!(inb(COM1_LSR) & 0x40))     /* transmitter empty: the line is out */
        ;
    for (const char *p = NESTOR_BOCHS_SHUTDOWN_STRING; *p; p++)
        outb(NESTOR_BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
}

/* An exception nobody expected: say where, fail, stop. */
void vmxc_unexpected(uint64_t vector, uint64_t error, uint64_t rip);
void vmxc_unexpected(uint64_t vector, uint64_t error, uint64_t rip)
{
    vmxc_printf("%s: FAILED unexpected exception %llu (error %#llx) at %#llx\n", vmxc_name,
                (unsigned long long)vector, (unsigned long long)error, (unsigned long long)rip);
    vmxc_printf("%s: %u checks, %u failed\n", vmxc_name, vmxc_total_checks, vmxc_total_failed + 1);
    if (vmxc_opt_bare)
        vmxc_bare_finish("unexpected exception");
    __asm__ volatile("outl %0, %1" : : "a"(0xE0u), "Nd"(VMXC_EXIT_PORT));
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* ---- instructions that may fault ---- */


/* RDMSR; *vec = the exception it raised, or NO_FAULT. */
uint64_t rdmsr_safe(uint32_t msr, uint64_t *vec)
{
    uint32_t lo = 0, hi = 0;
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile("leaq 1f(%%rip), %%r8\n\t"
                     "movq %%r8, vmxc_fault_resume(%%rip)\n\t"
                     "rdmsr\n"
                     "1:\tmovq $0, vmxc_fault_resume(%%rip)"
                     : "+a"(lo), "+d"(hi) : "c"(msr) : "r8", "memory");
    *vec = vmxc_fault_vector;
    return (uint64_t)hi << 32 | lo;
}

uint64_t wrmsr_safe(uint32_t msr, uint64_t v)
{
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile("leaq 1f(%%rip), %%r8\n\t"
                     "movq %%r8, vmxc_fault_resume(%%rip)\n\t"
                     "wrmsr\n"
                     "1:\tmovq $0, vmxc_fault_resume(%%rip)"
                     : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "r8", "memory");
    return vmxc_fault_vector;
}

/* The outcome of a VMX instruction from RFLAGS after it (SDM 30.2). */
uint64_t vr_from(uint64_t fl)
{
    if (vmxc_fault_vector != NO_FAULT)
        return VR_FAULT(vmxc_fault_vector);
    if (fl & RFLAGS_CF)
        return VR_INVALID;
    if (fl & RFLAGS_ZF) {
        uint64_t e = 0;
        __asm__ volatile("vmread %1, %0" : "=r"(e) : "r"((uint64_t)VMCS_INSTR_ERROR) : "cc");
        return VR_VALID(e & 0xFF);
    }
    return VR_OK;
}

#define FAULT_GUARD_BEGIN "leaq 1f(%%rip), %%r8\n\tmovq %%r8, vmxc_fault_resume(%%rip)\n\t"
#define FAULT_GUARD_END   "\n1:\tpushfq\n\tpopq %[fl]\n\tmovq $0, vmxc_fault_resume(%%rip)"

uint64_t vmx_vmxon(uint64_t pa)
{
    uint64_t fl;
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile(FAULT_GUARD_BEGIN "vmxon %[pa]" FAULT_GUARD_END
                     : [fl] "=r"(fl) : [pa] "m"(pa) : "r8", "cc", "memory");
    return vr_from(fl);
}

uint64_t vmx_vmxoff(void)
{
    uint64_t fl;
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile(FAULT_GUARD_BEGIN "vmxoff" FAULT_GUARD_END
                     : [fl] "=r"(fl) : : "r8", "cc", "memory");
    /* After a successful VMXOFF there is no current VMCS to read errors from. */
    if (vmxc_fault_vector != NO_FAULT)
        return VR_FAULT(vmxc_fault_vector);
    return fl & RFLAGS_CF ? VR_INVALID : fl & RFLAGS_ZF ? VR_VALID(0) : VR_OK;
}

uint64_t vmx_vmclear(uint64_t pa)
{
    uint64_t fl;
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile(FAULT_GUARD_BEGIN "vmclear %[pa]" FAULT_GUARD_END
                     : [fl] "=r"(fl) : [pa] "m"(pa) : "r8", "cc", "memory");
    return vr_from(fl);
}

uint64_t vmx_vmptrld(uint64_t pa)
{
    uint64_t fl;
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile(FAULT_GUARD_BEGIN "vmptrld %[pa]" FAULT_GUARD_END
                     : [fl] "=r"(fl) : [pa] "m"(pa) : "r8", "cc", "memory");
    return vr_from(fl);
}

uint64_t vmx_vmptrst(uint64_t *pa)
{
    uint64_t fl;
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile(FAULT_GUARD_BEGIN "vmptrst %[pa]" FAULT_GUARD_END
                     : [fl] "=r"(fl), [pa] "=m"(*pa) : : "r8", "cc", "memory");
    return vr_from(fl);
}

uint64_t vmx_vmread(uint64_t field, uint64_t *value)
{
    uint64_t fl, v = 0;
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile(FAULT_GUARD_BEGIN "vmread %[f], %[v]" FAULT_GUARD_END
                     : [fl] "=r"(fl), [v] "+r"(v) : [f] "r"(field) : "r8", "cc", "memory");
    *value = v;
    return vr_from(fl);
}

uint64_t vmx_vmwrite(uint64_t field, uint64_t value)
{
    uint64_t fl;
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile(FAULT_GUARD_BEGIN "vmwrite %[v], %[f]" FAULT_GUARD_END
                     : [fl] "=r"(fl) : [f] "r"(field), [v] "r"(value) : "r8", "cc", "memory");
    return vr_from(fl);
}

uint64_t vmx_vmcall(void)
{
    uint64_t fl;
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile(FAULT_GUARD_BEGIN "vmcall" FAULT_GUARD_END
                     : [fl] "=r"(fl) : : "r8", "cc", "memory");
    return vr_from(fl);
}

uint64_t vmx_invept(uint64_t type, uint64_t eptp)
{
    uint64_t fl, desc[2] = { eptp, 0 };
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile(FAULT_GUARD_BEGIN "invept %[d], %[t]" FAULT_GUARD_END
                     : [fl] "=r"(fl) : [d] "m"(desc), [t] "r"(type) : "r8", "cc", "memory");
    return vr_from(fl);
}

uint64_t vmx_invvpid(uint64_t type, uint64_t vpid, uint64_t addr)
{
    uint64_t fl, desc[2] = { vpid, addr };
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile(FAULT_GUARD_BEGIN "invvpid %[d], %[t]" FAULT_GUARD_END
                     : [fl] "=r"(fl) : [d] "m"(desc), [t] "r"(type) : "r8", "cc", "memory");
    return vr_from(fl);
}

/* RFLAGS' arithmetic flags after VMCLEAR, all six set before it: VMsucceed
 * clears them, VMfailInvalid leaves only CF, VMfailValid only ZF (SDM 30.2). */
uint64_t vmclear_arith_flags(uint64_t pa)
{
    uint64_t fl;
    __asm__ volatile("pushfq\n\torq %[arith], (%%rsp)\n\tpopfq\n\t"
                     "vmclear %[pa]\n\tpushfq\n\tpopq %[fl]"
                     : [fl] "=r"(fl) : [pa] "m"(pa), [arith] "i"(VMX_RFLAGS_ARITH) : "cc", "memory");
    return fl & VMX_RFLAGS_ARITH;
}

/* VMLAUNCH (or VMRESUME): VR_EXIT(reason) when control came back through
 * HOST_RIP, else the instruction's outcome. */
uint64_t vmx_launch(uint64_t flags) { return vmx_launch_with(vmxc_enter, flags); }

uint64_t vmx_launch_with(uint64_t (*enter)(uint64_t), uint64_t flags)
{
    vmxc_fault_vector = NO_FAULT;
    uint64_t fl = enter(flags);
    if (fl == 0) {
        uint64_t reason = 0;
        __asm__ volatile("vmread %1, %0" : "=r"(reason) : "r"((uint64_t)VMCS_EXIT_REASON) : "cc");
        return VR_EXIT(reason & 0xFFFFFFFF);
    }
    return vr_from(fl);
}

uint64_t vmrd(uint64_t field)
{
    uint64_t v;
    if (vmx_vmread(field, &v) != VR_OK)
        return 0;
    return v;
}

void vmwr(uint64_t field, uint64_t value)
{
    uint64_t r = vmx_vmwrite(field, value);
    if (r != VR_OK) {
        char what[48];
        fmt_snprintf(what, sizeof(what), "VMWRITE %#llx (setup)", (unsigned long long)field);
        vmxc_check_vr(what, VR_OK, r);
    }
}

uint64_t pin_msr(void) { return caps.has_true ? caps.true_pin : caps.pin; }
uint64_t proc_msr(void) { return caps.has_true ? caps.true_proc : caps.proc; }
uint64_t exit_msr(void) { return caps.has_true ? caps.true_exit : caps.exit; }
uint64_t entry_msr(void) { return caps.has_true ? caps.true_entry : caps.entry; }
uint64_t proc2_msr(void) { return caps.has_proc2 ? caps.proc2 : 0; }

/* ---- set-up ---- */

int vmxc_has_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = s; *p; p++)
        if ((p == s || p[-1] == ' ') && strncmp(p, w, n) == 0 && (p[n] == ' ' || p[n] == 0))
            return 1;
    return 0;
}

/* The Multiboot command line (Multiboot 0.6.96 3.3), "" without one. */
const char *vmxc_cmdline(uint32_t magic, uint32_t info)
{
    const uint32_t *mb = (const uint32_t *)(uintptr_t)info;
    if (magic != MB_LOADER_MAGIC || !(mb[0] & MB_INFO_CMDLINE))
        return "";
    return (const char *)(uintptr_t)mb[4];
}

/* A 64-bit IDT for the exceptions, a TSS and TR (a VM exit loads TR from
 * HOST_TR_SEL, which must not be 0: SDM 26.2.3). */
void vmxc_setup_descriptors(void)
{
    for (unsigned v = 0; v < VMXC_IDT_VECTORS; v++) {
        uint64_t off = (uint64_t)(uintptr_t)vmxc_isr_stubs + v * VMXC_ISR_STUB;
        idt[v][0] = (uint32_t)VMXC_SEL_CODE64 << 16 | (off & 0xFFFF);
        idt[v][1] = (off & 0xFFFF0000u) | 0x8E00;     /* present, DPL 0, 64-bit interrupt gate */
        idt[v][2] = (uint32_t)(off >> 32);
        idt[v][3] = 0;
    }
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
    __asm__ volatile("lidt %0" : : "m"(idtr));
    uint64_t base = (uint64_t)(uintptr_t)tss;
    /* SDM Vol. 3A 7.2.3: limit 0x67, type 9 (available 64-bit TSS), present. */
    vmxc_gdt[VMXC_SEL_TSS / 8] = (sizeof(tss) - 1) | (base & 0xFFFFFF) << 16 | 0x89ULL << 40 |
                                 ((base >> 24) & 0xFF) << 56;
    vmxc_gdt[VMXC_SEL_TSS / 8 + 1] = base >> 32;
    __asm__ volatile("ltr %w0" : : "r"((uint16_t)VMXC_SEL_TSS));
}

/* ---- section caps: SDM Vol. 3C 23.6-23.7, Vol. 3D Appendix A ---- */

static uint64_t read_cap(uint32_t msr, const char *what)
{
    uint64_t vec, v = rdmsr_safe(msr, &vec);
    vmxc_check_eq(what, NO_FAULT, vec);
    return v;
}

/* A.3-A.5: a control that must be 1 may be 1 (allowed-0 bits within allowed-1). */
static void check_ctls(uint64_t msr, const char *what)
{
    vmxc_check_eq(what, 0, ctl_min(msr) & ~ctl_allowed1(msr));
}

int vmxc_section_caps(void)
{
    char what[64];
    uint32_t a, b, c, d;
    vmxc_section_begin();
    cpuid(1, &a, &b, &c, &d);
    vmxc_check(c & CPUID1_ECX_VMX, "CPUID.1:ECX.VMX (SDM 23.6)");
    if (!(c & CPUID1_ECX_VMX)) {
        vmxc_section_end("caps");
        return 0;
    }
    cpuid(0x80000000, &a, &b, &c, &d);
    caps.maxphyaddr = 36;                    /* SDM Vol. 3A 4.1.4 without leaf 80000008H */
    caps.linear_bits = 48;
    if (a >= 0x80000008) {
        cpuid(0x80000008, &a, &b, &c, &d);
        caps.maxphyaddr = a & 0xFF;
        caps.linear_bits = (a >> 8) & 0xFF;
    }

    /* SDM 23.7: VMXON needs IA32_FEATURE_CONTROL locked with bit 2 (outside SMX);
     * firmware may leave it unlocked, then we lock it ourselves. */
    uint64_t vec, fc = rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &vec);
    vmxc_check_eq("RDMSR IA32_FEATURE_CONTROL (SDM 23.7)", NO_FAULT, vec);
    if (!(fc & X86_FEATURE_CONTROL_LOCK)) {
        vmxc_check_eq("WRMSR IA32_FEATURE_CONTROL lock (SDM 23.7)", NO_FAULT,
                      wrmsr_safe(MSR_IA32_FEATURE_CONTROL,
                                 fc | X86_FEATURE_CONTROL_LOCK | FC_VMXON_OUTSIDE_SMX));
        fc = rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &vec);
    } else {
        /* Locked: a write #GPs (SDM Vol. 4 Table 2-2, IA32_FEATURE_CONTROL bit 0). */
        vmxc_check_eq("WRMSR to a locked IA32_FEATURE_CONTROL #GP (SDM Vol. 4 2.1)",
                      VEC_GP, wrmsr_safe(MSR_IA32_FEATURE_CONTROL, fc));
    }
    vmxc_check_eq("IA32_FEATURE_CONTROL locked with VMXON outside SMX (SDM 23.7)",
                  X86_FEATURE_CONTROL_LOCK | FC_VMXON_OUTSIDE_SMX,
                  fc & (X86_FEATURE_CONTROL_LOCK | FC_VMXON_OUTSIDE_SMX));

    /* A.1 IA32_VMX_BASIC */
    caps.basic = read_cap(MSR_IA32_VMX_BASIC, "RDMSR IA32_VMX_BASIC (A.1)");
    caps.revision = caps.basic & VMX_BASIC_REVISION_MASK;
    uint64_t size = (caps.basic >> VMX_BASIC_REGION_SIZE_SHIFT) & VMX_BASIC_REGION_SIZE_MASK;
    vmxc_check_eq("IA32_VMX_BASIC bit 31 is 0 (A.1)", 0, caps.basic & BIT(31));
    vmxc_check(size > 0 && size <= 4096, "IA32_VMX_BASIC region size in 1..4096 (A.1)");
    vmxc_check_eq("IA32_VMX_BASIC bits 47:45 reserved (A.1)", 0, caps.basic & (7ULL << 45));
    vmxc_check_eq("IA32_VMX_BASIC bit 48 is 0 on Intel 64 (A.1)", 0,
                  caps.basic & VMX_BASIC_PHYS_32);
    uint64_t mt = (caps.basic >> VMX_BASIC_MEMTYPE_SHIFT) & 0xF;
    vmxc_check(mt == 0 || mt == VMX_BASIC_MEMTYPE_WB, "IA32_VMX_BASIC memory type UC or WB (A.1)");
    vmxc_check_eq("IA32_VMX_BASIC bits 63:57 reserved (A.1)", 0, caps.basic >> 57);
    caps.has_true = (caps.basic & VMX_BASIC_TRUE_CTLS) != 0;

    /* A.3-A.5: the default1 controls are 1 in the non-TRUE MSRs' allowed-0 half. */
    caps.pin = read_cap(MSR_IA32_VMX_PINBASED_CTLS, "RDMSR IA32_VMX_PINBASED_CTLS (A.3.1)");
    caps.proc = read_cap(MSR_IA32_VMX_PROCBASED_CTLS, "RDMSR IA32_VMX_PROCBASED_CTLS (A.3.2)");
    caps.exit = read_cap(MSR_IA32_VMX_EXIT_CTLS, "RDMSR IA32_VMX_EXIT_CTLS (A.4)");
    caps.entry = read_cap(MSR_IA32_VMX_ENTRY_CTLS, "RDMSR IA32_VMX_ENTRY_CTLS (A.5)");
    vmxc_check_eq("PINBASED_CTLS default1 bits set (A.3.1)", VMX_PIN_DEFAULT1,
                  ctl_min(caps.pin) & VMX_PIN_DEFAULT1);
    vmxc_check_eq("PROCBASED_CTLS default1 bits set (A.3.2)", VMX_PROC_DEFAULT1,
                  ctl_min(caps.proc) & VMX_PROC_DEFAULT1);
    vmxc_check_eq("EXIT_CTLS default1 bits set (A.4.1)", VMX_EXIT_DEFAULT1,
                  ctl_min(caps.exit) & VMX_EXIT_DEFAULT1);
    vmxc_check_eq("ENTRY_CTLS default1 bits set (A.5.1)", VMX_ENTRY_DEFAULT1,
                  ctl_min(caps.entry) & VMX_ENTRY_DEFAULT1);
    check_ctls(caps.pin, "PINBASED_CTLS allowed-0 within allowed-1 (A.3.1)");
    check_ctls(caps.proc, "PROCBASED_CTLS allowed-0 within allowed-1 (A.3.2)");
    check_ctls(caps.exit, "EXIT_CTLS allowed-0 within allowed-1 (A.4.1)");
    check_ctls(caps.entry, "ENTRY_CTLS allowed-0 within allowed-1 (A.5.1)");
    if (caps.has_true) {
        /* A.2, A.3.1 etc.: the TRUE MSRs differ only in reporting which
         * default1 controls may be 0: their allowed-0 bits are a subset of the
         * non-TRUE ones, equal outside the default1 class, within their own
         * allowed-1 bits. */
        static const struct {
            uint32_t msr;
            uint64_t *v, *plain;
            uint32_t default1;
            const char *name;
        } t[] = {
            { MSR_IA32_VMX_TRUE_PINBASED_CTLS, &caps.true_pin, &caps.pin, VMX_PIN_DEFAULT1, "TRUE_PINBASED (A.3.1)" },
            { MSR_IA32_VMX_TRUE_PROCBASED_CTLS, &caps.true_proc, &caps.proc, VMX_PROC_DEFAULT1, "TRUE_PROCBASED (A.3.2)" },
            { MSR_IA32_VMX_TRUE_EXIT_CTLS, &caps.true_exit, &caps.exit, VMX_EXIT_DEFAULT1, "TRUE_EXIT (A.4.2)" },
            { MSR_IA32_VMX_TRUE_ENTRY_CTLS, &caps.true_entry, &caps.entry, VMX_ENTRY_DEFAULT1, "TRUE_ENTRY (A.5.2)" },
        };
        for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
            fmt_snprintf(what, sizeof(what), "RDMSR %s", t[i].name);
            *t[i].v = read_cap(t[i].msr, what);
            fmt_snprintf(what, sizeof(what), "%s allowed-0 within non-TRUE", t[i].name);
            vmxc_check_eq(what, 0, ctl_min(*t[i].v) & ~ctl_min(*t[i].plain));
            fmt_snprintf(what, sizeof(what), "%s equal outside default1", t[i].name);
            vmxc_check_eq(what, ctl_min(*t[i].plain) & ~t[i].default1,
                          ctl_min(*t[i].v) & ~t[i].default1);
            fmt_snprintf(what, sizeof(what), "%s allowed-0 within allowed-1", t[i].name);
            check_ctls(*t[i].v, what);
        }
    }

    /* A.6 IA32_VMX_MISC: bits 13:9 and 31 reserved. */
    caps.misc = read_cap(MSR_IA32_VMX_MISC, "RDMSR IA32_VMX_MISC (A.6)");
    vmxc_check_eq("IA32_VMX_MISC reserved bits 13:9, 31 (A.6)", 0,
                  caps.misc & (0x3E00ULL | BIT(31)));

    /* A.7, A.8: a bit fixed to 1 may be 1; PE, NE, PG and VMXE are fixed to 1. */
    caps.cr0_fixed0 = read_cap(MSR_IA32_VMX_CR0_FIXED0, "RDMSR IA32_VMX_CR0_FIXED0 (A.7)");
    caps.cr0_fixed1 = read_cap(MSR_IA32_VMX_CR0_FIXED1, "RDMSR IA32_VMX_CR0_FIXED1 (A.7)");
    caps.cr4_fixed0 = read_cap(MSR_IA32_VMX_CR4_FIXED0, "RDMSR IA32_VMX_CR4_FIXED0 (A.8)");
    caps.cr4_fixed1 = read_cap(MSR_IA32_VMX_CR4_FIXED1, "RDMSR IA32_VMX_CR4_FIXED1 (A.8)");
    vmxc_check_eq("CR0_FIXED0 within CR0_FIXED1 (A.7)", 0, caps.cr0_fixed0 & ~caps.cr0_fixed1);
    vmxc_check_eq("CR4_FIXED0 within CR4_FIXED1 (A.8)", 0, caps.cr4_fixed0 & ~caps.cr4_fixed1);
    vmxc_check_eq("CR0_FIXED0 has PE, NE, PG (A.7)", X86_CR0_PE | X86_CR0_NE | X86_CR0_PG,
                  caps.cr0_fixed0 & (X86_CR0_PE | X86_CR0_NE | X86_CR0_PG));
    vmxc_check_eq("CR4_FIXED0 has VMXE (A.8)", X86_CR4_VMXE, caps.cr4_fixed0 & X86_CR4_VMXE);

    /* A.9 IA32_VMX_VMCS_ENUM: bits 9:1 the highest index, the rest reserved. */
    caps.vmcs_enum = read_cap(MSR_IA32_VMX_VMCS_ENUM, "RDMSR IA32_VMX_VMCS_ENUM (A.9)");
    vmxc_check_eq("IA32_VMX_VMCS_ENUM reserved bits 0, 63:10 (A.9)", 0,
                  caps.vmcs_enum & ~0x3FEULL);

    /* A.3.3: PROCBASED_CTLS2 exists iff "activate secondary controls" may be 1. */
    caps.has_proc2 = ctl_can1(caps.proc, PROC_ACTIVATE_SECONDARY);
    if (caps.has_proc2) {
        caps.proc2 = read_cap(MSR_IA32_VMX_PROCBASED_CTLS2, "RDMSR IA32_VMX_PROCBASED_CTLS2 (A.3.3)");
        check_ctls(caps.proc2, "PROCBASED_CTLS2 allowed-0 within allowed-1 (A.3.3)");
    }
    /* A.10: EPT_VPID_CAP exists iff EPT or VPID may be 1. */
    caps.has_ept_vpid = ctl_can1(proc2_msr(), PROC2_ENABLE_EPT | PROC2_ENABLE_VPID);
    if (caps.has_ept_vpid) {
        caps.ept_vpid = read_cap(MSR_IA32_VMX_EPT_VPID_CAP, "RDMSR IA32_VMX_EPT_VPID_CAP (A.10)");
        if (ctl_can1(proc2_msr(), PROC2_ENABLE_EPT)) {
            vmxc_check(caps.ept_vpid & (EPT_CAP_PAGE_WALK_4 | BIT(7)),
                       "EPT: a page-walk length supported (A.10)");
            vmxc_check(caps.ept_vpid & (EPT_CAP_MEMTYPE_UC | EPT_CAP_MEMTYPE_WB),
                       "EPT: UC or WB paging-structure memory type (A.10)");
        }
    }
    /* A.11: IA32_VMX_VMFUNC exists iff "enable VM functions" may be 1. */
    caps.has_vmfunc = ctl_can1(proc2_msr(), PROC2_ENABLE_VMFUNC);
    if (caps.has_vmfunc)
        caps.vmfunc = read_cap(MSR_IA32_VMX_VMFUNC, "RDMSR IA32_VMX_VMFUNC (A.11)");
    vmxc_section_end("caps");
    return 1;
}

/* ---- the Appendix B fields: SDM Vol. 3D Appendix B, 24.11.2 ---- */

enum gate {
    G_ALWAYS, G_VPID, G_POSTED, G_VE, G_VID, G_PML, G_MSRBMP, G_TPR, G_APICACC, G_VMFUNC, G_EPT,
    G_SHADOW, G_XSS, G_ENCLS, G_TSCMUL, G_PAT, G_EFER, G_PERF, G_BNDCFGS, G_HPAT, G_HEFER,
    G_HPERF, G_PROC2, G_PLE, G_PREEMPT, G_EPTPLIST,
};

static int gate_ok(enum gate g)
{
    uint64_t p2 = proc2_msr();
    switch (g) {
    case G_ALWAYS: return 1;
    case G_VPID: return ctl_can1(p2, PROC2_ENABLE_VPID);
    case G_POSTED: return ctl_can1(pin_msr(), PIN_POSTED_INTERRUPTS);
    case G_VE: return ctl_can1(p2, BIT(18));
    case G_VID: return ctl_can1(p2, PROC2_VIRT_INTR_DELIVERY);
    case G_PML: return ctl_can1(p2, PROC2_ENABLE_PML);
    case G_MSRBMP: return ctl_can1(proc_msr(), PROC_USE_MSR_BITMAPS);
    case G_TPR: return ctl_can1(proc_msr(), PROC_USE_TPR_SHADOW);
    case G_APICACC: return ctl_can1(p2, PROC2_VIRT_APIC_ACCESSES);
    case G_VMFUNC: return ctl_can1(p2, PROC2_ENABLE_VMFUNC);
    case G_EPTPLIST: return ctl_can1(p2, PROC2_ENABLE_VMFUNC) && (caps.vmfunc & 1);
    case G_EPT: return ctl_can1(p2, PROC2_ENABLE_EPT);
    case G_SHADOW: return ctl_can1(p2, PROC2_VMCS_SHADOWING);
    case G_XSS: return ctl_can1(p2, BIT(20));
    case G_ENCLS: return ctl_can1(p2, BIT(15));
    case G_TSCMUL: return ctl_can1(p2, BIT(25));
    case G_PAT: return ctl_can1(entry_msr(), ENTRY_LOAD_PAT) || ctl_can1(exit_msr(), EXIT_SAVE_PAT);
    case G_EFER: return ctl_can1(entry_msr(), ENTRY_LOAD_EFER) || ctl_can1(exit_msr(), EXIT_SAVE_EFER);
    case G_PERF: return ctl_can1(entry_msr(), ENTRY_LOAD_PERF_GLOBAL);
    case G_BNDCFGS: return ctl_can1(entry_msr(), BIT(16)) || ctl_can1(exit_msr(), BIT(23));
    case G_HPAT: return ctl_can1(exit_msr(), EXIT_LOAD_PAT);
    case G_HEFER: return ctl_can1(exit_msr(), EXIT_LOAD_EFER);
    case G_HPERF: return ctl_can1(exit_msr(), EXIT_LOAD_PERF_GLOBAL);
    case G_PROC2: return caps.has_proc2;
    case G_PLE: return ctl_can1(p2, PROC2_PAUSE_LOOP_EXITING);
    case G_PREEMPT: return ctl_can1(pin_msr(), PIN_PREEMPTION_TIMER);
    }
    return 0;
}

/* The fields of Appendix B (B.1-B.4) and the feature each needs. */
const struct vmxc_field vmxc_fields[] = {
    { 0x0000, G_VPID }, { 0x0002, G_POSTED }, { 0x0004, G_VE },
    { 0x0800, G_ALWAYS }, { 0x0802, G_ALWAYS }, { 0x0804, G_ALWAYS }, { 0x0806, G_ALWAYS },
    { 0x0808, G_ALWAYS }, { 0x080A, G_ALWAYS }, { 0x080C, G_ALWAYS }, { 0x080E, G_ALWAYS },
    { 0x0810, G_VID }, { 0x0812, G_PML },
    { 0x0C00, G_ALWAYS }, { 0x0C02, G_ALWAYS }, { 0x0C04, G_ALWAYS }, { 0x0C06, G_ALWAYS },
    { 0x0C08, G_ALWAYS }, { 0x0C0A, G_ALWAYS }, { 0x0C0C, G_ALWAYS },
    { 0x2000, G_ALWAYS }, { 0x2002, G_ALWAYS }, { 0x2004, G_MSRBMP }, { 0x2006, G_ALWAYS },
    { 0x2008, G_ALWAYS }, { 0x200A, G_ALWAYS }, { 0x200C, G_ALWAYS }, { 0x200E, G_PML },
    { 0x2010, G_ALWAYS }, { 0x2012, G_TPR }, { 0x2014, G_APICACC }, { 0x2016, G_POSTED },
    { 0x2018, G_VMFUNC }, { 0x201A, G_EPT }, { 0x201C, G_VID }, { 0x201E, G_VID },
    { 0x2020, G_VID }, { 0x2022, G_VID }, { 0x2024, G_EPTPLIST }, { 0x2026, G_SHADOW },
    { 0x2028, G_SHADOW }, { 0x202A, G_VE }, { 0x202C, G_XSS }, { 0x202E, G_ENCLS },
    { 0x2032, G_TSCMUL },
    { 0x2400, G_EPT },
    { 0x2800, G_ALWAYS }, { 0x2802, G_ALWAYS }, { 0x2804, G_PAT }, { 0x2806, G_EFER },
    { 0x2808, G_PERF }, { 0x280A, G_EPT }, { 0x280C, G_EPT }, { 0x280E, G_EPT },
    { 0x2810, G_EPT }, { 0x2812, G_BNDCFGS },
    { 0x2C00, G_HPAT }, { 0x2C02, G_HEFER }, { 0x2C04, G_HPERF },
    { 0x4000, G_ALWAYS }, { 0x4002, G_ALWAYS }, { 0x4004, G_ALWAYS }, { 0x4006, G_ALWAYS },
    { 0x4008, G_ALWAYS }, { 0x400A, G_ALWAYS }, { 0x400C, G_ALWAYS }, { 0x400E, G_ALWAYS },
    { 0x4010, G_ALWAYS }, { 0x4012, G_ALWAYS }, { 0x4014, G_ALWAYS }, { 0x4016, G_ALWAYS },
    { 0x4018, G_ALWAYS }, { 0x401A, G_ALWAYS }, { 0x401C, G_TPR }, { 0x401E, G_PROC2 },
    { 0x4020, G_PLE }, { 0x4022, G_PLE },
    { 0x4400, G_ALWAYS }, { 0x4402, G_ALWAYS }, { 0x4404, G_ALWAYS }, { 0x4406, G_ALWAYS },
    { 0x4408, G_ALWAYS }, { 0x440A, G_ALWAYS }, { 0x440C, G_ALWAYS }, { 0x440E, G_ALWAYS },
    { 0x4800, G_ALWAYS }, { 0x4802, G_ALWAYS }, { 0x4804, G_ALWAYS }, { 0x4806, G_ALWAYS },
    { 0x4808, G_ALWAYS }, { 0x480A, G_ALWAYS }, { 0x480C, G_ALWAYS }, { 0x480E, G_ALWAYS },
    { 0x4810, G_ALWAYS }, { 0x4812, G_ALWAYS }, { 0x4814, G_ALWAYS }, { 0x4816, G_ALWAYS },
    { 0x4818, G_ALWAYS }, { 0x481A, G_ALWAYS }, { 0x481C, G_ALWAYS }, { 0x481E, G_ALWAYS },
    { 0x4820, G_ALWAYS }, { 0x4822, G_ALWAYS }, { 0x4824, G_ALWAYS }, { 0x4826, G_ALWAYS },
    { 0x4828, G_ALWAYS }, { 0x482A, G_ALWAYS }, { 0x482E, G_PREEMPT },
    { 0x4C00, G_ALWAYS },
    { 0x6000, G_ALWAYS }, { 0x6002, G_ALWAYS }, { 0x6004, G_ALWAYS }, { 0x6006, G_ALWAYS },
    { 0x6008, G_ALWAYS }, { 0x600A, G_ALWAYS }, { 0x600C, G_ALWAYS }, { 0x600E, G_ALWAYS },
    { 0x6400, G_ALWAYS }, { 0x6402, G_ALWAYS }, { 0x6404, G_ALWAYS }, { 0x6406, G_ALWAYS },
    { 0x6408, G_ALWAYS }, { 0x640A, G_ALWAYS },
    { 0x6800, G_ALWAYS }, { 0x6802, G_ALWAYS }, { 0x6804, G_ALWAYS }, { 0x6806, G_ALWAYS },
    { 0x6808, G_ALWAYS }, { 0x680A, G_ALWAYS }, { 0x680C, G_ALWAYS }, { 0x680E, G_ALWAYS },
    { 0x6810, G_ALWAYS }, { 0x6812, G_ALWAYS }, { 0x6814, G_ALWAYS }, { 0x6816, G_ALWAYS },
    { 0x6818, G_ALWAYS }, { 0x681A, G_ALWAYS }, { 0x681C, G_ALWAYS }, { 0x681E, G_ALWAYS },
    { 0x6820, G_ALWAYS }, { 0x6822, G_ALWAYS }, { 0x6824, G_ALWAYS }, { 0x6826, G_ALWAYS },
    { 0x6C00, G_ALWAYS }, { 0x6C02, G_ALWAYS }, { 0x6C04, G_ALWAYS }, { 0x6C06, G_ALWAYS },
    { 0x6C08, G_ALWAYS }, { 0x6C0A, G_ALWAYS }, { 0x6C0C, G_ALWAYS }, { 0x6C0E, G_ALWAYS },
    { 0x6C10, G_ALWAYS }, { 0x6C12, G_ALWAYS }, { 0x6C14, G_ALWAYS }, { 0x6C16, G_ALWAYS },
};

const unsigned vmxc_n_fields = sizeof(vmxc_fields) / sizeof(vmxc_fields[0]);

int vmxc_field_supported(unsigned i) { return gate_ok((enum gate)vmxc_fields[i].gate); }

/* The bits of a value VMWRITE stores in field @enc (and VMREAD gives back). */
uint64_t vmxc_width_mask(uint32_t enc)
{
    switch (VMCS_FIELD_WIDTH(enc)) {
    case VMCS_WIDTH_16: return 0xFFFF;
    case VMCS_WIDTH_32: return 0xFFFFFFFF;
    default: return ~0ULL;              /* 64-bit and natural width (64-bit processor) */
    }
}

/* A VMXON region or VMCS: zeroed, revision identifier first (SDM 24.2). */
void vmxc_write_revision(uint64_t *region, uint32_t rev)
{
    memset(region, 0, 4096);
    *(uint32_t *)region = rev;
}

const char *vmxc_start_vmx(void)
{
    if (!vmxc_section_caps() || vmxc_total_failed)
        return "no usable VMX";
    /* SDM 23.8: CR0 and CR4 within IA32_VMX_CR0/CR4_FIXED0, CR4.VMXE set. */
    write_cr0(read_cr0() | (caps.cr0_fixed0 & 0xFFFFFFFF));
    write_cr4(read_cr4() | caps.cr4_fixed0 | X86_CR4_VMXE);
    vmxc_write_revision(vmxon_region, caps.revision);
    vmxc_write_revision(vmcs_region, caps.revision);
    if (vmx_vmxon(pa(vmxon_region)) != VR_OK)
        return "VMXON";
    vmxc_build_vmcs();
    return NULL;
}
