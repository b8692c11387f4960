/*
 * tests/guests/exceptions.c - exceptions inside the guest are the guest's:
 * #UD, #GP, #DE, #BP and #PF go through its own IDT (the VMM intercepts
 * none of them), and its handlers fix things up and continue. Each pushes
 * RF as the SDM says (17.3.1.1: 1 for faults, as it was for traps and
 * software interrupts), also the #GP the VMM injects for an MSR it refuses;
 * that #GP through a not-present IDT gate becomes #DF (Table 6-5). Debug
 * exceptions (SDM 17.2-17.3): single-step over an ordinary instruction and
 * over ones the VMM carries out (CPUID, OUT), MOV SS holding the single-step
 * trap back one instruction (6.8.3), an instruction breakpoint in DR0 (a
 * fault, RF pushed 0, RF set by the handler to go on), a data write
 * breakpoint in DR1 (a trap), DR7.GD (a fault on MOV DR, DR6.BD, GD
 * cleared), and DR6's B0/B1/BD/BS bits.
 */
#include "lib/guest.h"

#define CR0_PG    (1u << 31)
#define CR4_PSE   (1u << 4)
#define PDE_P     0x1
#define PDE_W     0x2
#define PDE_PS    0x80              /* 4 MiB page */
#define PAGE_4M_SHIFT 22
#define MAPPED_4M_PAGES 2           /* identity: the first 8 MiB */
#define FAULT_ADDR 0x40000123u      /* unmapped until the #PF handler maps it */

#define RFLAGS_TF (1u << 8)
#define RFLAGS_RF (1u << 16)
/* Debug registers (SDM Vol. 3B 17.2.3, 17.2.4). */
#define DR6_B0    (1u << 0)
#define DR6_B1    (1u << 1)
#define DR6_BD    (1u << 13)
#define DR6_BS    (1u << 14)
#define DR6_CAUSE (DR6_B0 | DR6_B1 | (1u << 2) | (1u << 3) | DR6_BD | DR6_BS)
#define DR7_L0    (1u << 0)
#define DR7_L1    (1u << 2)
#define DR7_GD    (1u << 13)
#define DR7_RW1_SHIFT  20
#define DR7_LEN1_SHIFT 22
#define DR7_RW_WRITE   1u
#define DR7_LEN_4      3u
#define VEC_DB    1
#define VEC_DF    8
#define VEC_GP    13
/* IA32_MTRRCAP is read-only: WRMSR raises #GP (SDM Vol. 3A 11.11.1); the
 * VMM refuses it too. (An unknown MSR would not do: bare Bochs reads such
 * MSRs as 0 by default, its ignore_bad_msrs option.) */
#define MSR_MTRRCAP    0xFEu
#define MSR_APIC_BASE  0x1B         /* the VMM emulates it (RDMSR exits) */
#define XSTR(x) STR(x)
#define STR(x) #x

static volatile unsigned seen[GUEST_IDT_VECTORS];
static volatile uint32_t last_error, last_cr2, last_eflags;
static volatile uint32_t db_eip, db_dr6, db_dr7, db_eflags;
static volatile uint32_t df_error, df_resume;
static volatile uint32_t watched;
static uint32_t page_dir[1024] __attribute__((aligned(4096)));

static void skip(guest_frame_t *f, unsigned len)
{
    seen[f->vector]++;
    last_error = f->error;
    last_eflags = f->eflags;
    f->eip += len;
}

static inline uint32_t read_dr6(void) { uint32_t v; __asm__ volatile("mov %%dr6, %0" : "=r"(v)); return v; }
static inline uint32_t read_dr7(void) { uint32_t v; __asm__ volatile("mov %%dr7, %0" : "=r"(v)); return v; }
static inline void write_dr0(uint32_t v) { __asm__ volatile("mov %0, %%dr0" : : "r"(v)); }
static inline void write_dr1(uint32_t v) { __asm__ volatile("mov %0, %%dr1" : : "r"(v)); }
static inline void write_dr6(uint32_t v) { __asm__ volatile("mov %0, %%dr6" : : "r"(v)); }
static inline void write_dr7(uint32_t v) { __asm__ volatile("mov %0, %%dr7" : : "r"(v)); }

