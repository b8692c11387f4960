/*
 * init/spawn.h - start a program from an ELF boot module as a process of
 * its own: a fresh VSpace and CSpace, holding only what the caller grants.
 * The program starts as the kernel starts the root task (same entry, same
 * boot-info page), so one runtime serves both; its boot info names what it
 * was given: untyped memory, modules, grants, and the endpoint its end
 * and faults go to.
 */
#ifndef INIT_SPAWN_H
#define INIT_SPAWN_H
#include <nestor/bootinfo.h>
#include <stdbool.h>
#include <user/space.h>

#define SPAWN_MAX_MODULES 16          /* what init hands a program (a VMM: SC_VMM_MAX_FILES + 1) */
#define SPAWN_MAX_UNTYPEDS 32           /* pieces of one monitor's budget */

/* A monitor's budget, carved out of init's RAM before anything starts:
 * untyped capabilities in init's CSpace, moved into the monitor's at spawn. */
typedef struct {
    nestor_cptr_t slot[SPAWN_MAX_UNTYPEDS];
    uint8_t size_bits[SPAWN_MAX_UNTYPEDS];
    unsigned n;
} spawn_budget_t;

/* Carve @mib MiB from init's RAM untypeds into @out: power-of-two pieces of
 * at least 1 MiB, the largest that fit first, each from the smallest untyped
 * that holds it (so large ones stay whole for large pieces). False if init
 * cannot give that much (what was carved stays with init). */
bool spawn_carve_budget(nu_alloc_t *a, const nestor_bootinfo_t *init_bi, uint32_t mib,
                        spawn_budget_t *out);

typedef struct {
    const char *name;
    const void *data;
    nestor_word_t size;
} spawn_module_t;

/* What to grant: an I/O port range or IRQ line (issued from init's control
 * capabilities), or a copy of an endpoint of init's with @rights. */
typedef struct {
    nestor_grant_kind_t kind;
    nestor_word_t arg0, arg1;
    nestor_cptr_t endpoint;          /* NESTOR_GRANT_ENDPOINT / _SERVICE: in init's CSpace */
    nestor_word_t rights;
    const char *name;
} spawn_grant_t;

typedef struct {
    const char *name;                /* for messages */
    const void *elf;
    nestor_word_t elf_size;
    uint32_t memory_mib;             /* its budget in MiB (for messages) ... */
    const spawn_budget_t *budget;    /* ... carved beforehand (spawn_carve_budget) */
    uint32_t priority;
    const char *cmdline;
    spawn_module_t modules[SPAWN_MAX_MODULES];
    unsigned n_modules;
    spawn_grant_t grants[NESTOR_BOOTINFO_MAX_GRANTS];
    unsigned n_grants;
    nestor_cptr_t parent_ep;         /* badged endpoint in init's CSpace */
    bool parent_grant;               /* it may send init a capability (a VMM's DS_INIT_WATCH) */
} spawn_req_t;

typedef struct {
    nestor_cptr_t tcb, cnode, pml4;  /* in init's CSpace */
    unsigned caps;                   /* capabilities placed in its CSpace */
    unsigned untypeds;
    nestor_word_t untyped_start;     /* its budget's first slot in its CSpace */
} spawn_result_t;

/* Build and start the process; false (with the reason printed) on failure. */
bool spawn(nu_alloc_t *a, const nestor_bootinfo_t *init_bi, const spawn_req_t *r,
           spawn_result_t *out);

/*
 * End process @p for good (init restarts a device server this way): every
 * object made from its budget is deleted (its threads, its mappings of
 * memory it was granted, its endpoints), then its thread, VSpace and
 * CSpace with every capability it held; a thread waiting for its reply
 * wakes with an error (NESTOR_ERR_DELETED). Its budget's untypeds, empty
 * again, go back to @budget's slots in init's CSpace for the next spawn.
 * What init made for it from its own memory (image pages, page tables)
 * is not reclaimed: init's allocator does not free. False if a step failed.
 */
bool spawn_destroy(nu_alloc_t *a, const spawn_result_t *p, const spawn_budget_t *budget);

#endif
