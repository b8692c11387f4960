/* tests/guests/vmxcheck.h - what vmxcheck.c, vmxcheck_entry.c,
 * vmxcheck_start.S and vmxc_lib.c share (and nestbench.c and vmxfuzz.c use). */
#ifndef TESTS_GUESTS_VMXCHECK_H
#define TESTS_GUESTS_VMXCHECK_H

/* GDT selectors (vmxcheck_start.S builds the table). */
#define VMXC_SEL_CODE32   0x08
#define VMXC_SEL_DATA     0x10
#define VMXC_SEL_CODE64   0x18
#define VMXC_SEL_TSS      0x20          /* a 16-byte 64-bit TSS descriptor */
#define VMXC_GDT_BYTES    0x30
#define VMXC_IDT_VECTORS  32            /* exceptions only: interrupts stay off */
#define VMXC_ISR_STUB     16            /* bytes per exception stub */
#define VMXC_EXIT_PORT    0xF4          /* GUEST_EXIT_PORT (lib/guest.h) */

/* vmxc_enter flags */
#define VMXC_ENTER_RESUME    1          /* VMRESUME instead of VMLAUNCH */
#define VMXC_ENTER_KEEP_HRIP 2          /* leave HOST_RIP as the caller wrote it */
#define VMXC_ENTER_MOVSS     4          /* VMLAUNCH right after a MOV to SS */

#ifndef __ASSEMBLER__
#include <stdint.h>

#define NO_FAULT       (~0ULL)          /* vmxc_fault_vector: no exception */

/* vmxcheck_start.S */
extern uint32_t vmxc_boot_magic, vmxc_boot_info;
extern uint64_t vmxc_gdt[VMXC_GDT_BYTES / 8];
extern char vmxc_isr_stubs[];
extern char vmxc_l2_entry[], vmxc_l2_hlt_loop[];
/* Set before an instruction that may fault: the exception stub records the
 * vector and error code and resumes there. 0: a fault is unexpected. */
extern volatile uint64_t vmxc_fault_resume, vmxc_fault_vector, vmxc_fault_error;
extern volatile uint64_t vmxc_fault_rflags;    /* the RFLAGS the last exception pushed */
/* VMLAUNCH/VMRESUME with HOST_RSP (and HOST_RIP) pointing back into it:
 * returns RFLAGS after a failed instruction, or 0 after a VM exit (or a
 * VM-entry failure), which lands at vmxc_exit_point. */
uint64_t vmxc_enter(uint64_t flags);
extern char vmxc_exit_point[];

/* vmxc_lib.c: the bookkeeping and VMX instruction wrappers shared by
 * vmxcheck.c, vmxcheck_entry.c, nestbench.c and vmxfuzz.c. Outcomes of a VMX
 * instruction (SDM Vol. 3C 30.2): */
#define VR_OK          0ULL                 /* VMsucceed */
#define VR_INVALID     1ULL                 /* VMfailInvalid: CF = 1 */
#define VR_VALID(e)    (0x100ULL | (e))     /* VMfailValid: ZF = 1, error number e */
#define VR_FAULT(v)    (0x200ULL | (v))     /* exception v */
#define VR_EXIT(r)     (1ULL << 32 | (r))   /* VM exit with this exit reason */

extern const char *vmxc_name;           /* what output lines start with: "vmxcheck" */
extern unsigned vmxc_total_checks, vmxc_total_failed;
extern int vmxc_opt_bare;               /* booted bare by GRUB: no VMM below */
int vmxc_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vmxc_serial_init(void);            /* bare: nobody set the UART up */
void vmxc_bare_finish(const char *why); /* verdict line (fail with @why, pass if NULL), Bochs off */
const char *vmxc_cmdline(uint32_t magic, uint32_t info);
int vmxc_has_word(const char *s, const char *w);
void vmxc_setup_descriptors(void);      /* IDT for the exceptions, TSS, TR */
int vmxc_section_caps(void);            /* fills caps; 0: no VMX */
/* A minimal hypervisor's start (nestbench, debughv): the caps section, CR0
 * and CR4 to their fixed bits with VMXE, VMXON, and vmxc_build_vmcs's VMCS
 * current. NULL, or what failed. */
const char *vmxc_start_vmx(void);
void vmxc_write_revision(uint64_t *region, uint32_t rev);
void vmxc_check(int ok, const char *what);
void vmxc_check_eq(const char *what, uint64_t expected, uint64_t got);
void vmxc_check_vr(const char *what, uint64_t expected, uint64_t got);
void vmxc_section_begin(void);
void vmxc_section_end(const char *name);

