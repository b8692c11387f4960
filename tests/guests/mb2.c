/*
 * tests/guests/mb2.c - checks from inside what the Multiboot2 loader did
 * (Multiboot2 spec 1.6): this guest is an ELF32 kernel with a Multiboot2
 * header (mb2_start.S), partly below 1 MiB (loader.ld), booted with a
 * command line ("mem=MIB" gives the RAM size it expects) and the loader
 * guest's two modules. Checked: EAX (3.3), the information's total_size,
 * reserved field, 8-byte tag alignment and end tag (3.6.1), the command
 * line (3.6.3), the loader's name (3.6.4), the modules (3.6.6: bytes,
 * strings, page alignment, above the kernel), the basic memory information
 * (3.6.2) and the memory map (3.6.8: entry_size 24, version 0, [0, 640 KiB)
 * and [1 MiB, RAM) available, nothing else available). It prints what it
 * found, then "mb2: N passed, N failed".
 */
#include "lib/guest.h"
#include <multiboot2_abi.h>
#include <stdbool.h>
#include <string.h>

#define LOW_MEM_END    0xA0000u
#define HIGH_MEM_START 0x100000u
#define PAGE           4096u
#define MIB            (1024u * 1024u)
#define N_MODULES      2
#define MAX_INFO       (64u * 1024u)

/* The loader guest's module files (tests/guests/SConscript), byte j =
 * (j * mul + add) & 0xFF, with the strings tests/system/guest-mb2.spec gives. */
static const struct { const char *string; uint32_t size, mul, add; } want[N_MODULES] = {
    { "alpha one", 5000, 7, 3 },
    { "beta two", 300, 13, 1 },
};

extern char _start[], __kernel_end[];

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static uint32_t mem_from_cmdline(const char *p)
{
    while (*p && strncmp(p, "mem=", 4) != 0)
        p++;
    uint32_t mib = 0;
    for (p = *p ? p + 4 : p; *p >= '0' && *p <= '9'; p++)
        mib = mib * 10 + (uint32_t)(*p - '0');
    return mib;
}

static struct {
    const char *cmdline, *loader;
    unsigned n_mods, n_meminfo, n_mmap;
    uint32_t mem_lower, mem_upper;
} seen;

static void module(const uint8_t *t, uint32_t size)
{
    uint32_t start = rd32(t + 8), end = rd32(t + 12);
    const char *s = (const char *)t + 16;
    CHECK(size > 16 && t[size - 1] == 0, "module string ends in its tag");
    guest_printf("mb2: module %u: %u bytes at 0x%x \"%s\"\n", seen.n_mods, end - start, start, s);
    unsigned i = seen.n_mods++;
    if (i >= N_MODULES)
        return;
    bool bytes = end - start == want[i].size;
    for (uint32_t j = 0; bytes && j < want[i].size; j++)
        bytes = ((const uint8_t *)(uintptr_t)start)[j] == (uint8_t)(j * want[i].mul + want[i].add);
    CHECK(bytes, "module bytes and size");
    CHECK(strcmp(s, want[i].string) == 0, "module string");
    CHECK(start % PAGE == 0, "module page-aligned");
    CHECK(start >= (uint32_t)(uintptr_t)__kernel_end, "module above the kernel");
}

