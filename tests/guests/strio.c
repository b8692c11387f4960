/*
 * tests/guests/strio.c - string port I/O (INS/OUTS, SDM Vol. 2B) the VMM
 * carries out: REP OUTSB to the console, OUTSW/OUTSD, INSB from the UART's
 * scratch register (16550: register 7 holds what was written), INSB/W/D
 * from an absent port (all ones), DF = 1, REP with ECX = 0, a REP longer
 * than the VMM's batch, 16-bit addresses (0x67: DI and CX), port 0xFFFF
 * with a word, and a #PF on the memory side (CR2, error code, the
 * registers counting the elements done before it).
 */
#include "lib/guest.h"
#include <stdbool.h>

#define COM1          0x3F8
#define COM1_SCR      (COM1 + 7)
#define ABSENT_PORT   0x2F0         /* no device: reads all ones (bare Bochs 2.7
                                     * answers 0 at 0x2E0, 0x2F0-0x2F7 has nothing) */
#define POST_PORT     0x80
#define UART_FIFO_BYTES 16          /* 16550 transmit FIFO */
#define UART_LSR_TEMT 0x40          /* transmitter (FIFO and shift register) empty */
#define CR0_PG        (1u << 31)
#define CR4_PSE       (1u << 4)
#define PDE_P         0x1
#define PDE_W         0x2
#define PDE_PS        0x80
#define PAGE_4M_SHIFT 22
#define FAULT_LA      0x40000000u   /* unmapped; the 4 MiB below it is mapped */
#define LOW_BUF       0x8000u       /* below 64 KiB, for 16-bit addresses */
#define PF_WRITE      0x2
#define RFLAGS_DF     (1u << 10)

/* A string instruction with ESI, EDI, ECX in and out, DX the port. */
#define STRIO(insn, port, si, di, cx)                                                   \
    __asm__ volatile(insn : "+S"(si), "+D"(di), "+c"(cx) : "d"(port) : "memory", "cc")

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static volatile unsigned pf_seen;
static volatile uint32_t pf_error, pf_cr2, pf_edi, pf_esi, pf_ecx;
static uint8_t buf[2048];

/* #PF: note where, skip the faulting (2-byte: REP + opcode) instruction. */
static void on_pf(guest_frame_t *f)
{
    pf_seen++;
    pf_error = f->error;
    pf_cr2 = read_cr2();
    pf_edi = f->edi;
    pf_esi = f->esi;
    pf_ecx = f->ecx;
    f->eip += 2;
}

