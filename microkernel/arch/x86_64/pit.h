/* arch/x86_64/pit.h - 8254 programmable interval timer (Intel 8254 data sheet). */
#ifndef ARCH_X86_64_PIT_H
#define ARCH_X86_64_PIT_H
#include <stdint.h>

#define PIT_HZ             1193182
#define PIT_CH0_DATA       0x40
#define PIT_CH2_DATA       0x42
#define PIT_CMD            0x43
#define PIT_CMD_CH2_MODE0  0xB0   /* channel 2, lobyte/hibyte, mode 0, binary */
#define PORT_NMI_SC        0x61   /* system control port B: ch2 gate and output */
#define NMI_SC_CH2_GATE    0x01
#define NMI_SC_SPEAKER     0x02
#define NMI_SC_CH2_OUT     0x20

/* Busy-wait @us microseconds on PIT channel 2 (boot-time calibration only). */
void pit_wait_us(uint32_t us);

#endif
