/*
 * tests/guests/lib/guest.h - the tiny runtime of test guests: serial output,
 * port I/O, CPUID, a test counter. Guests report "NAME: N passed, N failed"
 * and end by writing their status to GUEST_EXIT_PORT (0 = success), which
 * the VMM turns into the VM's verdict.
 *
 * Bare: with the word "bare" on its Multiboot command line (GRUB booting the
 * guest itself, `./nestor run --bare NAME`), the library sets the UART up
 * before guest_main and, after it, prints the verdict line and shuts Bochs
 * down instead (guest_finish). Lines that may differ between bare and
 * virtual runs start with NESTOR_ENV_LINE_MARK (guest_env_printf).
 */
#ifndef GUEST_H
#define GUEST_H

#define GUEST_STACK_TOP 0x80000
#define GUEST_EXIT_PORT 0xF4
#define GUEST_COM1      0x3F8
#define GUEST_COM1_LSR  (GUEST_COM1 + 5)
#define GUEST_LSR_THRE  0x20
#define GUEST_IDT_VECTORS   256
#define GUEST_ISR_STUB_SIZE 16
#define GUEST_SEL_CODE  0x08
#define GUEST_SEL_DATA  0x10

#ifndef __ASSEMBLER__
#include <stdarg.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

typedef struct {
    uint32_t eax, ebx, ecx, edx;
} guest_cpuid_t;

static inline guest_cpuid_t guest_cpuid(uint32_t leaf, uint32_t sub)
{
    guest_cpuid_t r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                     : "a"(leaf), "c"(sub));
    return r;
}

int guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line that may differ bare and virtual (a value of the machine, not a
 * result): printed after NESTOR_ENV_LINE_MARK, left out of the comparison. */
int guest_env_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Set before guest_main: the guest runs bare (no VMM underneath). */
extern int guest_bare;
/* The Multiboot command line holds @word (space-separated). */
int guest_cmdline_has(const char *word);
/* Entry and exit around guest_main (enter_main.inc). */
void guest_start(void);
void guest_finish(int status) __attribute__((noreturn));

/* Interrupt frame: pushal registers, then vector, error code, and what the
 * CPU pushed (no privilege change: eip, cs, eflags). Handlers may change eip. */
typedef struct {
    uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
    uint32_t vector, error;
    uint32_t eip, cs, eflags;
} guest_frame_t;

typedef void (*guest_handler_t)(guest_frame_t *f);

/* A flat GDT and an IDT whose every vector goes to guest_isr_dispatch. */
void guest_desc_init(void);
void guest_set_handler(unsigned vector, guest_handler_t h);
/* Program both 8259As (ICW1-4, 8259A datasheet): master's vectors from
 * @vector_base (slave's from @vector_base + 8), the slave on IRQ 2, 8086
 * mode, then the masks (OCW1) @mask1 and @mask2. */
void guest_pic_init(uint8_t vector_base, uint8_t mask1, uint8_t mask2);
#define GUEST_PIC1_CMD  0x20
#define GUEST_PIC1_DATA 0x21
#define GUEST_PIC2_CMD  0xA0
#define GUEST_PIC2_DATA 0xA1
#define GUEST_PIC_EOI   0x20         /* OCW2: non-specific EOI */
/* Mark vector's IDT gate present or not present (#NP on its delivery). */
void guest_set_gate_present(unsigned vector, int present);
/* Vectors taken without a handler, for checks. */
extern volatile unsigned guest_unhandled;

static inline uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr2(void) { uint32_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr4(void) { uint32_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
/* WRMSR/RDMSR (SDM Vol. 2C); a refused MSR raises #GP in the guest. */
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* What the Multiboot loader passed in EAX and EBX (start.S). */
#define GUEST_MB_LOADER_MAGIC 0x2BADB002u
#define GUEST_MB_INFO_MEM     (1u << 0)  /* Multiboot 0.6.96 3.3: mem_lower/mem_upper valid */
#define GUEST_MB_INFO_CMDLINE (1u << 2)  /* Multiboot 0.6.96 3.3: cmdline is valid */
#define GUEST_MB_INFO_MMAP    (1u << 6)  /* Multiboot 0.6.96 3.3: mmap_* valid */
#define GUEST_MB_MMAP_RAM     1          /* Multiboot 0.6.96 3.3: available RAM */
typedef struct {
    uint32_t flags, mem_lower, mem_upper;       /* Multiboot information (3.3) */
    uint32_t boot_device, cmdline;
    uint32_t mods_count, mods_addr, syms[4];
    uint32_t mmap_length, mmap_addr;
} guest_mb_info_t;
/* A memory map entry; size counts the bytes after itself (3.3). */
typedef struct __attribute__((packed)) {
    uint32_t size;
    uint64_t base, length;
    uint32_t type;
} guest_mb_mmap_t;
extern uint32_t guest_boot_magic, guest_boot_info;

/* The Multiboot command line ("" without one), and the decimal number
 * right after the first @key in it ("iterations=", "write-mib="), or
 * @dflt when @key is not there (digits that would take it past @max are
 * not read). */
const char *guest_cmdline(void);
uint32_t guest_cmdline_number(const char *key, uint32_t dflt, uint32_t max);

/* Test bookkeeping: CHECK(cond, what) counts and prints failures. */
extern unsigned guest_passed, guest_failed;
#define CHECK(cond, what)                                                     \
    do {                                                                      \
        if (cond)                                                             \
            guest_passed++;                                                   \
        else {                                                                \
            guest_failed++;                                                   \
            guest_printf("  check failed: %s (%s:%d)\n", what, __FILE__, __LINE__); \
        }                                                                     \
    } while (0)
/* A rule of the SDM that bare Bochs 2.7 is known to break (docs/platforms.md),
 * each use saying in a comment what Bochs does. Under Nestor a failure is an
 * ordinary failed check; bare it is printed as a marked line naming the
 * deviation and makes no failure. Either way the rule is counted apart
 * (guest_report's marked line), so the result line is the same both ways. */
extern unsigned guest_sdm_held, guest_deviations;
#define CHECK_SDM(cond, what)                                                 \
    do {                                                                      \
        if (cond)                                                             \
            guest_sdm_held++;                                                 \
        else if (guest_bare) {                                                \
            guest_deviations++;                                               \
            guest_env_printf("bare machine deviates from the SDM: %s (%s:%d)\n", \
                             what, __FILE__, __LINE__);                       \
        } else {                                                              \
            guest_failed++;                                                   \
            guest_printf("  check failed: %s (%s:%d)\n", what, __FILE__, __LINE__); \
        }                                                                     \
    } while (0)
/* Print "NAME: N passed, N failed" and return the exit status for _start. */
int guest_report(const char *name);

int guest_main(void);
#endif
#endif
