/*
 * tests/guests/vmxcheck_l2x.c - vmxcheck's L2-exit sections: L2 programs
 * (vmxcheck_l2x_guest.S) run under one VMCS with the controls each case sets,
 * and every exit's information checked against the SDM (Vol. 3C 25, 26.6,
 * 27.2, 27.3), each case gated on the capability MSRs:
 *   l2io:     unconditional I/O exiting (exit 30, qualification Table 27-5,
 *             instruction length, guest-linear address of OUTS); I/O bitmaps
 *             (a clear port reaches L1's platform: the UART scratch register;
 *             set bits exit, also for a 2-byte access straddling a set bit
 *             and the bitmap A/B boundary) (25.1.3, 24.6.4); REP OUTSB of
 *             100 bytes and INSB to the clear port, carried out in L2;
 *   l2msr:    RDMSR/WRMSR without MSR bitmaps (exits 31/32, ECX as L2 left
 *             it); with them: set bits and MSRs outside both ranges exit,
 *             clear bits pass (KERNEL_GS_BASE kept for L1, SYSENTER_CS saved
 *             in the guest state, the TSC read) (25.1.3, 24.6.9, 27.3.1);
 *             the MSR lists with a platform MSR (MTRR_DEF_TYPE) and a state
 *             MSR: loaded at entry, stored and loaded at exit, an entry
 *             that would #GP failing with reason 34 (26.4, 27.4, 27.6);
 *             IA32_EFER in the lists and written by L2 through the
 *             bitmaps: loaded as WRMSR would (LMA kept), LME changed
 *             with paging on or a reserved bit failing the entry with
 *             reason 34 and its index, L2's WRMSR of it a #GP (26.4,
 *             27.4, 27.6; Vol. 3A 9.8.5);
 *   l2cr:     CR0/CR4 guest/host masks and read shadows (MOV to, MOV from,
 *             CLTS; qualification Table 27-3), CR3-load/store exiting;
 *   l2exc:    the exception bitmap (#UD, #GP with its error code, exit
 *             interruption information 24.9.2), exceptions delivered through
 *             L2's own IDT with RF pushed 1 (17.3.1.1: faults), #PF against
 *             the PFEC mask/match (25.2);
 *   l2inject: VM-entry event injection (26.6): #UD, #GP with an error code,
 *             a software interrupt (RIP + instruction length), an external
 *             interrupt; the valid bit cleared on exit (24.8.3);
 *   l2timer:  the VMX-preemption timer (exit 52; its saved value where
 *             offered; HLT without HLT exiting ends in a timer exit with
 *             activity state HLT, 27.3.4), interrupt- and NMI-window exiting;
 *   l2extint: L1's external interrupt (its 8259's IRQ 0 from a one-shot
 *             PIT count) while L2 runs with external-interrupt exiting (exit
 *             1, 25.2): without "acknowledge interrupt on exit" the exit
 *             interruption information is invalid and the interrupt stays
 *             pending, taken through L1's IDT once L1 sets IF; with it the
 *             information holds the vector and the 8259 has it in service
 *             (L1 EOIs it; it is not delivered again) (27.2.2, 24.9.2); the
 *             preemption timer value saved at two exits (27.3.4): at most
 *             the value loaded, and lower after L2 ran on; an interrupt
 *             already pending (L1 has IF = 0) when L1 enters L2 exits right
 *             after the entry, guest RIP at L2's first instruction (26.7.5),
 *             with and without acknowledge on exit;
 *   l2nmi:    an NMI L1 sent itself from its NMI handler (held until its
 *             IRET) pending as L1 enters L2: with "NMI exiting" an exit
 *             (reason 0, vector 2, type NMI) before L2's first instruction
 *             (25.2, 26.7.5, 27.2.2), without it delivered through L2's
 *             IDT (25.3);
 *   l2ept:    EPT (28.3): an unmapped guest-physical address and a write to
 *             a read-only 2 MiB page (exit 48, qualification Table 27-7), a
 *             read of that page passing, the same through 512 4 KiB pages;
 *             scattered 4 KiB pages (a permutation, two L2 pages on one L1
 *             page, a read-only page whose write exits, a hole); string
 *             I/O through them setting the accessed and dirty flags of
 *             L2's paging-structure entry (Vol. 3A 4.8); L2
 *             without EPT (L2-physical is L1-physical) running CPUID and OUT;
 *   l2shadow: VMCS shadowing (24.10), where the caps offer it: a shadow VMCS
 *             VMPTRLD'd, read and written from the root, refused by
 *             VMLAUNCH/VMRESUME (VMfailInvalid); L2's VMREAD/VMWRITE of
 *             fields clear in the bitmaps served from the shadow with no
 *             exit, of fields set (or with bits 63:15 set) exiting as 23/25
 *             with their instruction information; VMfail cases in VMX
 *             non-root (no field, a read-only field, no link pointer); the
 *             link-pointer (26.3.1.5) and bitmap-address (26.2.1.1) checks.
 */
#include "vmxcheck.h"
#include <fmt.h>
#include <nestor/vmcs.h>
#include <string.h>
#include <x86_arch.h>
#include <x86_vmx.h>

#define R_EXCEPTION    0
#define R_INTR_WINDOW  7
#define R_NMI_WINDOW   8
#define R_CPUID        10
#define R_VMCALL       18
#define R_CR           28
#define R_IO           30
#define R_RDMSR        31
#define R_WRMSR        32
#define R_EPT_VIOL     48
#define R_PREEMPT      52
#define INFO_VALID     (1u << 31)          /* interruption information (24.8.3, 24.9.2) */
#define INFO_EC        (1u << 11)
#define INFO_TYPE(t)   ((uint32_t)(t) << 8)
#define T_EXT          0
#define T_HW_EXC       3
#define T_SW_INT       4
#define RFL            0x2ULL
#define RFL_IF         (1ULL << 9)
#define CR0_TS         (1ULL << 3)
#define CR0_WP         (1ULL << 16)
#define CR4_PCE        (1ULL << 8)
#define BIT(n)         (1ULL << (n))
#define L2_IDT_VECTORS 64
#define STUB_BYTES     16
#define PF_ADDR        0x40000000ULL     /* outside L1's identity-mapped first GiB */
#define EPT_RO_GPA     0x600010ULL       /* EPT12: 6-8 MiB read/execute only */
#define EPT_NONE_GPA   0xA00010ULL       /* EPT12: nothing above 10 MiB */
#define EPT4K_L2       0x800000ULL       /* EPT12: 8-10 MiB in scattered 4 KiB pages */
#define EPT4K_L1       0x500000ULL       /* ... of L1's 5 MiB-5 MiB + 32 KiB */
#define EPT4K_PAGES    8
#define EPT4K_ALIAS    8                 /* L2 page 8: L1's page of L2 page 1 again */
#define EPT4K_RO       9                 /* L2 page 9: read-only */
#define EPT4K_LAPIC    11                /* L2 page 11: L1's local APIC page */
#define UART_SCR       0x3FF

enum { G_RAX, G_RCX, G_RDX, G_RBX, G_RBP, G_RSI, G_RDI };

extern char l2x_exit[], l2x_stubs[], l2x_io[], l2x_io_out_dx[], l2x_io_in_dx[], l2x_io_out_imm[],
    l2x_io_in_imm[], l2x_io_rep[], l2x_iobm[], l2x_iostr[], l2x_iobm_80[], l2x_iobm_7f[], l2x_iobm_7fff[],
    l2x_msr[], l2x_msr_rd[], l2x_msr_wr[], l2x_msrbm[], l2x_msrlist[], l2x_efer[], l2x_efer_gp[], l2x_cr[], l2x_cr_mov0[], l2x_cr_clts[], l2x_cr_mov4[], l2x_cr3[],
    l2x_ud[], l2x_gp[], l2x_gp_insn[], l2x_pfr[], l2x_pfw[], l2x_spin[], l2x_hlt[], l2x_sti[],
    l2x_sti_end[], l2x_ept_unmapped[], l2x_ept_write[], l2x_ept_read[], l2x_mem[], l2x_poke[],
    l2x_poke_store[], l2x_peek[], l2x_peek_load[], l2x_vmread[], l2x_vmwrite[], l2x_outs[],
    l2x_outs_insn[], l2x_ins[], l2x_ins_insn[], l2x_poke32[], l2x_peek32[], l2x_segs[];
extern uint64_t l2x_gprs[15], l2x_in[4], l2x_out[4];
uint64_t l2x_enter(uint64_t resume);

static uint64_t l2x_stack[1024] __attribute__((aligned(16)));
static uint32_t l2_idt[L2_IDT_VECTORS][4] __attribute__((aligned(16)));
static uint8_t io_a[4096] __attribute__((aligned(4096)));
static uint8_t io_b[4096] __attribute__((aligned(4096)));
static uint8_t msr_bm[4096] __attribute__((aligned(4096)));
static uint8_t vmread_bm[4096] __attribute__((aligned(4096)));
static uint8_t vmwrite_bm[4096] __attribute__((aligned(4096)));
static uint64_t shadow_vmcs[512] __attribute__((aligned(4096)));
static uint64_t ordinary_vmcs[512] __attribute__((aligned(4096)));
static uint64_t ept_pml4[512] __attribute__((aligned(4096)));
static uint64_t ept_pdpt[512] __attribute__((aligned(4096)));
static uint64_t ept_pd[512] __attribute__((aligned(4096)));
static uint64_t ept_pt[512] __attribute__((aligned(4096)));
static uint64_t ept_pt4k[512] __attribute__((aligned(4096)));

static uint64_t base_pin, base_proc, base_proc2, base_exit, base_cr0, base_cr4;
static int launched;

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* One VMCS for every case: vmxc_build_vmcs's valid L2, HOST_RIP at
 * l2x_exit, L2's own IDT; reset() puts back what a case may change. */
static void setup(void)
{
    vmxc_build_vmcs();
    launched = 0;
    base_pin = vmrd(VMCS_PIN_CONTROLS);
    base_proc = vmrd(VMCS_PROC_CONTROLS);
    base_proc2 = caps.has_proc2 ? vmrd(VMCS_PROC_CONTROLS2) : 0;
    base_exit = vmrd(VMCS_EXIT_CONTROLS);
    base_cr0 = vmrd(VMCS_GUEST_CR0);
    base_cr4 = vmrd(VMCS_GUEST_CR4);
    for (unsigned v = 0; v < L2_IDT_VECTORS; v++) {
        uint64_t off = pa(l2x_stubs) + v * STUB_BYTES;
        l2_idt[v][0] = (uint32_t)VMXC_SEL_CODE64 << 16 | (off & 0xFFFF);
        l2_idt[v][1] = (off & 0xFFFF0000u) | 0x8E00;   /* 64-bit interrupt gate, DPL 0 */
        l2_idt[v][2] = (uint32_t)(off >> 32);
        l2_idt[v][3] = 0;
    }
    vmwr(VMCS_HOST_RIP, pa(l2x_exit));
    vmwr(VMCS_GUEST_IDTR_BASE, pa(l2_idt));
    vmwr(VMCS_GUEST_IDTR_LIMIT, sizeof(l2_idt) - 1);
}

