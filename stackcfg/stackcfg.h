/*
 * stackcfg/stackcfg.h - stack configs: read a device tree blob (libfdt) into
 * a checked description of the stack, or say everything that is wrong with
 * it. The bindings are stack-configs/BINDINGS.md; this is their one
 * implementation, linked into the host tool (build/host/tools/nestor-config)
 * and into init, which checks again at boot.
 *
 * Every error reads   FILE: /path/to/node: property 'x': expected ..., got ...
 * All errors are collected; a config with any error is not used.
 */
#ifndef STACKCFG_H
#define STACKCFG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vm_layout.h>
#include <blk_proto.h>
#include <net_proto.h>
#include <nestor/vcpu.h>

#define SC_NAME_MAX          32     /* node names, image names (with the NUL) */
#define SC_OPTIONS_MAX       128    /* a monitor's options / a VM's command line */
#define SC_MAX_MONITORS      8
#define SC_MAX_VMS           8      /* in all; one VMM runs at most VMM_MAX_VMS (same) */
#define SC_MAX_STACK         4      /* monitors in one VM's stack */
#define SC_MAX_VIRTIO        VM_VIRTIO_MAX  /* virtio devices of one VM (vm_layout.h) */
#define SC_MAX_PORT_RANGES   4
#define SC_MAX_IRQS          4
#define SC_MAX_EXITS         16     /* exit reasons one stacked monitor takes */
#define SC_MAX_COUNT_EXITS   4      /* ... a count monitor's 'exits' may name */
#define SC_MAX_ERRORS        32
#define SC_BLK_MAX_CLIENTS   BLK_MAX_CLIENTS   /* client monitors of one block server */
#define SC_NET_MAX_VMS       NET_MAX_PORTS     /* VMs one network server serves */
/* The ATA ports a block server drives (device-servers/blk/ata.h): its
 * 'ioports' must include both ranges. */
#define SC_BLK_PORT_FIRST    0x1F0
#define SC_BLK_PORT_LAST     0x1F7
#define SC_BLK_CTL_PORT      0x3F6
#define SC_MSG_MAX           320    /* room for the kinds list in a compatible error */

/* Defaults and limits the bindings state (BINDINGS.md). */
#define SC_MACHINE_DEFAULT_MIB   2048   /* the harness's emulated machines
                                           (tools/nestor/emulators.py MACHINE_MEMORY_MIB) */
#define SC_MACHINE_DEFAULT_CPUS  1
#define SC_MACHINE_RESERVED_MIB  16     /* kernel, init and its tables */
#define SC_VM_DEFAULT_MIB        8
#define SC_VM_MIN_MIB            2
/* Guest RAM stays below the 32-bit MMIO hole (the LAPIC at 0xFEE00000 in
 * every VM) and within the VMM's CNode: each 2 MiB frame takes two of its
 * 4096 slots (the guest's mapping and the VMM's own). */
#define SC_VM_MAX_MIB            3072
#define SC_VMM_MAX_RAM_MIB       3072   /* the RAM of all VMs of one VMM together */
#define SC_MAX_GUEST_MODULES     4      /* Multiboot modules of one VM ('modules') */
#define SC_MAX_BOOT_MODULES      19     /* boot modules one kernel maps (NESTOR_BOOTINFO_MAX_MODULES) */
#define SC_MAX_NESTED_BOOT_MODULES 16   /* ... a nested stack's kernel: what a VMM gives it
                                           (vmm-server MB_MAX_MODULES; within its
                                           SC_VMM_MAX_FILES and config anyway) */
#define SC_VMM_MAX_FILES         15     /* images and module files one VMM is given (these and
                                           the config: SC_MAX_BOOT_MODULES) */
#define SC_MODULE_NAME_MAX       47     /* a boot module's name (nestor_module_desc_t), less its NUL */
#define SC_MAX_NESTING           3      /* stacks inside nested stacks, at most this deep
                                           (tools/nestor/topo.py MAX_NESTING); deeper ones
                                           would not fit boot module names anyway */
