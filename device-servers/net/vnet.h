/*
 * device-servers/net/vnet.h - the virtio network device (Virtio 1.2 5.1)
 * of the network server, apart from its IPC so that the host unit tests
 * drive it as the server does (tests/unit/test_devsrv_net.c).
 *
 * One device per VM: receiveq1 (queue 0) and transmitq1 (queue 1), no
 * control queue, no offloads: the features are VERSION_1, MAC (the
 * configuration space's mac), INDIRECT_DESC and EVENT_IDX. A transmitted
 * frame is copied out of the guest's RAM once (so a guest rewriting its
 * buffer meanwhile changes nothing it did not send) and handed to @tx, the
 * switch (switch.h); a frame for the guest is written into one receive
 * chain with its header (5.1.6.4) or, without one that holds it, dropped
 * and counted. Every refusal is logged (VNET_LOG_MAX times) and counted;
 * a ring virtio/ cannot trust breaks the queue (DEVICE_NEEDS_RESET).
 */
#ifndef VNET_H
#define VNET_H
#include <devsrv.h>
#include <stdbool.h>
#include <stdint.h>
#include <virtio_mmio.h>

/* Virtio 1.2 5.1.3: feature bits of the device type. */
#define VIRTIO_NET_F_CSUM        0
#define VIRTIO_NET_F_MAC         5
#define VIRTIO_NET_F_MRG_RXBUF   15
#define VIRTIO_NET_F_STATUS      16

/* 5.1.2: the virtqueues without VIRTIO_NET_F_MQ and CTRL_VQ. */
#define VNET_RECEIVEQ            0
#define VNET_TRANSMITQ           1
#define VNET_QUEUES              2

/* 5.1.6: struct virtio_net_hdr (VERSION_1: num_buffers always there). */
#define VIRTIO_NET_HDR_SIZE      12u
#define VIRTIO_NET_HDR_FLAGS_OFF 0
#define VIRTIO_NET_HDR_GSO_OFF   1
#define VIRTIO_NET_HDR_NUMBUF_OFF 10
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_GSO_NONE  0u

/* 5.1.4: struct virtio_net_config: mac[6], le16 status, le16
 * max_virtqueue_pairs, le16 mtu (only mac valid with our features). */
#define VNET_MAC_LEN             6u
#define VNET_CONFIG_SIZE         12u

/* Ethernet frames as the switch carries them: header (destination,
 * source, type) and up to 1500 bytes of payload, no FCS (IEEE 802.3). */
#define ETH_HDR_LEN              14u
#define ETH_MAX_PAYLOAD          1500u
#define ETH_FRAME_MAX            (ETH_HDR_LEN + ETH_MAX_PAYLOAD)
#define ETH_FRAME_MIN            ETH_HDR_LEN

#define VNET_NAME_MAX            32
#define VNET_QUEUE_SIZE          256
#define VNET_MAX_SEGS            64
#define VNET_LOG_MAX             16
#define VNET_WINDOW_SIZE         0x1000u

typedef struct vnet vnet_t;
/* A frame the guest sent (copied out of its RAM), for the switch. */
typedef void (*vnet_tx_t)(void *ctx, vnet_t *from, const uint8_t *frame, uint32_t len);

struct vnet {
    char name[VNET_NAME_MAX];       /* the server's */
    char vm[VNET_NAME_MAX];         /* the VM's */
    uint8_t mac[VNET_MAC_LEN];
    uint64_t ram_bytes;
    unsigned port;                  /* its port on the switch */
    void (*emit)(const char *text); /* a log line, without '\n' */
    vnet_tx_t tx;
    void *tx_ctx;
    /* A transmit chain taken and not used yet (main.c's fault injection:
     * a crash with a chain in flight); NULL: none. */
    void (*taken)(vnet_t *n);
    virtio_ram_window_t window[2];  /* the VM's frames; its paged RAM (ds_paged.h), if set */
    virtio_ram_t ram;
    virtio_mmio_queue_t queues[VNET_QUEUES];
    virtio_mmio_dev_t dev;
    uint8_t frame[ETH_FRAME_MAX];   /* the frame being sent */
    /* counts */
    uint64_t accesses, kicks, tx_frames, tx_bytes, rx_frames, rx_bytes;
    uint64_t tx_refused, rx_dropped, refusals, resets_needed;
    unsigned logged;
};

/* The device over the VM's RAM (guest-physical 0 at @ram; name, vm, mac,
 * ram_bytes, emit, tx set first). False if virtio/ refuses it. */
bool vnet_init(vnet_t *n, uint8_t *ram);

/* A forwarded guest access (ds_access.h); a transmitq1 kick sends every
 * available frame through n->tx before it returns. False: refused. */
bool vnet_access(vnet_t *n, bool write, uint64_t offset, uint64_t size, uint32_t *value,
                 uint32_t wvalue);

/* Give the guest frame @frame (@len bytes, a whole Ethernet frame): into
 * the next receive chain with a header, or dropped (not live, no chain,
 * a chain too small or without a writable part: counted, and logged but
 * for the plain "no buffer"). True if delivered. */
bool vnet_receive(vnet_t *n, const uint8_t *frame, uint32_t len);

/* The interrupt line (InterruptStatus not 0). */
bool vnet_irq(const vnet_t *n);

/* A restarted server's DS_REQ_RESUME (devsrv.h, ds_resume): both queues
 * taken up from their used rings in guest memory (a transmit chain the
 * dead instance took and never used is available again, and so is every
 * receive buffer it had not filled), then what transmitq1 holds sent
 * (devsrv.h: "serve what is available"). Returns the chains available at
 * the resume. */
unsigned vnet_resume(vnet_t *n, uint32_t flags);

/* A checkpoint's DS_REQ_SAVE: the transport's state into @st (ds_state_t:
 * Status, InterruptStatus, both queues' progress), said in the log. The
 * device holds nothing between its VMM's calls (a transmit kick is served
 * whole, a frame for the guest is written into its chain and used at
 * once), so there is never a chain in flight; the MAC is the port's
 * (fixed by the config: without VIRTIO_NET_F_CTRL_MAC_ADDR a driver
 * cannot change it, 5.1.4), the features are in the VMM's shadow. False
 * (said) only if a queue had a chain in flight. */
bool vnet_save(vnet_t *n, ds_state_t *st);

/* A restore's DS_REQ_LOAD: @st (hostile: from an image) checked field by
 * field (ds_state_import) and taken, or refused with the reason logged
 * and the device unchanged. 0 or a DS_STATE_E_*. */
unsigned vnet_load(vnet_t *n, const ds_state_t *st);

#endif
