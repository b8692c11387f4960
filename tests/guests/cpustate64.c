/*
 * tests/guests/cpustate64.c - a guest that enters IA-32e mode itself (as
 * longmode.c does) and checks the CPU state a 64-bit kernel keeps in MSRs,
 * debug registers and XCR0, from 64-bit code (cpustate64_64.S):
 *   - SYSCALL/SYSRET through EFER.SCE, STAR, LSTAR and FMASK, with a CPL 3
 *     segment pair where SYSRET wants it; each MSR reads back what was written;
 *   - SWAPGS exchanging GS.base and IA32_KERNEL_GS_BASE; FS/GS base by WRMSR
 *     seen by %fs:/%gs:-relative loads;
 *   - DR0-DR3 and DR7 round trips; a data and an instruction breakpoint raise
 *     #DB with the right DR6 bits;
 *   - XGETBV/XSETBV (XCR0 reset value 1, 3, 7 with AVX, #GP for AVX without SSE);
 *   - isolation: run as two VMs at once (command line "id=N peer"), it
 *     writes values derived from N, spins while the other VM runs (with
 *     "peer", it checks the TSC jumped while it spun: it was descheduled), and
 *     reads them back where no exit is involved: SYSCALL landing at its own
 *     LSTAR pad, SWAPGS then a %gs: load, MOV from DR0-DR3/DR7, XGETBV.
 * Interrupts stay off; its own 64-bit IDT catches #DB, #UD and #GP.
 */
#include "lib/guest.h"
#include "cpustate64.h"

#define CR0_PG       (1u << 31)
#define CR4_PAE      (1u << 5)
#define CR4_OSXSAVE  (1u << 18)
#define MSR_EFER     0xC0000080u
#define MSR_STAR     0xC0000081u
#define MSR_LSTAR    0xC0000082u
#define MSR_CSTAR    0xC0000083u
#define MSR_FMASK    0xC0000084u
#define MSR_FS_BASE  0xC0000100u
#define MSR_GS_BASE  0xC0000101u
#define MSR_KGS_BASE 0xC0000102u
#define EFER_SCE     (1u << 0)
#define EFER_LME     (1u << 8)
#define EFER_LMA     (1u << 10)
#define PTE_P        (1u << 0)
#define PTE_RW       (1u << 1)
#define PTE_US       (1u << 2)
#define PTE_PS       (1u << 7)
#define PAGE_2M      0x200000u
#define CPUID1_ECX_XSAVE (1u << 26)
#define CPUID1_ECX_AVX   (1u << 28)
#define CPUID_EXT_EDX_SYSCALL (1u << 11)
#define XCR0_X87     1u             /* SDM Vol. 1 13.3: XCR0 bits */
#define XCR0_SSE     2u
#define XCR0_AVX     4u
#define RFLAGS_FIXED (1u << 1)      /* bit 1 reads as 1 (SDM Vol. 1 3.4.3) */

#define ID_DEFAULT   1
#define ID_MAX       7
#define ROUNDS       3
#define SPIN_ITERS   600000u        /* long enough for the other VM's time slices */
#define DESCHEDULED_FACTOR 1000u
#define FS_MARKER    0x4653F5F5A5A50001ULL
#define GS_MARKER    0x4753E6E6B6B60002ULL
#define KGS_MARKER   0x4B47530000000000ULL

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd_low[512] __attribute__((aligned(4096)));    /* 0 - 1 GiB */

/* SDM Vol. 3A 3.4.5: flat segments; L = 1 for 64-bit code; DPL 3 for the
 * SYSRET pair. The order is cpustate64.h's. */
static const uint64_t gdt[] __attribute__((aligned(8))) = {
    0,
    0x00CF9A000000FFFFULL,          /* CS64_SEL_CODE32 */
    0x00CF92000000FFFFULL,          /* CS64_SEL_DATA */
    0x00AF9A000000FFFFULL,          /* CS64_SEL_CODE64 */
    0x00CF92000000FFFFULL,          /* CS64_SEL_KDATA */
    0x00CFFA000000FFFFULL,          /* CS64_SEL_USER_BASE */
    0x00CFF2000000FFFFULL,          /* CS64_SEL_UDATA */
    0x00AFFA000000FFFFULL,          /* CS64_SEL_UCODE64 */
};

