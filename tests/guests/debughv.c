/*
 * tests/guests/debughv.c - a minimal test hypervisor (L1, on vmxcheck's
 * entry and VMX code and nestbench's entry path) whose L2 is a program
 * with debug information to debug: the debuggee (debuggee.c linked at
 * 4 MiB, build/guests/debuggee-l2.elf, its ELF embedded by
 * debughv_payload.S). tests/system/inspector-l2.spec debugs that L2 with
 * gdb through an inspector stacked on nested-vmx's L2 vCPU; this L1 must
 * see nothing of it.
 *
 * L2's memory: EPT12 (SDM 28.3.2) maps the first GiB in 2 MiB pages,
 * identity but for the pages at L2-physical 4 MiB and 6 MiB, which are
 * swapped: L2's program lives in L1's memory at 6 MiB while L2 sees it at
 * 4 MiB, so a debugger that read L2's memory without EPT12 would read the
 * wrong bytes. L1 loads the ELF's PT_LOAD segments (lib/elf) where EPT12
 * puts their L2-physical addresses. L2 runs on L1's paging (identity) and
 * GDT, in 64-bit mode, RIP at the ELF's entry, RSP at the top of its 2 MiB
 * page, with no IDT (limit 0: it expects no exception, and every one exits
 * to L1 anyway).
 *
 * L1 asks for every exception (bitmap all ones, SDM 24.6.3: a debugger's
 * #BP or #DB reaching L1 is counted against it) and every port access
 * (unconditional I/O exiting, 24.6.2): L2's bytes to COM1 it writes to its
 * own COM1, L2's write to port 0xF4 (its failure count) ends L2. Then L1
 * prints `debughv: L2 ended with status N after M exits: I I/O, E
 * exceptions` and its checks (L2's status 0, no exception exit).
 *
 * L2's write to port 0xF5 (DEBUGHV_MOVDR_PORT: the gdb session writes
 * such an OUT into L2) makes L1 ask for L2's MOV DR exits from then on
 * (SDM 24.6.2 "MOV-DR exiting", 25.1.3), which L1 carries out on L2's
 * debug registers as it holds them: DR0-DR3 and DR6 in its own (not
 * switched, 27.3.1), DR7 in vmcs12's guest DR7 (SDM 17.2, 27.2.1 Table
 * 27-3); the count is in the last line. L2's write to port 0xF6
 * (DEBUGHV_TIMER_PORT) arms the VMX-preemption timer at 0 for L2's next
 * DEBUGHV_TIMER_EXITS entries (SDM 25.5.1, 26.7.4: an exit before L2's
 * first instruction), as an interrupt of L1's would take L2 out between
 * two instructions: a debugger's single step of L2 must go on after them.
 * L2's write to port 0xF7 (DEBUGHV_EPTWP_PORT) makes L1 take the write
 * right of L2's program's 2 MiB page (its code, data and stack) out of
 * EPT12 (INVEPT after, SDM 28.4.3.1): L2's next write there is an EPT
 * violation L1 gets (SDM 28.3.3.2), which gives the right back and lets
 * L2 write again; a debugger whose own EPT watchpoints withhold rights
 * there must let that one reach L1 (and never show L1 its own).
 *
 * A debugger of L2 must not show in what L1 sees at L2's exits (the gdb
 * session steps over L2's OUTs and keeps debug registers armed while L2
 * prints): at every exit L1 checks L2's RFLAGS.TF and pending single-step
 * trap (L2 sets neither; SDM 27.3.1, 24.4.2 Table 24-4), vmcs12's guest
 * DR7 (saved with "save debug controls", 27.3.1) and its own DR0-DR3 (not
 * switched: L2's, 27.3.1) against what L1 entered L2 with, and prints
 * each exit that shows a debugger; and it reads L2's code in its own
 * memory (the ELF's executable segments where it loaded them): a byte
 * 0xCC where the ELF has another is a debugger's int3 (SDM Vol. 2A INT3)
 * that L1 can see (the gdb session keeps breakpoints in L2's code while L2
 * exits to L1; the inspector puts them in debug registers, its overlay).
 * (calchv, the same L1 for a checkpoint test, does not read them.)
 */
#include "vmxcheck.h"
#include <elf64.h>
#include <stdbool.h>
#include <nestor/vmcs.h>
#include <x86_arch.h>
#include <x86_vmx.h>