#define SC_VM_RAM_GRANULE_MIB    2      /* guest RAM is built of 2 MiB frames */
#define SC_VM_MAX_VCPUS          1      /* one vCPU per VM today */
#define SC_VMM_BASE_MIB          2      /* the VMM's own objects and tables */
#define SC_VMM_PER_VM_MIB        1      /* EPT tables, vCPU, state pages */
#define SC_MONITOR_MIN_MIB       1
#define SC_PRIO_MIN              101    /* above every vCPU thread (100) */
#define SC_PRIO_MAX              254    /* below init (255) */
#define SC_PRIO_VMM_DEFAULT      250
#define SC_PRIO_MONITOR_DEFAULT  200
#define SC_MAX_IRQ_LINE          15     /* the legacy PIC's lines */
#define SC_MAX_PORT              0xFFFF
/* Host ports the kernel keeps for itself and never issues (its
 * IOPORT_CONTROL_ISSUE refuses them: microkernel/kernel/devices.c), so a
 * config granting any of them could never start. */
#define SC_CONSOLE_PORT_FIRST    0x3F8  /* COM1: the kernel's console */
#define SC_CONSOLE_PORT_LAST     0x3FF
#define SC_PIC1_PORT_FIRST       0x20   /* the master 8259: the kernel routes IRQs */
#define SC_PIC1_PORT_LAST        0x21
#define SC_PIC2_PORT_FIRST       0xA0   /* the slave 8259 */
#define SC_PIC2_PORT_LAST        0xA1

/* Boot module names: "TAG NAME". The harness (tools/nestor/config.py) gives
 * init a stack's config, programs and images by these; init hands the VMM
 * the config and its images under the same names. */
#define SC_MODULE_CONFIG  "stack-config "
#define SC_MODULE_PROGRAM "program "
#define SC_MODULE_IMAGE   "image "
#define SC_MODULE_ROOTTASK "roottask "  /* the kernel's root task (microkernel/kernel/boot_root.h) */
#define SC_ROOT_TASK      "init"

/*
 * A VM with 'nested-config' NAME boots a whole Nestor: the kernel ELF, and as
 * its boot modules what the stack NAME boots with on a machine of its own
 * (GRUB's module strings: "roottask init", "program vmm", "image hello", ...,
 * "stack-config NAME"). The outer stack carries each of those files as an
 * image called "NAME/STRING" (module "image NAME/program vmm"), the kernel as
 * "NAME/kernel": names with a '/', which no image name has, so they collide
 * with nothing; a nested stack's own nested stacks nest the same way
 * ("image NAME/image INNER/kernel"). The VMM gives the kernel every image
 * "NAME/..." but the kernel as a module, with STRING as its string.
 */
#define SC_NESTED_SEP     "/"
#define SC_NESTED_KERNEL  "kernel"

typedef enum {
    SC_VMM_SERVER,                  /* "nestor,vmm-server": runs VMs */
    SC_COUNT_MONITOR,               /* "nestor,count-monitor": counts exits it takes */
    SC_NESTED_VMX,                  /* "nestor,nested-vmx": virtual VMX for guest hypervisors */
    SC_VIRTIO_CONSOLE,              /* "nestor,virtio-console": a device server (device-servers/) */
    SC_INSPECTOR,                   /* "nestor,inspector": a GDB stub for its VM */
    SC_BLK,                         /* "nestor,blk": a block device server (device-servers/blk) */
    SC_PAGER,                       /* "nestor,pager": demand paging of its VM's RAM */
    SC_CHECKPOINT,                  /* "nestor,checkpoint": checkpoints of its VM (checkpoint/) */
    SC_NET,                         /* "nestor,net": virtio-net devices and their switch */
    SC_N_KINDS
} sc_kind_t;

/* The exits an inspector takes (inspector/README.md): #DB and #BP (exception
 * exits, table slots NESTOR_EXIT_SLOT_EXCEPTION + vector) and its own pauses
 * (NESTOR_VCPU_PAUSE at its level exits as NESTOR_EXIT_PREEMPT_TIMER), and
 * MOV DR (NESTOR_EXIT_DR_ACCESS), which exits only while it sets "MOV-DR
 * exiting" (SDM 25.1.3) to show the guest its own debug registers. */
#define SC_EXIT_DEBUG_EXCEPTION  (NESTOR_EXIT_SLOT_EXCEPTION + 1)    /* SDM 6.15: #DB is 1 */
#define SC_EXIT_BREAKPOINT       (NESTOR_EXIT_SLOT_EXCEPTION + 3)    /* SDM 6.15: #BP is 3 */

/* An inspector's 'level': the guest it debugs. 1: its VM's own guest (L1);
 * 2: the guest of its VM's guest hypervisor (L2), through nested-vmx stacked
 * right after it: the VMM hands nested-vmx the inspector's endpoint, and
 * nested-vmx stacks it on its L2 vCPU (inspector/README.md). */
