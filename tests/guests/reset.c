/*
 * tests/guests/reset.c - system resets: the guest resets its VM three ways
 * (port 92h fast reset, CF9h = 06h, the 8042's command FEh) and checks on
 * every boot that it starts afresh: entered as a Multiboot loader leaves a
 * kernel, its data and bss loaded anew, CR4 and the UART scratch register
 * back at their reset values, port 92h with A20 on, MSRs (SYSENTER_CS,
 * TSC_AUX) at 0, the 8042's command byte and output port as a BIOS leaves
 * them. Before the 8042 reset it checks the controller answers
 * (vmm-server/devices/i8042.h): command byte read and write, self test,
 * interface tests, output port, the aux loop (D3h) raising IRQ 12 (the
 * slave PIC's IRR) only once the command byte enables it, a byte to the
 * absent keyboard timing out with FEh. Memory does not survive
 * a reset; the CMOS RAM (battery-backed) does: byte CMOS_BOOT counts the
 * boots. The VMM prints "vmm: vm NAME: reset (n)" for each (reset.spec).
 */
#include "lib/guest.h"
#include <stdbool.h>

#define CMOS_INDEX   0x70
#define CMOS_DATA    0x71
#define CMOS_BOOT    0x40           /* a battery-backed RAM byte: the boots so far */
#define COM1_SCR     0x3FF
#define PORT_A       0x92
#define PORT_A_RESET 0x01
#define PORT_A_A20   0x02
#define PORT_CF9     0xCF9
#define CF9_SYS_RST  0x02
#define CF9_HARD_RESET 0x06         /* SYS_RST | RST_CPU */
#define KBC_DATA     0x60
#define KBC_STATUS   0x64           /* read: status; write: command */
#define KBC_PULSE_RESET 0xFE
#define KBC_OBF      0x01           /* status: output buffer full */
#define KBC_BUFFERS  0x03           /* output and input buffer full bits */
#define KBC_SYS      0x04
#define KBC_AUXOBF   0x20
#define KBC_TIMEOUT  0x40
#define KBC_READ_CTR 0x20
#define KBC_WRITE_CTR 0x60
#define KBC_SELF_TEST 0xAA
#define KBC_SELF_TEST_OK 0x55
#define KBC_KBD_TEST 0xAB
#define KBC_AUX_TEST 0xA9
#define KBC_READ_OUT 0xD0
#define KBC_WRITE_OUT 0xD1
#define KBC_WRITE_AUX_OBUF 0xD3
#define KBC_CTR_KBDINT 0x01
#define KBC_CTR_BIOS 0x65           /* KBDINT, SYS, AUXDIS, XLATE */
#define KBC_OUT_BIOS 0xC3           /* reset line high, A20, keyboard clock and data */
#define KBC_OUT_A20  0x02
#define KBC_NO_DEVICE 0xFE
#define KBC_CTR_AUXINT 0x02
#define PIC2_CMD     0xA0
#define PIC_READ_IRR 0x0A           /* OCW3: the next read of the command port is the IRR */
#define IRQ12_BIT    0x10           /* IRQ 12: the slave's line 4 */
#define POST_PORT    0x80
#define CR4_PSE      (1u << 4)
#define DATA_MARK    0x1234ABCDu
#define MB_MAGIC     0x2BADB002u
#define BOOTS        4
#define MSR_TSC_AUX  0xC0000103u
#define MSR_SYSENTER_CS 0x174u
#define CPUID_81_RDTSCP (1u << 27)

static volatile uint32_t data_mark = DATA_MARK;
static volatile uint32_t bss_mark;

static uint32_t rdmsr_lo(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return lo;
}

static void wrmsr_lo(uint32_t msr, uint32_t lo)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"(lo), "d"(0));
}

static uint8_t cmos_read(uint8_t i)
{
    outb(CMOS_INDEX, i);
    return inb(CMOS_DATA);
}

static void cmos_write(uint8_t i, uint8_t v)
{
    outb(CMOS_INDEX, i);
    outb(CMOS_DATA, v);
}

/* An 8042 command answered by one byte: OBF must be set at once (the
 * model transfers instantly); -1 if it is not. */
static int kbc_ask(uint8_t cmd)
{
    outb(KBC_STATUS, cmd);
    if (!(inb(KBC_STATUS) & KBC_OBF))
        return -1;
    return inb(KBC_DATA);
}

static void kbc_write(uint8_t cmd, uint8_t data)
{
    outb(KBC_STATUS, cmd);
    outb(KBC_DATA, data);
}