/* 64-bit interrupt gates are 16 bytes (SDM Vol. 3A 6.14.1). */
static uint32_t idt[CS64_IDT_VECTORS][4] __attribute__((aligned(16)));

static volatile uint64_t fs_cell = FS_MARKER, gs_cell = GS_MARKER;
static volatile uint64_t kgs_cells[ID_MAX + 1];

static uint64_t call64(char *fn, const volatile void *arg)
{
    return cs64_call(fn, (uint32_t)(uintptr_t)arg);
}

/* The Multiboot command line, or "". */
static const char *cmdline(void)
{
    const guest_mb_info_t *mb = (const guest_mb_info_t *)(uintptr_t)guest_boot_info;
    if (guest_boot_magic != GUEST_MB_LOADER_MAGIC || !(mb->flags & GUEST_MB_INFO_CMDLINE))
        return "";
    return (const char *)(uintptr_t)mb->cmdline;
}

/* "id=N" on the command line, 1 <= N <= ID_MAX. */
static unsigned vm_id(void)
{
    for (const char *p = cmdline(); *p; p++)
        if (p[0] == 'i' && p[1] == 'd' && p[2] == '=' && p[3] >= '1' && p[3] <= '0' + ID_MAX)
            return (unsigned)(p[3] - '0');
    return ID_DEFAULT;
}

/* The word "peer" on the command line: another VM runs beside this one. */
static int has_peer(void)
{
    for (const char *p = cmdline(); *p; p++)
        if ((p == cmdline() || p[-1] == ' ') && p[0] == 'p' && p[1] == 'e' && p[2] == 'e' &&
            p[3] == 'r' && (p[4] == ' ' || p[4] == 0))
            return 1;
    return 0;
}

/* IA-32e mode with 2 MiB identity pages over the first GiB, user-accessible
 * for the CPL 3 leg of SYSRET (SDM Vol. 3A 9.8.5, 4.5). */
static void enter_long_mode(void)
{
    struct {
        uint16_t limit;
        uint32_t base;
    } __attribute__((packed)) gdtr = { sizeof(gdt) - 1, (uint32_t)gdt };
    __asm__ volatile("lgdt %0" : : "m"(gdtr));
    for (unsigned i = 0; i < 512; i++)
        pd_low[i] = (uint64_t)i * PAGE_2M | PTE_P | PTE_RW | PTE_US | PTE_PS;
    pdpt[0] = (uint32_t)pd_low | PTE_P | PTE_RW | PTE_US;
    pml4[0] = (uint32_t)pdpt | PTE_P | PTE_RW | PTE_US;
    write_cr4(read_cr4() | CR4_PAE);
    write_cr3((uint32_t)pml4);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_LME);
    write_cr0(read_cr0() | CR0_PG);

    for (unsigned v = 0; v < CS64_IDT_VECTORS; v++) {
        char *h = v == CS64_VEC_DB ? cs64_exc_db
                : v == CS64_VEC_UD ? cs64_exc_ud
                : v == CS64_VEC_GP ? cs64_exc_gp : cs64_exc_other;
        uint32_t off = (uint32_t)(uintptr_t)h;
        idt[v][0] = (uint32_t)CS64_SEL_CODE64 << 16 | (off & 0xFFFF);
        idt[v][1] = (off & 0xFFFF0000u) | CS64_GATE_INT64 << 8;
        idt[v][2] = idt[v][3] = 0;
    }
    static struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr;
    idtr.limit = sizeof(idt) - 1;
    idtr.base = (uint32_t)(uintptr_t)idt;
    call64(cs64_lidt, &idtr);
}

