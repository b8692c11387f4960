/*
 * tests/guests/nestbench.c - a nested-exit benchmark: a minimal 64-bit
 * hypervisor (L1, built on vmxcheck's VMX code: vmxc_lib.c,
 * vmxc_build_vmcs) whose L2 (nestbench_l2.S) times CPUID exits from inside.
 *
 * L1 maps L2 with EPT (the first GiB identity-mapped in 2 MiB pages, SDM
 * 28.3.2) on L1's own paging and descriptors, and handles each CPUID exit
 * as a minimal hypervisor does: VMREAD the exit reason, VMREAD the
 * instruction length, VMREAD guest RIP, CPUID executed natively on L2's
 * EAX/ECX with its results written to L2's registers, VMWRITE guest RIP,
 * VMRESUME. L2 reports its spans with VMCALL; L1 prints (BENCH_LINE of
 * tools/nestor/cli.py; 'l0' names what runs L1: nestor under nested-vmx,
 * bochs-vmx bare on Bochs's own VMX):
 *   nested_cpuid{l1=testhv,l0=L0} N             instructions per L2 CPUID
 *                                               round trip (baseline loop
 *                                               subtracted), measured in L2
 *   l1_vmx_instructions_per_l2_exit{reason=cpuid,l1=testhv,l0=L0} N
 *                                               VMX instructions L1 ran per
 *                                               CPUID exit (each an exit to
 *                                               L0 under nested-vmx)
 *   l1_cpuid{l0=L0} N                           L1's own CPUID, for scale
 *                                               (one level: an exit to the
 *                                               VMM under Nestor)
 * "bare" on the command line: booted by GRUB (./nestor run --bare
 * nestbench), it prints the verdict and ends Bochs.
 */
#include "vmxcheck.h"
#include <nestor/vmcs.h>
#include <x86_arch.h>
#include <x86_vmx.h>

#define REASON_CPUID     10
#define REASON_VMCALL    18
#define L1_ROUNDS        1000
#define EPT_RWX          0x7ULL             /* SDM 28.3.2, Table 28-4 */
#define EPT_WB           (6ULL << 3)        /* memory type of a leaf */
#define EPT_LEAF_2M      BIT(7)
#define PAGE_2M          (1ULL << 21)


static uint64_t ept_pml4[512] __attribute__((aligned(4096)));
static uint64_t ept_pdpt[512] __attribute__((aligned(4096)));
static uint64_t ept_pd[512] __attribute__((aligned(4096)));

static inline uint64_t vmread(uint64_t field)
{
    uint64_t v;
    __asm__ volatile("vmread %1, %0" : "=r"(v) : "r"(field) : "cc");
    return v;
}

static inline void vmwrite(uint64_t field, uint64_t v)
{
    __asm__ volatile("vmwrite %0, %1" : : "r"(v), "r"(field) : "cc");
}

static inline uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* L1's own CPUID, timed the way L2 times its loop: instructions per CPUID. */
static uint64_t l1_cpuid(void)
{
    uint32_t a, b, c, d;
    uint64_t t0 = tsc();
    for (unsigned i = 0; i < L1_ROUNDS; i++)
        cpuid(0, &a, &b, &c, &d);
    uint64_t t1 = tsc();
    for (unsigned i = 0; i < L1_ROUNDS; i++)
        __asm__ volatile("xor %%eax, %%eax; xor %%ecx, %%ecx; xchg %%ax, %%ax" : : : "eax", "ecx");
    uint64_t t2 = tsc();
    uint64_t with = t1 - t0, without = t2 - t1;
    return with > without ? (with - without) / L1_ROUNDS : 0;
}

/* EPT12: the first GiB, identity, 2 MiB leaves (nested-vmx's EPT02 maps
 * 2 MiB pages only). Returns the EPTP (24.6.11), or 0 without EPT. */
static uint64_t ept_setup(void)
{
    if (!ctl_can1(proc2_msr(), PROC2_ENABLE_EPT) || !(caps.ept_vpid & EPT_CAP_2MB_PAGES) ||
        !(caps.ept_vpid & EPT_CAP_MEMTYPE_WB) || !(caps.ept_vpid & EPT_CAP_PAGE_WALK_4))
        return 0;
    for (unsigned i = 0; i < 512; i++)
        ept_pd[i] = i * PAGE_2M | EPT_RWX | EPT_WB | EPT_LEAF_2M;
    ept_pdpt[0] = pa(ept_pd) | EPT_RWX;
    ept_pml4[0] = pa(ept_pdpt) | EPT_RWX;
    return pa(ept_pml4) | EPTP_WALK_4 | 6;
}

