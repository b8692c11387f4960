/*
 * lib/user/include/user/space.h - building address spaces and threads from
 * untyped memory, for programs that start other programs (or copies of
 * themselves, as tests and benchmarks do).
 */
#ifndef USER_SPACE_H
#define USER_SPACE_H
#include <nestor/bootinfo.h>
#include <stdbool.h>
#include <stddef.h>
#include <user/invoke.h>

/* Where a program gets kernel objects: an untyped and free root-CNode slots. */
typedef struct {
    nestor_cptr_t untyped;
    nestor_cptr_t cnode;            /* root CNode, slots addressed with depth 64 */
    nestor_cptr_t next_slot, end_slot;
    /* Optional: more untyped caps to move on to, in order, when the current
     * one is full (zero-initialised: none). */
    const nestor_cptr_t *spares;
    unsigned n_spares;
} nu_alloc_t;

/* The RAM (not device) untyped capabilities of @bi into @out, largest
 * first (room for NESTOR_BOOTINFO_MAX_UNTYPED); returns how many. Adds
 * their bytes to *@total if @total is not NULL. */
unsigned nu_ram_untypeds(const nestor_bootinfo_t *bi, nestor_cptr_t *out, uint64_t *total);

/*
 * What a monitor init starts needs first: its name (the command line's
 * "monitor=", else @kind) into @name, its service endpoint into *@ep and an
 * allocator over its RAM untypeds into *@alloc (@untypeds: room for
 * NESTOR_BOOTINFO_MAX_UNTYPED, kept by the caller: the allocator's spares
 * point into it). false, after a line saying so, when there is no endpoint
 * or no memory: nothing to serve.
 */
bool nu_monitor_start(const nestor_bootinfo_t *bi, const char *kind, char *name,
                      size_t name_size, nestor_cptr_t *untypeds, nestor_cptr_t *ep,
                      nu_alloc_t *alloc);

/* Retype one object into the next free slot; 0 on failure. */
nestor_cptr_t nu_alloc_obj(nu_alloc_t *a, nestor_word_t type, nestor_word_t size_bits);

/*
 * A fresh page for another address space: @n bytes from @src at @offset
 * (zero elsewhere), written through @scratch_va (a free page of the caller's
 * own space; tables are built as needed), then mapped at @va in @pml4 with
 * @rights. Returns the frame capability, 0 on failure.
 */
nestor_cptr_t nu_fill_page(nu_alloc_t *a, nestor_word_t scratch_va, nestor_cptr_t pml4,
                           nestor_word_t va, nestor_word_t rights, const void *src, size_t n,
                           size_t offset);

/* The same for a frame of @type (NESTOR_OBJ_FRAME_4K or NESTOR_OBJ_FRAME_2M;
 * @scratch_va and @va aligned to its size): one capability for 2 MiB. */
nestor_cptr_t nu_fill_frame(nu_alloc_t *a, nestor_word_t type, nestor_word_t scratch_va,
                            nestor_cptr_t pml4, nestor_word_t va, nestor_word_t rights,
                            const void *src, size_t n, size_t offset);

/*
 * A new address space holding a private copy of this program's image at the
 * same addresses (code, data and bss as they are now), filled through the
 * free page @scratch_va of the caller's own space. Returns the PML4
 * capability, 0 on failure.
 */
nestor_cptr_t nu_clone_space(nu_alloc_t *a, nestor_word_t scratch_va);

/* Map @frame (4 KiB or 2 MiB) at @va in @pml4, building the tables it needs. */
nestor_error_t nu_map_frame(nu_alloc_t *a, nestor_cptr_t pml4, nestor_word_t va,
                            nestor_cptr_t frame, nestor_word_t rights);

/* Map the 2 MiB frame @frame at guest-physical @gpa of the EPT @ept with
 * @rights (NESTOR_EPT_R/W/X, write-back), adding the EPT PDPT and PD it
 * needs. */
nestor_error_t nu_ept_map_2m(nu_alloc_t *a, nestor_cptr_t ept, uint64_t gpa, nestor_cptr_t frame,
                             nestor_word_t rights);
/* Map the EPT page table @pt at guest-physical @gpa (2 MiB aligned) of the
 * EPT @ept, adding the EPT PDPT and PD it needs. */
nestor_error_t nu_ept_map_pt(nu_alloc_t *a, nestor_cptr_t ept, uint64_t gpa, nestor_cptr_t pt);

/* Map a fresh zeroed page at @va in @pml4, building tables as needed. */
nestor_error_t nu_map_new_page(nu_alloc_t *a, nestor_cptr_t pml4, nestor_word_t va,
                               nestor_cptr_t *frame_out);

/*
 * A thread running fn(arg) in @pml4 at priority @prio, sharing the caller's
 * CSpace. Its stack is the page at @region and its IPC buffer the page
 * after (both mapped fresh in @pml4). Returns its TCB capability, 0 on failure.
 */
nestor_cptr_t nu_thread_new(nu_alloc_t *a, nestor_cptr_t pml4, nestor_word_t region,
                            void (*fn)(nestor_word_t), nestor_word_t arg, nestor_word_t prio,
                            nestor_cptr_t fault_ep);
/* As nu_thread_new, with its own CSpace root @cspace (a cptr in ours). */
nestor_cptr_t nu_thread_new_in(nu_alloc_t *a, nestor_cptr_t cspace, nestor_cptr_t pml4,
                               nestor_word_t region, void (*fn)(nestor_word_t),
                               nestor_word_t arg, nestor_word_t prio, nestor_cptr_t fault_ep);

#endif
