/* vmm-server/devices/uart16550.c - the NS16550A model (uart16550.h). */
#include "uart16550.h"
#include <string.h>

void uart16550_init(uart16550_t *u)
{
    /* Master reset (data sheet Table III, "Reset"): IER, IIR (none), FCR,
     * LCR, MCR, LSR (THRE|TEMT), the MSR deltas cleared. */
    memset(u, 0, sizeof *u);
}

static unsigned rx_capacity(const uart16550_t *u)
{
    return u->fifo_enabled ? UART_FIFO_SIZE : 1;
}

/* The modem inputs: in loopback the outputs looped back (DTR->DSR,
 * RTS->CTS, OUT1->RI, OUT2->DCD); otherwise a terminal that is there and
 * ready (CTS, DSR, DCD). */
static uint8_t modem_inputs(const uart16550_t *u)
{
    if (u->mcr & UART_MCR_LOOP)
        return (uint8_t)((u->mcr & UART_MCR_RTS ? UART_MSR_CTS : 0) |
                         (u->mcr & UART_MCR_DTR ? UART_MSR_DSR : 0) |
                         (u->mcr & UART_MCR_OUT1 ? UART_MSR_RI : 0) |
                         (u->mcr & UART_MCR_OUT2 ? UART_MSR_DCD : 0));
    return UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
}

/* The pending interrupt of the highest priority (Table IV), or UART_IIR_NONE. */
static uint8_t pending(const uart16550_t *u)
{
    if ((u->ier & UART_IER_ELSI) && u->lsr_errors)
        return UART_IIR_RLS;
    if ((u->ier & UART_IER_ERBFI) && u->rx_count)
        return UART_IIR_RDA;
    if ((u->ier & UART_IER_ETBEI) && u->thre_pending)
        return UART_IIR_THRE;
    if ((u->ier & UART_IER_EDSSI) && (u->msr_delta & 0x0F))
        return UART_IIR_MS;
    return UART_IIR_NONE;
}

bool uart16550_irq_level(const uart16550_t *u)
{
    /* PC wiring: OUT2 enables the driver of the IRQ line; in loopback the
     * interrupt output is disconnected from the line (data sheet, MCR bit 4). */
    return (u->mcr & (UART_MCR_OUT2 | UART_MCR_LOOP)) == UART_MCR_OUT2 &&
           pending(u) != UART_IIR_NONE;
}

unsigned uart16550_rx_room(const uart16550_t *u)
{
    return rx_capacity(u) - u->rx_count;
}

bool uart16550_receive(uart16550_t *u, uint8_t byte)
{
    if (u->rx_count == rx_capacity(u)) {
        u->lsr_errors |= UART_LSR_OE;
        return false;
    }
    u->rx[(u->rx_head + u->rx_count++) % UART_FIFO_SIZE] = byte;
    return true;
}

static void set_mcr(uart16550_t *u, uint8_t v)
{
    uint8_t before = modem_inputs(u);
    u->mcr = v & UART_MCR_MASK;
    uint8_t after = modem_inputs(u), changed = before ^ after;
    /* Delta bits (MSR 0-3): CTS, DSR, DCD changed; RI trailing edge. */
    u->msr_delta |= (uint8_t)((changed & UART_MSR_CTS ? UART_MSR_DCTS : 0) |
                              (changed & UART_MSR_DSR ? UART_MSR_DDSR : 0) |
                              (changed & UART_MSR_DCD ? UART_MSR_DDCD : 0) |
                              ((before & UART_MSR_RI) && !(after & UART_MSR_RI) ? UART_MSR_TERI : 0));
}

uint8_t uart16550_read(uart16550_t *u, unsigned reg)
{
    bool dlab = u->lcr & UART_LCR_DLAB;
    switch (reg) {
    case UART_RBR_THR: {
        if (dlab)
            return u->dll;
        if (!u->rx_count)
            return 0;
        uint8_t b = u->rx[u->rx_head];
        u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
        u->rx_count--;
        return b;
    }
    case UART_IER:
        return dlab ? u->dlm : u->ier;
    case UART_IIR_FCR: {
        uint8_t id = pending(u);
        /* Reading IIR with THRE the source clears it (Table IV). */
        if (id == UART_IIR_THRE)
            u->thre_pending = false;
        return (uint8_t)(id | (u->fifo_enabled ? UART_IIR_FIFO : 0));
    }
    case UART_LCR:
        return u->lcr;
    case UART_MCR:
        return u->mcr;
    case UART_LSR: {
        uint8_t v = (uint8_t)(UART_LSR_THRE | UART_LSR_TEMT | u->lsr_errors |
                              (u->rx_count ? UART_LSR_DR : 0));
        u->lsr_errors = 0;
        return v;
    }
    case UART_MSR: {
        uint8_t v = (uint8_t)(modem_inputs(u) | (u->msr_delta & 0x0F));
        u->msr_delta = 0;
        return v;
    }
    default:
        return u->scr;
    }
}

bool uart16550_write(uart16550_t *u, unsigned reg, uint8_t v, uint8_t *tx)
{
    bool dlab = u->lcr & UART_LCR_DLAB;
    switch (reg) {
    case UART_RBR_THR:
        if (dlab) {
            u->dll = v;
            return false;
        }
        /* Sent at once: THR empty again, its interrupt pending again. */
        u->thre_pending = true;
        if (u->mcr & UART_MCR_LOOP) {
            uart16550_receive(u, v);
            return false;
        }
        *tx = v;
        return true;
    case UART_IER:
        if (dlab) {
            u->dlm = v;
            return false;
        }
        /* Enabling ETBEI with THR empty raises the THRE interrupt (the
         * 16550's behaviour drivers probe for). */
        if ((v & UART_IER_ETBEI) && !(u->ier & UART_IER_ETBEI))
            u->thre_pending = true;
        u->ier = v & UART_IER_MASK;
        return false;
    case UART_IIR_FCR:
        if ((v & UART_FCR_ENABLE) != u->fifo_enabled) {
            /* Changing FIFO mode clears the FIFOs (data sheet, FCR bit 0). */
            u->rx_count = u->rx_head = 0;
        }
        u->fifo_enabled = v & UART_FCR_ENABLE;
        if (v & UART_FCR_CLR_RX)
            u->rx_count = u->rx_head = 0;
        return false;                   /* the transmitter is always empty */
    case UART_LCR:
        u->lcr = v;
        return false;
    case UART_MCR:
        set_mcr(u, v);
        return false;
    case UART_LSR:
    case UART_MSR:
        return false;                   /* factory test registers: writes ignored */
    default:
        u->scr = v;
        return false;
    }
}