#define REASON_EXCEPTION 0
#define REASON_MOV_DR    29
#define REASON_IO        30
#define REASON_PREEMPT_TIMER 52
#define REASON_EPT_VIOLATION 48             /* SDM Appendix C */
#define DEBUGHV_MOVDR_PORT 0xF5             /* L2's OUT there: L1 takes its MOV DRs */
#define DEBUGHV_TIMER_PORT 0xF6             /* ... L2's next entries exit at once */
#define DEBUGHV_EPTWP_PORT 0xF7             /* ... L2's next write to its program's page
                                               is an EPT violation for L1 */
#define DEBUGHV_TIMER_EXITS 3
#define SDM_GPR_RSP      4                  /* Table 27-3's register 4 (in the VMCS) */
#define DR_ALIAS_FIRST   4                  /* DR4, DR5: DR6, DR7 without CR4.DE (17.2.2) */
#define EPT_RWX          0x7ULL             /* SDM 28.3.2, Table 28-4 */
#define EPT_WB           (6ULL << 3)        /* memory type of a leaf */
#define EPT_LEAF_2M      BIT(7)
#define PAGE_2M          (1ULL << 21)
#define L2_PAGE          (4 * PAGE_2M / 2)  /* L2-physical 4 MiB: its program ... */
#define L2_HOME          (6 * PAGE_2M / 2)  /* ... in L1's memory at 6 MiB (and back) */
#define L2_STACK_TOP     (L2_PAGE + PAGE_2M - 16)
#define COM1             0x3F8
#define L2_MAX_EXITS     100000             /* a runaway L2 ends here */

/* The program and what this hypervisor is called (debughv_payload.S). */
extern const uint8_t debughv_payload[], debughv_payload_end[];
extern const char debughv_name[], debughv_what[];
extern const uint8_t debughv_int3_scan[];   /* (debughv_payload.S) */

/* L1's DR0-DR3 (SDM Vol. 2A MOV DR: at CPL 0). */
static void read_drs(uint64_t dr[4])
{
    __asm__ volatile("mov %%dr0, %0" : "=r"(dr[0]));
    __asm__ volatile("mov %%dr1, %0" : "=r"(dr[1]));
    __asm__ volatile("mov %%dr2, %0" : "=r"(dr[2]));
    __asm__ volatile("mov %%dr3, %0" : "=r"(dr[3]));
}

/* L2's general register @n in Table 27-3's numbering (SDM 27.2.1: 0 RAX,
 * 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8-15 R8-R15); RSP is
 * the VMCS's: NULL. */
static uint64_t *l2_gpr(unsigned n)
{
    uint64_t *const regs[16] = {
        &nb_l2.rax, &nb_l2.rcx, &nb_l2.rdx, &nb_l2.rbx, 0, &nb_l2.rbp, &nb_l2.rsi, &nb_l2.rdi,
        &nb_l2.r8, &nb_l2.r9, &nb_l2.r10, &nb_l2.r11, &nb_l2.r12, &nb_l2.r13, &nb_l2.r14,
        &nb_l2.r15,
    };
    return n == SDM_GPR_RSP ? 0 : regs[n & 15];
}

/* L2's MOV DR (qualification @q, SDM 27.2.1 Table 27-3), in 64-bit mode
 * (64-bit operands): on L1's own DR0-DR3/DR6, which are L2's, and vmcs12's
 * guest DR7. False if it uses RSP (not done here). */
static bool l2_mov_dr(uint64_t q)
{
    uint64_t *reg = l2_gpr(DRQ_GPR(q)), v;
    unsigned n = DRQ_NUMBER(q);
    if (!reg)
        return false;
    if (n == DR_ALIAS_FIRST || n == DR_ALIAS_FIRST + 1)
        n += X86_DR_STATUS - DR_ALIAS_FIRST;
    if (q & DRQ_FROM_DR) {
        switch (n) {
        case 0: __asm__ volatile("mov %%dr0, %0" : "=r"(v)); break;
        case 1: __asm__ volatile("mov %%dr1, %0" : "=r"(v)); break;
        case 2: __asm__ volatile("mov %%dr2, %0" : "=r"(v)); break;
        case 3: __asm__ volatile("mov %%dr3, %0" : "=r"(v)); break;
        case X86_DR_STATUS: __asm__ volatile("mov %%dr6, %0" : "=r"(v)); break;
        default: v = vmrd(VMCS_GUEST_DR7); break;
        }
        *reg = v;
        return true;
    }
    v = *reg;
    switch (n) {
    case 0: __asm__ volatile("mov %0, %%dr0" : : "r"(v)); break;
    case 1: __asm__ volatile("mov %0, %%dr1" : : "r"(v)); break;
    case 2: __asm__ volatile("mov %0, %%dr2" : : "r"(v)); break;
    case 3: __asm__ volatile("mov %0, %%dr3" : : "r"(v)); break;
    case X86_DR_STATUS: __asm__ volatile("mov %0, %%dr6" : : "r"(v)); break;
    default: vmwr(VMCS_GUEST_DR7, v); break;
    }
    return true;
}

