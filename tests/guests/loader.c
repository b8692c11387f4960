/*
 * tests/guests/loader.c - checks from inside what the Multiboot loader did
 * (Multiboot 0.6.96): this guest is an ELF32 kernel without the a.out
 * kludge, partly below 1 MiB (loader.ld), booted with a command line, two
 * modules and a RAM size it reads from its command line ("mem=MIB").
 * Checked: the magic (3.2), the information's flags, command line, loader
 * name, modules (bytes, sizes, strings, page alignment, above the kernel),
 * the memory map (3.3) against the RAM size, the low segment's data and
 * zeroed bss, and that the last page of RAM can be written and read.
 * One summary line, then "loader: N passed, N failed".
 */
#include "lib/guest.h"
#include <stdbool.h>
#include <string.h>

#define LOADER_LOW_BSS_BYTES 8192        /* loader_start.S: the same */
#define MB_INFO_WANTED   ((1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9))
#define MB_MMAP_AVAILABLE 1
#define LOW_MEM_END      0xA0000u
#define HIGH_MEM_START   0x100000u
#define PAGE             4096u
#define MIB              (1024u * 1024u)
#define N_MODULES        2

typedef struct {                         /* the boot information (3.3) */
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table;
    uint32_t boot_loader_name;
} mb_info_t;

typedef struct { uint32_t mod_start, mod_end, string, reserved; } mb_module_t;

typedef struct __attribute__((packed)) {
    uint32_t size;
    uint64_t base, length;
    uint32_t type;
} mb_mmap_t;

/* What the test (tests/system/guest-loader.spec) gives each module: the
 * files tests/guests/SConscript writes, byte j = (j * mul + add) & 0xFF. */
static const struct { const char *string; uint32_t size, mul, add; } want[N_MODULES] = {
    { "alpha one", 5000, 7, 3 },
    { "beta two", 300, 13, 1 },
};

extern const uint32_t low_data[4];
extern uint8_t low_bss[LOADER_LOW_BSS_BYTES];
extern char _start[], __kernel_end[];

static bool has_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (; *s; s++)
        if (strncmp(s, w, n) == 0)
            return true;
    return false;
}

static uint32_t mem_from_cmdline(const char *cmdline)
{
    const char *p = cmdline;
    while (*p && !(p[0] == 'm' && p[1] == 'e' && p[2] == 'm' && p[3] == '='))
        p++;
    uint32_t mib = 0;
    for (p = *p ? p + 4 : p; *p >= '0' && *p <= '9'; p++)
        mib = mib * 10 + (uint32_t)(*p - '0');
    return mib;
}

static void check_modules(const mb_info_t *mb)
{
    CHECK(mb->mods_count == N_MODULES, "two modules");
    const mb_module_t *m = (const mb_module_t *)(uintptr_t)mb->mods_addr;
    for (unsigned i = 0; i < N_MODULES && i < mb->mods_count; i++) {
        const uint8_t *b = (const uint8_t *)(uintptr_t)m[i].mod_start;
        bool bytes = m[i].mod_end - m[i].mod_start == want[i].size;
        for (uint32_t j = 0; bytes && j < want[i].size; j++)
            bytes = b[j] == (uint8_t)(j * want[i].mul + want[i].add);
        CHECK(bytes, "module bytes and size");
        CHECK(strcmp((const char *)(uintptr_t)m[i].string, want[i].string) == 0, "module string");
        CHECK(m[i].mod_start % PAGE == 0, "module page-aligned");
        CHECK(m[i].mod_start >= (uint32_t)(uintptr_t)__kernel_end, "module above the kernel");
    }
}

/* The map must say: [0, 640 KiB) and [1 MiB, mem) available, nothing else available. */
static void check_mmap(const mb_info_t *mb, uint32_t mem_mib)
{
    uint64_t low = 0, high = 0, other = 0;
    for (uint32_t off = 0; off < mb->mmap_length;) {
        const mb_mmap_t *e = (const mb_mmap_t *)(uintptr_t)(mb->mmap_addr + off);
        if (e->type == MB_MMAP_AVAILABLE) {
            if (e->base == 0)
                low = e->length;
            else if (e->base == HIGH_MEM_START)
                high = e->base + e->length;
            else
                other++;
        }
        off += e->size + sizeof(e->size);
    }
    CHECK(low == LOW_MEM_END && other == 0, "memory map: low 640 KiB");
    CHECK(high == (uint64_t)mem_mib * MIB, "memory map: RAM from 1 MiB to its size");
    CHECK(mb->mem_lower == 640 && mb->mem_upper == (mem_mib - 1) * 1024, "mem_lower, mem_upper");
}

int guest_main(void)
{
    const mb_info_t *mb = (const mb_info_t *)(uintptr_t)guest_boot_info;
    CHECK(guest_boot_magic == GUEST_MB_LOADER_MAGIC, "Multiboot magic in EAX");
    if (guest_boot_magic != GUEST_MB_LOADER_MAGIC || !mb)
        return guest_report("loader");
    CHECK((mb->flags & MB_INFO_WANTED) == MB_INFO_WANTED, "information flags");
    CHECK(mb->boot_loader_name &&
          strcmp((const char *)(uintptr_t)mb->boot_loader_name, "Nestor") == 0, "loader name");
    const char *cmdline = (const char *)(uintptr_t)mb->cmdline;
    uint32_t mem_mib = mem_from_cmdline(cmdline);
    CHECK(mem_mib >= 2 && has_word(cmdline, "loader-test"), "command line");
    CHECK((uintptr_t)_start < LOW_MEM_END, "entered below 640 KiB");
    CHECK(low_data[0] == 0x4E455354 && low_data[3] == 0xCAFEF00D, "low segment data");
    bool zero = true;
    for (unsigned i = 0; i < LOADER_LOW_BSS_BYTES; i++)
        zero &= low_bss[i] == 0;
    CHECK(zero, "low segment bss zeroed");
    CHECK(guest_boot_info >= (uint32_t)(uintptr_t)__kernel_end, "information above the kernel");
    check_modules(mb);
    check_mmap(mb, mem_mib);
    /* The last page of RAM is ours. */
    volatile uint32_t *last = (volatile uint32_t *)(uintptr_t)(mem_mib * MIB - PAGE);
    if (mem_mib >= 2) {
        last[0] = 0x600DF00D;
        last[PAGE / 4 - 1] = 0xA5A5A5A5;
        CHECK(last[0] == 0x600DF00D && last[PAGE / 4 - 1] == 0xA5A5A5A5, "last RAM page");
    }
    guest_printf("loader: %u MiB, %u modules, command line \"%s\"\n", mem_mib, mb->mods_count,
                 cmdline);
    return guest_report("loader");
}