static void reset(void)
{
    vmwr(VMCS_PIN_CONTROLS, base_pin);
    vmwr(VMCS_PROC_CONTROLS, base_proc);
    if (caps.has_proc2)
        vmwr(VMCS_PROC_CONTROLS2, base_proc2);
    vmwr(VMCS_EXIT_CONTROLS, base_exit);
    vmwr(VMCS_EXCEPTION_BITMAP, 0xFFFFFFFF);
    vmwr(VMCS_PF_ERROR_MASK, 0);
    vmwr(VMCS_PF_ERROR_MATCH, 0);
    vmwr(VMCS_CR0_MASK, 0);
    vmwr(VMCS_CR4_MASK, 0);
    vmwr(VMCS_CR0_SHADOW, 0);
    vmwr(VMCS_CR4_SHADOW, 0);
    vmwr(VMCS_GUEST_CR0, base_cr0);
    vmwr(VMCS_GUEST_CR4, base_cr4);
    vmwr(VMCS_GUEST_RFLAGS, RFL);
    vmwr(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmwr(VMCS_GUEST_ACTIVITY, 0);
    vmwr(VMCS_ENTRY_INTR_INFO, 0);
    vmwr(VMCS_ENTRY_EXCEPTION_ERROR, 0);
    vmwr(VMCS_ENTRY_INSTR_LEN, 0);
    memset(l2x_out, 0, sizeof(l2x_out));
}

static uint64_t go(void)
{
    uint64_t r = vmx_launch_with(l2x_enter, launched);
    if ((r >> 32) == 1 && !(r & EXIT_REASON_ENTRY_FAILURE))
        launched = 1;
    return r;
}

static uint64_t enter(const void *rip)
{
    vmwr(VMCS_GUEST_RIP, pa(rip));
    vmwr(VMCS_GUEST_RSP, pa(&l2x_stack[1024]));
    memset(l2x_gprs, 0, sizeof(l2x_gprs));
    return go();
}

/* Past the instruction that exited (27.2.5), on into L2. */
static uint64_t next(void)
{
    vmwr(VMCS_GUEST_RIP, vmrd(VMCS_GUEST_RIP) + vmrd(VMCS_EXIT_INSTR_LEN));
    return go();
}

static char what_buf[96];
static const char *W(const char *a, const char *b)
{
    fmt_snprintf(what_buf, sizeof(what_buf), "%s: %s", a, b);
    return what_buf;
}

/* The exit reason; on a wrong one the rest of the case is skipped. */
static int exit_is(const char *what, uint32_t reason, uint64_t r)
{
    vmxc_check_vr(W(what, "exit reason"), VR_EXIT(reason), r);
    return r == VR_EXIT(reason);
}

/* An instruction exit: reason, RIP at the instruction (27.3.3), its length
 * (27.2.5) and qualification (27.2.1). */
static int insn_exit(const char *what, uint64_t r, uint32_t reason, const void *rip, uint64_t len,
                     uint64_t qual)
{
    if (!exit_is(what, reason, r))
        return 0;
    vmxc_check_eq(W(what, "guest RIP"), pa(rip), vmrd(VMCS_GUEST_RIP));
    vmxc_check_eq(W(what, "instruction length"), len, vmrd(VMCS_EXIT_INSTR_LEN));
    vmxc_check_eq(W(what, "qualification"), qual, vmrd(VMCS_EXIT_QUALIFICATION));
    return 1;
}

/* L2's IDT stub ran for @vector (its VMCALL exited): error code and RIP. */
static int l2_handled(const char *what, uint64_t r, uint64_t vector, uint64_t error, uint64_t rip)
{
    if (!exit_is(what, R_VMCALL, r))
        return 0;
    vmxc_check_eq(W(what, "L2 handler vector"), vector, l2x_gprs[G_RBX]);
    vmxc_check_eq(W(what, "L2 handler error code"), error, l2x_gprs[G_RCX]);
    vmxc_check_eq(W(what, "L2 handler return RIP"), rip, l2x_gprs[G_RDX]);
    return 1;
}

/* L2's handler of a fault (l2_handled) was entered with RF = 1 in the
 * RFLAGS pushed (SDM Vol. 3B 17.3.1.1: "for any fault-class exception
 * except a debug exception generated in response to an instruction
 * breakpoint"), whoever delivered it: the CPU, or the VMM under L2 that
 * carried out L2's instruction and injected the fault. */
static void l2_fault_rf(const char *what)
{
    vmxc_check_eq(W(what, "RF in the RFLAGS pushed (17.3.1.1)"), X86_RFLAGS_RF,
                  l2x_gprs[G_RDI] & X86_RFLAGS_RF);
}

/* ---- l2io: SDM 25.1.3, 24.6.4, 27.2.1 Table 27-5 ---- */

static uint64_t ioq(unsigned size, int in, int str, int rep, int imm, unsigned port)
{
    return (uint64_t)(size - 1) | (uint64_t)in << 3 | (uint64_t)str << 4 | (uint64_t)rep << 5 |
           (uint64_t)imm << 6 | (uint64_t)port << 16;
}

/* More bytes than nested-vmx carries out per exit (its STRIO_BATCH, 64). */
static uint8_t iostr_buf[100];

static void section_io(void)
{
    uint64_t r;
    vmxc_section_begin();
    if (ctl_can1(proc_msr(), PROC_UNCOND_IO_EXITING)) {
        static const struct {
            const char *what;
            const char *rip;
            unsigned len, size, in, str, rep, imm, port;
        } steps[] = {
            { "OUT DX, AL", l2x_io_out_dx, 1, 1, 0, 0, 0, 0, UART_SCR },
            { "IN AX, DX", l2x_io_in_dx, 2, 2, 1, 0, 0, 0, UART_SCR },
            { "OUT 80H, AL", l2x_io_out_imm, 2, 1, 0, 0, 0, 1, 0x80 },
            { "IN EAX, 71H", l2x_io_in_imm, 2, 4, 1, 0, 0, 1, 0x71 },
            { "REP OUTSB", l2x_io_rep, 2, 1, 0, 1, 1, 0, UART_SCR },
        };
        reset();
        vmwr(VMCS_PROC_CONTROLS, base_proc | PROC_UNCOND_IO_EXITING);
        r = enter(l2x_io);
        for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
            if (!insn_exit(steps[i].what, r, R_IO, steps[i].rip, steps[i].len,
                           ioq(steps[i].size, steps[i].in, steps[i].str, steps[i].rep,
                               steps[i].imm, steps[i].port)))
                break;
            if (steps[i].str)   /* 27.2.1: OUTS: the linear address of the source */
                vmxc_check_eq("REP OUTSB: guest-linear address", pa(l2x_out),
                              vmrd(VMCS_GUEST_LINEAR_ADDR));
            r = next();
        }
        exit_is("I/O exits done, VMCALL", R_VMCALL, r);
    }
    if (ctl_can1(proc_msr(), PROC_USE_IO_BITMAPS)) {
        /* 25.1.3: with "use I/O bitmaps", "unconditional I/O exiting" is ignored. */
        memset(io_a, 0, sizeof(io_a));
        memset(io_b, 0, sizeof(io_b));
        io_a[0x80 / 8] |= 1u << (0x80 % 8);
        io_b[0] |= 1;                           /* port 8000H */
        reset();
        vmwr(VMCS_PROC_CONTROLS, base_proc | PROC_USE_IO_BITMAPS |
                                     (ctl_can1(proc_msr(), PROC_UNCOND_IO_EXITING)
                                          ? PROC_UNCOND_IO_EXITING : 0));
        vmwr(VMCS_IO_BITMAP_A, pa(io_a));
        vmwr(VMCS_IO_BITMAP_B, pa(io_b));
        l2x_in[0] = 0xA5;
        r = enter(l2x_iobm);
        if (insn_exit("bitmap: OUT 80H (bit set)", r, R_IO, l2x_iobm_80, 2, ioq(1, 0, 0, 0, 1, 0x80))) {
            vmxc_check_eq("bitmap: scratch 3FFH (bit clear) written and read in L2", 0xA5,
                          l2x_out[0]);
            r = next();
            if (insn_exit("bitmap: IN AX, 7FH (straddles set 80H)", r, R_IO, l2x_iobm_7f, 2,
                          ioq(2, 1, 0, 0, 0, 0x7F))) {
                r = next();
                if (insn_exit("bitmap: IN AX, 7FFFH (A/B, 8000H set)", r, R_IO, l2x_iobm_7fff, 2,
                              ioq(2, 1, 0, 0, 0, 0x7FFF)))
                    exit_is("bitmap: done, VMCALL", R_VMCALL, next());
            }
        }
        vmxc_check_eq("bitmap: scratch 3FFH read by L1 after", 0xA5, inb(UART_SCR));
        /* String I/O to a clear port: carried out in L2 (SDM Vol. 2B REP
         * OUTS, INS; the registers as the instructions leave them). */
        for (unsigned i = 0; i < sizeof(iostr_buf); i++)
            iostr_buf[i] = (uint8_t)(i + 1);
        l2x_in[0] = pa(iostr_buf);
        l2x_in[1] = sizeof(iostr_buf);
        memset(l2x_out, 0, sizeof(l2x_out));
        if (exit_is("bitmap: REP OUTSB, INSB to 3FFH (bit clear), VMCALL", R_VMCALL,
                    enter(l2x_iostr))) {
            vmxc_check_eq("bitmap: REP OUTSB: RSI past the source", pa(iostr_buf) + sizeof(iostr_buf),
                          l2x_out[0]);
            vmxc_check_eq("bitmap: REP OUTSB: RCX 0", 0, l2x_out[1]);
            vmxc_check_eq("bitmap: INSB: the last byte out read back", sizeof(iostr_buf),
                          l2x_out[2]);
            vmxc_check_eq("bitmap: INSB: RDI + 1", pa(&l2x_out[2]) + 1, l2x_out[3]);
        }
        vmxc_check_eq("bitmap: scratch 3FFH after the string I/O, read by L1",
                      sizeof(iostr_buf), inb(UART_SCR));
    }
    vmxc_section_end("l2io");
}

/* ---- l2msr: SDM 25.1.3, 24.6.9 ---- */

#define R_MSR_LOADING  34
#define MSRL_KGS       0x0000123400005678ULL
#define MTRR_TYPE_MASK 0xFFULL
#define MTRR_TYPE_WB   6
#define MTRR_RESERVED  (1ULL << 32)       /* IA32_MTRR_DEF_TYPE bits 63:12 (SDM 11.11.2.1) */

static uint64_t msrl_load[4] __attribute__((aligned(16)));
static uint64_t msrl_store[4] __attribute__((aligned(16)));
static uint64_t msrl_exit_load[2] __attribute__((aligned(16)));

/* The MSR lists (SDM 24.7.2, 24.8.2) with a platform MSR beyond the
 * guest state, IA32_MTRR_DEF_TYPE, and a state MSR, KERNEL_GS_BASE: the
 * VM-entry list loads both for L2 (26.4), the VM-exit MSR-store list saves
 * L2's values (27.4) and the VM-exit MSR-load list puts L1's back (27.6);
 * an entry whose WRMSR would #GP fails the entry with reason 34 and its
 * index (26.4, 26.8). With MSR bitmaps all clear: L2 reads them itself. */