/* Whether this exit of L2 shows L1 a debugger: TF or a pending BS in L2's
 * state (L2 sets no TF), DR7 or DR0-DR3 other than L1 entered with. */
static bool debugger_seen(uint64_t dr7, const uint64_t dr[4])
{
    uint64_t now[4];
    read_drs(now);
    const uint64_t rflags = vmrd(VMCS_GUEST_RFLAGS), pdbg = vmrd(VMCS_GUEST_PENDING_DBG);
    const uint64_t dr7_now = vmrd(VMCS_GUEST_DR7);
    bool seen = (rflags & X86_RFLAGS_TF) || (pdbg & VMX_PENDING_DBG_BS) || dr7_now != dr7;
    for (unsigned i = 0; i < 4; i++)
        seen |= now[i] != dr[i];
    if (seen)
        vmxc_printf("debughv: L2's exit at %#llx shows a debugger: RFLAGS %#llx, pending debug "
                    "exceptions %#llx, DR7 %#llx, DR0 %#llx\n",
                    (unsigned long long)vmrd(VMCS_GUEST_RIP), (unsigned long long)rflags,
                    (unsigned long long)pdbg, (unsigned long long)dr7_now,
                    (unsigned long long)now[0]);
    return seen;
}

static uint64_t ept_pml4[512] __attribute__((aligned(4096)));
static uint64_t ept_pdpt[512] __attribute__((aligned(4096)));
static uint64_t ept_pd[512] __attribute__((aligned(4096)));

/* EPT12's translation of L2-physical @gpa2: the two pages swapped. */
static uint64_t l1_phys(uint64_t gpa2)
{
    const uint64_t page = gpa2 & ~(PAGE_2M - 1);
    const uint64_t off = gpa2 & (PAGE_2M - 1);
    return (page == L2_PAGE ? L2_HOME : page == L2_HOME ? L2_PAGE : page) + off;
}

static uint64_t ept_setup(void)
{
    if (!ctl_can1(proc2_msr(), PROC2_ENABLE_EPT) || !(caps.ept_vpid & EPT_CAP_2MB_PAGES) ||
        !(caps.ept_vpid & EPT_CAP_MEMTYPE_WB) || !(caps.ept_vpid & EPT_CAP_PAGE_WALK_4))
        return 0;
    for (unsigned i = 0; i < 512; i++)
        ept_pd[i] = l1_phys(i * PAGE_2M) | EPT_RWX | EPT_WB | EPT_LEAF_2M;
    ept_pdpt[0] = pa(ept_pd) | EPT_RWX;
    ept_pml4[0] = pa(ept_pdpt) | EPT_RWX;
    return pa(ept_pml4) | EPTP_WALK_4 | 6;
}

/* The program's segments (l2_elf: L2's executable ones are read at every
 * exit, int3s_seen). */
static elf_info_t l2_elf;

/* L2's code as L1 holds it: the int3 bytes in it that the ELF has not. */
static uint64_t int3s_seen(void)
{
    uint64_t n = 0;
    for (size_t i = 0; i < l2_elf.nseg; i++) {
        const elf_segment_t *s = &l2_elf.seg[i];
        for (uint64_t k = 0; (s->flags & PF_X) && k < s->filesz; k++)
            n += *(volatile uint8_t *)(uintptr_t)l1_phys(s->vaddr + k) == X86_OP_INT3 &&
                 debughv_payload[s->offset + k] != X86_OP_INT3;
    }
    if (n)
        vmxc_printf("debughv: L2's exit at %#llx: %llu int3 bytes in L2's code\n",
                    (unsigned long long)vmrd(VMCS_GUEST_RIP), (unsigned long long)n);
    return n;
}