/* Per-VM values, derived from the VM's id and the round. */
static unsigned pad_for(unsigned id, unsigned r) { return (id + 2 * r) % CS64_PADS; }
static uint64_t lstar_for(unsigned id, unsigned r)
{
    return (uint32_t)(uintptr_t)cs64_syscall_pads + pad_for(id, r) * CS64_PAD_SIZE;
}
static uint64_t star_for(unsigned id, unsigned r)
{
    return (uint64_t)CS64_SEL_USER_BASE << 48 | (uint64_t)CS64_SEL_CODE64 << 32 |
           0x5C000000u | id << 8 | r;
}
static uint64_t dr_for(unsigned id, unsigned r, unsigned i)
{
    return 0x00007F0000000000ULL | (uint64_t)id << 32 | i << 24 | r << 12 | 0x10 * (i + 1);
}
/* R/W and LEN fields (01 write, 11 read/write; LEN 11 four bytes) without
 * enable bits: no breakpoint fires (SDM Vol. 3A 17.2.4). */
static uint64_t dr7_for(unsigned id)
{
    return CS64_DR7_RESET | ((id & 1) ? 0x00330000u : 0x00DD0000u);
}
static uint64_t xcr0_for(unsigned id, unsigned r, int avx)
{
    return ((id + r) & 1) ? (XCR0_X87 | XCR0_SSE)
                          : avx ? (XCR0_X87 | XCR0_SSE | XCR0_AVX) : XCR0_X87;
}

static void msr_roundtrip(uint32_t msr, uint64_t v, const char *what)
{
    wrmsr(msr, v);
    CHECK(rdmsr(msr) == v, what);
}

/* SDM Vol. 2B SYSCALL, SYSRET. */
static void check_syscall(unsigned id)
{
    guest_cpuid_t ext = guest_cpuid(0x80000001, 0);
    /* SDM Vol. 2A CPUID, Table 3-8: Intel processors enumerate SYSCALL as 0
     * outside 64-bit mode (this C code runs in compatibility mode). */
    CHECK(!(ext.edx & CPUID_EXT_EDX_SYSCALL) &&
              (call64(cs64_ext_edx, 0) & CPUID_EXT_EDX_SYSCALL),
          "CPUID.80000001H:EDX.SYSCALL shown in 64-bit mode only");
    msr_roundtrip(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE, "EFER.SCE by WRMSR");
    msr_roundtrip(MSR_STAR, star_for(id, 0), "STAR reads back");
    msr_roundtrip(MSR_LSTAR, lstar_for(id, 0), "LSTAR reads back");
    msr_roundtrip(MSR_CSTAR, 0xFFFF800000000000ULL | (uint64_t)id << 32, "CSTAR reads back");
    msr_roundtrip(MSR_FMASK, CS64_RFLAGS_DF | CS64_RFLAGS_AC, "FMASK reads back");

    call64(cs64_syscall_round, 0);
    CHECK(cs64_sc_count == 2 && cs64_sc_pad == pad_for(id, 0),
          "SYSCALL twice at the LSTAR handler");
    CHECK(cs64_sc_rcx[0] == (uint32_t)(uintptr_t)cs64_sysret_target &&
          cs64_sc_rcx[1] == (uint32_t)(uintptr_t)cs64_after_syscall2,
          "RCX holds the instruction after SYSCALL");
    CHECK((cs64_sc_r11[0] & (CS64_RFLAGS_DF | RFLAGS_FIXED)) == (CS64_RFLAGS_DF | RFLAGS_FIXED) &&
          !(cs64_sc_r11[1] & CS64_RFLAGS_DF), "R11 holds RFLAGS");
    CHECK(!(cs64_sc_hflags[0] & CS64_RFLAGS_DF) && !(cs64_sc_hflags[1] & CS64_RFLAGS_DF),
          "FMASK clears DF in the handler");
    CHECK(cs64_sc_ucs == (CS64_SEL_UCODE64 | CS64_RPL3) &&
          cs64_sc_uss == (CS64_SEL_UDATA | CS64_RPL3), "SYSRET to CPL 3: CS, SS from STAR[63:48]");
    CHECK(cs64_sc_uflags & CS64_RFLAGS_DF, "SYSRET loads RFLAGS from R11");
}