static int fail(const char *why)
{
    vmxc_printf("nestbench: FAILED %s\n", why);
    if (vmxc_opt_bare)
        vmxc_bare_finish(why);
    return 1;
}

int vmxc_main(uint32_t magic, uint32_t info);
int vmxc_main(uint32_t magic, uint32_t info)
{
    vmxc_name = "nestbench";
    vmxc_opt_bare = vmxc_has_word(vmxc_cmdline(magic, info), "bare");
    if (vmxc_opt_bare)
        vmxc_serial_init();
    vmxc_setup_descriptors();
    const char *l0 = vmxc_opt_bare ? "bochs-vmx" : "nestor";
    vmxc_printf("nestbench: L2 CPUID exits handled by a minimal L1 (%s)\n",
                vmxc_opt_bare ? "bare on Bochs's VMX" : "as a guest");
    uint64_t one_level = l1_cpuid();
    const char *why = vmxc_start_vmx();
    if (why)
        return fail(why);
    uint64_t eptp = ept_setup();
    if (!eptp)
        return fail("no EPT with 2 MiB pages");
    vmwr(VMCS_PROC_CONTROLS, vmrd(VMCS_PROC_CONTROLS) | PROC_ACTIVATE_SECONDARY);
    vmwr(VMCS_PROC_CONTROLS2, ctl_min(proc2_msr()) | PROC2_ENABLE_EPT);
    vmwr(VMCS_EPT_POINTER, eptp);
    vmwr(VMCS_GUEST_RIP, pa(nb_l2_entry));
    if (vmxc_total_failed)
        return fail("VMCS set-up");

    /* The exit handler: what a minimal hypervisor does per CPUID exit. */
    uint64_t cpuid_exits = 0, vmx_insns = 0, r = nb_run(0);
    for (;;) {
        if (r != 0) {
            vmxc_printf("nestbench: VMLAUNCH/VMRESUME failed: RFLAGS %#llx, error %llu\n",
                        (unsigned long long)r, (unsigned long long)vmrd(VMCS_INSTR_ERROR));
            return fail("VM entry");
        }
        uint64_t reason = vmread(VMCS_EXIT_REASON);
        if (reason == REASON_CPUID) {
            uint64_t len = vmread(VMCS_EXIT_INSTR_LEN);
            uint64_t rip = vmread(VMCS_GUEST_RIP);
            uint32_t a, b, c, d;
            __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
                             : "a"((uint32_t)nb_l2.rax), "c"((uint32_t)nb_l2.rcx));
            nb_l2.rax = a;
            nb_l2.rbx = b;
            nb_l2.rcx = c;
            nb_l2.rdx = d;
            vmwrite(VMCS_GUEST_RIP, rip + len);
            cpuid_exits++;
            vmx_insns += 5;             /* 3 VMREADs, a VMWRITE, the VMRESUME */
            r = nb_run(1);
            continue;
        }
        if (reason == REASON_VMCALL)
            break;
        vmxc_printf("nestbench: unexpected L2 exit %llu (qualification %#llx) at %#llx\n",
                    (unsigned long long)reason, (unsigned long long)vmrd(VMCS_EXIT_QUALIFICATION),
                    (unsigned long long)vmrd(VMCS_GUEST_RIP));
        return fail("L2 exit");
    }
    uint64_t with = nb_l2.r10, without = nb_l2.r11, rounds = nb_l2.r12;
    vmxc_printf("nestbench: %llu CPUID exits handled; L2: %llu rounds with CPUID in %llu "
                "instructions, without in %llu\n", (unsigned long long)cpuid_exits,
                (unsigned long long)rounds, (unsigned long long)with,
                (unsigned long long)without);
    if (!rounds || with < without)
        return fail("L2's figures");
    vmxc_printf("nested_cpuid{l1=testhv,l0=%s} %llu\n", l0,
                (unsigned long long)((with - without) / rounds));
    vmxc_printf("l1_vmx_instructions_per_l2_exit{reason=cpuid,l1=testhv,l0=%s} %llu\n", l0,
                (unsigned long long)(vmx_insns / cpuid_exits));
    vmxc_printf("l1_cpuid{l0=%s} %llu\n", l0, (unsigned long long)one_level);
    if (vmx_vmxoff() != VR_OK)
        return fail("VMXOFF");
    if (vmxc_opt_bare)
        vmxc_bare_finish(0);
    return 0;
}