/* The program's segments at their L2-physical addresses (through EPT12),
 * its bss zeroed. Its entry, or 0. */
static uint64_t load_l2(void)
{
    elf_info_t info;
    const size_t size = (size_t)(debughv_payload_end - debughv_payload);
    const elf_status_t st = elf_parse(debughv_payload, size, PAGE_2M * 512, &info);
    if (st != ELF_OK) {
        vmxc_printf("%s: L2's ELF: %s\n", vmxc_name, elf_status_str(st));
        return 0;
    }
    for (size_t i = 0; i < info.nseg; i++) {
        const elf_segment_t *s = &info.seg[i];
        for (uint64_t k = 0; k < s->memsz; k++)
            *(volatile uint8_t *)(uintptr_t)l1_phys(s->vaddr + k) =
                k < s->filesz ? debughv_payload[s->offset + k] : 0;
    }
    l2_elf = info;
    return info.entry;
}

static int fail(const char *why)
{
    vmxc_printf("%s: FAILED %s\n", vmxc_name, why);
    return 1;
}

int vmxc_main(uint32_t magic, uint32_t info);
int vmxc_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    vmxc_name = debughv_name;
    vmxc_setup_descriptors();
    vmxc_printf("%s: a minimal hypervisor running %s as its L2\n", vmxc_name, debughv_what);
    const char *why = vmxc_start_vmx();
    if (why)
        return fail(why);
    const uint64_t eptp = ept_setup(), entry = load_l2();
    if (!eptp || !entry)
        return fail(eptp ? "L2's program" : "no EPT with 2 MiB pages");
    vmwr(VMCS_PROC_CONTROLS,
         vmrd(VMCS_PROC_CONTROLS) | PROC_ACTIVATE_SECONDARY | PROC_UNCOND_IO_EXITING);
    vmwr(VMCS_PROC_CONTROLS2, ctl_min(proc2_msr()) | PROC2_ENABLE_EPT);
    vmwr(VMCS_EPT_POINTER, eptp);
    vmwr(VMCS_GUEST_RIP, entry);
    vmwr(VMCS_GUEST_RSP, L2_STACK_TOP);
    vmwr(VMCS_GUEST_IDTR_BASE, 0);
    vmwr(VMCS_GUEST_IDTR_LIMIT, 0);
    if (vmxc_total_failed)
        return fail("VMCS set-up");
    vmxc_printf("%s: L2 at %#llx (its program at L2-physical %#llx, in L1's memory at "
                "%#llx)\n", vmxc_name, (unsigned long long)entry, (unsigned long long)L2_PAGE,
                (unsigned long long)L2_HOME);

    uint64_t dr[4];
    read_drs(dr);
    const uint64_t dr7 = vmrd(VMCS_GUEST_DR7);
    uint64_t exits = 0, io = 0, exceptions = 0, movdr = 0, timer = 0, seen = 0, int3s = 0,
             eptwp = 0, status = ~0ULL, r = nb_run(0);
    bool wp = false;                    /* L2's program's page is write-protected in EPT12 */
    uint64_t *const wp_pde = &ept_pd[L2_PAGE / PAGE_2M];
    unsigned timer_left = 0;            /* entries still to exit at once (DEBUGHV_TIMER_PORT) */
    while (exits++ < L2_MAX_EXITS) {
        if (r != 0) {
            vmxc_printf("%s: VMLAUNCH/VMRESUME failed: RFLAGS %#llx, error %llu\n", vmxc_name,
                        (unsigned long long)r, (unsigned long long)vmrd(VMCS_INSTR_ERROR));
            return fail("VM entry");
        }
        seen += debugger_seen(dr7, dr);
        int3s += debughv_int3_scan[0] && int3s_seen() != 0;
        const uint64_t reason = vmrd(VMCS_EXIT_REASON) & 0xFFFF;
        const uint64_t q = vmrd(VMCS_EXIT_QUALIFICATION);
        if (reason == REASON_EXCEPTION) {
            /* Not ours to see: L2 raises none, a debugger's are its own. */
            exceptions++;
            vmxc_printf("%s: L2 exception exit, interruption information %#llx at %#llx\n",
                        vmxc_name,
                        (unsigned long long)vmrd(VMCS_EXIT_INTR_INFO),
                        (unsigned long long)vmrd(VMCS_GUEST_RIP));
            break;
        }
        if (reason == REASON_PREEMPT_TIMER && timer_left) {
            timer++;
            if (--timer_left)
                vmwr(VMCS_PREEMPT_TIMER_VALUE, 0);
            else
                vmwr(VMCS_PIN_CONTROLS, vmrd(VMCS_PIN_CONTROLS) & ~(uint64_t)PIN_PREEMPTION_TIMER);
            r = nb_run(1);
            continue;
        }
        /* SDM 27.2.1 Table 27-7: a write (bit 1) to the page EPT12 took
         * the write right of: ours (DEBUGHV_EPTWP_PORT); the right back, the
         * write goes again. */
        if (reason == REASON_EPT_VIOLATION && wp && (q & EPT_QUAL_WRITE) &&
            vmrd(VMCS_GUEST_PHYS_ADDR) / PAGE_2M == L2_PAGE / PAGE_2M) {
            eptwp++;
            wp = false;
            *wp_pde |= X86_EPT_W;
            vmx_invept(INVEPT_ALL_CONTEXT, 0);
            r = nb_run(1);
            continue;
        }
        if (reason == REASON_MOV_DR && l2_mov_dr(q)) {
            movdr++;
            vmwr(VMCS_GUEST_RIP, vmrd(VMCS_GUEST_RIP) + vmrd(VMCS_EXIT_INSTR_LEN));
            r = nb_run(1);
            continue;
        }
        if (reason != REASON_IO || (q & X86_IOQ_STRING)) {
            vmxc_printf("%s: unexpected L2 exit %llu (qualification %#llx) at %#llx\n", vmxc_name,
                        (unsigned long long)reason, (unsigned long long)q,
                        (unsigned long long)vmrd(VMCS_GUEST_RIP));
            break;
        }
        /* SDM 27.2.1, Table 27-5: the port, the size, the direction. */
        io++;
        const unsigned port = IOQ_PORT(q);
        if (q & X86_IOQ_IN)
            nb_l2.rax |= 0xFFFFFFFFull >> (32 - 8 * IOQ_SIZE(q));   /* no device: all ones */
        else if (port == COM1)
            outb(COM1, (uint8_t)nb_l2.rax);
        else if (port == DEBUGHV_MOVDR_PORT)
            vmwr(VMCS_PROC_CONTROLS, vmrd(VMCS_PROC_CONTROLS) | PROC_MOV_DR_EXITING);
        else if (port == DEBUGHV_TIMER_PORT && ctl_can1(pin_msr(), PIN_PREEMPTION_TIMER)) {
            timer_left = DEBUGHV_TIMER_EXITS;
            vmwr(VMCS_PIN_CONTROLS, vmrd(VMCS_PIN_CONTROLS) | PIN_PREEMPTION_TIMER);
            vmwr(VMCS_PREEMPT_TIMER_VALUE, 0);
        }
        else if (port == DEBUGHV_EPTWP_PORT && (caps.ept_vpid & EPT_CAP_INVEPT_ALL)) {
            wp = true;
            *wp_pde &= ~(uint64_t)X86_EPT_W;
            vmx_invept(INVEPT_ALL_CONTEXT, 0);
        }
        else if (port == VMXC_EXIT_PORT) {
            status = (uint32_t)nb_l2.rax;
            break;
        }
        vmwr(VMCS_GUEST_RIP, vmrd(VMCS_GUEST_RIP) + vmrd(VMCS_EXIT_INSTR_LEN));
        r = nb_run(1);
    }
    vmxc_printf("%s: L2 ended with status %lld after %llu exits: %llu I/O, %llu "
                "exceptions, %llu MOV DR, %llu timer, %llu EPT write-protect\n", vmxc_name,
                (long long)status, (unsigned long long)exits, (unsigned long long)io,
                (unsigned long long)exceptions, (unsigned long long)movdr,
                (unsigned long long)timer, (unsigned long long)eptwp);
    vmxc_check_eq("L2's status", 0, status);
    vmxc_check_eq("exception exits of L2", 0, exceptions);
    vmxc_check_eq("exits of L2 showing a debugger", 0, seen);
    if (debughv_int3_scan[0])
        vmxc_check_eq("exits of L2 showing a debugger's int3", 0, int3s);
    vmxc_printf("%s: %u checks, %u failed\n", vmxc_name, vmxc_total_checks, vmxc_total_failed);
    if (vmx_vmxoff() != VR_OK)
        return fail("VMXOFF");
    return vmxc_total_failed ? 1 : 0;
}