/* SDM Vol. 2B SWAPGS; Vol. 3A 3.4.4.1 FS/GS bases in 64-bit mode. */
static void check_segment_bases(unsigned id)
{
    msr_roundtrip(MSR_KGS_BASE, 0xFFFF880000000000ULL | (uint64_t)id << 24,
                  "KERNEL_GS_BASE reads back");
    msr_roundtrip(MSR_FS_BASE, (uint32_t)(uintptr_t)&fs_cell, "FS base reads back");
    msr_roundtrip(MSR_GS_BASE, (uint32_t)(uintptr_t)&gs_cell, "GS base reads back");
    call64(cs64_fsgs_probe, 0);
    CHECK(cs64_fs_load == FS_MARKER && cs64_gs_load == GS_MARKER,
          "%fs:/%gs: loads use the bases written by WRMSR");

    kgs_cells[id] = KGS_MARKER | id;
    wrmsr(MSR_KGS_BASE, (uint32_t)(uintptr_t)&kgs_cells[id]);
    call64(cs64_swapgs_probe, 0);
    CHECK(cs64_gs_before == GS_MARKER && cs64_gs_swapped == (KGS_MARKER | id) &&
          cs64_gs_after == GS_MARKER, "SWAPGS exchanges the GS base and back");
    CHECK(cs64_msr_gs_swapped == (uint32_t)(uintptr_t)&kgs_cells[id] &&
          cs64_msr_kgs_swapped == (uint32_t)(uintptr_t)&gs_cell,
          "RDMSR sees the swapped GS and KERNEL_GS_BASE");
}

/* SDM Vol. 3A 17.2: DR0-DR3 addresses, DR7 control, DR6 status. */
static void check_debug(unsigned id)
{
    uint64_t w[5], r[5];
    for (unsigned i = 0; i < 4; i++)
        w[i] = dr_for(id, 0, i);
    w[4] = dr7_for(id);
    call64(cs64_dr_write, w);
    call64(cs64_dr_read, r);
    CHECK(r[0] == w[0] && r[1] == w[1] && r[2] == w[2] && r[3] == w[3], "DR0-DR3 read back");
    CHECK(r[4] == w[4], "DR7 reads back");

    call64(cs64_breakpoints, 0);
    CHECK(cs64_db_count == 2, "two breakpoints, two #DB");
    CHECK((cs64_db_dr6[0] & CS64_DR6_BMASK) == CS64_DR6_B0,
          "data breakpoint: DR6.B0 (17.2.3)");
    CHECK((cs64_db_dr6[1] & CS64_DR6_BMASK) == CS64_DR6_B1,
          "instruction breakpoint: DR6.B1 (17.2.3)");
    CHECK(cs64_bp_data == 1, "the breakpointed store was done");
}

/* SDM Vol. 1 13.3 XCR0; Vol. 2C XSETBV, XGETBV. Returns whether AVX is shown. */
static int check_xcr0(void)
{
    guest_cpuid_t l1 = guest_cpuid(1, 0);
    int avx = (l1.ecx & CPUID1_ECX_AVX) != 0;
    CHECK(l1.ecx & CPUID1_ECX_XSAVE, "CPUID.1:ECX.XSAVE");
    write_cr4(read_cr4() | CR4_OSXSAVE);
    CHECK(read_cr4() & CR4_OSXSAVE, "CR4.OSXSAVE set");
    CHECK(call64(cs64_xgetbv, 0) == XCR0_X87, "XCR0 is 1 at reset");
    CHECK(call64(cs64_xsetbv, (void *)(XCR0_X87 | XCR0_SSE)) == 0 &&
          call64(cs64_xgetbv, 0) == (XCR0_X87 | XCR0_SSE), "XSETBV 3, XGETBV reads it");
    if (avx)
        CHECK(call64(cs64_xsetbv, (void *)(XCR0_X87 | XCR0_SSE | XCR0_AVX)) == 0 &&
              call64(cs64_xgetbv, 0) == (XCR0_X87 | XCR0_SSE | XCR0_AVX),
              "XSETBV 7, XGETBV reads it");
    uint64_t before = call64(cs64_xgetbv, 0);
    CHECK(call64(cs64_xsetbv, (void *)(XCR0_X87 | XCR0_AVX)) == CS64_VEC_GP &&
          cs64_exc_error == 0 && call64(cs64_xgetbv, 0) == before,
          "XSETBV AVX without SSE: #GP(0), XCR0 kept");
    CHECK(call64(cs64_xsetbv, (void *)XCR0_SSE) == CS64_VEC_GP,
          "XSETBV without x87: #GP");
    return avx;
}

