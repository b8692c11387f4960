/*
 * device-servers/console/console.h - the virtio console device (Virtio 1.2
 * 5.3) of the console server, apart from its IPC (main.c) so that the host
 * unit tests drive it as the server does (tests/unit/test_devsrv_console.c).
 */
#ifndef CONSOLE_H
#define CONSOLE_H
#include <stdbool.h>
#include <stdint.h>
#include <devsrv.h>
#include <virtio_mmio.h>

#define CON_NAME_MAX      32
#define CON_LINE_MAX      160     /* a console line, as the VMM's UART lines (VMM_LINE_MAX) */
#define CON_QUEUE_SIZE    128     /* QueueNumMax of both queues */
#define CON_MAX_SEGS      64      /* pieces of one chain we take */
#define CON_LOG_MAX       16      /* refusals logged; the rest are only counted */
/* The longest transmit chain taken (virtq.h max_chain_bytes; a longer one
 * breaks the queue): the guest's output per kick is at most a queue of
 * these, 8 MiB, while its VMM waits for the reply. */
#define CON_MAX_CHAIN_BYTES 0x10000u
#define CON_WINDOW_SIZE   0x1000u /* the device's MMIO window (vm_layout.h stride) */
/* The configuration space (5.3.4: struct virtio_console_config: le16 cols,
 * le16 rows, le32 max_nr_ports, le32 emerg_wr). Without the features that
 * make them valid it reads as zeros and takes no writes. */
#define CON_CONFIG_SIZE   12u

/* Virtio 1.2 5.3.2: the queues of port 0 (no MULTIPORT: no control queues). */
#define CON_RECEIVEQ      0
#define CON_TRANSMITQ     1
#define CON_QUEUES        2
/* Host input (5.3.6): at most a line of text and its newline. */
#define CON_INPUT_MAX     (CON_LINE_MAX + 8)

/*
 * The console's own state in a checkpoint (devsrv.h ds_state_t dev[],
 * version CON_STATE_VERSION; device-servers/README.md "Checkpoints"):
 * what a device holds between requests that is neither in the transport
 * state nor in guest RAM. Consistent at DS_REQ_SAVE: the device has
 * served every chain it took (transmit chains are printed into the line
 * and used within the kick; receive chains are filled and used within
 * con_input), so no receive buffer is held (those the driver made
 * available and the device has not taken are in guest RAM, from the
 * queue's last_avail on); what is left is
 *   - the partial output line: bytes the guest transmitted after its last
 *     newline, not printed yet (the restored device prints them with the
 *     rest of the line, as the uninterrupted run does);
 *   - the pending host input: the bytes not given to receiveq0 yet (the
 *     restored device gives these, not its own command line's input).
 *   - whether the driver has notified receiveq0 since the device went
 *     live (input is given only then: a conforming driver notifies after
 *     adding buffers, 2.7.13, and a restart's or a restore's replay of
 *     the driver's writes must not find the fresh device taking buffers
 *     from index 0 of a ring the driver has long moved past).
 * Not saved: the counts and the log limit (no guest sees them).
 */
#define CON_STATE_VERSION 1
typedef struct {
    uint32_t line_len;              /* < CON_LINE_MAX - 1 (guest_line.h flushes a full line) */
    uint32_t input_len;             /* <= CON_INPUT_MAX */
    uint32_t rx_live;               /* 0 or 1: receiveq0 notified since the device went live */
    uint32_t reserved;              /* 0 */
    char line[CON_LINE_MAX];        /* printable ASCII (guest_line.h), zeros after line_len */
    char input[CON_INPUT_MAX];      /* any bytes, zeros after input_len */
} con_state_t;

typedef struct {
    char name[CON_NAME_MAX];        /* the server's monitor name */
    char vm[CON_NAME_MAX];          /* its VM's: the prefix of every line */
    uint64_t ram_bytes, mmio;
    unsigned device, irq;
    void (*emit)(const char *text); /* one line of output, without '\n' */
    virtio_ram_window_t window[2];  /* the VM's frames; its paged RAM (ds_paged.h), if set */
    virtio_ram_t ram;
    virtio_mmio_queue_t queues[CON_QUEUES];
    virtio_mmio_dev_t dev;
    char line[CON_LINE_MAX];
    unsigned line_len;
    /* host input for receiveq0 (5.3.6): bytes not yet given to the driver */
    const char *input;
    unsigned input_len, input_off;
    char input_restored[CON_INPUT_MAX];   /* a restore's pending input (con_load) */
    bool rx_live;                   /* receiveq0 notified since the device went live:
                                       input is given only then (con_state_t) */
    /* counts */
    uint64_t accesses, kicks, chains, bytes, refusals, resets_needed;
    uint64_t rx_kicks, rx_chains, rx_bytes;
    unsigned logged;
} con_t;

/* The device over the VM's RAM, guest-physical 0 at @ram (ram_bytes long);
 * name, vm, ram_bytes and emit are set first. False if virtio/ refuses it. */
bool con_init(con_t *c, uint8_t *ram);

/* One guest access forwarded by the VMM: @offset in the window, @size
 * bytes, @wvalue written or *@value read. False: refused (no effect, a
 * read gives 0); it is logged, the first CON_LOG_MAX times. */
bool con_access(con_t *c, bool write, uint64_t offset, uint64_t size, uint32_t *value,
                uint32_t wvalue);

/* Host input waits for receiveq0: the device is live, receiveq0 ready and
 * notified at least once since (a restarted device: resumed), and bytes
 * are left. The server then calls con_input after its reply. */
bool con_input_pending(const con_t *c);

/*
 * Give pending host input to the driver: each available receiveq0 chain
 * gets as many bytes as its writable part holds (5.3.6.1: the device
 * fills device-writable buffers) and is used with that length; a chain
 * without a writable byte is used with length 0 and refused in the log.
 * Stops when the input or the buffers run out. Returns the bytes given;
 * the used buffer notification, if the driver wants one, is in
 * InterruptStatus (con_irq) as for transmitted chains.
 */
unsigned con_input(con_t *c);

/* The device's interrupt line (InterruptStatus not 0, 4.2.3.4). */
bool con_irq(const con_t *c);

/* A checkpoint's DS_REQ_SAVE: the transport state and con_state_t into
 * @st, said in a line; false (said) if it cannot be exported. */
bool con_save(con_t *c, ds_state_t *st);

/* A restore's DS_REQ_LOAD on the device the VMM's replay set up: @st
 * (hostile) checked whole (the transport's checks, ds_access.h; then the
 * line's length and bytes, the input's length, zeros after each), then
 * taken: the partial line, the pending input in place of the command
 * line's. 0 or a DS_STATE_E_*, said in a line either way; refused, the
 * device is unchanged. */
unsigned con_load(con_t *c, const ds_state_t *st);

#endif
