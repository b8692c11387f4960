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

#define COM1          0x3F8
#define COM1_LSR      (COM1 + 5)
#define LSR_THRE      0x20
#define NO_FAULT      (~0ULL)
#define VEC_UD        6
#define VEC_GP        13
#define RFLAGS_CF     BIT(0)
#define RFLAGS_ZF     BIT(6)
#define CPUID1_ECX_VMX BIT(5)               /* SDM Vol. 3C 23.6 */
#define FC_VMXON_OUTSIDE_SMX BIT(2)         /* SDM Vol. 3C 23.7 */
#define MB_LOADER_MAGIC 0x2BADB002u
#define MB_INFO_CMDLINE BIT(2)
#define GATE_NONE     0

struct vmxc_caps caps;
static unsigned total_checks, total_failed, sec_checks, sec_failed;
static int opt_bare, opt_nol2;
int vmxc_opt_strict;
uint64_t vmxon_region[512] __attribute__((aligned(4096)));
uint64_t vmcs_region[512] __attribute__((aligned(4096)));
static uint64_t vmcs_b[512] __attribute__((aligned(4096)));
static uint64_t bad_rev[512] __attribute__((aligned(4096)));
static uint32_t idt[VMXC_IDT_VECTORS][4] __attribute__((aligned(16)));
static uint32_t tss[26] __attribute__((aligned(16)));     /* 104-byte 64-bit TSS */

/* ---- output and bookkeeping ---- */

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

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
static void serial_init(void)
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
    vmxc_printf("vmxcheck: %s: %u checks, %u failed\n", name, sec_checks, sec_failed);
}

static void count(int ok)
{
    sec_checks++;
    total_checks++;
    if (!ok) {
        sec_failed++;
        total_failed++;
    }
}

void vmxc_check(int ok, const char *what)
{
    count(ok);
    if (!ok)
        vmxc_printf("vmxcheck: FAILED %s\n", what);
}

void vmxc_check_eq(const char *what, uint64_t expected, uint64_t got)
{
    count(expected == got);
    if (expected != got)
        vmxc_printf("vmxcheck: FAILED %s: expected %#llx, got %#llx\n", what,
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
        vmxc_printf("vmxcheck: FAILED %s: expected %s, got %s\n", what, e, g);
    }
}

