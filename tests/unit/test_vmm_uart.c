/* tests/unit/test_vmm_uart.c - the 16550A model (vmm-server/devices/uart16550.c). */
#include "unit.h"
#include "../../vmm-server/devices/uart16550.h"

static void test_reset_and_registers(void)
{
    uart16550_t u;
    uart16550_init(&u);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_IIR_FCR), UART_IIR_NONE);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
    CU_ASSERT_FALSE(uart16550_irq_level(&u));
    uint8_t tx = 0;
    /* Divisor latch behind DLAB: not the data path. */
    uart16550_write(&u, UART_LCR, UART_LCR_DLAB | 0x03, &tx);
    CU_ASSERT_FALSE(uart16550_write(&u, UART_RBR_THR, 0x01, &tx));
    uart16550_write(&u, UART_IER, 0x00, &tx);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_RBR_THR), 0x01);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_IER), 0x00);
    uart16550_write(&u, UART_LCR, 0x03, &tx);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_LCR), 0x03);
    CU_ASSERT_TRUE(uart16550_write(&u, UART_RBR_THR, 'x', &tx));
    CU_ASSERT_EQUAL(tx, 'x');
    uart16550_write(&u, UART_SCR, 0x5A, &tx);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_SCR), 0x5A);
    /* FIFOs on: IIR bits 7-6 say so (how drivers tell a 16550A). */
    uart16550_write(&u, UART_IIR_FCR, UART_FCR_ENABLE, &tx);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_IIR_FCR) & UART_IIR_FIFO, UART_IIR_FIFO);
}

static void test_thre_interrupt(void)
{
    uart16550_t u;
    uint8_t tx;
    uart16550_init(&u);
    uart16550_write(&u, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS, &tx);
    /* Enabling ETBEI with THR empty raises THRE at once. */
    uart16550_write(&u, UART_IER, UART_IER_ETBEI, &tx);
    CU_ASSERT_TRUE(uart16550_irq_level(&u));
    /* Reading IIR with THRE the source clears it. */
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_IIR_FCR), UART_IIR_THRE);
    CU_ASSERT_FALSE(uart16550_irq_level(&u));
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_IIR_FCR), UART_IIR_NONE);
    /* A byte sent: empty again, interrupt again (a new edge for the PIC). */
    uart16550_write(&u, UART_RBR_THR, 'a', &tx);
    CU_ASSERT_TRUE(uart16550_irq_level(&u));
    /* Without OUT2 the line stays low (PC wiring). */
    uart16550_write(&u, UART_MCR, 0, &tx);
    CU_ASSERT_FALSE(uart16550_irq_level(&u));
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_IIR_FCR), UART_IIR_THRE);
    /* ETBEI off: nothing pending. */
    uart16550_write(&u, UART_IER, 0, &tx);
    uart16550_write(&u, UART_RBR_THR, 'b', &tx);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_IIR_FCR), UART_IIR_NONE);
}

static void test_receive_and_priorities(void)
{
    uart16550_t u;
    uint8_t tx;
    uart16550_init(&u);
    uart16550_write(&u, UART_MCR, UART_MCR_OUT2, &tx);
    uart16550_write(&u, UART_IER, UART_IER_ERBFI | UART_IER_ETBEI | UART_IER_ELSI, &tx);
    CU_ASSERT_EQUAL(uart16550_rx_room(&u), 1);
    CU_ASSERT_TRUE(uart16550_receive(&u, 'q'));
    CU_ASSERT_EQUAL(uart16550_rx_room(&u), 0);
    /* FIFOs off: one byte deep; the second overruns. */
    CU_ASSERT_FALSE(uart16550_receive(&u, 'r'));
    /* Line status first, then received data, then THRE (Table IV). */
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_IIR_FCR), UART_IIR_RLS);
    uint8_t lsr = uart16550_read(&u, UART_LSR);
    CU_ASSERT_EQUAL(lsr & (UART_LSR_OE | UART_LSR_DR), UART_LSR_OE | UART_LSR_DR);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_LSR) & UART_LSR_OE, 0);   /* cleared by the read */
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_IIR_FCR), UART_IIR_RDA);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_RBR_THR), 'q');
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_IIR_FCR), UART_IIR_THRE);
    /* FIFOs on: 16 bytes, in order. */
    uart16550_write(&u, UART_IIR_FCR, UART_FCR_ENABLE, &tx);
    for (int i = 0; i < UART_FIFO_SIZE; i++) {
        CU_ASSERT_EQUAL(uart16550_rx_room(&u), (unsigned)(UART_FIFO_SIZE - i));
        CU_ASSERT_TRUE(uart16550_receive(&u, (uint8_t)('A' + i)));
    }
    CU_ASSERT_EQUAL(uart16550_rx_room(&u), 0);
    CU_ASSERT_FALSE(uart16550_receive(&u, '!'));
    for (int i = 0; i < UART_FIFO_SIZE; i++)
        CU_ASSERT_EQUAL(uart16550_read(&u, UART_RBR_THR), 'A' + i);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_LSR) & UART_LSR_DR, 0);
    /* FCR clears the receive FIFO. */
    uart16550_receive(&u, 'z');
    uart16550_write(&u, UART_IIR_FCR, UART_FCR_ENABLE | UART_FCR_CLR_RX, &tx);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_LSR) & UART_LSR_DR, 0);
}

static void test_loopback(void)
{
    uart16550_t u;
    uint8_t tx = 0;
    uart16550_init(&u);
    /* Linux's 8250 probe: MCR = LOOP | OUT2 | RTS must read MSR high nibble 0x90. */
    uart16550_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS, &tx);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_MSR) & 0xF0, UART_MSR_DCD | UART_MSR_CTS);
    /* A byte written comes back received, and is not sent. */
    tx = 0;
    CU_ASSERT_FALSE(uart16550_write(&u, UART_RBR_THR, 0x55, &tx));
    CU_ASSERT_EQUAL(tx, 0);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_RBR_THR), 0x55);
    /* Interrupts are not on the line in loopback. */
    uart16550_write(&u, UART_IER, UART_IER_ETBEI, &tx);
    CU_ASSERT_FALSE(uart16550_irq_level(&u));
    /* Leaving loopback: the deltas of the inputs that changed, then clear on read. */
    uart16550_write(&u, UART_MCR, UART_MCR_OUT2, &tx);
    uint8_t msr = uart16550_read(&u, UART_MSR);
    CU_ASSERT_EQUAL(msr & 0xF0, UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
    CU_ASSERT(msr & UART_MSR_DDSR);
    CU_ASSERT_EQUAL(uart16550_read(&u, UART_MSR) & 0x0F, 0);
}

UNIT_SUITE(vmm_uart_suite)
{
    CU_pSuite s = CU_add_suite("vmm: 16550A UART", NULL, NULL);
    CU_add_test(s, "reset state, divisor latch, scratch, FIFO identification",
                test_reset_and_registers);
    CU_add_test(s, "THR-empty interrupt: raised, cleared by IIR, OUT2 gating", test_thre_interrupt);
    CU_add_test(s, "receive FIFO, overrun, interrupt priorities", test_receive_and_priorities);
    CU_add_test(s, "loopback: modem lines, data, no interrupt on the line", test_loopback);
}
