/* tests/guests/lib/guest.c - serial output, reporting, entry and exit of
 * test guests, bare or under the VMM. */
#include "guest.h"

uint32_t guest_boot_magic, guest_boot_info;   /* written by start.S before anything */
#include <fmt.h>
#include <nestor/verdict.h>
#include <string.h>

unsigned guest_passed, guest_failed, guest_sdm_held, guest_deviations;
int guest_bare;

#define BARE_WORD        "bare"   /* tools/nestor/image.py BARE_CMDLINE */
/* 16550 UART registers (offsets from COM1) and bits the bare setup uses. */
#define UART_IER         1
#define UART_DLL         0
#define UART_DLM         1
#define UART_FCR         2
#define UART_LCR         3
#define UART_MCR         4
#define UART_LCR_DLAB    0x80
#define UART_LCR_8N1     0x03
#define UART_FCR_ON_CLEAR 0xC7      /* FIFOs on, cleared, 14-byte trigger */
#define UART_MCR_DTR_RTS_OUT2 0x0B
#define UART_DIV_115200  1
#define UART_LSR_TEMT    0x40       /* transmitter empty: the last byte is out */

static void serial_put(void *ctx, char c)
{
    (void)ctx;
    while (!(inb(GUEST_COM1_LSR) & GUEST_LSR_THRE))
        ;
    outb(GUEST_COM1, (uint8_t)c);
}

int guest_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vformat(serial_put, 0, fmt, ap);
    va_end(ap);
    return n;
}

int guest_env_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = guest_printf("%s", NESTOR_ENV_LINE_MARK);
    n += fmt_vformat(serial_put, 0, fmt, ap);
    va_end(ap);
    return n;
}

const char *guest_cmdline(void)
{
    const guest_mb_info_t *mb = (const guest_mb_info_t *)(uintptr_t)guest_boot_info;
    if (guest_boot_magic != GUEST_MB_LOADER_MAGIC || !mb || !(mb->flags & GUEST_MB_INFO_CMDLINE))
        return "";
    return (const char *)(uintptr_t)mb->cmdline;
}

uint32_t guest_cmdline_number(const char *key, uint32_t dflt, uint32_t max)
{
    for (const char *c = guest_cmdline(); *c; c++) {
        const char *k = key, *p = c;
        while (*k && *p == *k)
            k++, p++;
        if (*k)
            continue;
        uint32_t n = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            uint32_t d = (uint32_t)(*p - '0');
            if (d > max || n > (max - d) / 10)
                break;                          /* n * 10 + d would pass @max */
            n = n * 10 + d;
        }
        return n;
    }
    return dflt;
}

int guest_report(const char *name)
{
    guest_printf("%s: %u passed, %u failed\n", name, guest_passed, guest_failed);
    if (guest_sdm_held || guest_deviations)
        guest_env_printf("%s: SDM rules bare Bochs breaks: %u held, %u deviated\n", name,
                         guest_sdm_held, guest_deviations);
    return guest_failed ? 1 : 0;
}

/* The Multiboot command line (Multiboot 0.6.96 3.3), or "" (Multiboot2, none). */
static const char *cmdline(void)
{
    const guest_mb_info_t *mb = (const guest_mb_info_t *)(uintptr_t)guest_boot_info;
    if (guest_boot_magic != GUEST_MB_LOADER_MAGIC || !mb || !(mb->flags & GUEST_MB_INFO_CMDLINE) ||
        !mb->cmdline)
        return "";
    return (const char *)(uintptr_t)mb->cmdline;
}

int guest_cmdline_has(const char *word)
{
    size_t n = strlen(word);
    for (const char *p = cmdline(); *p; p++)
        if ((p == cmdline() || p[-1] == ' ') && strncmp(p, word, n) == 0 &&
            (p[n] == ' ' || p[n] == 0))
            return 1;
    return 0;
}

/* Bare, nobody set the UART up (the VMM's is always ready): 8N1 at 115200
 * baud, FIFOs on, no interrupts. */
static void serial_init(void)
{
    outb(GUEST_COM1 + UART_IER, 0);
    outb(GUEST_COM1 + UART_LCR, UART_LCR_DLAB);
    outb(GUEST_COM1 + UART_DLL, UART_DIV_115200);
    outb(GUEST_COM1 + UART_DLM, 0);
    outb(GUEST_COM1 + UART_LCR, UART_LCR_8N1);
    outb(GUEST_COM1 + UART_FCR, UART_FCR_ON_CLEAR);
    outb(GUEST_COM1 + UART_MCR, UART_MCR_DTR_RTS_OUT2);
}

void guest_start(void)
{
    guest_bare = guest_cmdline_has(BARE_WORD);
    if (guest_bare)
        serial_init();
}

/* Under the VMM: the status on the exit port ends the VM. Bare: the verdict
 * line the harness judges, once the UART has sent it, then the emulator
 * ended, QEMU's way or Bochs's (nestor/verdict.h). */
void guest_finish(int status)
{
    if (guest_bare) {
        if (status)
            guest_printf("%s (guest status %d)\n", NESTOR_VERDICT_FAIL_LINE, status);
        else
            guest_printf("%s\n", NESTOR_VERDICT_PASS_LINE);
        while (!(inb(GUEST_COM1_LSR) & UART_LSR_TEMT))
            ;
        outl(NESTOR_QEMU_EXIT_PORT, status ? NESTOR_QEMU_EXIT_FAIL : NESTOR_QEMU_EXIT_PASS);
        for (const char *p = NESTOR_BOCHS_SHUTDOWN_STRING; *p; p++)
            outb(NESTOR_BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
    } else
        outl(GUEST_EXIT_PORT, (uint32_t)status);
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* 64-bit division for 32-bit code (GCC emits calls to these; no libgcc here). */
uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem);

static uint64_t divmod(uint64_t n, uint64_t d, uint64_t *rem)
{
    uint64_t q = 0, r = 0;
    for (int i = 63; i >= 0; i--) {
        r = (r << 1) | ((n >> i) & 1);
        if (r >= d) {
            r -= d;
            q |= 1ULL << i;
        }
    }
    *rem = r;
    return q;
}

uint64_t __udivdi3(uint64_t n, uint64_t d)
{
    uint64_t r;
    return divmod(n, d, &r);
}

uint64_t __umoddi3(uint64_t n, uint64_t d)
{
    uint64_t r;
    divmod(n, d, &r);
    return r;
}

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem)
{
    uint64_t r, q = divmod(n, d, &r);
    if (rem)
        *rem = r;
    return q;
}

void guest_pic_init(uint8_t vector_base, uint8_t mask1, uint8_t mask2)
{
    outb(GUEST_PIC1_CMD, 0x11); outb(GUEST_PIC2_CMD, 0x11);   /* ICW1: edge, cascade, ICW4 */
    outb(GUEST_PIC1_DATA, vector_base); outb(GUEST_PIC2_DATA, vector_base + 8);   /* ICW2 */
    outb(GUEST_PIC1_DATA, 4); outb(GUEST_PIC2_DATA, 2);       /* ICW3: slave on IRQ 2 */
    outb(GUEST_PIC1_DATA, 1); outb(GUEST_PIC2_DATA, 1);       /* ICW4: 8086 mode */
    outb(GUEST_PIC1_DATA, mask1); outb(GUEST_PIC2_DATA, mask2);
}