/* #DB: note where and why; DR6 is sticky, cleared here (SDM 17.2.3); TF
 * off; past an instruction breakpoint by RF (17.3.1.1). DR7 is read first
 * thing: after a general-detect fault GD is already clear (17.2.4). */
static void on_db(guest_frame_t *f)
{
    db_dr7 = read_dr7();
    seen[f->vector]++;
    db_eip = f->eip;
    db_eflags = f->eflags;
    db_dr6 = read_dr6();
    write_dr6(0);
    f->eflags &= ~RFLAGS_TF;
    if (db_dr6 & DR6_B0)
        f->eflags |= RFLAGS_RF;
}

/* #DF: an abort, its saved EIP undefined (SDM 6.15, interrupt 8): go on
 * where the test said. */
static void on_df(guest_frame_t *f)
{
    seen[f->vector]++;
    df_error = f->error;
    f->eip = df_resume;
}

static void on_ud(guest_frame_t *f) { skip(f, 2); }   /* ud2 */
static void on_gp(guest_frame_t *f) { skip(f, 2); }   /* mov %ax, %ds */
static void on_de(guest_frame_t *f) { skip(f, 2); }   /* div %ecx */
static void on_bp(guest_frame_t *f) { seen[f->vector]++; last_eflags = f->eflags; }   /* a trap: eip is already past */

static void on_pf(guest_frame_t *f)
{
    seen[f->vector]++;
    last_error = f->error;
    last_eflags = f->eflags;
    last_cr2 = read_cr2();
    /* Map the 4 MiB page holding the address onto physical 0, then retry. */
    page_dir[last_cr2 >> PAGE_4M_SHIFT] = PDE_P | PDE_W | PDE_PS;
    write_cr3((uint32_t)(uintptr_t)page_dir);
}

/* The #GP of a WRMSR to a read-only MSR: under Nestor the VMM's (WRMSR
 * exits; it injects the fault), bare the CPU's. Either way a fault: RF
 * pushed 1. */
static void injected_checks(void)
{
    unsigned before = seen[VEC_GP];
    __asm__ volatile("wrmsr" : : "c"(MSR_MTRRCAP), "a"(0), "d"(0));   /* 2 bytes */
    CHECK(seen[VEC_GP] == before + 1 && last_error == 0, "WRMSR to IA32_MTRRCAP: #GP(0)");
    CHECK(last_eflags & RFLAGS_RF, "the WRMSR #GP pushes RF = 1 (SDM 17.3.1.1)");

    /* The same #GP with its IDT gate not present: delivering it raises
     * #NP, a contributory exception during a contributory one: #DF with
     * error code 0 (SDM Table 6-5, interrupt 8). */
    before = seen[VEC_GP];
    guest_set_gate_present(VEC_GP, 0);
    __asm__ volatile("movl $1f, %[resume]\n\t"
                     "wrmsr\n"
                     "1:"
                     : [resume] "=m"(df_resume) : "c"(MSR_MTRRCAP), "a"(0), "d"(0));
    guest_set_gate_present(VEC_GP, 1);
    CHECK(seen[VEC_DF] == 1 && df_error == 0 && seen[VEC_GP] == before,
          "#GP through a not-present gate: #DF(0) (SDM Table 6-5)");
}

/* Single-step over @insn (TF set by POPF: the trap comes after the next
 * instruction, SDM 17.3.1.4), after @setup; *expect gets the address after
 * @insn. */
#define STEP_OVER(setup, insn, expect)                                                  \
    __asm__ volatile(setup "\n\t"                                                      \
                     "movl $1f, %[exp]\n\t"                                            \
                     "pushfl\n\t"                                                      \
                     "orl %[tf], (%%esp)\n\t"                                          \
                     "popfl\n\t"                                                       \
                     insn "\n"                                                         \
                     "1:"                                                              \
                     : [exp] "=m"(expect) : [tf] "i"(RFLAGS_TF)                        \
                     : "eax", "ebx", "ecx", "edx", "memory", "cc")