#define SC_INSPECTOR_LEVEL_VM    1
#define SC_INSPECTOR_LEVEL_L2    2

/* A VM stacking a pager (pager/README.md): the VMM keeps the first
 * SC_PAGER_VMM_KEEP_MIB of its RAM (the image, its boot information) as
 * always; the rest is the pager's, mapped page by page as the guest touches
 * it. So such a VM has more RAM than that, and its VMM's budget counts only
 * what it keeps. */
#define SC_PAGER_VMM_KEEP_MIB    2

/* VM devices the VMM models (a bit each). */
enum { SC_DEV_PIC = 1u << 0, SC_DEV_PIT = 1u << 1, SC_DEV_RTC = 1u << 2,
       SC_DEV_LAPIC = 1u << 3, SC_DEV_UART = 1u << 4, SC_DEV_ALL = 0x1F };

/* Whether monitors of kind @k are device servers: named in a VM's 'virtio',
 * never in its 'monitors' (they take no exits). */
static inline bool sc_kind_is_device_server(sc_kind_t k)
{
    return k == SC_VIRTIO_CONSOLE || k == SC_BLK || k == SC_NET;
}

/* Whether monitors of kind @k may be clients of a block server ('blk'):
 * every monitor that is neither a VMM nor a device server. */
static inline bool sc_kind_blk_client(sc_kind_t k)
{
    return k != SC_VMM_SERVER && !sc_kind_is_device_server(k) && k != SC_N_KINDS;
}

typedef struct { uint32_t first, last; } sc_port_range_t;
typedef struct { uint64_t first, count; } sc_sectors_t;   /* count 0: none */

typedef struct {
    char name[SC_NAME_MAX];
    sc_kind_t kind;
    uint32_t memory_mib, priority;
    sc_port_range_t ports[SC_MAX_PORT_RANGES];
    unsigned n_ports;
    uint32_t irqs[SC_MAX_IRQS];
    unsigned n_irqs;
    uint32_t exits[SC_MAX_EXITS];   /* exit reasons it takes (stacked monitors) */
    unsigned n_exits;
    char options[SC_OPTIONS_MAX];
    int node;                       /* offset in the blob (for messages) */
    uint32_t phandle;
    /* nestor,blk: the sectors of its VM's virtio device ('vm-sectors'), or
     * the image backing it instead, copy-on-write in the server's RAM
     * ('image': the boot module "image NAME"; "" for none) */
    sc_sectors_t vm_sectors;
    char image[SC_NAME_MAX];
    /* a block server's client ('blk = <&SERVER FIRST COUNT>'): the server's
     * index (-1: none), the partition, and its number among the server's
     * clients (its badge, blk_proto.h BLK_BADGE_CLIENT) */
    int blk_server;
    sc_sectors_t blk_sectors;
    unsigned blk_client;
    uint32_t blk_phandle;           /* as read (resolved by the checks) */
    uint32_t guest_level;           /* nestor,inspector: SC_INSPECTOR_LEVEL_* ('level') */
} sc_monitor_t;

typedef struct {                    /* a VM's Multiboot module: a file and its string */
    char file[SC_NAME_MAX];         /* an image name: boots as module "image FILE" */
    char string[SC_OPTIONS_MAX];
} sc_module_t;

typedef struct {
    char name[SC_NAME_MAX];
    char guest[SC_NAME_MAX];        /* image name, or "" for a nested stack */
    char nested[SC_NAME_MAX];       /* nested stack config name, or "" */
    bool linux_kernel;              /* 'kernel' (guest is a Linux bzImage, modules[0]
                                       its 'initrd' if any), not 'guest' */
    char cmdline[SC_OPTIONS_MAX];
    uint32_t memory_mib, vcpus, devices;
    sc_module_t modules[SC_MAX_GUEST_MODULES];
    unsigned n_modules;
    int stack[SC_MAX_STACK];        /* monitor indices, from the VM outward */
    int virtio[SC_MAX_VIRTIO];      /* device servers of its virtio devices, device N's first
                                       (its window and IRQ: lib/include/vm_layout.h) */
    unsigned n_virtio;
    bool vmcs_shadowing;            /* 'vmcs-shadowing': nested-vmx may use the CPU's VMCS
                                       shadowing for this VM's hypervisor (default on;
                                       "off": every VMREAD/VMWRITE of it exits) */
    int node;                       /* offset in the blob (for messages) */
    unsigned n_stack;               /* the last one is the VMM running it */
    unsigned nested_files;          /* nested stack: the files it boots from, the kernel
                                       included (0: its config was not read) */
} sc_vm_t;