static void msr_lists(void)
{
    const uint64_t def = rdmsr(MSR_IA32_MTRR_DEF_TYPE), kgs = rdmsr(MSR_IA32_KERNEL_GS_BASE);
    const uint64_t other = (def & ~MTRR_TYPE_MASK) |
                           ((def & MTRR_TYPE_MASK) == MTRR_TYPE_WB ? 0 : MTRR_TYPE_WB);
    memset(msr_bm, 0, sizeof(msr_bm));
    msrl_load[0] = MSR_IA32_KERNEL_GS_BASE;
    msrl_load[1] = MSRL_KGS;
    msrl_load[2] = MSR_IA32_MTRR_DEF_TYPE;
    msrl_load[3] = other;
    msrl_store[0] = MSR_IA32_MTRR_DEF_TYPE;
    msrl_store[1] = 0;
    msrl_store[2] = MSR_IA32_KERNEL_GS_BASE;
    msrl_store[3] = 0;
    msrl_exit_load[0] = MSR_IA32_MTRR_DEF_TYPE;
    msrl_exit_load[1] = def;
    reset();
    vmwr(VMCS_PROC_CONTROLS, base_proc | PROC_USE_MSR_BITMAPS);
    vmwr(VMCS_MSR_BITMAP, pa(msr_bm));
    vmwr(VMCS_ENTRY_MSR_LOAD_ADDR, pa(msrl_load));
    vmwr(VMCS_ENTRY_MSR_LOAD_COUNT, 2);
    vmwr(VMCS_EXIT_MSR_STORE_ADDR, pa(msrl_store));
    vmwr(VMCS_EXIT_MSR_STORE_COUNT, 2);
    vmwr(VMCS_EXIT_MSR_LOAD_ADDR, pa(msrl_exit_load));
    vmwr(VMCS_EXIT_MSR_LOAD_COUNT, 1);
    if (exit_is("MSR lists: L2 reads them, VMCALL", R_VMCALL, enter(l2x_msrlist))) {
        vmxc_check_eq("MSR lists: L2 reads MTRR_DEF_TYPE as the entry list loaded it (26.4)",
                      other, l2x_out[0]);
        vmxc_check_eq("MSR lists: L2 reads KERNEL_GS_BASE as the entry list loaded it (26.4)",
                      MSRL_KGS, l2x_out[1]);
        vmxc_check_eq("MSR lists: exit store list holds L2's MTRR_DEF_TYPE (27.4)", other,
                      msrl_store[1]);
        vmxc_check_eq("MSR lists: exit store list holds L2's KERNEL_GS_BASE (27.4)", MSRL_KGS,
                      msrl_store[3]);
        vmxc_check_eq("MSR lists: exit load list gave L1 its MTRR_DEF_TYPE back (27.6)", def,
                      rdmsr(MSR_IA32_MTRR_DEF_TYPE));
    }
    vmwr(VMCS_EXIT_MSR_STORE_COUNT, 0);
    vmwr(VMCS_EXIT_MSR_LOAD_COUNT, 0);
    msrl_load[0] = MSR_IA32_MTRR_DEF_TYPE;
    msrl_load[1] = other;
    msrl_load[2] = MSR_IA32_MTRR_DEF_TYPE;
    msrl_load[3] = MTRR_RESERVED | MTRR_TYPE_WB;
    reset();
    const uint64_t r = enter(l2x_msrlist);
    vmxc_check_vr("MSR lists: entry 2 would #GP: entry fails, reason 34 (26.4)",
                  VR_EXIT(EXIT_REASON_ENTRY_FAILURE | R_MSR_LOADING), r);
    if (r == VR_EXIT(EXIT_REASON_ENTRY_FAILURE | R_MSR_LOADING))
        vmxc_check_eq("MSR lists: entry 2 would #GP: qualification 2 (26.8)", 2,
                      vmrd(VMCS_EXIT_QUALIFICATION));
    vmwr(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
    wrmsr(MSR_IA32_MTRR_DEF_TYPE, def);
    wrmsr(MSR_IA32_KERNEL_GS_BASE, kgs);
}

static void efer_lists(void);

static void section_msr(void)
{
    uint64_t r;
    vmxc_section_begin();
    reset();
    if (ctl_can0(proc_msr(), PROC_USE_MSR_BITMAPS)) {
        vmwr(VMCS_PROC_CONTROLS, base_proc & ~(uint64_t)PROC_USE_MSR_BITMAPS);
        r = enter(l2x_msr);
        if (insn_exit("RDMSR, no bitmaps", r, R_RDMSR, l2x_msr_rd, 2, 0)) {
            vmxc_check_eq("RDMSR exit: L2's ECX", 0x174, l2x_gprs[G_RCX] & 0xFFFFFFFF);
            r = next();
            if (insn_exit("WRMSR, no bitmaps", r, R_WRMSR, l2x_msr_wr, 2, 0)) {
                vmxc_check_eq("WRMSR exit: L2's ECX", 0x175, l2x_gprs[G_RCX] & 0xFFFFFFFF);
                vmxc_check_eq("WRMSR exit: L2's EDX:EAX", 0x5566778811223344ULL,
                              (l2x_gprs[G_RDX] & 0xFFFFFFFF) << 32 | (l2x_gprs[G_RAX] & 0xFFFFFFFF));
                exit_is("MSR exits done, VMCALL", R_VMCALL, next());
            }
        }
    }
    if (ctl_can1(proc_msr(), PROC_USE_MSR_BITMAPS)) {
        /* Read bitmap low at 0, high at 1024, write low at 2048, high at 3072. */
        memset(msr_bm, 0, sizeof(msr_bm));
        msr_bm[0x175 / 8] |= 1u << (0x175 % 8);
        msr_bm[3072 + 0x100 / 8] |= 1u << (0x100 % 8);
        const uint64_t kgs = rdmsr(MSR_IA32_KERNEL_GS_BASE), scs = rdmsr(MSR_IA32_SYSENTER_CS);
        l2x_in[0] = 0x00001234567890A0ULL;
        l2x_in[1] = 0x5A50;
        reset();
        vmwr(VMCS_PROC_CONTROLS, base_proc | PROC_USE_MSR_BITMAPS);
        vmwr(VMCS_MSR_BITMAP, pa(msr_bm));
        const uint64_t t0 = rdtsc();
        r = enter(l2x_msrbm);
        const uint64_t t1 = rdtsc();
        if (exit_is("bitmap: RDMSR 175H (read bit set)", R_RDMSR, r)) {
            vmxc_check_eq("bitmap: RDMSR 175H: L2's ECX", 0x175, l2x_gprs[G_RCX] & 0xFFFFFFFF);
            vmxc_check_eq("bitmap: KERNEL_GS_BASE written and read in L2", l2x_in[0], l2x_out[0]);
            vmxc_check_eq("bitmap: KERNEL_GS_BASE in L1 after the exit", l2x_in[0],
                          rdmsr(MSR_IA32_KERNEL_GS_BASE));
            vmxc_check_eq("bitmap: SYSENTER_CS of L2 saved (27.3.1)", l2x_in[1],
                          vmrd(VMCS_GUEST_SYSENTER_CS));
            vmxc_check_eq("bitmap: SYSENTER_CS of L1 from the host state (27.5.1)",
                          vmrd(VMCS_HOST_SYSENTER_CS), rdmsr(MSR_IA32_SYSENTER_CS));
            vmxc_check(l2x_out[1] >= t0 && l2x_out[1] <= t1,
                       "bitmap: IA32_TSC read in L2 between L1's reads around the entry");
            r = next();
            if (exit_is("bitmap: WRMSR C0000100H (high write bit set)", R_WRMSR, r)) {
                vmxc_check_eq("bitmap: WRMSR FS_BASE: L2's ECX", 0xC0000100,
                              l2x_gprs[G_RCX] & 0xFFFFFFFF);
                r = next();
                if (exit_is("bitmap: RDMSR 40000000H (outside the ranges)", R_RDMSR, r)) {
                    vmxc_check_eq("bitmap: RDMSR 40000000H: L2's ECX", 0x40000000,
                                  l2x_gprs[G_RCX] & 0xFFFFFFFF);
                    exit_is("bitmap: done, VMCALL", R_VMCALL, next());
                }
            }
        }
        wrmsr(MSR_IA32_KERNEL_GS_BASE, kgs);
        wrmsr(MSR_IA32_SYSENTER_CS, scs);
        msr_lists();
        efer_lists();
    }
    vmxc_section_end("l2msr");
}

/* ---- l2cr: SDM 25.1.3, 24.6.6, 27.2.1 Table 27-3 ---- */

static void section_cr(void)
{
    uint64_t r;
    vmxc_section_begin();
    reset();
    const int pce = (caps.cr4_fixed1 & CR4_PCE) && !(caps.cr4_fixed0 & CR4_PCE);
    vmwr(VMCS_CR0_MASK, CR0_TS);
    vmwr(VMCS_CR0_SHADOW, base_cr0 | CR0_TS);
    vmwr(VMCS_GUEST_CR0, base_cr0 & ~CR0_TS);
    if (pce) {
        vmwr(VMCS_CR4_MASK, CR4_PCE);
        vmwr(VMCS_CR4_SHADOW, base_cr4 & ~CR4_PCE);
        vmwr(VMCS_GUEST_CR4, base_cr4 | CR4_PCE);
    }
    r = enter(l2x_cr);
    if (insn_exit("MOV CR0, RBX: TS against the shadow", r, R_CR, l2x_cr_mov0, 3, 0x300)) {
        vmxc_check_eq("MOV from CR0: TS from the shadow", (base_cr0 & ~CR0_TS) | CR0_TS, l2x_out[0]);
        if (pce)
            vmxc_check_eq("MOV from CR4: PCE from the shadow", base_cr4 & ~CR4_PCE, l2x_out[1]);
        /* 25.3: a MOV to CR0 that does not exit leaves the masked bits
         * unmodified: WP toggled, TS still 0. */
        vmxc_check_eq("MOV CR0 (no exits): WP changed, masked TS unmodified (25.3)",
                      (base_cr0 & ~CR0_TS) ^ CR0_WP, vmrd(VMCS_GUEST_CR0));
        r = next();
        if (insn_exit("CLTS, TS masked, shadow TS=1", r, R_CR, l2x_cr_clts, 2, 0x20)) {
            r = next();
            if (pce && insn_exit("MOV CR4, RDX: PCE against the shadow", r, R_CR, l2x_cr_mov4, 3,
                                 0x204)) {
                vmxc_check_eq("MOV CR4 (no exit): masked PCE unmodified (25.3)",
                              base_cr4 | CR4_PCE, vmrd(VMCS_GUEST_CR4));
                r = next();
            }
            if (pce)
                exit_is("CR exits done, VMCALL", R_VMCALL, r);
        }
    }
    /* CR3-load/-store exiting (25.1.3; no CR3-target values used). */
    const uint32_t cr3x = PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING;
    if (ctl_can1(proc_msr(), PROC_CR3_LOAD_EXITING) && ctl_can0(proc_msr(), PROC_CR3_STORE_EXITING)) {
        reset();
        vmwr(VMCS_PROC_CONTROLS, (base_proc & ~(uint64_t)cr3x) | PROC_CR3_LOAD_EXITING);
        r = enter(l2x_cr3);
        if (insn_exit("MOV CR3, RAX with CR3-load exiting", r, R_CR, l2x_cr3 + 3, 3, 0x3)) {
            vmxc_check_eq("MOV from CR3 without CR3-store exiting: no exit", vmrd(VMCS_GUEST_CR3),
                          l2x_gprs[G_RAX]);
            exit_is("CR3 done, VMCALL", R_VMCALL, next());
        }
    }
    if (ctl_can1(proc_msr(), PROC_CR3_STORE_EXITING) && ctl_can1(proc_msr(), PROC_CR3_LOAD_EXITING)) {
        reset();
        vmwr(VMCS_PROC_CONTROLS, base_proc | cr3x);
        r = enter(l2x_cr3);
        if (insn_exit("MOV RAX, CR3 with CR3-store exiting", r, R_CR, l2x_cr3, 3, 0x13))
            insn_exit("MOV CR3, RAX after it", next(), R_CR, l2x_cr3 + 3, 3, 0x3);
    }
    vmxc_section_end("l2cr");
}

/* ---- l2exc: SDM 25.2, 24.6.3, 24.9.2 ---- */

static void exc_exit(const char *what, uint64_t r, const void *rip, uint32_t info, uint64_t error)
{
    if (!exit_is(what, R_EXCEPTION, r))
        return;
    vmxc_check_eq(W(what, "guest RIP at the fault"), pa(rip), vmrd(VMCS_GUEST_RIP));
    vmxc_check_eq(W(what, "exit interruption information"), info,
                  vmrd(VMCS_EXIT_INTR_INFO) & 0xFFFFFFFF);
    if (info & INFO_EC)
        vmxc_check_eq(W(what, "exit interruption error code"), error,
                      vmrd(VMCS_EXIT_INTR_ERROR) & 0xFFFFFFFF);
    vmxc_check_eq(W(what, "IDT-vectoring information not valid (27.2.4)"), 0,
                  vmrd(VMCS_IDT_VECTORING_INFO) & INFO_VALID);
}

/* IA32_EFER (SDM 26.4, 27.4, 27.6; Vol. 4 Table 2-2, Vol. 3A 9.8.5): the
 * entry list loads it after the guest state (SCE flipped, LMA kept), L2
 * reads and writes it through clear MSR bitmaps (its value without LMA:
 * LMA stays), a WRMSR changing LME with paging on is L2's #GP (here an
 * exception exit), the exit store list reads L2's, the exit load list
 * gives L1 SCE flipped; entry lists changing LME under paging or setting
 * a reserved bit fail with reason 34 and the entry's index. */
static void efer_lists(void)
{
    const uint64_t efer = rdmsr(MSR_IA32_EFER), flipped = efer ^ X86_EFER_SCE;
    const uint32_t gp = INFO_VALID | INFO_TYPE(T_HW_EXC) | INFO_EC | X86_VEC_GP;
    memset(msr_bm, 0, sizeof(msr_bm));
    msrl_load[0] = MSR_IA32_EFER;
    msrl_load[1] = flipped;
    msrl_store[0] = MSR_IA32_EFER;
    msrl_store[1] = 0;
    msrl_exit_load[0] = MSR_IA32_EFER;
    msrl_exit_load[1] = flipped & ~X86_EFER_LMA;
    l2x_in[0] = efer & ~X86_EFER_LMA;
    l2x_in[1] = efer & ~(X86_EFER_LME | X86_EFER_LMA);
    reset();
    vmwr(VMCS_PROC_CONTROLS, base_proc | PROC_USE_MSR_BITMAPS);
    vmwr(VMCS_MSR_BITMAP, pa(msr_bm));
    vmwr(VMCS_ENTRY_MSR_LOAD_ADDR, pa(msrl_load));
    vmwr(VMCS_ENTRY_MSR_LOAD_COUNT, 1);
    vmwr(VMCS_EXIT_MSR_STORE_ADDR, pa(msrl_store));
    vmwr(VMCS_EXIT_MSR_STORE_COUNT, 1);
    vmwr(VMCS_EXIT_MSR_LOAD_ADDR, pa(msrl_exit_load));
    vmwr(VMCS_EXIT_MSR_LOAD_COUNT, 1);
    const uint64_t r = enter(l2x_efer);
    const uint64_t l1_after = rdmsr(MSR_IA32_EFER);
    wrmsr(MSR_IA32_EFER, efer);
    exc_exit("EFER: L2's WRMSR changing LME with paging on: #GP(0)", r, l2x_efer_gp, gp, 0);
    if (r == VR_EXIT(R_EXCEPTION)) {
        vmxc_check_eq("EFER: L2 reads it as the entry list loaded it, LMA kept (26.4)", flipped,
                      l2x_out[0]);
        vmxc_check_eq("EFER: L2's WRMSR without LMA, read back: LMA kept", efer, l2x_out[1]);
        vmxc_check_eq("EFER: exit store list holds L2's (27.4)", efer, msrl_store[1]);
        vmxc_check_eq("EFER: exit load list gave L1 its value, LMA kept (27.6)", flipped,
                      l1_after);
    }
    vmwr(VMCS_EXIT_MSR_STORE_COUNT, 0);
    vmwr(VMCS_EXIT_MSR_LOAD_COUNT, 0);
    vmwr(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
    /* The same #GP with bitmap bit 13 clear: L2's own (25.2), a fault. */
    reset();
    vmwr(VMCS_PROC_CONTROLS, base_proc | PROC_USE_MSR_BITMAPS);
    vmwr(VMCS_EXCEPTION_BITMAP, ~BIT(13));
    if (l2_handled("EFER: L2's WRMSR #GP, bit 13 clear: L2's IDT", enter(l2x_efer), 13, 0,
                   pa(l2x_efer_gp)))
        l2_fault_rf("EFER: L2's WRMSR #GP");
    static const struct {
        const char *what;
        uint64_t clear, set;
    } bad[] = {
        { "EFER.LME cleared with paging on: entry fails, reason 34, index 2 (26.4)",
          X86_EFER_LME, 0 },
        { "EFER reserved bit 1: entry fails, reason 34, index 2 (26.4)", 0, BIT(1) },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msrl_load[0] = MSR_IA32_KERNEL_GS_BASE;
        msrl_load[1] = rdmsr(MSR_IA32_KERNEL_GS_BASE);
        msrl_load[2] = MSR_IA32_EFER;
        msrl_load[3] = (efer & ~bad[i].clear) | bad[i].set;
        reset();
        vmwr(VMCS_ENTRY_MSR_LOAD_COUNT, 2);
        const uint64_t f = enter(l2x_efer);
        vmxc_check_vr(bad[i].what, VR_EXIT(EXIT_REASON_ENTRY_FAILURE | R_MSR_LOADING), f);
        if (f == VR_EXIT(EXIT_REASON_ENTRY_FAILURE | R_MSR_LOADING))
            vmxc_check_eq(W(bad[i].what, "qualification"), 2, vmrd(VMCS_EXIT_QUALIFICATION));
        vmxc_check_eq(W(bad[i].what, "L1's EFER after"), efer, rdmsr(MSR_IA32_EFER));
        wrmsr(MSR_IA32_EFER, efer);
    }
    vmwr(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
}

static void section_exc(void)
{
    const uint32_t ud = INFO_VALID | INFO_TYPE(T_HW_EXC) | 6;
    const uint32_t gp = INFO_VALID | INFO_EC | INFO_TYPE(T_HW_EXC) | 13;
    const uint32_t pf = INFO_VALID | INFO_EC | INFO_TYPE(T_HW_EXC) | 14;
    vmxc_section_begin();
    reset();
    exc_exit("UD2, bitmap bit 6 set", enter(l2x_ud), l2x_ud, ud, 0);
    reset();
    exc_exit("#GP(80H), bitmap bit 13 set", enter(l2x_gp), l2x_gp_insn, gp, 0x80);
    reset();
    vmwr(VMCS_EXCEPTION_BITMAP, ~BIT(6));
    if (l2_handled("UD2, bit 6 clear: L2's IDT", enter(l2x_ud), 6, 0, pa(l2x_ud)))
        l2_fault_rf("UD2, bit 6 clear");
    reset();
    vmwr(VMCS_EXCEPTION_BITMAP, ~BIT(13));
    if (l2_handled("#GP(80H), bit 13 clear: L2's IDT", enter(l2x_gp), 13, 0x80, pa(l2x_gp_insn)))
        l2_fault_rf("#GP(80H), bit 13 clear");
    /* #PF: with bitmap bit 14 set it exits iff PFEC & mask == match, with
     * it clear iff they differ (25.2). PFEC: 0 read, 2 write (not present). */
    static const struct {
        const char *what;
        int bit14, write, exits;
        uint32_t mask, match;
    } pfs[] = {
        { "#PF read, bit 14 set, mask 0 match 0", 1, 0, 1, 0, 0 },
        { "#PF read, bit 14 set, mask 2 match 2", 1, 0, 0, 2, 2 },
        { "#PF write, bit 14 set, mask 2 match 2", 1, 1, 1, 2, 2 },
        { "#PF write, bit 14 clear, mask 2 match 2", 0, 1, 0, 2, 2 },
        { "#PF read, bit 14 clear, mask 2 match 2", 0, 0, 1, 2, 2 },
    };
    for (unsigned i = 0; i < sizeof(pfs) / sizeof(pfs[0]); i++) {
        reset();
        vmwr(VMCS_EXCEPTION_BITMAP, pfs[i].bit14 ? 0xFFFFFFFF : ~BIT(14));
        vmwr(VMCS_PF_ERROR_MASK, pfs[i].mask);
        vmwr(VMCS_PF_ERROR_MATCH, pfs[i].match);
        const char *rip = pfs[i].write ? l2x_pfw : l2x_pfr;
        uint64_t r = enter(rip);
        if (pfs[i].exits) {
            exc_exit(pfs[i].what, r, rip, pf, pfs[i].write ? 2 : 0);
            if (r == VR_EXIT(R_EXCEPTION))   /* 27.2.1: the faulting linear address */
                vmxc_check_eq(W(pfs[i].what, "qualification"), PF_ADDR,
                              vmrd(VMCS_EXIT_QUALIFICATION));
        } else if (l2_handled(pfs[i].what, r, 14, pfs[i].write ? 2 : 0, pa(rip))) {
            vmxc_check_eq(W(pfs[i].what, "L2's CR2"), PF_ADDR, l2x_gprs[G_RSI]);
            l2_fault_rf(pfs[i].what);
        }
    }
    vmxc_section_end("l2exc");
}

/* ---- l2inject: SDM 26.6, 24.8.3 ---- */

static void section_inject(void)
{
    static const struct {
        const char *what;
        uint32_t info, error, len;
        uint32_t bitmap_clear;
        uint64_t rflags, rip_add;
    } cases[] = {
        { "inject #UD", INFO_VALID | INFO_TYPE(T_HW_EXC) | 6, 0, 0, 6, RFL, 0 },
        /* An injected event is delivered without consulting the exception
         * bitmap (26.6.1). */
        { "inject #UD, bitmap bit 6 set", INFO_VALID | INFO_TYPE(T_HW_EXC) | 6, 0, 0, 32, RFL, 0 },
        { "inject #GP(1234H)", INFO_VALID | INFO_EC | INFO_TYPE(T_HW_EXC) | 13, 0x1234, 0, 13, RFL, 0 },
        /* 26.6.1.3: a software interrupt pushes RIP + VM-entry instruction length. */
        { "inject INT 30H, length 2", INFO_VALID | INFO_TYPE(T_SW_INT) | 0x30, 0, 2, 32, RFL, 2 },
        { "inject external interrupt 31H", INFO_VALID | INFO_TYPE(T_EXT) | 0x31, 0, 0, 32,
          RFL | RFL_IF, 0 },
    };
    vmxc_section_begin();
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reset();
        if (cases[i].bitmap_clear < 32)
            vmwr(VMCS_EXCEPTION_BITMAP, ~BIT(cases[i].bitmap_clear));
        vmwr(VMCS_ENTRY_INTR_INFO, cases[i].info);
        vmwr(VMCS_ENTRY_EXCEPTION_ERROR, cases[i].error);
        vmwr(VMCS_ENTRY_INSTR_LEN, cases[i].len);
        vmwr(VMCS_GUEST_RFLAGS, cases[i].rflags);
        /* L2 starts at a VMCALL: without the injection it exits at once. */
        uint64_t r = enter(l2x_sti_end);
        if (l2_handled(cases[i].what, r, cases[i].info & 0xFF,
                       (cases[i].info & INFO_EC) ? cases[i].error : 0,
                       pa(l2x_sti_end) + cases[i].rip_add)) {
            vmxc_check_eq(W(cases[i].what, "entry interruption info valid cleared (24.8.3)"), 0,
                          vmrd(VMCS_ENTRY_INTR_INFO) & INFO_VALID);
            vmxc_check_eq(W(cases[i].what, "IDT-vectoring information not valid"), 0,
                          vmrd(VMCS_IDT_VECTORING_INFO) & INFO_VALID);
        }
    }
    vmxc_section_end("l2inject");
}

/* ---- l2timer: SDM 25.5.1, 27.3.4, 25.2 windows ---- */

static void section_timer(void)
{
    uint64_t r;
    vmxc_section_begin();
    if (ctl_can1(pin_msr(), PIN_PREEMPTION_TIMER)) {
        reset();
        vmwr(VMCS_PIN_CONTROLS, base_pin | PIN_PREEMPTION_TIMER);
        vmwr(VMCS_PREEMPT_TIMER_VALUE, 2000);
        r = enter(l2x_spin);
        if (exit_is("preemption timer, L2 spinning", R_PREEMPT, r))
            vmxc_check_eq("preemption timer: guest RIP in the loop", pa(l2x_spin),
                          vmrd(VMCS_GUEST_RIP));
        if (ctl_can1(exit_msr(), EXIT_SAVE_PREEMPT_TIMER)) {
            vmwr(VMCS_EXIT_CONTROLS, base_exit | EXIT_SAVE_PREEMPT_TIMER);
            vmwr(VMCS_PREEMPT_TIMER_VALUE, 2000);
            if (exit_is("preemption timer saved, L2 spinning", R_PREEMPT, enter(l2x_spin)))
                vmxc_check_eq("preemption timer expired: 0 saved (27.3.4)", 0,
                              vmrd(VMCS_PREEMPT_TIMER_VALUE));
            vmwr(VMCS_PREEMPT_TIMER_VALUE, 0x7FFFFFFF);
            if (exit_is("preemption timer saved, L2 CPUID", R_CPUID, enter(vmxc_l2_entry)))
                vmxc_check(vmrd(VMCS_PREEMPT_TIMER_VALUE) <= 0x7FFFFFFF &&
                           vmrd(VMCS_PREEMPT_TIMER_VALUE) > 0,
                           "preemption timer: the value left saved (27.3.4)");
        }
        if (ctl_can0(proc_msr(), PROC_HLT_EXITING) && (caps.misc & VMX_MISC_ACTIVITY_HLT)) {
            reset();
            vmwr(VMCS_PROC_CONTROLS, base_proc & ~(uint64_t)PROC_HLT_EXITING);
            vmwr(VMCS_PIN_CONTROLS, base_pin | PIN_PREEMPTION_TIMER);
            vmwr(VMCS_PREEMPT_TIMER_VALUE, 2000);
            r = enter(l2x_hlt);
            if (exit_is("HLT without HLT exiting, timer", R_PREEMPT, r)) {
                vmxc_check_eq("HLT, timer exit: activity state HLT saved (27.3.4)", 1,
                              vmrd(VMCS_GUEST_ACTIVITY));
                vmxc_check_eq("HLT, timer exit: RIP past HLT", pa(l2x_hlt) + 1,
                              vmrd(VMCS_GUEST_RIP));
            }
        }
    }
    if (ctl_can1(proc_msr(), PROC_INTR_WINDOW_EXITING)) {
        reset();
        vmwr(VMCS_PROC_CONTROLS, base_proc | PROC_INTR_WINDOW_EXITING);
        vmwr(VMCS_GUEST_RFLAGS, RFL | RFL_IF);
        if (exit_is("interrupt window, IF=1: at once", R_INTR_WINDOW, enter(l2x_sti_end)))
            vmxc_check_eq("interrupt window, IF=1: guest RIP", pa(l2x_sti_end), vmrd(VMCS_GUEST_RIP));
        reset();
        vmwr(VMCS_PROC_CONTROLS, base_proc | PROC_INTR_WINDOW_EXITING);
        if (exit_is("interrupt window after STI; NOP", R_INTR_WINDOW, enter(l2x_sti)))
            vmxc_check_eq("interrupt window after STI blocking: guest RIP", pa(l2x_sti_end),
                          vmrd(VMCS_GUEST_RIP));
    }
    const uint32_t vnmi = PIN_NMI_EXITING | PIN_VIRTUAL_NMIS;
    if (ctl_can1(proc_msr(), PROC_NMI_WINDOW_EXITING) && ctl_can1(pin_msr(), PIN_NMI_EXITING) &&
        ctl_can1(pin_msr(), PIN_VIRTUAL_NMIS)) {
        reset();
        vmwr(VMCS_PIN_CONTROLS, base_pin | vnmi);
        vmwr(VMCS_PROC_CONTROLS, base_proc | PROC_NMI_WINDOW_EXITING);
        if (exit_is("NMI window, no blocking: at once", R_NMI_WINDOW, enter(l2x_sti_end)))
            vmxc_check_eq("NMI window: guest RIP", pa(l2x_sti_end), vmrd(VMCS_GUEST_RIP));
        reset();
        vmwr(VMCS_PIN_CONTROLS, base_pin | vnmi);
        vmwr(VMCS_PROC_CONTROLS, base_proc | PROC_NMI_WINDOW_EXITING);
        vmwr(VMCS_GUEST_INTERRUPTIBILITY, 8);       /* blocking by (virtual) NMI */
        exit_is("NMI window, virtual-NMI blocking: L2 runs to CPUID", R_CPUID, enter(vmxc_l2_entry));
    }
    vmxc_section_end("l2timer");
}

/* ---- l2extint: SDM 25.2, 27.2.2, 24.9.2, 24.7.1, 27.3.4 ---- */

#define R_EXTINT         1
#define INFO_NMI_UNBLOCKED (1u << 12) /* NMI unblocking due to IRET (27.2.3) */
#define PIC1_CMD         0x20
#define PIC1_DATA        0x21
#define PIC2_CMD         0xA0
#define PIC2_DATA        0xA1
#define PIC_ICW1         0x11       /* edge, cascade, ICW4 follows */
#define PIC_ICW4_8086    0x01
#define PIC_OCW2_EOI     0x20       /* non-specific EOI */
#define PIC_OCW3_IRR     0x0A       /* the next read of the command port: IRR */
#define PIC_OCW3_ISR     0x0B       /* ISR */
#define PIC_OCW3_POLL    0x0C       /* the next read is an INTA: the level, bit 7 set */
#define PIC_ONLY_IRQ0    0xFE
#define PIC_ALL_MASKED   0xFF
#define PIC_IRQ0         0x01
#define L1_VEC_IRQ0      0x20       /* master base: IRQ 0's vector */
#define L1_IDT_VECTORS   (L1_VEC_IRQ0 + 1)
#define PIT_CH0          0x40
#define PIT_CMD          0x43
#define PIT_CH0_MODE0    0x30       /* channel 0, low then high byte, mode 0 (one shot) */
#define PIT_HZ           1193182
#define EXTINT_MS        30         /* past L1's way into L2 (nested: VMWRITE exits, the entry) */
#define L1_STI_SPIN      1000       /* L1 with IF = 1: the pending interrupt comes at once */
#define TIMER_START      0x10000000 /* far from running out in the two runs below */
#define EXTINT_SOON      0x100      /* PIT ticks (about 0.2 ms) to IRQ 0 before an entry */
#define EXTINT_POLLS     100000     /* IRR reads while that count runs out */

extern char l2x_extint_wait[], l2x_extint_wait_end[], l2x_timer_runs[], l2x_l1_irq[];
extern volatile uint64_t l2x_l1_irqs;
static uint32_t l1_idt[L1_IDT_VECTORS][4] __attribute__((aligned(16)));

struct idtr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

static struct idtr l1_idt_saved;

/* L1's IDT in @idt (@bytes, at least the exception vectors): the exception
 * vectors of the one loaded now and a 64-bit interrupt gate of @vector to
 * @handler (SDM Vol. 3A 6.14.1), loaded; HOST_IDTR_BASE too (exits load
 * it, limit FFFFH: 27.5.2). l1_idt_restore puts the old one back. */
static void l1_idt_install(uint32_t (*idt)[4], size_t bytes, unsigned vector, const void *handler)
{
    const struct idtr idtr = { (uint16_t)(bytes - 1), pa(idt) };
    __asm__ volatile("sidt %0" : "=m"(l1_idt_saved));
    memcpy(idt, (const void *)(uintptr_t)l1_idt_saved.base, VMXC_IDT_VECTORS * sizeof(idt[0]));
    const uint64_t isr = pa(handler);
    idt[vector][0] = (uint32_t)VMXC_SEL_CODE64 << 16 | (isr & 0xFFFF);
    idt[vector][1] = (isr & 0xFFFF0000u) | 0x8E00;   /* 64-bit interrupt gate, DPL 0 */
    idt[vector][2] = (uint32_t)(isr >> 32);
    idt[vector][3] = 0;
    __asm__ volatile("lidt %0" : : "m"(idtr));
    vmwr(VMCS_HOST_IDTR_BASE, pa(idt));
}

static void l1_idt_restore(void)
{
    vmwr(VMCS_HOST_IDTR_BASE, l1_idt_saved.base);
    __asm__ volatile("lidt %0" : : "m"(l1_idt_saved));
}

static uint8_t pic_read(uint8_t ocw3)
{
    outb(PIC1_CMD, ocw3);
    return inb(PIC1_CMD);
}

/* The 8259s at vectors 20H/28H, only IRQ 0 unmasked, nothing left in
 * request or service from before (firmware's periodic timer on bare Bochs:
 * a poll acknowledges what is requested, an EOI ends it). */
static void pic_setup(void)
{
    outb(PIT_CMD, PIT_CH0_MODE0);       /* OUT low until a count runs out: no edges */
    outb(PIC1_CMD, PIC_ICW1);
    outb(PIC2_CMD, PIC_ICW1);
    outb(PIC1_DATA, L1_VEC_IRQ0);
    outb(PIC2_DATA, L1_VEC_IRQ0 + 8);
    outb(PIC1_DATA, 1 << 2);            /* ICW3: the slave on IR2 */
    outb(PIC2_DATA, 2);
    outb(PIC1_DATA, PIC_ICW4_8086);
    outb(PIC2_DATA, PIC_ICW4_8086);
    outb(PIC1_DATA, PIC_ONLY_IRQ0);
    outb(PIC2_DATA, PIC_ALL_MASKED);
    for (unsigned i = 0; i < 8 && (pic_read(PIC_OCW3_IRR) | pic_read(PIC_OCW3_ISR)); i++) {
        pic_read(PIC_OCW3_POLL);
        outb(PIC1_CMD, PIC_OCW2_EOI);
    }
    vmxc_check_eq("extint: 8259 IRR and ISR clear before the cases", 0,
                  pic_read(PIC_OCW3_IRR) | pic_read(PIC_OCW3_ISR));
}

/* IRQ 0 after @count PIT ticks (a one-shot count: one edge). */
static void pit_arm_count(unsigned count)
{
    outb(PIT_CMD, PIT_CH0_MODE0);
    outb(PIT_CH0, count & 0xFF);
    outb(PIT_CH0, count >> 8);
}

/* IRQ 0 in EXTINT_MS. */
static void pit_arm(void)
{
    const unsigned count = PIT_HZ / 1000 * EXTINT_MS;
    outb(PIT_CMD, PIT_CH0_MODE0);
    outb(PIT_CH0, count & 0xFF);
    outb(PIT_CH0, count >> 8);
}

/* L1 with interrupts enabled a moment: how many came through its IDT. */
static uint64_t l1_sti_window(void)
{
    l2x_l1_irqs = 0;
    __asm__ volatile("sti" ::: "memory");
    for (volatile unsigned i = 0; i < L1_STI_SPIN; i++)
        ;
    __asm__ volatile("cli" ::: "memory");
    return l2x_l1_irqs;
}

/* L2 waits with RFLAGS.IF = 1 for L1's IRQ 0; the exit must be reason 1
 * with L2 in its loop (not at the VMCALL that ends the wait). */
static int extint_exit(const char *what, uint32_t exit_ctls)
{
    reset();
    vmwr(VMCS_PIN_CONTROLS, base_pin | PIN_EXTINT_EXITING);
    vmwr(VMCS_EXIT_CONTROLS, exit_ctls);
    vmwr(VMCS_GUEST_RFLAGS, RFL | RFL_IF);
    pit_arm();
    if (!exit_is(what, R_EXTINT, enter(l2x_extint_wait)))
        return 0;
    const uint64_t rip = vmrd(VMCS_GUEST_RIP);
    vmxc_check(rip >= pa(l2x_extint_wait) && rip < pa(l2x_extint_wait_end),
               W(what, "guest RIP in L2's wait loop"));
    return 1;
}

/* IRQ 0 requested at the 8259 (the PIT's count ran out) while L1 has
 * IF = 0: true once the IRR shows it. */
static int irq0_requested(void)
{
    for (unsigned i = 0; i < EXTINT_POLLS; i++)
        if (pic_read(PIC_OCW3_IRR) & PIC_IRQ0)
            return 1;
    return 0;
}

/* SDM 25.2, 26.7.5: an external interrupt already pending when L1 enters
 * L2 with "external-interrupt exiting" makes a VM exit right after the
 * entry, before L2's first instruction (guest RIP there); with
 * "acknowledge interrupt on exit" the exit holds its vector (27.2.2). */
static void extint_at_entry(uint32_t exit_no_ack)
{
    static const struct { const char *what; uint32_t ack; } cases[] = {
        { "extint pending at entry, no ack", 0 },
        { "extint pending at entry, ack", EXIT_ACK_INTR_ON_EXIT },
    };
    for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *what = cases[c].what;
        if (cases[c].ack ? !ctl_can1(exit_msr(), EXIT_ACK_INTR_ON_EXIT)
                         : !ctl_can0(exit_msr(), EXIT_ACK_INTR_ON_EXIT))
            continue;
        reset();
        vmwr(VMCS_PIN_CONTROLS, base_pin | PIN_EXTINT_EXITING);
        vmwr(VMCS_EXIT_CONTROLS, exit_no_ack | cases[c].ack);
        vmwr(VMCS_GUEST_RFLAGS, RFL | RFL_IF);
        pit_arm_count(EXTINT_SOON);
        vmxc_check(irq0_requested(), W(what, "IRQ 0 requested before the entry"));
        if (!exit_is(what, R_EXTINT, enter(l2x_extint_wait)))
            continue;
        vmxc_check_eq(W(what, "guest RIP at L2's first instruction"), pa(l2x_extint_wait),
                      vmrd(VMCS_GUEST_RIP));
        if (cases[c].ack) {
            vmxc_check_eq(W(what, "exit interruption information"),
                          INFO_VALID | INFO_TYPE(T_EXT) | L1_VEC_IRQ0,
                          vmrd(VMCS_EXIT_INTR_INFO) & ~(uint64_t)INFO_NMI_UNBLOCKED);
            outb(PIC1_CMD, PIC_OCW2_EOI);
            vmxc_check_eq(W(what, "not delivered again through L1's IDT"), 0, l1_sti_window());
        } else {
            vmxc_check_eq(W(what, "exit interruption information not valid"), 0,
                          vmrd(VMCS_EXIT_INTR_INFO) & INFO_VALID);
            vmxc_check_eq(W(what, "L1 takes it once it sets IF"), 1, l1_sti_window());
        }
    }
}

static void section_extint(void)
{
    vmxc_section_begin();
    if (!ctl_can1(pin_msr(), PIN_EXTINT_EXITING)) {
        vmxc_section_end("l2extint");
        return;
    }
    /* L1's IDT: its exception vectors and IRQ 0's. */
    l1_idt_install(l1_idt, sizeof(l1_idt), L1_VEC_IRQ0, l2x_l1_irq);
    pic_setup();
    const uint32_t exit_no_ack = (uint32_t)base_exit & ~EXIT_ACK_INTR_ON_EXIT;
    if (ctl_can0(exit_msr(), EXIT_ACK_INTR_ON_EXIT) &&
        extint_exit("extint, no acknowledge on exit", exit_no_ack)) {
        /* 27.2.2: without the control the information is invalid, and the
         * interrupt is still requested at the controller. */
        vmxc_check_eq("extint, no ack: exit interruption information not valid", 0,
                      vmrd(VMCS_EXIT_INTR_INFO) & INFO_VALID);
        vmxc_check_eq("extint, no ack: IRQ 0 still requested (IRR)", PIC_IRQ0,
                      pic_read(PIC_OCW3_IRR) & PIC_IRQ0);
        vmxc_check_eq("extint, no ack: IRQ 0 not in service", 0,
                      pic_read(PIC_OCW3_ISR) & PIC_IRQ0);
        vmxc_check_eq("extint, no ack: L1 takes it once it sets IF", 1, l1_sti_window());
        vmxc_check_eq("extint, no ack: L1's handler ended it (ISR clear)", 0,
                      pic_read(PIC_OCW3_ISR) & PIC_IRQ0);
    }
    if (ctl_can1(exit_msr(), EXIT_ACK_INTR_ON_EXIT) &&
        extint_exit("extint, acknowledge on exit", exit_no_ack | EXIT_ACK_INTR_ON_EXIT)) {
        /* 27.2.2, 24.9.2: vector, type 0 (external interrupt), no error
         * code, valid; the CPU acknowledged the 8259: in service now. */
        vmxc_check_eq("extint, ack: exit interruption information",
                      INFO_VALID | INFO_TYPE(T_EXT) | L1_VEC_IRQ0,
                      vmrd(VMCS_EXIT_INTR_INFO) & ~(uint64_t)INFO_NMI_UNBLOCKED);
        vmxc_check_eq("extint, ack: IRQ 0 in service", PIC_IRQ0, pic_read(PIC_OCW3_ISR) & PIC_IRQ0);
        vmxc_check_eq("extint, ack: IRQ 0 no longer requested", 0,
                      pic_read(PIC_OCW3_IRR) & PIC_IRQ0);
        outb(PIC1_CMD, PIC_OCW2_EOI);
        vmxc_check_eq("extint, ack: EOI ends it", 0, pic_read(PIC_OCW3_ISR) & PIC_IRQ0);
        vmxc_check_eq("extint, ack: not delivered again through L1's IDT", 0, l1_sti_window());
    }
    extint_at_entry(exit_no_ack);
    outb(PIC1_DATA, PIC_ALL_MASKED);
    l1_idt_restore();
    /* 24.7.1 bit 22, 27.3.4: the value left at each exit; the next entry
     * counts on from it. */
    if (ctl_can1(pin_msr(), PIN_PREEMPTION_TIMER) && ctl_can1(exit_msr(), EXIT_SAVE_PREEMPT_TIMER)) {
        reset();
        vmwr(VMCS_PIN_CONTROLS, base_pin | PIN_PREEMPTION_TIMER);
        vmwr(VMCS_EXIT_CONTROLS, base_exit | EXIT_SAVE_PREEMPT_TIMER);
        vmwr(VMCS_PREEMPT_TIMER_VALUE, TIMER_START);
        if (exit_is("timer saved, first run", R_CPUID, enter(l2x_timer_runs))) {
            const uint64_t first = vmrd(VMCS_PREEMPT_TIMER_VALUE);
            vmxc_check(first > 0 && first < TIMER_START,
                       "timer saved, first run: below the value loaded, not run out");
            if (exit_is("timer saved, second run", R_CPUID, next()))
                vmxc_check(vmrd(VMCS_PREEMPT_TIMER_VALUE) < first,
                           "timer saved, second run: lower than the first");
        }
    }
    vmxc_section_end("l2extint");
}

/* ---- l2nmi: SDM 25.2, 25.3, 26.7.5, 27.2.2, 24.9.2 ---- */

#define LAPIC_BASE       0xFEE00000ULL
#define LAPIC_ID         0x020
#define LAPIC_VERSION    0x030
#define LAPIC_TPR        0x080
#define LAPIC_TPR_TEST   0x20
#define LAPIC_SVR        0x0F0
#define LAPIC_ICR_LO     0x300
#define LAPIC_ICR_HI     0x310
#define LAPIC_ID_SHIFT   24
#define LAPIC_SVR_ENABLE (1u << 8)
#define ICR_DM_NMI       (4u << 8)  /* delivery mode NMI (SDM Vol. 3A 10.6.1) */
#define LAPIC_GIB        3          /* the PDPT entry of 0xC0000000-0xFFFFFFFF */
#define LAPIC_PDE        ((LAPIC_BASE >> 21) & 511)
#define PTE_P_RW         0x3ULL
#define PTE_PS           0x80ULL
#define PTE_ADDR         0x000FFFFFFFFFF000ULL   /* a table's address (SDM Vol. 3A Table 4-16) */
#define PTE_PWT_PCD      0x18ULL    /* uncached (SDM Vol. 3A 11.12.3) */
#define NMI_SPIN         100000
#define T_NMI            2

extern uint64_t vmxc_pdpt[512];
extern char l2x_l1_nmi[];
static uint64_t lapic_pd[512] __attribute__((aligned(4096)));
static uint32_t nmi_idt[VMXC_IDT_VECTORS][4] __attribute__((aligned(16)));
static volatile unsigned l1_nmis;
static unsigned l1_nmis_expected;   /* the NMIs L1 sends itself in section l2nmi */

static inline void lapic_write(uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v;
}
static inline uint32_t lapic_read(uint32_t reg)
{
    return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

/* An NMI to this CPU by its APIC ID (SDM Vol. 3A 10.6.1). */
static void self_nmi(void)
{
    lapic_write(LAPIC_ICR_HI, (lapic_read(LAPIC_ID) >> LAPIC_ID_SHIFT) << LAPIC_ID_SHIFT);
    lapic_write(LAPIC_ICR_LO, ICR_DM_NMI);
}

/* Run in L1's NMI handler (l2x_l1_nmi): NMIs are blocked until its IRET
 * (SDM Vol. 3A 6.7.1), so an NMI L1 sends itself now stays pending; L1
 * then enters L2, which unblocks it (26.3.2.5: L2's blocking is vmcs12's),
 * and it is recognized right after the entry (26.7.5). */
void l2x_nmi_cases(void);
void l2x_nmi_cases(void)
{
    l1_nmis++;
    if (l1_nmis > 1)
        return;         /* the one held by the blocking check below, after our IRET */
    /* Bochs 2.7 keeps L1's NMI blocking across the entry (docs/platforms.md):
     * bare, these run only with "strict". */
    if (vmxc_opt_bare && !vmxc_opt_strict)
        return;
    /* 25.2: with "NMI exiting" it exits, reason 0, before L2's first
     * instruction; 27.2.2, 24.9.2: vector 2, type NMI, valid. */
    if (ctl_can1(pin_msr(), PIN_NMI_EXITING)) {
        self_nmi();
        reset();
        vmwr(VMCS_PIN_CONTROLS, base_pin | PIN_NMI_EXITING);
        if (exit_is("NMI pending at entry, NMI exiting", R_EXCEPTION, enter(l2x_extint_wait))) {
            vmxc_check_eq("NMI exit: interruption information (27.2.2)",
                          INFO_VALID | INFO_TYPE(T_NMI) | X86_VEC_NMI,
                          vmrd(VMCS_EXIT_INTR_INFO) & ~(uint64_t)INFO_NMI_UNBLOCKED);
            vmxc_check_eq("NMI exit: guest RIP at L2's first instruction", pa(l2x_extint_wait),
                          vmrd(VMCS_GUEST_RIP));
        }
    }
    /* 25.3: without it the NMI is L2's: delivered through L2's IDT. */
    if (ctl_can0(pin_msr(), PIN_NMI_EXITING) && !(base_pin & PIN_NMI_EXITING)) {
        self_nmi();
        reset();
        l2_handled("NMI pending at entry, no NMI exiting: L2's vector 2", enter(l2x_extint_wait),
                   X86_VEC_NMI, 0, pa(l2x_extint_wait));
    }
    /* SDM 24.4.2, 27.5: an NMI-caused VM exit leaves NMIs blocked (until
     * L1's next IRET): one L1 sends itself after it is held, and taken
     * after this handler's IRET. Last, so that no case above takes the
     * held NMI into L2 (one NMI pending at most, Vol. 3A 6.7.1). */
    if (ctl_can1(pin_msr(), PIN_NMI_EXITING)) {
        self_nmi();
        reset();
        vmwr(VMCS_PIN_CONTROLS, base_pin | PIN_NMI_EXITING);
        if (exit_is("NMI pending at entry, again", R_EXCEPTION, enter(l2x_extint_wait))) {
            self_nmi();
            l1_nmis_expected++;
            for (unsigned i = 0; i < NMI_SPIN; i++)
                ;
            vmxc_check_eq("NMI exit: NMIs blocked after it (24.4.2, 27.5)", 1, l1_nmis);
        }
    }
}

static void section_nmi(void)
{
    vmxc_section_begin();
    /* L1's local APIC, uncached, in the fourth GiB of its page tables. */
    lapic_pd[LAPIC_PDE] = LAPIC_BASE | PTE_P_RW | PTE_PS | PTE_PWT_PCD;
    vmxc_pdpt[LAPIC_GIB] = pa(lapic_pd) | PTE_P_RW;
    __asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
    lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | LAPIC_SVR_ENABLE);
    /* L1's IDT with its NMI handler (vector 2). */
    l1_idt_install(nmi_idt, sizeof(nmi_idt), X86_VEC_NMI, l2x_l1_nmi);
    l1_nmis = 0;
    l1_nmis_expected = 1;
    self_nmi();         /* taken at once, whatever RFLAGS.IF (Vol. 3A 6.8.1) */
    for (unsigned i = 0; i < NMI_SPIN && l1_nmis < l1_nmis_expected; i++)
        ;
    vmxc_check_eq("NMI: L1's own (and the one held), taken through its IDT", l1_nmis_expected,
                  l1_nmis);
    l1_idt_restore();
    vmxc_section_end("l2nmi");
}

/* ---- l2ept: SDM 28.3, 27.2.1 Table 27-7 ---- */

#define EPT_R  1ULL
#define EPT_W  2ULL
#define EPT_X  4ULL
#define EPT_WB (6ULL << 3)
#define EPT_PS BIT(7)

static void ept_exit(const char *what, uint64_t r, const void *rip, uint64_t gpa, uint64_t bits)
{
    if (!exit_is(what, R_EPT_VIOL, r))
        return;
    vmxc_check_eq(W(what, "guest RIP"), pa(rip), vmrd(VMCS_GUEST_RIP));
    vmxc_check_eq(W(what, "guest-physical address"), gpa, vmrd(VMCS_GUEST_PHYS_ADDR));
    vmxc_check_eq(W(what, "guest-linear address"), gpa, vmrd(VMCS_GUEST_LINEAR_ADDR));
    /* Bits 2:0 the access, 5:3 the permissions, 7 linear address valid,
     * 8 the access was to the translation of it. */
    vmxc_check_eq(W(what, "qualification bits 8:0 but 6"), bits,
                  vmrd(VMCS_EXIT_QUALIFICATION) & 0x1BF);
}

static uint64_t l2_page(unsigned n, unsigned offset)
{
    return EPT4K_L2 + n * 4096ULL + offset;
}

/* L2 runs l2x_poke (store @value at @store, then load @load) or, with
 * @store 0, l2x_peek (the load). */
static uint64_t poke(uint64_t store, uint64_t value, uint64_t load)
{
    l2x_in[0] = store;
    l2x_in[1] = value;
    l2x_in[2] = load;
    return enter(store ? l2x_poke : l2x_peek);
}

/* EPT12 maps L2-physical 8-10 MiB with single 4 KiB pages (28.3.2) that
 * do not make a 2 MiB page: L2 page k is L1 page perm[k] of 5 MiB, L2
 * page 8 is L1's page of L2 page 1 again, L2 page 9 that of L2 page 3
 * read-only; the rest of the table is not present. L2 reads what L1 wrote
 * through each, writes through one alias and reads through the other, a
 * write to the read-only page is an EPT violation (27.2.1 Table 27-7:
 * data write, readable, linear address valid, to the translation) until
 * L1 makes it writable, and a read past the mapped pages is one too. */
static void ept_strio(const unsigned *perm);
static void ept_device(void);

static void section_ept_4k(void)
{
    static const unsigned perm[EPT4K_PAGES] = { 5, 2, 7, 0, 3, 6, 1, 4 };
    volatile uint64_t *l1 = (volatile uint64_t *)(uintptr_t)EPT4K_L1;
    memset(ept_pt4k, 0, sizeof(ept_pt4k));
    for (unsigned k = 0; k < EPT4K_PAGES; k++) {
        ept_pt4k[k] = (EPT4K_L1 + perm[k] * 4096ULL) | EPT_R | EPT_W | EPT_X | EPT_WB;
        l1[perm[k] * 512] = 0x4C3100ULL + perm[k];     /* L1 page j starts with ...j */
        l1[perm[k] * 512 + 3] = l1[perm[k] * 512 + 4] = 0;
    }
    ept_pt4k[EPT4K_ALIAS] = ept_pt4k[1];
    ept_pt4k[EPT4K_RO] = (EPT4K_L1 + perm[3] * 4096ULL) | EPT_R | EPT_WB;
    ept_pd[EPT4K_L2 >> 21] = pa(ept_pt4k) | EPT_R | EPT_W | EPT_X;
    vmx_invept(INVEPT_ALL_CONTEXT, 0);
    unsigned right = 0;
    for (unsigned k = 0; k < EPT4K_PAGES; k++)
        if (poke(0, 0, l2_page(k, 0)) == VR_EXIT(R_VMCALL) && l2x_out[0] == 0x4C3100ULL + perm[k])
            right++;
    vmxc_check_eq("EPT 4K scattered: L2 pages read their permuted L1 pages", EPT4K_PAGES, right);
    if (exit_is("EPT 4K alias: write through one page, read through the other", R_VMCALL,
                poke(l2_page(EPT4K_ALIAS, 24), 0xA11A5ED0, l2_page(1, 24))))
        vmxc_check_eq("EPT 4K alias: L2 reads its write", 0xA11A5ED0, l2x_out[0]);
    vmxc_check_eq("EPT 4K alias: L1 sees L2's write", 0xA11A5ED0, l1[perm[1] * 512 + 3]);
    ept_exit("EPT 4K: write to a read-only 4 KiB page",
             poke(l2_page(EPT4K_RO, 32), 1, l2_page(EPT4K_RO, 0)), l2x_poke_store,
             l2_page(EPT4K_RO, 32), 0x18A);
    if (exit_is("EPT 4K: read of the read-only page passes", R_VMCALL,
                poke(0, 0, l2_page(EPT4K_RO, 0))))
        vmxc_check_eq("EPT 4K: L2 read L1's page through it", 0x4C3100ULL + perm[3], l2x_out[0]);
    vmxc_check_eq("EPT 4K: L1's page unchanged by the refused write", 0, l1[perm[3] * 512 + 4]);
    /* Made writable without INVEPT: the EPT violation dropped what was
     * cached for that address (28.4.3.1), so the write now goes through. */
    ept_pt4k[EPT4K_RO] |= EPT_W;
    if (exit_is("EPT 4K: the page made writable takes the write", R_VMCALL,
                poke(l2_page(EPT4K_RO, 32), 0x3D17AB1E, l2_page(EPT4K_RO, 32))))
        vmxc_check_eq("EPT 4K: L2 reads its write there", 0x3D17AB1E, l2x_out[0]);
    vmxc_check_eq("EPT 4K: L1 sees it in its page", 0x3D17AB1E, l1[perm[3] * 512 + 4]);
    ept_exit("EPT 4K: read of a page the table does not map",
             poke(0, 0, l2_page(EPT4K_RO + 1, 8)), l2x_peek_load, l2_page(EPT4K_RO + 1, 8), 0x181);
    ept_strio(perm);
    ept_device();
}

/* EPT12 maps an L2 page onto L1's local APIC (L1-physical FEE00000H,
 * uncached): L2's accesses there reach L1's APIC, as any access goes to
 * what is at its physical address (SDM 28.3.3.1 "the guest-physical
 * address translates to a physical address"; Vol. 3A 10.4.1): L2 reads
 * the version register L1 reads, and writes the TPR L1 then reads. */
static void ept_device(void)
{
    ept_pt4k[EPT4K_LAPIC] = LAPIC_BASE | EPT_R | EPT_W;       /* memory type 0: UC */
    vmx_invept(INVEPT_ALL_CONTEXT, 0);
    l2x_in[2] = l2_page(EPT4K_LAPIC, LAPIC_VERSION);
    if (exit_is("EPT device: L2 reads L1's APIC version register, VMCALL", R_VMCALL,
                enter(l2x_peek32)))
        vmxc_check_eq("EPT device: L2's APIC version is L1's", lapic_read(LAPIC_VERSION),
                      l2x_out[0] & 0xFFFFFFFF);
    const uint32_t tpr = lapic_read(LAPIC_TPR);
    l2x_in[0] = l2_page(EPT4K_LAPIC, LAPIC_TPR);
    l2x_in[1] = LAPIC_TPR_TEST;
    l2x_in[2] = l2_page(EPT4K_LAPIC, LAPIC_TPR);
    if (exit_is("EPT device: L2 writes and reads L1's APIC TPR, VMCALL", R_VMCALL,
                enter(l2x_poke32)))
        vmxc_check_eq("EPT device: L2 reads back its TPR", LAPIC_TPR_TEST,
                      l2x_out[0] & 0xFFFFFFFF);
    vmxc_check_eq("EPT device: L1's APIC has L2's TPR", LAPIC_TPR_TEST, lapic_read(LAPIC_TPR));
    lapic_write(LAPIC_TPR, tpr);
    ept_pt4k[EPT4K_LAPIC] = 0;
    vmx_invept(INVEPT_ALL_CONTEXT, 0);
}

/* String I/O to a port L1 lets through, with EPT: each element's memory
 * operand is L2-linear, through L2's paging and then EPT12 (SDM 28.3.1;
 * Vol. 2B OUTS, INS, REP): REP OUTSB across two scattered L2 pages reads
 * their permuted L1 pages, REP INSB writes through the alias page; an
 * element EPT12 refuses is an EPT violation at the instruction (27.2.1
 * Table 27-7, 28.3.3.2) with the elements before it done; one refused in
 * the walk of L2's paging has bit 8 clear and the entry's address. */
/* SDM Vol. 3A 4.8: the accesses of L2's string I/O set the accessed flag
 * of the paging-structure entries their translation uses, and a write the
 * dirty flag of the entry that maps the page: here the 2 MiB PDE of
 * L2-linear 8-10 MiB in the page tables L2 shares with L1 (L1 never
 * touches that range, so only L2's accesses can set them). Cleared, then
 * a REP OUTSB (reads) sets A alone, a REP INSB (writes) D too. */
static void ept_strio_ad(void)
{
    volatile uint64_t *pde =
        (volatile uint64_t *)(uintptr_t)(vmxc_pdpt[0] & PTE_ADDR) + (EPT4K_L2 >> 21);
    *pde &= ~(X86_PTE_A | X86_PTE_D);
    __asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
    vmx_invept(INVEPT_ALL_CONTEXT, 0);
    l2x_in[0] = l2_page(1, 200);
    l2x_in[1] = 2;
    if (exit_is("EPT strio A/D: REP OUTSB, VMCALL", R_VMCALL, enter(l2x_outs)))
        vmxc_check_eq("EPT strio A/D: reads set the PDE's accessed flag, not its dirty flag",
                      X86_PTE_A, *pde & (X86_PTE_A | X86_PTE_D));
    l2x_in[0] = l2_page(1, 200);
    l2x_in[1] = 2;
    if (exit_is("EPT strio A/D: REP INSB, VMCALL", R_VMCALL, enter(l2x_ins)))
        vmxc_check_eq("EPT strio A/D: writes set the PDE's dirty flag",
                      X86_PTE_A | X86_PTE_D, *pde & (X86_PTE_A | X86_PTE_D));
}

static void ept_strio(const unsigned *perm)
{
    volatile uint8_t *l1 = (volatile uint8_t *)(uintptr_t)EPT4K_L1;
    if (ctl_can1(proc_msr(), PROC_USE_IO_BITMAPS)) {
        memset(io_a, 0, sizeof(io_a));
        memset(io_b, 0, sizeof(io_b));
        vmwr(VMCS_PROC_CONTROLS, vmrd(VMCS_PROC_CONTROLS) | PROC_USE_IO_BITMAPS);
        vmwr(VMCS_IO_BITMAP_A, pa(io_a));
        vmwr(VMCS_IO_BITMAP_B, pa(io_b));
    }
    ept_strio_ad();
    static const uint8_t bytes[4] = { 0x11, 0x22, 0x33, 0x44 };
    l1[perm[1] * 4096 + 4094] = bytes[0];
    l1[perm[1] * 4096 + 4095] = bytes[1];
    l1[perm[2] * 4096 + 0] = bytes[2];
    l1[perm[2] * 4096 + 1] = bytes[3];
    l1[perm[1] * 4096 + 100] = l1[perm[1] * 4096 + 101] = 0;
    l2x_in[0] = l2_page(1, 4094);
    l2x_in[1] = 4;
    if (exit_is("EPT strio: REP OUTSB across two scattered pages, VMCALL", R_VMCALL,
                enter(l2x_outs))) {
        vmxc_check_eq("EPT strio: REP OUTSB: RSI past the source", l2_page(1, 4094) + 4,
                      l2x_out[0]);
        vmxc_check_eq("EPT strio: REP OUTSB: the last byte of L1's second page out", bytes[3],
                      inb(UART_SCR));
    }
    l2x_in[0] = l2_page(EPT4K_ALIAS, 100);
    l2x_in[1] = 2;
    outb(UART_SCR, 0x5C);
    if (exit_is("EPT strio: REP INSB through the alias page, VMCALL", R_VMCALL, enter(l2x_ins))) {
        vmxc_check_eq("EPT strio: REP INSB: RDI past the destination",
                      l2_page(EPT4K_ALIAS, 100) + 2, l2x_out[0]);
        vmxc_check_eq("EPT strio: REP INSB: L1's page of L2 page 1 has both bytes",
                      0x5C5C, l1[perm[1] * 4096 + 100] | l1[perm[1] * 4096 + 101] << 8);
    }
    ept_pt4k[EPT4K_RO] &= ~(uint64_t)EPT_W;
    vmx_invept(INVEPT_ALL_CONTEXT, 0);
    l2x_in[0] = l2_page(EPT4K_RO, 4094);
    l2x_in[1] = 3;
    const uint64_t r = enter(l2x_ins);
    ept_exit("EPT strio: REP INSB into a read-only page", r, l2x_ins_insn,
             l2_page(EPT4K_RO, 4094), 0x18A);
    if (r == VR_EXIT(R_EPT_VIOL))
        vmxc_check_eq("EPT strio: REP INSB refused at its first element: RCX 3", 3,
                      l2x_gprs[G_RCX]);
    l2x_in[0] = l2_page(EPT4K_RO, 4094);
    l2x_in[1] = 3;
    const uint64_t o = enter(l2x_outs);
    ept_exit("EPT strio: REP OUTSB running into an unmapped page", o, l2x_outs_insn,
             l2_page(EPT4K_RO + 1, 0), 0x181);
    if (o == VR_EXIT(R_EPT_VIOL)) {
        vmxc_check_eq("EPT strio: REP OUTSB: two elements done, RCX 1", 1, l2x_gprs[G_RCX]);
        vmxc_check_eq("EPT strio: REP OUTSB: RSI at the refused element",
                      l2_page(EPT4K_RO + 1, 0), l2x_gprs[G_RSI]);
    }
    /* The refusal in the translation of the element's linear address: its
     * page directory (L2-physical EPT_NONE_GPA's page, above what EPT12
     * maps) behind the page tables' second GiB, for L2 only (L1 never
     * touches that GiB while it is set). 27.2.1 Table 27-7: a read, no
     * permissions, the linear address valid, bit 8 clear (a paging-structure
     * entry); the guest-physical address the entry's, the linear the
     * element's. */
    const uint64_t pd_gpa = EPT_NONE_GPA & ~0xFFFULL;
    vmxc_pdpt[PF_ADDR >> 30] = pd_gpa | PTE_P_RW;
    l2x_in[0] = PF_ADDR;
    l2x_in[1] = 2;
    const uint64_t w = enter(l2x_outs);
    vmxc_pdpt[PF_ADDR >> 30] = 0;
    __asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
    if (exit_is("EPT strio: REP OUTSB whose page directory EPT12 does not map", R_EPT_VIOL, w)) {
        vmxc_check_eq("EPT strio: page-directory refusal: guest RIP at the instruction",
                      pa(l2x_outs_insn), vmrd(VMCS_GUEST_RIP));
        vmxc_check_eq("EPT strio: page-directory refusal: guest-physical address of the PDE",
                      pd_gpa, vmrd(VMCS_GUEST_PHYS_ADDR));
        vmxc_check_eq("EPT strio: page-directory refusal: guest-linear address of the element",
                      PF_ADDR, vmrd(VMCS_GUEST_LINEAR_ADDR));
        vmxc_check_eq("EPT strio: page-directory refusal: qualification bits 8:0 but 6 (read, "
                      "linear valid, not the translation)", 0x81,
                      vmrd(VMCS_EXIT_QUALIFICATION) & 0x1BF);
        vmxc_check_eq("EPT strio: page-directory refusal: no element done, RCX 2", 2,
                      l2x_gprs[G_RCX]);
    }
}

static void section_ept(void)
{
    uint64_t r;
    vmxc_section_begin();
    const uint64_t need = EPT_CAP_PAGE_WALK_4 | EPT_CAP_MEMTYPE_WB | EPT_CAP_2MB_PAGES;
    if (ctl_can1(proc_msr(), PROC_ACTIVATE_SECONDARY) && ctl_can1(proc2_msr(), PROC2_ENABLE_EPT) &&
        (caps.ept_vpid & need) == need) {
        /* Identity: 0-6 MiB RWX, 6-8 MiB read/execute, nothing above. */
        memset(ept_pml4, 0, sizeof(ept_pml4));
        memset(ept_pdpt, 0, sizeof(ept_pdpt));
        memset(ept_pd, 0, sizeof(ept_pd));
        ept_pml4[0] = pa(ept_pdpt) | EPT_R | EPT_W | EPT_X;
        ept_pdpt[0] = pa(ept_pd) | EPT_R | EPT_W | EPT_X;
        for (unsigned i = 0; i < 3; i++)
            ept_pd[i] = (uint64_t)i << 21 | EPT_R | EPT_W | EPT_X | EPT_WB | EPT_PS;
        ept_pd[3] = 3ULL << 21 | EPT_R | EPT_X | EPT_WB | EPT_PS;
        *(volatile uint64_t *)(uintptr_t)EPT_RO_GPA = 0x0123456789ABCDEFULL;
        reset();
        vmwr(VMCS_PROC_CONTROLS, base_proc | PROC_ACTIVATE_SECONDARY);
        vmwr(VMCS_PROC_CONTROLS2, base_proc2 | PROC2_ENABLE_EPT);
        vmwr(VMCS_EPT_POINTER, pa(ept_pml4) | 6 | 3 << 3);   /* WB, 4 levels (24.6.11) */
        exit_is("EPT: L2 runs, CPUID exits", R_CPUID, enter(vmxc_l2_entry));
        ept_exit("EPT: read of an unmapped address", enter(l2x_ept_unmapped), l2x_ept_unmapped,
                 EPT_NONE_GPA, 0x181);
        ept_exit("EPT: write to a read/execute 2 MiB page", enter(l2x_ept_write), l2x_ept_write,
                 EPT_RO_GPA, 0x1AA);
        if (exit_is("EPT: read of the read/execute page passes", R_VMCALL, enter(l2x_ept_read)))
            vmxc_check_eq("EPT: L2 read L1's value there", 0x0123456789ABCDEFULL, l2x_out[0]);
        /* The same 6-8 MiB through a page table of 512 4 KiB pages (28.3.2):
         * the same translation and rights, so the same outcomes. */
        for (unsigned i = 0; i < 512; i++)
            ept_pt[i] = ((3ULL << 21) + ((uint64_t)i << 12)) | EPT_R | EPT_X | EPT_WB;
        ept_pd[3] = pa(ept_pt) | EPT_R | EPT_W | EPT_X;
        vmx_invept(INVEPT_ALL_CONTEXT, 0);
        ept_exit("EPT 4K: write to a read/execute 4 KiB page", enter(l2x_ept_write), l2x_ept_write,
                 EPT_RO_GPA, 0x1AA);
        if (exit_is("EPT 4K: read of the read/execute page passes", R_VMCALL, enter(l2x_ept_read)))
            vmxc_check_eq("EPT 4K: L2 read L1's value there", 0x0123456789ABCDEFULL, l2x_out[0]);
        section_ept_4k();
    }
    /* Without EPT L2-physical is L1-physical. */
    reset();
    if (caps.has_proc2 && ctl_can0(proc2_msr(), PROC2_ENABLE_EPT))
        vmwr(VMCS_PROC_CONTROLS2, base_proc2 & ~(uint64_t)PROC2_ENABLE_EPT);
    if (ctl_can1(proc_msr(), PROC_UNCOND_IO_EXITING)) {
        vmwr(VMCS_PROC_CONTROLS, base_proc | PROC_UNCOND_IO_EXITING);
        l2x_in[0] = 0xFEEDFACE;
        r = enter(l2x_mem);
        if (insn_exit("no EPT: CPUID", r, R_CPUID, l2x_mem, 2, 0) &&
            insn_exit("no EPT: OUT 80H", next(), R_IO, l2x_mem + 2, 2, ioq(1, 0, 0, 0, 1, 0x80)) &&
            exit_is("no EPT: VMCALL", R_VMCALL, next()))
            vmxc_check_eq("no EPT: L2 read L1's memory at the same address", 0xFEEDFACE, l2x_out[0]);
    }
    vmxc_section_end("l2ept");
}

/* ---- l2shadow: VMCS shadowing, SDM 24.6.2, 24.6.15, 24.10, 25.1.3, 26.2.1.1,
 * 26.3.1.5, Vol. 2C VMREAD/VMWRITE/VMLAUNCH ---- */

#define R_VMREAD       23
#define R_VMWRITE      25
#define RFL_CF         BIT(0)
#define RFL_ZF         BIT(6)
#define R_ENTRY_FAIL_GUEST 33
#define LINK_QUAL      4                 /* 27.8: VMCS link pointer */
#define II_RR(r1, r2)  ((uint64_t)(r1) << 3 | 1u << 10 | (uint64_t)(r2) << 28)
#define G_RAX_N        0
#define G_RBX_N        3

static void bm_set(uint8_t *bm, uint32_t enc)
{
    bm[(enc & VMX_RW_BITMAP_INDEX_MASK) / 8] |= (uint8_t)(1u << (enc % 8));
}

/* L2 runs VMREAD or VMWRITE (@write) of field @field (@value in RBX for a
 * VMWRITE) and VMCALLs: the exit, and l2x_gprs as L2 left them. */
static uint64_t l2_vmx(int write, uint64_t field, uint64_t value)
{
    vmwr(VMCS_GUEST_RIP, pa(write ? l2x_vmwrite : l2x_vmread));
    vmwr(VMCS_GUEST_RSP, pa(&l2x_stack[1024]));
    memset(l2x_gprs, 0, sizeof(l2x_gprs));
    l2x_gprs[G_RAX_N] = field;
    l2x_gprs[G_RBX_N] = value;
    return go();
}

/* The outcome L2 saw in RFLAGS (SDM 30.2). */
static uint64_t l2_vr(void)
{
    uint64_t fl = l2x_gprs[G_RCX];
    return (fl & RFL_CF) ? VR_INVALID : (fl & RFL_ZF) ? VR_VALID(vmrd(VMCS_INSTR_ERROR)) : VR_OK;
}

static void section_shadow(void)
{
    uint64_t r, v = 0;
    if (!ctl_can1(proc2_msr(), PROC2_VMCS_SHADOWING)) {
        vmxc_printf("%s: l2shadow: skipped (no VMCS shadowing in IA32_VMX_PROCBASED_CTLS2)\n",
                    vmxc_name);
        return;
    }
    vmxc_section_begin();
    /* A shadow VMCS (24.2: revision with bit 31) in the root: VMPTRLD takes
     * it (Vol. 2C VMPTRLD), VMREAD/VMWRITE work on it, VMLAUNCH and
     * VMRESUME refuse it with VMfailInvalid (24.10, 26.1). */
    vmxc_write_revision(shadow_vmcs, caps.revision | VMCS_REVISION_SHADOW);
    vmxc_check_vr("VMCLEAR of a shadow VMCS (VMCLEAR)", VR_OK, vmx_vmclear(pa(shadow_vmcs)));
    vmxc_check_vr("VMPTRLD of a shadow VMCS (VMPTRLD)", VR_OK, vmx_vmptrld(pa(shadow_vmcs)));
    vmxc_check_vr("VMWRITE to a shadow VMCS (VMWRITE)", VR_OK, vmx_vmwrite(VMCS_GUEST_RSP, 0x1234));
    vmxc_check_vr("VMWRITE to a shadow VMCS, a 16-bit field (VMWRITE)", VR_OK,
                  vmx_vmwrite(VMCS_GUEST_ES_SEL, 0x28));
    vmxc_check_vr("VMREAD of a shadow VMCS (VMREAD)", VR_OK, vmx_vmread(VMCS_GUEST_RSP, &v));
    vmxc_check_eq("VMREAD of a shadow VMCS: the value written", 0x1234, v);
    /* 26.1 item 4. Bochs 2.7 does not check it (it goes on to 26.1 item 5
     * and 26.2: VMfailValid 5 or 7, docs/platforms.md): bare only with
     * "strict"; always where the VMX below is not Bochs's own. */
    if (vmxc_opt_strict || !vmxc_opt_bare) {
        vmxc_check_vr("VMLAUNCH of a shadow VMCS: VMfailInvalid (26.1)", VR_INVALID,
                      vmx_launch(0));
        vmxc_check_vr("VMRESUME of a shadow VMCS: VMfailInvalid (26.1)", VR_INVALID,
                      vmx_launch(VMXC_ENTER_RESUME));
    }
    /* Software VMCLEARs a shadow VMCS before linking it (24.11.1). */
    vmxc_check_vr("VMCLEAR of the shadow VMCS before linking it", VR_OK,
                  vmx_vmclear(pa(shadow_vmcs)));
    vmxc_check_vr("VMPTRLD the ordinary VMCS again", VR_OK, vmx_vmptrld(pa(vmcs_region)));

    /* L1 lets L2 use the shadow: GUEST_RSP and ES selector clear in both
     * bitmaps, GUEST_RIP set in both, EXIT_REASON clear (read-only). */
    memset(vmread_bm, 0, sizeof(vmread_bm));
    memset(vmwrite_bm, 0, sizeof(vmwrite_bm));
    bm_set(vmread_bm, VMCS_GUEST_RIP);
    bm_set(vmwrite_bm, VMCS_GUEST_RIP);
    reset();
    vmwr(VMCS_PROC_CONTROLS, base_proc | PROC_ACTIVATE_SECONDARY);
    vmwr(VMCS_PROC_CONTROLS2, base_proc2 | PROC2_VMCS_SHADOWING);
    vmwr(VMCS_VMREAD_BITMAP, pa(vmread_bm));
    vmwr(VMCS_VMWRITE_BITMAP, pa(vmwrite_bm));
    vmwr(VMCS_LINK_POINTER, pa(shadow_vmcs));

    /* 25.1.3: bit clear, no exit: L2 reads and writes the shadow. */
    r = l2_vmx(0, VMCS_GUEST_RSP, 0);
    if (exit_is("L2 VMREAD, bitmap bit clear: no exit, then VMCALL", R_VMCALL, r)) {
        vmxc_check_vr("L2 VMREAD of the shadow: VMsucceed", VR_OK, l2_vr());
        vmxc_check_eq("L2 VMREAD of the shadow: the value L1 wrote there", 0x1234,
                      l2x_gprs[G_RBX]);
    }
    r = l2_vmx(1, VMCS_GUEST_ES_SEL, 0xABCDEF);
    if (exit_is("L2 VMWRITE, bitmap bit clear: no exit, then VMCALL", R_VMCALL, r))
        vmxc_check_vr("L2 VMWRITE of the shadow: VMsucceed", VR_OK, l2_vr());
    vmxc_check_eq("L2's VMWRITE left the ordinary VMCS's field alone", 0,
                  vmrd(VMCS_GUEST_ES_SEL) == 0xCDEF);
    /* 25.1.3: bit set: VMREAD exits (23), VMWRITE exits (25), with the
     * instruction information (27.2.5: RBX and RAX, register operands). */
    r = l2_vmx(0, VMCS_GUEST_RIP, 0);
    if (insn_exit("L2 VMREAD, bitmap bit set", r, R_VMREAD, l2x_vmread, 3, 0))
        vmxc_check_eq("L2 VMREAD exit: instruction information (27.2.5)", II_RR(3, 0),
                      vmrd(VMCS_EXIT_INSTR_INFO) & 0xF0000478);
    r = l2_vmx(1, VMCS_GUEST_RIP, 5);
    if (insn_exit("L2 VMWRITE, bitmap bit set", r, R_VMWRITE, l2x_vmwrite, 3, 0))
        vmxc_check_eq("L2 VMWRITE exit: instruction information (27.2.5)", II_RR(3, 0),
                      vmrd(VMCS_EXIT_INSTR_INFO) & 0xF0000478);
    /* 25.1.3: any of bits 63:15 of the field operand set: an exit. */
    r = l2_vmx(0, VMCS_GUEST_RSP | BIT(15), 0);
    exit_is("L2 VMREAD of a field with bit 15 set exits", R_VMREAD, r);
    r = l2_vmx(0, VMCS_GUEST_RSP | BIT(40), 0);
    exit_is("L2 VMREAD of a field with bit 40 set exits", R_VMREAD, r);
    /* VMREAD in VMX non-root (Vol. 2C): an unsupported field is
     * VMfailValid(12), the error in the ordinary VMCS (30.2). */
    r = l2_vmx(0, 0x6C7E, 0);
    if (exit_is("L2 VMREAD of no field: VMfailValid, then VMCALL", R_VMCALL, r))
        vmxc_check_vr("L2 VMREAD of no field (VMREAD)", VR_VALID(VMXERR_UNSUPPORTED_FIELD), l2_vr());
    /* VMWRITE of a read-only field: VMfailValid(13) unless IA32_VMX_MISC[29]. */
    r = l2_vmx(1, VMCS_EXIT_REASON, 77);
    if (exit_is("L2 VMWRITE of a read-only field, then VMCALL", R_VMCALL, r))
        vmxc_check_vr("L2 VMWRITE of a read-only field (VMWRITE, A.6)",
                      (caps.misc & VMX_MISC_VMWRITE_ANY_FIELD) ? VR_OK
                                                               : VR_VALID(VMXERR_VMWRITE_READ_ONLY),
                      l2_vr());
    /* What L2 wrote is in the shadow VMCS, for L1 to read from the root. */
    vmxc_check_vr("VMPTRLD the shadow VMCS after L2 ran", VR_OK, vmx_vmptrld(pa(shadow_vmcs)));
    vmxc_check_eq("the shadow VMCS holds L2's VMWRITE (truncated to 16 bits)", 0xCDEF,
                  vmrd(VMCS_GUEST_ES_SEL));
    vmxc_check_vr("VMPTRLD the ordinary VMCS after L2 ran", VR_OK, vmx_vmptrld(pa(vmcs_region)));
    /* No valid link pointer: L2's VMREAD is VMfailInvalid (Vol. 2C VMREAD). */
    vmwr(VMCS_LINK_POINTER, ~0ULL);
    r = l2_vmx(0, VMCS_GUEST_RSP, 0);
    if (exit_is("L2 VMREAD without a link pointer: VMfailInvalid, then VMCALL", R_VMCALL, r))
        vmxc_check_vr("L2 VMREAD without a link pointer (VMREAD)", VR_INVALID, l2_vr());
    /* 26.3.1.5: the link pointer's VMCS has bit 31 as "VMCS shadowing". */
    vmxc_write_revision(ordinary_vmcs, caps.revision);
    vmwr(VMCS_LINK_POINTER, pa(ordinary_vmcs));
    r = go();
    vmxc_check_vr("VM entry, VMCS shadowing and an ordinary VMCS linked (26.3.1.5)",
                  VR_EXIT(R_ENTRY_FAIL_GUEST | EXIT_REASON_ENTRY_FAILURE), r);
    vmxc_check_eq("... exit qualification 4, the link pointer (27.8)", LINK_QUAL,
                  vmrd(VMCS_EXIT_QUALIFICATION));
    vmwr(VMCS_PROC_CONTROLS2, base_proc2);
    vmwr(VMCS_LINK_POINTER, pa(shadow_vmcs));
    r = go();
    vmxc_check_vr("VM entry, a shadow VMCS linked without VMCS shadowing (26.3.1.5)",
                  VR_EXIT(R_ENTRY_FAIL_GUEST | EXIT_REASON_ENTRY_FAILURE), r);
    vmxc_check_eq("... exit qualification 4, the link pointer (27.8)", LINK_QUAL,
                  vmrd(VMCS_EXIT_QUALIFICATION));
    /* 26.2.1.1: the bitmap addresses 4-KiB aligned: VMfailValid(7). */
    vmwr(VMCS_PROC_CONTROLS2, base_proc2 | PROC2_VMCS_SHADOWING);
    vmwr(VMCS_VMREAD_BITMAP, pa(vmread_bm) + 8);
    vmxc_check_vr("VM entry, VMREAD bitmap unaligned (26.2.1.1)",
                  VR_VALID(VMXERR_ENTRY_INVALID_CONTROLS), go());
    vmwr(VMCS_VMREAD_BITMAP, pa(vmread_bm));
    vmwr(VMCS_VMWRITE_BITMAP, beyond_phys());
    vmxc_check_vr("VM entry, VMWRITE bitmap beyond MAXPHYADDR (26.2.1.1)",
                  VR_VALID(VMXERR_ENTRY_INVALID_CONTROLS), go());
    /* Back to no shadowing for what follows. */
    vmwr(VMCS_PROC_CONTROLS2, base_proc2);
    vmwr(VMCS_VMWRITE_BITMAP, pa(vmwrite_bm));
    vmwr(VMCS_LINK_POINTER, ~0ULL);
    reset();
    vmxc_section_end("l2shadow");
}

/* ---- l2state: SDM 27.3.2, what L2 changed of its segment and
 * descriptor-table registers, saved at the exit: read with VMREAD, and
 * after VMCLEAR and VMPTRLD (Vol. 2C VMCLEAR: the VMCS data in memory) ---- */

/* L2 loads ES with @sel and IDTR with @limit and @base (l2x_segs). */
static uint64_t l2_segs(uint16_t sel, uint16_t limit, uint64_t base)
{
    memset(l2x_in, 0, sizeof(l2x_in));
    memcpy((uint8_t *)l2x_in, &limit, sizeof limit);
    memcpy((uint8_t *)l2x_in + 2, &base, sizeof base);
    l2x_in[3] = sel;
    return enter(l2x_segs);
}

static void section_state(void)
{
    static const uint32_t es[] = { VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT,
                                   VMCS_GUEST_ES_AR };
    uint64_t es_was[4];
    vmxc_section_begin();
    reset();
    for (unsigned i = 0; i < 4; i++)
        es_was[i] = vmrd(es[i]);
    const uint64_t idt_base = vmrd(VMCS_GUEST_IDTR_BASE);
    const uint16_t idt_limit = (uint16_t)vmrd(VMCS_GUEST_IDTR_LIMIT);
    /* A null ES (unusable, 27.3.2) and a shorter IDT, read at once. */
    uint64_t r = l2_segs(0, (uint16_t)(idt_limit - 16), idt_base);
    if (exit_is("L2 loads ES and IDTR, then VMCALL", R_VMCALL, r)) {
        vmxc_check_eq("guest ES selector L2 loaded (27.3.2)", 0, vmrd(VMCS_GUEST_ES_SEL));
        vmxc_check_eq("guest ES unusable after a null selector (27.3.2)", X86_AR_UNUSABLE,
                      vmrd(VMCS_GUEST_ES_AR) & X86_AR_UNUSABLE);
        vmxc_check_eq("guest IDTR limit L2 loaded (27.3.2)", (uint16_t)(idt_limit - 16),
                      vmrd(VMCS_GUEST_IDTR_LIMIT));
        vmxc_check_eq("guest IDTR base L2 loaded (27.3.2)", idt_base, vmrd(VMCS_GUEST_IDTR_BASE));
    }
    /* Another ES and IDT limit, read only after VMCLEAR and VMPTRLD. */
    r = l2_segs(VMXC_SEL_DATA, (uint16_t)(idt_limit - 32), idt_base);
    if (exit_is("L2 loads ES and IDTR again, then VMCALL", R_VMCALL, r)) {
        vmxc_check_vr("VMCLEAR after L2's exit", VR_OK, vmx_vmclear(pa(vmcs_region)));
        vmxc_check_vr("VMPTRLD after it", VR_OK, vmx_vmptrld(pa(vmcs_region)));
        launched = 0;
        vmxc_check_eq("guest ES selector after VMCLEAR (27.3.2)", VMXC_SEL_DATA,
                      vmrd(VMCS_GUEST_ES_SEL));
        vmxc_check_eq("guest ES usable again after VMCLEAR", 0,
                      vmrd(VMCS_GUEST_ES_AR) & X86_AR_UNUSABLE);
        vmxc_check_eq("guest IDTR limit after VMCLEAR (27.3.2)", (uint16_t)(idt_limit - 32),
                      vmrd(VMCS_GUEST_IDTR_LIMIT));
    }
    for (unsigned i = 0; i < 4; i++)
        vmwr(es[i], es_was[i]);
    vmwr(VMCS_GUEST_IDTR_BASE, idt_base);
    vmwr(VMCS_GUEST_IDTR_LIMIT, idt_limit);
    reset();
    vmxc_section_end("l2state");
}

void vmxc_section_l2x(void)
{
    setup();
    section_io();
    section_msr();
    section_cr();
    section_exc();
    section_inject();
    section_timer();
    section_extint();
    section_nmi();
    section_ept();
    section_shadow();
    section_state();
}