static void debug_checks(void)
{
    volatile uint32_t expect = 0;
    guest_set_handler(VEC_DB, on_db);
    write_dr6(0);

    /* Single-step over an ordinary instruction: a trap after it, DR6.BS. */
    unsigned before = seen[VEC_DB];
    STEP_OVER("", "nop", expect);
    CHECK(seen[VEC_DB] == before + 1 && db_eip == expect && (db_dr6 & DR6_CAUSE) == DR6_BS,
          "single-step over NOP: #DB after it, DR6.BS alone (SDM 17.3.1.4)");
    CHECK(!(db_eflags & RFLAGS_RF), "single-step #DB (a trap) pushes RF = 0");

    /* Over instructions the VMM carries out for the guest: the same trap. */
    before = seen[VEC_DB];
    STEP_OVER("xorl %%eax, %%eax\n\txorl %%ecx, %%ecx", "cpuid", expect);
    CHECK(seen[VEC_DB] == before + 1 && db_eip == expect && (db_dr6 & DR6_CAUSE) == DR6_BS,
          "single-step over CPUID: #DB after it, DR6.BS");
    before = seen[VEC_DB];
    STEP_OVER("xorl %%eax, %%eax", "outb %%al, $0x80", expect);
    CHECK(seen[VEC_DB] == before + 1 && db_eip == expect && (db_dr6 & DR6_CAUSE) == DR6_BS,
          "single-step over OUT: #DB after it, DR6.BS");
    before = seen[VEC_DB];
    STEP_OVER("movl $" XSTR(MSR_APIC_BASE) ", %%ecx", "rdmsr", expect);
    CHECK(seen[VEC_DB] == before + 1 && db_eip == expect && (db_dr6 & DR6_CAUSE) == DR6_BS,
          "single-step over RDMSR: #DB after it, DR6.BS");

    /* MOV SS blocks the single-step trap for one instruction (SDM 6.8.3):
     * one #DB, after the instruction that follows it. */
    before = seen[VEC_DB];
    STEP_OVER("movw %%ss, %%ax", "movw %%ax, %%ss\n\tnop", expect);
    CHECK(seen[VEC_DB] == before + 1 && db_eip == expect,
          "single-step held back by MOV SS: one #DB, after the next instruction");

    /* DR0 instruction breakpoint: a fault before the instruction, DR6.B0,
     * RF pushed 0 (17.3.1.1); the handler's RF lets it run once. */
    before = seen[VEC_DB];
    uint32_t at;
    __asm__ volatile("movl $1f, %0\n\t"
                     "movl %0, %%dr0\n\t"
                     "movl %1, %%dr7\n\t"
                     "1: nop\n\t"
                     "movl $0, %%eax\n\t"
                     "movl %%eax, %%dr7"
                     : "=&r"(at) : "r"(DR7_L0) : "eax");
    CHECK(seen[VEC_DB] == before + 1 && db_eip == at && (db_dr6 & DR6_CAUSE) == DR6_B0,
          "DR0 instruction breakpoint: #DB at the instruction, DR6.B0 (SDM 17.3.1.1)");
    CHECK(!(db_eflags & RFLAGS_RF), "the instruction-breakpoint #DB pushes RF = 0");
    write_dr0(0);

    /* DR1 data write breakpoint on a dword: a trap after the write, DR6.B1. */
    before = seen[VEC_DB];
    write_dr1((uint32_t)(uintptr_t)&watched);
    write_dr7(DR7_L1 | DR7_RW_WRITE << DR7_RW1_SHIFT | DR7_LEN_4 << DR7_LEN1_SHIFT);
    __asm__ volatile("movl $1f, %0\n\t"
                     "movl $0x1234, %1\n"
                     "1:"
                     : "=m"(expect), "=m"(watched));
    write_dr7(0);
    CHECK(seen[VEC_DB] == before + 1 && db_eip == expect && (db_dr6 & DR6_CAUSE) == DR6_B1 &&
          watched == 0x1234, "DR1 write breakpoint: #DB after the write, DR6.B1 (SDM 17.3.1.2)");

    /* DR7.GD: the next MOV DR faults (#DB at it, DR6.BD), GD cleared for
     * the handler; the MOV then runs (SDM 17.2.4, 17.3.1.3). */
    before = seen[VEC_DB];
    __asm__ volatile("movl $1f, %0\n\t"
                     "movl %1, %%dr7\n"
                     "1: movl %%dr7, %%eax"
                     : "=m"(expect) : "r"(DR7_GD) : "eax");
    CHECK(seen[VEC_DB] == before + 1 && db_eip == expect && (db_dr6 & DR6_CAUSE) == DR6_BD,
          "DR7.GD: MOV DR faults, DR6.BD (SDM 17.2.4)");
    CHECK(!(db_dr7 & DR7_GD) && !(read_dr7() & DR7_GD), "DR7.GD cleared on the #DB");
    write_dr7(0);
}

