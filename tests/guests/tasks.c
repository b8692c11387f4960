/*
 * tests/guests/tasks.c - hardware task switches (SDM Vol. 3A chapter 7),
 * which the VMM carries out: CALL to a TSS and IRET back through the link
 * (NT), INT n through a task gate, JMP to a TSS and JMP back; busy bits, TR,
 * CR0.TS and the saved state are checked after each.
 */
#include "lib/guest.h"

#define SEL_TSS_A   0x18
#define SEL_TSS_B   0x20
#define SEL_TSS_C   0x28
#define SEL_TSS_D   0x30
#define SEL_TSS_E   0x38
#define SEL_BEYOND  0x48            /* past the GDT's limit: #GP(0x48) */
#define GATE_VECTOR 0x40
#define DESC_BUSY   (1ull << 41)
#define EFLAGS_NT   (1u << 14)
#define CR0_TS      (1u << 3)
#define STACK_WORDS 256

struct tss32 {
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
} __attribute__((packed));

static struct tss32 tss[5] __attribute__((aligned(128)));     /* A (this one), B, C, D, E */
static uint32_t stacks[4][STACK_WORDS] __attribute__((aligned(16)));
static uint64_t gdt[8] __attribute__((aligned(8)));
static volatile unsigned ran_b, ran_c, ran_d, ran_e;
static volatile uint32_t b_saw_eax, e_error;

/* Tasks B and C end with IRET back to whoever called them (NT set); the
 * loop makes them runnable again. D jumps back to A. */
void task_b(void);
void task_c(void);
void task_d(void);
void task_e(void);
__asm__(".text\n"
        "task_b: incl ran_b; movl %eax, b_saw_eax; iret; jmp task_b\n"
        "task_c: incl ran_c; iret; jmp task_c\n"
        "task_d: incl ran_d; ljmp $0x18, $0; jmp task_d\n"
        /* #GP through a task gate: the error code is on E's stack; A's saved
         * EIP is moved past the 2-byte faulting MOV before going back. */
        "task_e: incl ran_e; popl e_error; addl $2, tss+0x20; iret; jmp task_e\n");

static uint64_t tss_desc(const struct tss32 *t)
{
    uint32_t base = (uint32_t)(uintptr_t)t, limit = sizeof(*t) - 1;
    /* Present, DPL 0, type 9 (32-bit TSS, available): SDM Vol. 3A 7.2.2. */
    return (uint64_t)(limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) | (0x89ull << 40) |
           ((uint64_t)(base >> 24) << 56);
}

static void make_task(struct tss32 *t, void (*entry)(void), uint32_t *stack_top)
{
    *t = (struct tss32){ .eip = (uint32_t)(uintptr_t)entry, .eflags = 0x2,
                         .esp = (uint32_t)(uintptr_t)stack_top, .eax = 0x7A5C,
                         .cs = GUEST_SEL_CODE, .ss = GUEST_SEL_DATA, .ds = GUEST_SEL_DATA,
                         .es = GUEST_SEL_DATA, .fs = GUEST_SEL_DATA, .gs = GUEST_SEL_DATA,
                         .iomap = sizeof(*t) };
}

static uint16_t str(void)
{
    uint16_t s;
    __asm__ volatile("str %0" : "=r"(s));
    return s;
}

static uint32_t eflags(void)
{
    uint32_t f;
    __asm__ volatile("pushfl; popl %0" : "=r"(f));
    return f;
}

int guest_main(void)
{
    guest_desc_init();
    gdt[0] = 0;
    gdt[1] = 0x00CF9A000000FFFFULL;        /* GUEST_SEL_CODE, as the library's */
    gdt[2] = 0x00CF92000000FFFFULL;        /* GUEST_SEL_DATA */
    for (unsigned i = 0; i < 5; i++)
        gdt[3 + i] = tss_desc(&tss[i]);
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) gp =
        { sizeof(gdt) - 1, (uint32_t)(uintptr_t)gdt };
    __asm__ volatile("lgdt %0" : : "m"(gp));
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS_A));
    make_task(&tss[1], task_b, &stacks[0][STACK_WORDS]);
    make_task(&tss[2], task_c, &stacks[1][STACK_WORDS]);
    make_task(&tss[3], task_d, &stacks[2][STACK_WORDS]);
    make_task(&tss[4], task_e, &stacks[3][STACK_WORDS]);

    /* CALL to task B; its IRET (NT set) comes back through the link. */
    __asm__ volatile("lcall $0x20, $0" ::: "memory");
    CHECK(ran_b == 1 && b_saw_eax == 0x7A5C, "CALL ran task B with its TSS's registers");
    CHECK(str() == SEL_TSS_A, "IRET came back to task A");
    CHECK(tss[1].link == SEL_TSS_A, "task B's link is task A");
    CHECK(!(eflags() & EFLAGS_NT), "task A runs without NT");
    CHECK(!(gdt[4] & DESC_BUSY) && (gdt[3] & DESC_BUSY), "B free again, A busy");
    CHECK(read_cr0() & CR0_TS, "a task switch sets CR0.TS");
    __asm__ volatile("clts");

    /* INT n through a task gate in the IDT. */
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) ip;
    __asm__ volatile("sidt %0" : "=m"(ip));
    ((volatile uint64_t *)(uintptr_t)ip.base)[GATE_VECTOR] =
        (0x85ull << 40) | ((uint64_t)SEL_TSS_C << 16);          /* task gate, present */
    __asm__ volatile("int $0x40" ::: "memory");
    CHECK(ran_c == 1 && str() == SEL_TSS_A, "INT through a task gate ran task C and came back");

    /* JMP to task D, which JMPs back: no link, busy bits move. */
    __asm__ volatile("ljmp $0x30, $0" ::: "memory");
    CHECK(ran_d == 1 && str() == SEL_TSS_A, "JMP to task D and back");
    CHECK(!(gdt[6] & DESC_BUSY) && (gdt[3] & DESC_BUSY), "after JMP back: D free, A busy");

    /* #GP through a task gate: task E gets the error code on its stack. */
    ((volatile uint64_t *)(uintptr_t)ip.base)[13] = (0x85ull << 40) | ((uint64_t)SEL_TSS_E << 16);
    __asm__ volatile("movw %0, %%ax; movw %%ax, %%ds" : : "i"(SEL_BEYOND) : "eax", "memory");
    CHECK(ran_e == 1 && e_error == SEL_BEYOND && str() == SEL_TSS_A,
          "#GP through a task gate: task E ran with the error code pushed");

    /* Task B again: its saved EIP continues after its IRET. */
    __asm__ volatile("lcall $0x20, $0" ::: "memory");
    CHECK(ran_b == 2, "task B resumed where it left off");
    __asm__ volatile("clts");
    CHECK(guest_unhandled == 0, "no unexpected vectors");
    return guest_report("tasks");
}