uint64_t vmx_vmxon(uint64_t pa);
uint64_t vmx_vmxoff(void);
uint64_t vmx_vmclear(uint64_t pa);
uint64_t vmx_vmptrld(uint64_t pa);
uint64_t vmx_vmptrst(uint64_t *pa);
uint64_t vmx_vmread(uint64_t field, uint64_t *value);
uint64_t vmx_vmwrite(uint64_t field, uint64_t value);
uint64_t vmx_launch(uint64_t flags);
uint64_t vmx_vmcall(void);
uint64_t vmx_invept(uint64_t type, uint64_t eptp);
uint64_t vmx_invvpid(uint64_t type, uint64_t vpid, uint64_t addr);
uint64_t vmclear_arith_flags(uint64_t pa);
uint64_t rdmsr_safe(uint32_t msr, uint64_t *vec);   /* *vec: the exception, or NO_FAULT */
uint64_t wrmsr_safe(uint32_t msr, uint64_t v);      /* the exception, or NO_FAULT */
uint64_t vr_from(uint64_t rflags);      /* a VMX instruction's outcome from RFLAGS after it */

static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint64_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}
/* The same through another entry stub (vmxc_enter's contract: RFLAGS after a
 * failed instruction, 0 after a VM exit). */
uint64_t vmx_launch_with(uint64_t (*enter)(uint64_t), uint64_t flags);
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
uint64_t vmrd(uint64_t field);          /* VMREAD, 0 on failure */
void vmwr(uint64_t field, uint64_t value);   /* VMWRITE, a failed check on failure */

/* The capabilities read in the caps section. */
struct vmxc_caps {
    uint64_t basic, pin, proc, exit, entry, misc, cr0_fixed0, cr0_fixed1, cr4_fixed0,
        cr4_fixed1, vmcs_enum, proc2, ept_vpid, vmfunc;
    uint64_t true_pin, true_proc, true_exit, true_entry;
    int has_proc2, has_ept_vpid, has_true, has_vmfunc;
    uint32_t revision;
    unsigned maxphyaddr, linear_bits;
};
extern struct vmxc_caps caps;
/* "strict" on the command line: also the checks Bochs 2.7 gets wrong. */
extern int vmxc_opt_strict;

/* The control value every capability allows: the must-be-1 bits (SDM A.3-A.5). */
static inline uint32_t ctl_min(uint64_t msr) { return (uint32_t)msr; }
static inline uint32_t ctl_allowed1(uint64_t msr) { return (uint32_t)(msr >> 32); }
static inline int ctl_can1(uint64_t msr, uint32_t bit) { return (ctl_allowed1(msr) & bit) != 0; }
static inline int ctl_can0(uint64_t msr, uint32_t bit) { return (ctl_min(msr) & bit) == 0; }
uint64_t pin_msr(void);   /* TRUE MSRs where IA32_VMX_BASIC[55] says they exist */
uint64_t proc_msr(void);
uint64_t exit_msr(void);
uint64_t entry_msr(void);
uint64_t proc2_msr(void);   /* 0 when the secondary controls cannot be activated */

extern uint64_t vmcs_region[512], vmxon_region[512];

/* The Appendix B fields (B.1-B.4), each with the feature it needs. */
struct vmxc_field {
    uint16_t enc;
    uint8_t gate;
};
extern const struct vmxc_field vmxc_fields[];
extern const unsigned vmxc_n_fields;
int vmxc_field_supported(unsigned i);   /* the caps offer field i's feature */
uint64_t vmxc_width_mask(uint32_t enc); /* the bits field @enc holds */

static inline uint64_t pa(const void *p) { return (uint64_t)(uintptr_t)p; }
/* The lowest physical address beyond MAXPHYADDR, 4 KiB aligned. */
static inline uint64_t beyond_phys(void) { return 1ULL << caps.maxphyaddr; }

/* vmxcheck_entry.c */
void vmxc_section_vmentry(void);
void vmxc_section_l2(void);
void vmxc_build_vmcs(void);
/* nestbench_l2.S (linked into nestbench and debughv): a minimal
 * hypervisor's entry path. nb_run(resume) enters L2 by VMLAUNCH (0) or
 * VMRESUME (1) with L2's general registers from nb_l2 and returns 0 at its
 * next exit (nb_l2 then holds them as L2 left them), or RFLAGS after a
 * failed VMLAUNCH/VMRESUME; nb_l2_entry is nestbench's L2. */
struct nb_gprs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};
extern struct nb_gprs nb_l2;
uint64_t nb_run(uint64_t resume);
extern char nb_l2_entry[];

/* vmxcheck_l2x.c: the L2-exit sections */
void vmxc_section_l2x(void);
#endif
#endif