/* An exception nobody expected: say where, fail, stop. */
void vmxc_unexpected(uint64_t vector, uint64_t error, uint64_t rip);
void vmxc_unexpected(uint64_t vector, uint64_t error, uint64_t rip)
{
    vmxc_printf("vmxcheck: FAILED unexpected exception %llu (error %#llx) at %#llx\n",
                (unsigned long long)vector, (unsigned long long)error, (unsigned long long)rip);
    vmxc_printf("vmxcheck: %u checks, %u failed\n", total_checks, total_failed + 1);
    if (opt_bare) {
        vmxc_printf("%s (vmxcheck: unexpected exception)\n", NESTOR_VERDICT_FAIL_LINE);
        for (const char *p = NESTOR_BOCHS_SHUTDOWN_STRING; *p; p++)
            outb(NESTOR_BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
    }
    __asm__ volatile("outl %0, %1" : : "a"(0xE0u), "Nd"(VMXC_EXIT_PORT));
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* ---- instructions that may fault ---- */

static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint64_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

/* RDMSR; *vec = the exception it raised, or NO_FAULT. */
static uint64_t rdmsr_safe(uint32_t msr, uint64_t *vec)
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

static uint64_t wrmsr_safe(uint32_t msr, uint64_t v)
{
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile("leaq 1f(%%rip), %%r8\n\t"
                     "movq %%r8, vmxc_fault_resume(%%rip)\n\t"
                     "wrmsr\n"
                     "1:\tmovq $0, vmxc_fault_resume(%%rip)"
                     : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "r8", "memory");
    return vmxc_fault_vector;
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* The outcome of a VMX instruction from RFLAGS after it (SDM 30.2). */
static uint64_t vr_from(uint64_t fl)
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

static uint64_t vmx_vmcall(void)
{
    uint64_t fl;
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile(FAULT_GUARD_BEGIN "vmcall" FAULT_GUARD_END
                     : [fl] "=r"(fl) : : "r8", "cc", "memory");
    return vr_from(fl);
}

static uint64_t vmx_invept(uint64_t type, uint64_t eptp)
{
    uint64_t fl, desc[2] = { eptp, 0 };
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile(FAULT_GUARD_BEGIN "invept %[d], %[t]" FAULT_GUARD_END
                     : [fl] "=r"(fl) : [d] "m"(desc), [t] "r"(type) : "r8", "cc", "memory");
    return vr_from(fl);
}

static uint64_t vmx_invvpid(uint64_t type, uint64_t vpid, uint64_t addr)
{
    uint64_t fl, desc[2] = { vpid, addr };
    vmxc_fault_vector = NO_FAULT;
    __asm__ volatile(FAULT_GUARD_BEGIN "invvpid %[d], %[t]" FAULT_GUARD_END
                     : [fl] "=r"(fl) : [d] "m"(desc), [t] "r"(type) : "r8", "cc", "memory");
    return vr_from(fl);
}

/* RFLAGS' arithmetic flags after VMCLEAR, all six set before it: VMsucceed
 * clears them, VMfailInvalid leaves only CF, VMfailValid only ZF (SDM 30.2). */
static uint64_t vmclear_arith_flags(uint64_t pa)
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

static int has_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = s; *p; p++)
        if ((p == s || p[-1] == ' ') && strncmp(p, w, n) == 0 && (p[n] == ' ' || p[n] == 0))
            return 1;
    return 0;
}

static void parse_cmdline(uint32_t magic, uint32_t info)
{
    const uint32_t *mb = (const uint32_t *)(uintptr_t)info;
    if (magic != MB_LOADER_MAGIC || !(mb[0] & MB_INFO_CMDLINE))
        return;
    const char *cmd = (const char *)(uintptr_t)mb[4];
    opt_bare = has_word(cmd, "bare");
    opt_nol2 = has_word(cmd, "nol2");
    vmxc_opt_strict = has_word(cmd, "strict");
}

/* A 64-bit IDT for the exceptions, a TSS and TR (a VM exit loads TR from
 * HOST_TR_SEL, which must not be 0: SDM 26.2.3). */
static void setup_descriptors(void)
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

static int section_caps(void)
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

/* ---- section instructions: SDM Vol. 2C chapter 30 (VMX instruction reference) ---- */

static void write_revision(uint64_t *region, uint32_t rev)
{
    memset(region, 0, 4096);
    *(uint32_t *)region = rev;
}

static uint64_t pa(const void *p) { return (uint64_t)(uintptr_t)p; }

/* The lowest physical address beyond MAXPHYADDR, 4 KiB aligned. */
static uint64_t beyond_phys(void) { return 1ULL << caps.maxphyaddr; }

static int section_instructions(void)
{
    uint64_t r, v;
    vmxc_section_begin();
    write_revision(vmxon_region, caps.revision);
    write_revision(vmcs_region, caps.revision);
    write_revision(vmcs_b, caps.revision);
    write_revision(bad_rev, caps.revision ^ 1);

    /* VMXON: #UD with CR4.VMXE = 0 (Vol. 2C VMXON, Operation). */
    write_cr4(read_cr4() & ~X86_CR4_VMXE);
    vmxc_check_vr("VMXON with CR4.VMXE=0 #UD (VMXON)", VR_FAULT(VEC_UD), vmx_vmxon(pa(vmxon_region)));
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
        if (r == VR_OK)
            vmx_vmxoff();
    }
    /* VMXON: a misaligned, too wide or wrong-revision region -> VMfailInvalid. */
    vmxc_check_vr("VMXON misaligned pointer (VMXON)", VR_INVALID, vmx_vmxon(pa(vmxon_region) + 8));
    vmxc_check_vr("VMXON pointer beyond MAXPHYADDR (VMXON)", VR_INVALID, vmx_vmxon(beyond_phys()));
    vmxc_check_vr("VMXON bad revision (VMXON)", VR_INVALID, vmx_vmxon(pa(bad_rev)));
    write_revision(bad_rev, caps.revision | VMCS_REVISION_SHADOW);
    vmxc_check_vr("VMXON region with bit 31 set (VMXON)", VR_INVALID, vmx_vmxon(pa(bad_rev)));
    write_revision(bad_rev, caps.revision ^ 1);
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
        write_revision(bad_rev, caps.revision | VMCS_REVISION_SHADOW);
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
static const struct {
    uint16_t enc;
    uint8_t gate;
} fields[] = {
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

static uint64_t width_mask(uint32_t enc)
{
    switch (VMCS_FIELD_WIDTH(enc)) {
    case VMCS_WIDTH_16: return 0xFFFF;
    case VMCS_WIDTH_32: return 0xFFFFFFFF;
    default: return ~0ULL;              /* 64-bit and natural width (64-bit processor) */
    }
}

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
    for (unsigned i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        uint32_t enc = fields[i].enc;
        int supported = gate_ok((enum gate)fields[i].gate);
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
            if (r != VR_OK || v != (p & width_mask(enc))) {
                fmt_snprintf(what, sizeof(what), "VMREAD %#x after VMWRITE %#llx (24.11.2)", enc,
                             (unsigned long long)p);
                if (r != VR_OK)
                    vmxc_check_vr(what, VR_OK, r);
                else
                    vmxc_check_eq(what, p & width_mask(enc), v);
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
            count(1);
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
    if (opt_bare)
        serial_init();
    setup_descriptors();
    vmxc_printf("vmxcheck: VMX from a guest hypervisor's side (%s%s)\n",
                opt_bare ? "bare" : "as a guest", opt_nol2 ? ", no L2" : "");
    if (section_caps() && section_instructions()) {
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
    vmxc_printf("vmxcheck: %u passed, %u failed\n", total_checks - total_failed, total_failed);
    vmxc_printf("vmxcheck: %u checks, %u failed\n", total_checks, total_failed);
    if (opt_bare) {
        if (total_failed)
            vmxc_printf("%s (vmxcheck: %u failed)\n", NESTOR_VERDICT_FAIL_LINE, total_failed);
        else
            vmxc_printf("%s\n", NESTOR_VERDICT_PASS_LINE);
        while (!(inb(COM1_LSR) & 0x40))     /* transmitter empty: the line is out */
            ;
        for (const char *p = NESTOR_BOCHS_SHUTDOWN_STRING; *p; p++)
            outb(NESTOR_BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
    }
    return total_failed ? 1 : 0;
}