static bool all(const uint8_t *p, unsigned n, uint8_t v)
{
    for (unsigned i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

static void clear(void)
{
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = 0;
}

int guest_main(void)
{
    guest_desc_init();
    guest_set_handler(14, on_pf);

    /* REP OUTSB: a whole line to the console in one instruction, once the
     * transmitter is empty, at most what the 16550's transmit FIFO holds
     * (16 bytes: more are lost on a real UART, as on bare Bochs). */
    static const char line[] = "rep outsb line\n";
    _Static_assert(sizeof(line) - 1 <= UART_FIFO_BYTES, "the line fits the UART's FIFO");
    while (!(inb(GUEST_COM1_LSR) & UART_LSR_TEMT))
        ;
    uint32_t si = (uint32_t)(uintptr_t)line, di = 0, cx = sizeof(line) - 1;
    STRIO("rep outsb", COM1, si, di, cx);
    CHECK(cx == 0 && si == (uint32_t)(uintptr_t)line + sizeof(line) - 1,
          "REP OUTSB: ECX 0, ESI past the string");

    /* OUTSW, OUTSD without REP: one element, ESI by its size, ECX kept. */
    static const uint32_t words[2] = { 0x11223344, 0x55667788 };
    si = (uint32_t)(uintptr_t)words;
    cx = 77;
    STRIO("outsw", POST_PORT, si, di, cx);
    CHECK(si == (uint32_t)(uintptr_t)words + 2 && cx == 77, "OUTSW: ESI + 2, ECX kept");
    STRIO("outsl", POST_PORT, si, di, cx);
    CHECK(si == (uint32_t)(uintptr_t)words + 6 && cx == 77, "OUTSD: ESI + 4");

    /* OUTSB to the UART scratch register, INSB back. */
    static const uint8_t scr = 0x5A;
    si = (uint32_t)(uintptr_t)&scr;
    STRIO("outsb", COM1_SCR, si, di, cx);
    CHECK(inb(COM1_SCR) == 0x5A, "OUTSB reached the UART scratch register");
    clear();
    outb(COM1_SCR, 0xC3);
    di = (uint32_t)(uintptr_t)buf;
    STRIO("insb", COM1_SCR, si, di, cx);
    CHECK(buf[0] == 0xC3 && buf[1] == 0 && di == (uint32_t)(uintptr_t)buf + 1,
          "INSB from the scratch register, EDI + 1");

    /* REP INSB/INSW/INSD from an absent port: all ones, exactly the count. */
    clear();
    di = (uint32_t)(uintptr_t)buf;
    cx = 8;
    STRIO("rep insb", ABSENT_PORT, si, di, cx);
    CHECK(all(buf, 8, 0xFF) && buf[8] == 0 && cx == 0 && di == (uint32_t)(uintptr_t)buf + 8,
          "REP INSB: 8 bytes of 0xFF, ECX 0, EDI + 8");
    clear();
    di = (uint32_t)(uintptr_t)buf;
    cx = 3;
    STRIO("rep insw", ABSENT_PORT, si, di, cx);
    CHECK(all(buf, 6, 0xFF) && buf[6] == 0 && di == (uint32_t)(uintptr_t)buf + 6,
          "REP INSW: 3 words");
    clear();
    di = (uint32_t)(uintptr_t)buf;
    cx = 2;
    STRIO("rep insl", ABSENT_PORT, si, di, cx);
    CHECK(all(buf, 8, 0xFF) && buf[8] == 0 && di == (uint32_t)(uintptr_t)buf + 8,
          "REP INSD: 2 dwords");

    /* DF = 1: downwards from the last element. */
    clear();
    di = (uint32_t)(uintptr_t)&buf[15];
    cx = 4;
    __asm__ volatile("std");
    STRIO("rep insb", ABSENT_PORT, si, di, cx);
    __asm__ volatile("cld");
    CHECK(all(&buf[12], 4, 0xFF) && buf[11] == 0 && buf[16] == 0 &&
          di == (uint32_t)(uintptr_t)&buf[11], "REP INSB with DF = 1: down, EDI - 4");

    /* REP with ECX = 0: nothing at all. */
    clear();
    di = (uint32_t)(uintptr_t)buf;
    cx = 0;
    STRIO("rep insb", ABSENT_PORT, si, di, cx);
    CHECK(buf[0] == 0 && di == (uint32_t)(uintptr_t)buf && cx == 0, "REP with ECX = 0: no-op");

    /* Longer than one exit's batch (the VMM goes on with RIP kept). */
    clear();
    di = (uint32_t)(uintptr_t)buf;
    cx = 1000;
    STRIO("rep insb", ABSENT_PORT, si, di, cx);
    CHECK(all(buf, 1000, 0xFF) && buf[1000] == 0 && cx == 0, "REP INSB of 1000 bytes");

    /* 16-bit addresses: DI and CX only, the upper halves stay. */
    volatile uint8_t *low = (volatile uint8_t *)(uintptr_t)LOW_BUF;
    for (unsigned i = 0; i < 4; i++)
        low[i] = 0;
    di = 0x5555u << 16 | LOW_BUF;
    cx = 0xABCD0003u;
    STRIO(".byte 0x67; rep insb", ABSENT_PORT, si, di, cx);
    CHECK(low[0] == 0xFF && low[2] == 0xFF && low[3] == 0, "16-bit REP INSB wrote at DI");
    CHECK(di == (0x5555u << 16 | (LOW_BUF + 3)) && cx == 0xABCD0000u,
          "16-bit REP INSB: DI + 3, CX 0, upper halves kept");

    /* Port 0xFFFF with a word: the port space's end, no device. */
    clear();
    di = (uint32_t)(uintptr_t)buf;
    STRIO("insw", 0xFFFF, si, di, cx);
    CHECK(buf[0] == 0xFF && buf[1] == 0xFF && buf[2] == 0, "INSW from port 0xFFFF");

    /* Paging on: the first 8 MiB identity, the 4 MiB below FAULT_LA onto
     * physical 4 MiB, FAULT_LA unmapped. REP INSB across the boundary:
     * two bytes done, then #PF at FAULT_LA (write, not present). */
    page_dir[0] = PDE_P | PDE_W | PDE_PS;
    page_dir[1] = (1u << PAGE_4M_SHIFT) | PDE_P | PDE_W | PDE_PS;
    page_dir[(FAULT_LA >> PAGE_4M_SHIFT) - 1] = (1u << PAGE_4M_SHIFT) | PDE_P | PDE_W | PDE_PS;
    write_cr4(read_cr4() | CR4_PSE);
    write_cr3((uint32_t)(uintptr_t)page_dir);
    write_cr0(read_cr0() | CR0_PG);
    di = FAULT_LA - 2;
    cx = 4;
    STRIO("rep insb", ABSENT_PORT, si, di, cx);
    CHECK(pf_seen == 1 && pf_cr2 == FAULT_LA, "REP INSB into an unmapped page: #PF, CR2");
    CHECK((pf_error & (PDE_P | PF_WRITE)) == PF_WRITE, "#PF error: not present, write");
    CHECK(pf_edi == FAULT_LA && pf_ecx == 2, "#PF after two elements: EDI, ECX count them");
    CHECK(*(volatile uint16_t *)(uintptr_t)(FAULT_LA - 2) == 0xFFFF,
          "the two elements before the fault were written");
    si = FAULT_LA;
    cx = 3;
    STRIO("rep outsb", POST_PORT, si, di, cx);
    CHECK(pf_seen == 2 && pf_cr2 == FAULT_LA && !(pf_error & (PDE_P | PF_WRITE)) &&
          pf_esi == FAULT_LA && pf_ecx == 3, "REP OUTSB from an unmapped page: #PF, read");
    write_cr0(read_cr0() & ~CR0_PG);

    uint32_t fl;
    __asm__ volatile("pushfl; popl %0" : "=r"(fl));
    CHECK(!(fl & RFLAGS_DF), "DF clear again");
    CHECK(guest_unhandled == 0, "no unexpected vectors");
    return guest_report("strio");
}
