/* arch/x86_64/pit.c - one-shot waits on PIT channel 2 for calibration. */
#include "arch/x86_64/pit.h"
#include "arch/x86_64/io.h"

void pit_wait_us(uint32_t us)
{
    uint32_t count = (uint32_t)((uint64_t)PIT_HZ * us / 1000000);
    if (count > 0xFFFF)
        count = 0xFFFF;
    uint8_t sc = inb(PORT_NMI_SC);
    outb(PORT_NMI_SC, (uint8_t)((sc & ~NMI_SC_SPEAKER) | NMI_SC_CH2_GATE));
    outb(PIT_CMD, PIT_CMD_CH2_MODE0);
    outb(PIT_CH2_DATA, count & 0xFF);
    outb(PIT_CH2_DATA, (count >> 8) & 0xFF);
    /* Mode 0: OUT goes high when the count reaches zero. */
    while (!(inb(PORT_NMI_SC) & NMI_SC_CH2_OUT))
        ;
}
