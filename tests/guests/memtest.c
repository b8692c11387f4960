/*
 * tests/guests/memtest.c - writes a pattern over its RAM, reads it back and
 * prints a digest of what it read (tests/system/pager-*.spec): the same
 * digest with and without a pager under it shows paging kept every byte.
 *
 * RAM from 2 MiB (above its image, boot information and stack) to the end
 * the Multiboot information gives (mem_upper) is the test area:
 *   1. every page of it reads as zero (fresh RAM; under a pager: demand-zero
 *      first touches, evicted again when its frames run out);
 *   2. the first write-mib MiB of it (Multiboot command line "write-mib=N";
 *      default all) get a pattern word at each 4-byte address, a function of
 *      the address;
 *   3. that area is read back from its end down: each word is checked and
 *      its bytes folded into a 32-bit FNV-1a digest, printed as
 *      "digest 0x........" (tools: the value for N MiB is computed on the
 *      host by the same rule; the specs hold it).
 * With "bench" on the command line it measures instead (./nestor bench
 * pager): TSC ticks per first touch of a fresh page at the end of RAM, then
 * per touch of a page at the start of the area after 17 MiB of it were
 * written (under a pager with 16 MiB of frames: read back from swap).
 */
#include "lib/guest.h"
#include <stdbool.h>

#define MIB          (1024u * 1024u)
#define PAGE         4096u
#define AREA_START   (2u * MIB)
#define FNV_OFFSET   0x811C9DC5u       /* FNV-1a, 32-bit */
#define FNV_PRIME    0x01000193u
#define BENCH_PAGES  256u
#define BENCH_WRITE  (17u * MIB)       /* written before the swap-in pass: more than 16 MiB of frames */

static uint32_t pattern(uint32_t addr)
{
    uint32_t v = addr * 0x9E3779B1u;   /* Fibonacci hashing: every bit depends on addr */
    return v ^ (v >> 15) ^ 0xA5A5A5A5u;
}

static void bench(uint32_t end)
{
    volatile uint32_t *mem = (volatile uint32_t *)0;
    /* Fresh pages: the first touch of each. */
    uint32_t first = end - BENCH_PAGES * PAGE;
    uint64_t t0 = rdtsc();
    for (uint32_t a = first; a < end; a += PAGE)
        mem[a / 4] = a;
    uint64_t fresh = rdtsc() - t0;
    /* Pages written long ago: the start of the area, after BENCH_WRITE of
     * it was written (under a pager with 16 MiB of frames they went to
     * swap; each one read back also evicts a written page: a swap-out). */
    for (uint32_t a = AREA_START; a < AREA_START + BENCH_WRITE && a < first; a += PAGE)
        mem[a / 4] = a;
    t0 = rdtsc();
    uint32_t bad = 0;
    for (uint32_t a = AREA_START; a < AREA_START + BENCH_PAGES * PAGE; a += PAGE)
        bad += mem[a / 4] != a;
    uint64_t back = rdtsc() - t0;
    CHECK(bad == 0, "pages written before read back as written");
    /* Figures as ./nestor bench reads them (Bochs: a TSC tick is an
     * instruction). */
    guest_printf("page_touch_instructions{page=fresh} %u\n", (uint32_t)(fresh / BENCH_PAGES));
    guest_printf("page_touch_instructions{page=written_long_ago} %u\n",
                 (uint32_t)(back / BENCH_PAGES));
}

int guest_main(void)
{
    const guest_mb_info_t *mb = (const guest_mb_info_t *)guest_boot_info;
    if (guest_boot_magic != GUEST_MB_LOADER_MAGIC || !mb || !(mb->flags & 1)) {
        CHECK(0, "Multiboot memory information");
        return guest_report("memtest");
    }
    uint32_t end = MIB + mb->mem_upper * 1024u;
    CHECK(end > AREA_START + BENCH_PAGES * PAGE * 2, "RAM beyond 2 MiB to test");
    if (guest_failed)
        return guest_report("memtest");
    if (guest_cmdline_number("bench", 0xFFFFFFFFu, 0) != 0xFFFFFFFFu) {
        bench(end);
        return guest_report("memtest");
    }
    volatile uint32_t *mem = (volatile uint32_t *)0;
    uint32_t nonzero = 0;
    for (uint32_t a = AREA_START; a < end; a += PAGE)
        nonzero += mem[a / 4] != 0 || mem[(a + PAGE) / 4 - 1] != 0;
    CHECK(nonzero == 0, "fresh RAM reads as zero");
    uint32_t mib = guest_cmdline_number("write-mib=", (end - AREA_START) / MIB, 0xFFFFFFFFu);
    if (mib > (end - AREA_START) / MIB)
        mib = (end - AREA_START) / MIB;
    uint32_t wend = AREA_START + mib * MIB;
    for (uint32_t a = AREA_START; a < wend; a += 4)
        mem[a / 4] = pattern(a);
    /* Read back from the end down: under a pager the pages written last
     * are still in frames, those written first come back from swap. */
    uint32_t digest = FNV_OFFSET, wrong = 0;
    for (uint32_t a = wend - 4; a >= AREA_START; a -= 4) {
        uint32_t v = mem[a / 4];
        wrong += v != pattern(a);
        for (unsigned b = 0; b < 32; b += 8)
            digest = (digest ^ ((v >> b) & 0xFF)) * FNV_PRIME;
    }
    CHECK(wrong == 0, "every word reads back as written");
    guest_printf("memtest: %u MiB RAM, %u MiB written from 0x%x: digest 0x%08x, %u wrong "
                 "words\n", end / MIB, mib, AREA_START, digest, wrong);
    return guest_report("memtest");
}
