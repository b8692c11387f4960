/*
 * tests/guests/unseen.c - a guest that looks for the debugger and must not
 * find it (tests/system/inspector-unseen.spec, inspector-unseen.gdb): an
 * ELF64 kernel like the debuggee (built -O0 -g), whose checks pass with or
 * without gdb attached through the inspector:
 *   - its own debug registers (SDM Vol. 3B 17.2): it writes DR0, DR1 and
 *     DR7 and reads them back while gdb holds a hardware breakpoint on
 *     dr_probe (the inspector's DR0/DR7 in the CPU); then, gdb's breakpoint
 *     gone, the CPU holds what it wrote;
 *   - RFLAGS.TF (SDM 17.3.1.4) where gdb single-steps with it: the image
 *     PUSHFQ pushes (pushf_here), the frame INT 0x80 pushes (int_here; gdb's
 *     stepi lands in int80_handler), R11 after SYSCALL (syscall_here, with
 *     TF in IA32_FMASK as Linux has it; stepi lands in syscall_entry), the
 *     frames of #UD (ud2_here) and of the #GP the VMM injects for RDMSR of
 *     no MSR (rdmsr_here, after an error code); stepi lands in the handler;
 *   - the int3s that end gdb's steps at the handlers' entries: while gdb
 *     steps through the #UD handler, the handler reads its own first bytes
 *     and the #GP handler's (ud_peek, gp_peek) and finds its code there,
 *     byte for byte and by checksum, not an int3 (SDM Vol. 2A INT3);
 *   - a single step over CPUID and OUT, which the VMM carries out, ends
 *     right after them (cpuid_here, out_here), and an interrupt due when
 *     one completes waits for the step's trap (unmask_here);
 *   - no interrupt inside a step: with IF 1 and IRQ 0 due every
 *     millisecond, gdb's steps over unmasked_nop, a PUSHFQ (whose image
 *     has the guest's IF 1, not the inspector's 0: pushed_if_rflags) and
 *     some 200 instructions of a loop (step_loop) never land in
 *     irq0_handler (gdb reads ticks: still 0); once gdb lets go the
 *     interrupts come, the first frame with IF and without TF.
 * Reports "unseen: N passed, N failed" on COM1, its failures on port 0xF4.
 */
#include <stdint.h>

#define COM1          0x3F8
#define EXIT_PORT     0xF4
#define COM1_SCRATCH  (COM1 + 7)            /* the 16550's scratch register */
#define RFLAGS_TF     (1ull << 8)           /* SDM Vol. 1 3.4.3 */
#define RFLAGS_IF     (1ull << 9)
#define STEP_LOOPS    150                   /* step_loop's turns: 2 instructions each */
#define GUEST_DR0     0x123000ull           /* an address it never executes */
#define GUEST_DR1     0x5678ull
#define GUEST_DR7     0x600ull              /* GE and the bit that reads 1: no breakpoint on */
#define INT_VECTOR    0x80
#define IDT_ENTRIES   256
#define GATE_INT64    0x8E00ull             /* present, DPL 0, 64-bit interrupt gate (6.14.1) */
#define VEC_UD        6                     /* SDM Vol. 3A Table 6-1 */
#define VEC_GP        13
#define MSR_NONE      0xDEAD0000u           /* no MSR: RDMSR raises #GP(0) */
#define MSR_EFER      0xC0000080u
#define MSR_STAR      0xC0000081u
#define MSR_LSTAR     0xC0000082u
#define MSR_FMASK     0xC0000084u
#define EFER_SCE      1ull                  /* SYSCALL enable (SDM Vol. 3A 2.2.1) */
#define STAR_CS_SHIFT 32                    /* SYSCALL's CS is STAR[47:32] */

static unsigned passed, failed;

/* The 8259 and the 8254 (IRQ 0), for an interrupt due during a step. */
#define PIC_CMD       0x20
#define PIC_DATA      0x21
#define PIC_ICW1      0x11                  /* edge, cascade, ICW4 follows */
#define PIC_ICW3      0x04                  /* the slave on IRQ 2 */
#define PIC_ICW4      0x01                  /* 8086 mode */
#define PIC_OCW3_IRR  0x0A                  /* the next read of PIC_CMD gives IRR */
#define PIC_EOI       0x20
#define PIC_ALL_OFF   0xFF
#define PIC_IRQ0_ON   0xFE
#define IRQ0_VECTOR   0x20
#define PIT_CH0       0x40
#define PIT_CMD       0x43
#define PIT_CH0_RATE  0x34                  /* channel 0, low then high byte, mode 2 */
#define PIT_COUNT     1193                  /* about 1 ms */
#define POLL_MAX      1000000u