/* [0, 640 KiB) and [1 MiB, mem) available, nothing else available. */
static void mmap(const uint8_t *t, uint32_t size, uint32_t mem_mib)
{
    uint32_t esize = rd32(t + 8), version = rd32(t + 12);
    CHECK(esize == 24 && version == 0, "memory map entry_size 24, version 0");
    uint64_t low = 0, high = 0, other = 0, avail = 0;
    unsigned n = 0;
    for (uint32_t off = 16; esize >= 24 && off + esize <= size; off += esize, n++) {
        const uint8_t *e = t + off;
        uint64_t base = rd64(e), len = rd64(e + 8);
        uint32_t type = rd32(e + 16);
        CHECK(rd32(e + 20) == 0, "memory map reserved field 0");
        if (type != MB2_MEM_AVAILABLE)
            continue;
        avail += len;
        if (base == 0)
            low = len;
        else if (base == HIGH_MEM_START)
            high = base + len;
        else
            other++;
    }
    seen.n_mmap++;
    CHECK(low == LOW_MEM_END && other == 0, "memory map: low 640 KiB");
    CHECK(high == (uint64_t)mem_mib * MIB, "memory map: RAM from 1 MiB to its size");
    guest_printf("mb2: memory map: %u entries, %u KiB available\n", n, (uint32_t)(avail >> 10));
}

int guest_main(void)
{
    CHECK(guest_boot_magic == MB2_BOOTLOADER_MAGIC, "Multiboot2 magic in EAX");
    if (guest_boot_magic != MB2_BOOTLOADER_MAGIC || !guest_boot_info)
        return guest_report("mb2");
    const uint8_t *info = (const uint8_t *)(uintptr_t)guest_boot_info;
    uint32_t total = rd32(info);
    CHECK(guest_boot_info % 8 == 0, "information 8-byte aligned");
    CHECK(rd32(info + 4) == 0, "reserved field 0");
    CHECK(total >= 16 && total <= MAX_INFO, "total_size");
    CHECK(guest_boot_info >= (uint32_t)(uintptr_t)__kernel_end, "information above the kernel");
    CHECK((uintptr_t)_start < LOW_MEM_END, "entered below 640 KiB");
    /* First the command line (it says the RAM size the map is checked against). */
    uint32_t mem_mib = 0;
    bool end = false;
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t off = 8; off + 8 <= total && !end;) {
            const uint8_t *t = info + off;
            uint32_t type = rd32(t), size = rd32(t + 4);
            if (size < 8 || size > total - off) {
                CHECK(false, "tag size inside total_size");
                break;
            }
            if (type == MB2_TAG_END) {
                end = pass == 1;
                CHECK(size == 8, "end tag size 8");
                break;
            }
            if (pass == 0 && type == MB2_TAG_CMDLINE) {
                seen.cmdline = (const char *)t + 8;
                mem_mib = mem_from_cmdline(seen.cmdline);
            } else if (pass == 1 && type == MB2_TAG_BOOTLOADER) {
                seen.loader = (const char *)t + 8;
            } else if (pass == 1 && type == MB2_TAG_MODULE) {
                module(t, size);
            } else if (pass == 1 && type == MB2_TAG_BASIC_MEMINFO) {
                seen.n_meminfo++;
                seen.mem_lower = rd32(t + 8);
                seen.mem_upper = rd32(t + 12);
            } else if (pass == 1 && type == MB2_TAG_MMAP) {
                mmap(t, size, mem_mib);
            }
            off += (size + 7) & ~7u;
        }
    CHECK(end, "an end tag inside total_size");
    CHECK(seen.cmdline != NULL && mem_mib >= 2, "command line with mem=");
    guest_printf("mb2: command line \"%s\"\n", seen.cmdline ? seen.cmdline : "");
    CHECK(seen.loader && strcmp(seen.loader, "Nestor") == 0, "loader name");
    guest_printf("mb2: loader \"%s\"\n", seen.loader ? seen.loader : "");
    CHECK(seen.n_mods == N_MODULES, "two modules");
    CHECK(seen.n_meminfo == 1 && seen.mem_lower == 640 && seen.mem_upper == (mem_mib - 1) * 1024,
          "basic memory information");
    CHECK(seen.n_mmap == 1, "one memory map");
    guest_printf("mb2: %u MiB, %u modules, mem_lower %u KiB, mem_upper %u KiB\n", mem_mib,
                 seen.n_mods, seen.mem_lower, seen.mem_upper);
    return guest_report("mb2");
}