/* The 8042 answering as a controller with nothing plugged in. */
static void kbc_checks(void)
{
    CHECK(kbc_ask(KBC_SELF_TEST) == KBC_SELF_TEST_OK, "8042: self test answers 55h");
    CHECK(kbc_ask(KBC_KBD_TEST) == 0 && kbc_ask(KBC_AUX_TEST) == 0,
          "8042: interface tests answer 00h");
    kbc_write(KBC_WRITE_CTR, KBC_CTR_KBDINT);
    CHECK(kbc_ask(KBC_READ_CTR) == KBC_CTR_KBDINT && !(inb(KBC_STATUS) & KBC_SYS),
          "8042: command byte written, read back, SYS follows it");
    kbc_write(KBC_WRITE_OUT, KBC_OUT_BIOS & ~KBC_OUT_A20);
    CHECK(kbc_ask(KBC_READ_OUT) == (KBC_OUT_BIOS & ~KBC_OUT_A20), "8042: output port A20 off");
    kbc_write(KBC_WRITE_AUX_OBUF, 0x5A);
    CHECK((inb(KBC_STATUS) & (KBC_OBF | KBC_AUXOBF)) == (KBC_OBF | KBC_AUXOBF) &&
          inb(KBC_DATA) == 0x5A, "8042: aux loop (D3h) comes back as aux data");
    outb(PIC2_CMD, PIC_READ_IRR);
    CHECK(!(inb(PIC2_CMD) & IRQ12_BIT), "8042: no IRQ 12 while the command byte disables it");
    kbc_write(KBC_WRITE_CTR, KBC_CTR_AUXINT);
    kbc_write(KBC_WRITE_AUX_OBUF, 0xA5);
    outb(PIC2_CMD, PIC_READ_IRR);
    CHECK((inb(PIC2_CMD) & IRQ12_BIT) && inb(KBC_DATA) == 0xA5,
          "8042: aux loop with IRQ 12 enabled raises it (IRR)");
    outb(KBC_DATA, 0xF2);                       /* GET ID to the keyboard: nobody there */
    uint8_t st = inb(KBC_STATUS);
    CHECK((st & (KBC_OBF | KBC_TIMEOUT | KBC_AUXOBF)) == (KBC_OBF | KBC_TIMEOUT) &&
          inb(KBC_DATA) == KBC_NO_DEVICE, "8042: no keyboard: time-out and FEh");
    CHECK(!(inb(KBC_STATUS) & KBC_OBF), "8042: the buffer empties when read");
}

int guest_main(void)
{
    guest_desc_init();
    unsigned boot = cmos_read(CMOS_BOOT);
    guest_printf("reset: boot %u\n", boot + 1);
    CHECK(boot < BOOTS, "CMOS boot count in range");
    CHECK(guest_boot_magic == MB_MAGIC, "entered with the Multiboot magic");
    CHECK(data_mark == DATA_MARK && bss_mark == 0, "data and bss loaded afresh");
    CHECK(!(read_cr4() & CR4_PSE), "CR4 back at its reset value");
    CHECK(inb(COM1_SCR) == 0, "UART scratch register reset");
    CHECK((inb(PORT_A) & (PORT_A_RESET | PORT_A_A20)) == PORT_A_A20, "port 92h: A20 on");
    bool aux = guest_cpuid(0x80000001, 0).edx & CPUID_81_RDTSCP;
    CHECK(rdmsr_lo(MSR_SYSENTER_CS) == 0 && (!aux || rdmsr_lo(MSR_TSC_AUX) == 0),
          "MSRs (SYSENTER_CS, TSC_AUX) back at 0");
    CHECK(kbc_ask(KBC_READ_CTR) == KBC_CTR_BIOS && kbc_ask(KBC_READ_OUT) == KBC_OUT_BIOS,
          "8042: command byte and output port as a BIOS leaves them");
    /* What a reset must undo. */
    data_mark = 0;
    bss_mark = 1;
    write_cr4(read_cr4() | CR4_PSE);
    outb(COM1_SCR, 0x77);
    wrmsr_lo(MSR_SYSENTER_CS, 0x10);
    if (aux)
        wrmsr_lo(MSR_TSC_AUX, 0x77);
    cmos_write(CMOS_BOOT, (uint8_t)(boot + 1));
    switch (boot) {
    case 0:
        outb(PORT_A, 0);
        CHECK(inb(PORT_A) == 0, "port 92h: A20 reads back off");
        outb(PORT_A, PORT_A_A20);
        outb(PORT_A, PORT_A_A20 | PORT_A_RESET);        /* fast reset: 0 -> 1 */
        CHECK(0, "port 92h bit 0 reset the VM");
        break;
    case 1:
        outb(PORT_CF9, CF9_SYS_RST);
        CHECK(inb(PORT_CF9) == CF9_SYS_RST, "CF9h: SYS_RST reads back, no reset yet");
        outb(PORT_CF9, CF9_HARD_RESET);
        CHECK(0, "CF9h = 06h reset the VM");
        break;
    case 2:
        CHECK((inb(KBC_STATUS) & KBC_BUFFERS) == 0, "8042: buffers empty");
        kbc_checks();                           /* the reset must undo what they change */
        outb(POST_PORT, 0x55);                          /* POST code: accepted */
        outb(KBC_STATUS, KBC_PULSE_RESET);
        CHECK(0, "8042 command FEh reset the VM");
        break;
    default:
        cmos_write(CMOS_BOOT, 0);
        break;
    }
    CHECK(guest_unhandled == 0, "no unexpected vectors");
    return guest_report("reset");
}