/* What the handlers saw. */
uint64_t int_frame_rflags, syscall_r11, pushed_rflags, ud_frame_rflags, gp_frame_rflags;
uint64_t ud_peek, gp_peek;                  /* the handlers' first bytes, read in #UD's */
uint64_t irq_frame_rflags;                  /* IRQ 0's first frame */
uint64_t pushed_if_rflags;                  /* PUSHFQ's image, stepped with IF 1 */
volatile uint64_t ticks;
uint16_t saved_ss;

static struct { uint64_t lo, hi; } idt[IDT_ENTRIES] __attribute__((aligned(16)));

static void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void puts_(const char *s)
{
    while (*s)
        outb(COM1, (uint8_t)*s++);
}

static void put_dec(unsigned v)
{
    char buf[12];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        outb(COM1, (uint8_t)buf[--n]);
}

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    puts_("unseen: FAIL ");
    puts_(what);
    puts_("\n");
}

static void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

/* The debug registers (MOV DR: SDM Vol. 2A). */
#define DR_READ(n)                                                                     \
    ({                                                                                 \
        uint64_t v_;                                                                   \
        __asm__ volatile("mov %%dr" #n ", %0" : "=r"(v_));                             \
        v_;                                                                            \
    })
#define DR_WRITE(n, v) __asm__ volatile("mov %0, %%dr" #n : : "r"((uint64_t)(v)))

/* gdb holds a hardware breakpoint here while the guest plays with its own
 * debug registers. */
void dr_probe(void);
void dr_probe(void)
{
    __asm__ volatile("nop");
}

/* The handlers: each records what the CPU stored and clears TF there
 * itself, so that a failure shows in the checks, not as a stray #DB. */
void int80_handler(void);
void syscall_entry(void);
__asm__(".text\n"
        ".globl int80_handler\nint80_handler:\n"
        "\tmovq 16(%rsp), %rax\n"                 /* RIP, CS, RFLAGS (6.14.2) */
        "\tmovq %rax, int_frame_rflags(%rip)\n"
        "\tandq $~0x100, 16(%rsp)\n"
        "\tiretq\n"
        ".globl syscall_entry\nsyscall_entry:\n"
        "\tmovq %r11, syscall_r11(%rip)\n"       /* SDM Vol. 2B SYSCALL: R11 <- RFLAGS */
        "\tmovw saved_ss(%rip), %ax\n"
        "\tmovw %ax, %ss\n"                      /* SYSCALL loaded STAR's SS */
        "\tandq $~0x100, %r11\n"
        "\tpushq %r11\n"
        "\tpopfq\n"
        "\tjmp *%rcx\n"
        /* #UD (no error code) and #GP (with one, SDM Vol. 3A 6.13): record
         * RFLAGS, skip the 2-byte UD2 / RDMSR that raised it. */
        ".globl ud_handler\nud_handler:\n"
        "\tpushq %rax\n"
        "\tmovq ud_handler(%rip), %rax\n"     /* its own first bytes, and #GP's */
        "\tmovq %rax, ud_peek(%rip)\n"
        "\tmovq gp_handler(%rip), %rax\n"
        "\tmovq %rax, gp_peek(%rip)\n"
        "\tmovq 24(%rsp), %rax\n"
        "\tmovq %rax, ud_frame_rflags(%rip)\n"
        "\tandq $~0x100, 24(%rsp)\n"
        "\taddq $2, 8(%rsp)\n"
        "\tpopq %rax\n"
        "\tiretq\n"
        ".globl gp_handler\ngp_handler:\n"
        "\tpushq %rax\n"
        "\tmovq 32(%rsp), %rax\n"               /* rax, error code, RIP, CS, RFLAGS */
        "\tmovq %rax, gp_frame_rflags(%rip)\n"
        "\tandq $~0x100, 32(%rsp)\n"
        "\taddq $2, 16(%rsp)\n"
        "\tpopq %rax\n"
        "\taddq $8, %rsp\n"
        "\tiretq\n"
        ".globl irq0_handler\nirq0_handler:\n"
        "\tpushq %rax\n"
        "\tcmpq $0, ticks(%rip)\n"
        "\tjne 1f\n"
        "\tmovq 24(%rsp), %rax\n"               /* rax, RIP, CS, RFLAGS */
        "\tmovq %rax, irq_frame_rflags(%rip)\n"
        "\tandq $~0x100, 24(%rsp)\n"
        "1:\tincq ticks(%rip)\n"
        "\tmovb $0x20, %al\n"                   /* EOI */
        "\toutb %al, $0x20\n"
        "\tpopq %rax\n"
        "\tiretq\n");
void irq0_handler(void);
void ud_handler(void);
void gp_handler(void);

static void set_gate(unsigned vector, void (*handler)(void), uint16_t cs)
{
    /* SDM Vol. 3A 6.14.1, Figure 6-8: offset 15:0, selector, type, offset
     * 31:16; offset 63:32 in the second word. */
    const uint64_t h = (uint64_t)(uintptr_t)handler;
    idt[vector].lo = (h & 0xFFFF) | (uint64_t)cs << 16 | GATE_INT64 << 32 |
                     ((h >> 16) & 0xFFFF) << 48;
    idt[vector].hi = h >> 32;
}

static void setup(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    __asm__ volatile("mov %%ss, %0" : "=r"(saved_ss));
    set_gate(INT_VECTOR, int80_handler, cs);
    set_gate(IRQ0_VECTOR, irq0_handler, cs);
    set_gate(VEC_UD, ud_handler, cs);
    set_gate(VEC_GP, gp_handler, cs);
    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr = {
        sizeof idt - 1, (uint64_t)(uintptr_t)idt
    };
    __asm__ volatile("lidt %0" : : "m"(idtr));
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    wrmsr(MSR_STAR, (uint64_t)cs << STAR_CS_SHIFT);
    wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)syscall_entry);
    wrmsr(MSR_FMASK, RFLAGS_TF);
}