struct isolation {
    unsigned lstar, kgs, dr, xcr0, rounds_alone;
};

/* Spin SPIN_ITERS times; return how often it was descheduled: a TSC step
 * above DESCHEDULED_FACTOR times the loop's shortest one (the TSC runs on
 * while another VM has the CPU; the kernel's own tick handling is far
 * shorter). */
static unsigned spin_descheduled(void)
{
    uint64_t last = rdtsc(), shortest = UINT64_MAX;
    unsigned n = 0;
    for (uint32_t i = 0; i < SPIN_ITERS; i++) {
        uint64_t t = rdtsc(), d = t - last;
        last = t;
        if (d < shortest)
            shortest = d;
        else if (d > shortest * DESCHEDULED_FACTOR)
            n++;
    }
    return n;
}

/* One round: this VM's values in, a spin while the other VM runs, then the
 * values read where no VM exit is involved. */
static void isolation_round(unsigned id, unsigned r, int avx, struct isolation *bad)
{
    uint64_t w[5], got[5];
    wrmsr(MSR_STAR, star_for(id, r));
    wrmsr(MSR_LSTAR, lstar_for(id, r));
    kgs_cells[id] = KGS_MARKER | id << 8 | r;
    wrmsr(MSR_KGS_BASE, (uint32_t)(uintptr_t)&kgs_cells[id]);
    wrmsr(MSR_GS_BASE, (uint32_t)(uintptr_t)&gs_cell);
    for (unsigned i = 0; i < 4; i++)
        w[i] = dr_for(id, r, i);
    w[4] = dr7_for(id);
    call64(cs64_dr_write, w);
    bad->xcr0 += call64(cs64_xsetbv, (void *)(uintptr_t)xcr0_for(id, r, avx)) != 0;

    bad->rounds_alone += spin_descheduled() == 0;

    call64(cs64_syscall_round, 0);
    bad->lstar += cs64_sc_count != 2 || cs64_sc_pad != pad_for(id, r);
    call64(cs64_swapgs_probe, 0);
    bad->kgs += cs64_gs_swapped != (KGS_MARKER | id << 8 | r) || cs64_gs_after != GS_MARKER;
    call64(cs64_dr_read, got);
    for (unsigned i = 0; i < 5; i++)
        bad->dr += got[i] != w[i];
    bad->xcr0 += call64(cs64_xgetbv, 0) != xcr0_for(id, r, avx);
}

int guest_main(void)
{
    unsigned id = vm_id();
    enter_long_mode();
    CHECK((rdmsr(MSR_EFER) & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA), "IA-32e mode");
    check_syscall(id);
    check_segment_bases(id);
    check_debug(id);
    int avx = check_xcr0();

    struct isolation bad = { 0 };
    for (unsigned r = 0; r < ROUNDS; r++)
        isolation_round(id, r, avx, &bad);
    CHECK(bad.lstar == 0, "isolation: SYSCALL lands at this VM's LSTAR");
    CHECK(bad.kgs == 0, "isolation: SWAPGS gives this VM's KERNEL_GS_BASE");
    CHECK(bad.dr == 0, "isolation: DR0-DR3, DR7 are this VM's");
    CHECK(bad.xcr0 == 0, "isolation: XCR0 is this VM's");
    if (has_peer())
        CHECK(bad.rounds_alone == 0, "isolation: the other VM ran during every round");
    return guest_report("cpustate64");
}