typedef struct {
    char model[SC_OPTIONS_MAX];
    uint32_t machine_mib, machine_cpus;
    sc_monitor_t mon[SC_MAX_MONITORS];
    unsigned n_mon;
    sc_vm_t vm[SC_MAX_VMS];
    unsigned n_vm;
    int start_order[SC_MAX_MONITORS];   /* monitors, each after those it passes exits to */
    unsigned boot_files;            /* boot modules it boots with: the root task, programs,
                                       images, nested stacks' files, the config */
} sc_stack_t;

typedef struct {
    char msg[SC_MAX_ERRORS][SC_MSG_MAX];
    unsigned n;                     /* stored */
    unsigned total;                 /* found (more than stored when many) */
} sc_report_t;

/* What the checks ask of the place they run: the host tool looks in the
 * build tree, init at its boot modules. Any hook may be NULL (not checked). */
typedef enum { SC_FILE_PROGRAM, SC_FILE_IMAGE, SC_FILE_CONFIG } sc_file_kind_t;
typedef struct {
    bool (*exists)(void *ctx, sc_file_kind_t kind, const char *name);
    /* The bytes of a nested stack's compiled config (kind SC_FILE_CONFIG), or
     * of a file by a name as exists() gets it; NULL if there is none. A NULL
     * hook: nested configs are not read (nor checked). */
    const void *(*read)(void *ctx, sc_file_kind_t kind, const char *name, size_t *size);
    void *ctx;
    const char *configs_dir;        /* messages name nested config NAME "DIR/NAME.dts"
                                       (NULL: "NAME.dtb") */
    uint32_t memory_limit_mib;      /* 0: the config's /machine memory-mib */
    uint32_t machine_mib;           /* RAM of the machine it boots on (0: unknown): the
                                       config's /machine memory-mib may not be more */
} sc_env_t;

/* Read and check @blob[0..size). Returns true if the stack is good; fills
 * @rep with every error otherwise (@file names the source in messages). */
bool sc_load(const void *blob, size_t size, const char *file, const sc_env_t *env,
             sc_stack_t *out, sc_report_t *rep);

const char *sc_kind_compatible(sc_kind_t k);   /* "nestor,vmm-server" */
const char *sc_kind_program(sc_kind_t k);      /* "vmm": build/user/vmm.elf */
const char *sc_exit_name(uint32_t reason);     /* "cpuid", or NULL */
/* Devices as "pic,pit,...", into @buf. */
void sc_devices_str(uint32_t devices, char *buf, size_t size);
/* The files a VM boots from (its image, then its module files), into
 * @out[0..SC_MAX_GUEST_MODULES]; returns how many. */
unsigned sc_vm_files(const sc_vm_t *vm, const char *out[1 + SC_MAX_GUEST_MODULES]);
/* The image name, in the outer stack, of nested stack @config's file
 * @inner ("program vmm", or SC_NESTED_KERNEL): "CONFIG/INNER", into @buf.
 * False if it does not fit @size or a boot module name. */
bool sc_nested_file(char *buf, size_t size, const char *config, const char *inner);
/* What a nested stack's file @file ("demo/program vmm", "a/image b/kernel")
 * is on the machine that boots it in the end: the part after the last '/'
 * ("program vmm", "kernel"); NULL when @file is no nested stack's. */
const char *sc_nested_inner(const char *file);
/* Whether @vm's stack holds a nestor,nested-vmx: it is shown VMX. */
bool sc_vm_has_vmx(const sc_stack_t *s, const sc_vm_t *vm);
/* The monitor a VM's stack ends with: the VMM that runs it. */
/* The pager stacked on @vm, or NULL (it is the one right above the VMM). */
const sc_monitor_t *sc_vm_pager(const sc_stack_t *s, const sc_vm_t *vm);
/* RAM of @vm its VMM backs itself (MiB): all of it, or without a pager's part. */
uint32_t sc_vm_vmm_ram_mib(const sc_stack_t *s, const sc_vm_t *vm);
static inline const sc_monitor_t *sc_vm_vmm(const sc_stack_t *s, const sc_vm_t *vm)
{
    return &s->mon[vm->stack[vm->n_stack - 1]];
}

#endif