static void debug_registers(void)
{
    DR_WRITE(0, GUEST_DR0);
    DR_WRITE(1, GUEST_DR1);
    DR_WRITE(7, GUEST_DR7);
    check(DR_READ(0) == GUEST_DR0, "DR0 reads what the guest wrote");
    check(DR_READ(7) == GUEST_DR7, "DR7 reads what the guest wrote");
    dr_probe();
    /* gdb has let go of its breakpoint: the CPU holds the guest's values. */
    check(DR_READ(0) == GUEST_DR0, "DR0 is the guest's after the debugger");
    check(DR_READ(1) == GUEST_DR1, "DR1 is the guest's after the debugger");
    check(DR_READ(7) == GUEST_DR7, "DR7 is the guest's after the debugger");
    DR_WRITE(7, 0);
}

/* A handler's first eight bytes as data (a volatile read: no copy the
 * compiler keeps); a checksum of them (an integrity check's). */
static uint64_t code_quad(void (*code)(void))
{
    return *(const volatile uint64_t *)(uintptr_t)code;
}

static uint32_t checksum(const void *p)
{
    uint32_t h = 0;
    for (unsigned i = 0; i < sizeof(uint64_t); i++)
        h = h * 31 + ((const volatile uint8_t *)p)[i];
    return h;
}

static void trap_flag(void)
{
    __asm__ volatile(".globl pushf_here\npushf_here:\n\tpushfq\n\tpopq %0"
                     : "=r"(pushed_rflags));
    check(!(pushed_rflags & RFLAGS_TF), "PUSHFQ's image without TF");
    __asm__ volatile(".globl int_here\nint_here:\n\tint $0x80" : : : "rax", "memory");
    check(int_frame_rflags != 0, "INT 0x80 reached its handler");
    check(!(int_frame_rflags & RFLAGS_TF), "INT 0x80's frame without TF");
    __asm__ volatile(".globl syscall_here\nsyscall_here:\n\tsyscall"
                     : : : "rax", "rcx", "r11", "memory");
    check(syscall_r11 != 0, "SYSCALL reached its entry");
    check(!(syscall_r11 & RFLAGS_TF), "SYSCALL's R11 without TF");
    /* Exceptions the stepped instruction raises: gdb's stepi lands in the
     * handler; the frame (after an error code for #GP) has no TF. */
    __asm__ volatile(".globl ud2_here\nud2_here:\n\tud2" : : : "memory");
    check(ud_frame_rflags != 0, "UD2 reached the #UD handler");
    check(!(ud_frame_rflags & RFLAGS_TF), "#UD's frame without TF");
    /* What the #UD handler read of its own first bytes and #GP's while gdb
     * stepped through it: the code, not the int3s that end a step there. */
    check(ud_peek == code_quad(ud_handler) && gp_peek == code_quad(gp_handler),
          "handlers' first bytes under a step");
    check(checksum(&ud_peek) + checksum(&gp_peek) ==
              checksum((const void *)(uintptr_t)ud_handler) +
                  checksum((const void *)(uintptr_t)gp_handler),
          "handlers' checksum under a step");
    uint32_t lo, hi;
    __asm__ volatile(".globl rdmsr_here\nrdmsr_here:\n\trdmsr"
                     : "=a"(lo), "=d"(hi) : "c"(MSR_NONE) : "memory");
    check(gp_frame_rflags != 0, "RDMSR of no MSR reached the #GP handler");
    check(!(gp_frame_rflags & RFLAGS_TF), "#GP's frame (after its error code) without TF");
}