int guest_main(void)
{
    guest_desc_init();
    guest_set_handler(6, on_ud);
    guest_set_handler(13, on_gp);
    guest_set_handler(0, on_de);
    guest_set_handler(3, on_bp);
    guest_set_handler(14, on_pf);
    guest_set_handler(VEC_DF, on_df);

    __asm__ volatile("ud2");
    CHECK(seen[6] == 1, "#UD delivered to the guest's handler");
    CHECK(last_eflags & RFLAGS_RF, "#UD (a fault) pushes RF = 1 (SDM 17.3.1.1)");

    /* Selector 0x18 is past the GDT's limit: #GP with the selector as error code. */
    __asm__ volatile("movw $0x18, %%ax; movw %%ax, %%ds" ::: "eax");
    __asm__ volatile("movw %0, %%ax; movw %%ax, %%ds" : : "i"(GUEST_SEL_DATA) : "eax");
    CHECK(seen[13] == 1, "#GP delivered to the guest's handler");
    CHECK(last_error == 0x18, "#GP error code is the selector");
    CHECK(last_eflags & RFLAGS_RF, "#GP (a fault) pushes RF = 1");

    uint32_t zero = 0;
    __asm__ volatile("xorl %%edx, %%edx; movl $1, %%eax; divl %0" : : "c"(zero) : "eax", "edx");
    CHECK(seen[0] == 1, "#DE delivered");
    CHECK(last_eflags & RFLAGS_RF, "#DE (a fault) pushes RF = 1");

    __asm__ volatile("int3");
    CHECK(seen[3] == 1, "#BP delivered");
    CHECK(!(last_eflags & RFLAGS_RF), "INT3 (a software interrupt) pushes RF = 0");

    /* Paging with 4 MiB pages, identity for the first 8 MiB. */
    for (unsigned i = 0; i < MAPPED_4M_PAGES; i++)
        page_dir[i] = (i << PAGE_4M_SHIFT) | PDE_P | PDE_W | PDE_PS;
    write_cr4(read_cr4() | CR4_PSE);
    write_cr3((uint32_t)(uintptr_t)page_dir);
    write_cr0(read_cr0() | CR0_PG);
    volatile uint32_t *p = (volatile uint32_t *)FAULT_ADDR;
    uint32_t v = *p;                /* #PF, mapped by the handler, retried */
    (void)v;
    CHECK(seen[14] == 1, "#PF delivered");
    CHECK(last_cr2 == FAULT_ADDR, "CR2 holds the faulting address");
    CHECK((last_error & 1) == 0, "#PF error: page not present");
    CHECK(last_eflags & RFLAGS_RF, "#PF (a fault) pushes RF = 1");
    write_cr0(read_cr0() & ~CR0_PG);

    injected_checks();
    debug_checks();
    CHECK(guest_unhandled == 0, "no unexpected vectors");
    return guest_report("exceptions");
}
