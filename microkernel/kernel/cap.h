/*
 * kernel/cap.h - capabilities, slots, and the capability derivation tree.
 *
 * The derivation tree is kept, as in seL4, as one doubly linked list in
 * derivation order: a capability's descendants follow it directly, and
 * "is parent of" is decided from the two capabilities and two bits of the
 * child's slot (revocable, first_badged). This needs no allocation and
 * makes revoke a walk forward from the slot.
 */
#ifndef KERNEL_CAP_H
#define KERNEL_CAP_H
#include "kernel/kobj.h"
#include <nestor/objects.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint8_t type;        /* nestor_obj_type_t */
    uint8_t rights;      /* NESTOR_RIGHT_* */
    uint8_t size_bits;   /* untyped: log2 size; CNode: radix; frames: log2 size */
    uint8_t guard_bits;  /* CNode: guard length */
    uint32_t flags;      /* 4 KiB frames: CAP_FRAME_ALIAS */
    uint64_t obj;        /* kernel address of the object; IRQ line; port range */
    uint64_t word1;      /* badge (endpoint, notification); untyped: bytes used;
                            CNode: guard value; frames/page tables: mapped vaddr */
    uint64_t word2;      /* frames/page tables: vspace id + 1 when mapped, else 0 */
} cap_t;

typedef struct cte {
    cap_t cap;
    struct cte *prev, *next;     /* derivation order */
    uint8_t revocable;           /* may have children (an original, or a badging mint) */
    uint8_t first_badged;        /* first capability with this badge */
    uint8_t reserved[6];
    uint64_t zombie_next;        /* slot 0 of a CNode being destroyed: next such CNode */
} cte_t;

_Static_assert(sizeof(cte_t) == (1u << NESTOR_CNODE_SLOT_BITS), "slot size");

/* A 4 KiB frame capability made by NESTOR_FRAME_SLICE_ALIAS: a slice of a
 * 2 MiB frame that may be used while the frame is mapped whole, only as an
 * EPT mapping of type WB, never copied (kernel/paging.c frame_slice_alias). */
#define CAP_FRAME_ALIAS 1u

/* I/O port range capabilities keep [first, last] in obj. */
#define IOPORT_RANGE(first, last) ((uint64_t)(first) | (uint64_t)(last) << 16)
#define IOPORT_FIRST(obj) ((uint16_t)((obj) & 0xFFFF))
#define IOPORT_LAST(obj) ((uint16_t)(((obj) >> 16) & 0xFFFF))

static inline bool cap_is_null(const cap_t *c) { return c->type == NESTOR_OBJ_NULL; }

/* Size in bytes of the memory a capability's object occupies (0 if none). */
uint64_t cap_object_size(const cap_t *c);
/* log2 size of a fixed-size object type, or -1 for variable/untypable ones. */
int obj_type_fixed_bits(nestor_obj_type_t t);
/* log2 bytes an object of @type with @size_bits argument takes; -1 if invalid. */
int obj_type_bits(nestor_obj_type_t t, unsigned size_bits);

/* Is @b's object (or range) inside what @a covers? (seL4: sameRegionAs) */
bool cap_same_region(const cap_t *a, const cap_t *b);
/* Do @a and @b name the same object? */
bool cap_same_object(const cap_t *a, const cap_t *b);
/* Badge of an endpoint or notification capability (0 = unbadged). */
uint64_t cap_badge(const cap_t *c);

/* Is @s a 4 KiB frame capability inside the 2 MiB frame of @frame (a slice
 * or an alias slice)? */
bool cap_is_slice_of(const cap_t *s, const cap_t *frame);
/* Is @c an alias slice (CAP_FRAME_ALIAS)? */
static inline bool cap_is_alias(const cap_t *c)
{
    return c->type == NESTOR_OBJ_FRAME_4K && (c->flags & CAP_FRAME_ALIAS);
}
/* The capabilities to one 2 MiB frame and to its slices are adjacent in the
 * derivation list (each is derived from another of them, and a derived
 * capability goes directly after its source): the "run" of the frame.
 * First slot of the run that @slot (a 2 MiB frame capability) is in; the
 * slot after @run in it (NULL at the end), @frame being any 2 MiB cap of it. */
cte_t *cdt_frame_run_first(cte_t *slot);
cte_t *cdt_frame_run_next(const cte_t *run, const cap_t *frame);

/* Is @b derived from @a, given @b directly follows @a's descendants? */
bool cdt_is_parent(const cte_t *a, const cte_t *b);
/* Place @cap into empty @slot directly after @parent in the tree. */
void cdt_insert(cte_t *parent, cte_t *slot, cap_t cap, bool revocable, bool first_badged);
/* Insert @cap into empty @slot as a root (boot-time capabilities). */
void cdt_insert_root(cte_t *slot, cap_t cap);
/* Take @slot out of the tree and empty it. Its children stay in place. */
void cdt_remove(cte_t *slot);
/* Move @src's capability (replaced by @cap) to empty @dst, keeping its place. */
void cdt_move(cte_t *src, cte_t *dst, cap_t cap);
/* Is this the last capability to its object? */
bool cdt_is_final(const cte_t *slot);
/* The first child of @slot, or NULL. */
cte_t *cdt_first_child(const cte_t *slot);

#endif