/* Instructions the VMM carries out (CPUID, OUT): gdb's stepi over each
 * must end right after it (the VMM owes the single-step trap, SDM
 * 17.3.1.4), not one instruction later. */
static void emulated(void)
{
    uint32_t a = 0, b, c = 0, d;
    __asm__ volatile(".globl cpuid_here\ncpuid_here:\n\tcpuid\n\tnop"
                     : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    check(b != 0, "CPUID leaf 0 answered");
    __asm__ volatile(".globl out_here\nout_here:\n\toutb %%al, %%dx\n\tnop"
                     : : "a"((uint8_t)0x5A), "d"((uint16_t)COM1_SCRATCH));
}

static uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* An interrupt due when an instruction the VMM carries out completes
 * during a step: IRQ 0 is requested (IRR) but masked; gdb steps the OUT
 * that unmasks it (unmask_here). The step's trap goes first (SDM Vol. 3A
 * 6.9): gdb sees the step end right after the OUT with ticks still 0;
 * the interrupt comes once gdb lets the guest go. */
static void interrupt_in_step(void)
{
    outb(PIC_CMD, PIC_ICW1);
    outb(PIC_DATA, IRQ0_VECTOR);
    outb(PIC_DATA, PIC_ICW3);
    outb(PIC_DATA, PIC_ICW4);
    outb(PIC_DATA, PIC_ALL_OFF);
    outb(PIT_CMD, PIT_CH0_RATE);
    outb(PIT_CH0, PIT_COUNT & 0xFF);
    outb(PIT_CH0, PIT_COUNT >> 8);
    unsigned polls = 0;
    uint8_t irr = 0;
    while (!(irr & 1) && polls++ < POLL_MAX) {
        outb(PIC_CMD, PIC_OCW3_IRR);
        irr = inb(PIC_CMD);
    }
    check(irr & 1, "IRQ 0 requested while masked");
    __asm__ volatile(".globl sti_here\nsti_here:\n\tsti\n\tnop\n"
                     ".globl unmask_here\nunmask_here:\n\toutb %%al, $0x21\n"
                     ".globl unmasked_nop\nunmasked_nop:\n\tnop\n"
                     ".globl pushf_if_here\npushf_if_here:\n\tpushfq\n"
                     "\tpopq pushed_if_rflags(%%rip)\n"
                     "\tmovl %1, %%ecx\n"
                     ".globl step_loop\nstep_loop:\n\tdecl %%ecx\n\tjnz step_loop"
                     : : "a"((uint8_t)PIC_IRQ0_ON), "i"(STEP_LOOPS) : "rcx", "memory");
    for (polls = 0; !ticks && polls < POLL_MAX; polls++)
        __asm__ volatile("pause");
    __asm__ volatile("cli");
    outb(PIC_DATA, PIC_ALL_OFF);
    check(ticks != 0, "IRQ 0 delivered after the unmask");
    /* gdb's steps ran with the inspector's IF 0: PUSHFQ's image has the
     * guest's IF; IRQ 0 came once gdb let go, its frame with the guest's
     * IF and no TF of the debugger's. */
    check(pushed_if_rflags & RFLAGS_IF, "PUSHFQ's image under a step has IF");
    check((irq_frame_rflags & RFLAGS_IF) && !(irq_frame_rflags & RFLAGS_TF),
          "IRQ 0's frame with IF, without TF");
}

void unseen_main(void);
void unseen_main(void)
{
    puts_("unseen: start\n");
    setup();
    debug_registers();
    trap_flag();
    emulated();
    interrupt_in_step();
    puts_("unseen: ");
    put_dec(passed);
    puts_(" passed, ");
    put_dec(failed);
    puts_(" failed\n");
    __asm__ volatile("outl %0, %1" : : "a"((uint32_t)failed), "Nd"((uint16_t)EXIT_PORT));
    for (;;)
        __asm__ volatile("hlt");
}

__asm__(".text\n.globl start\nstart:\n\tcall unseen_main\n1:\thlt\n\tjmp 1b\n");
