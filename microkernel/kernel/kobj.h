/*
 * kernel/kobj.h - how the kernel reaches objects.
 *
 * Kernel objects live in memory retyped from untyped capabilities and are
 * named by their kernel virtual address (in the physmap). On the host, unit
 * tests use ordinary pointers, so the same code runs there.
 */
#ifndef KERNEL_KOBJ_H
#define KERNEL_KOBJ_H
#include <stdint.h>

#ifdef NESTOR_HOST_TEST
#define KOBJ_PHYS_OFFSET 0ULL
#else
#include "arch/x86_64/paging.h"
#define KOBJ_PHYS_OFFSET PHYSMAP_BASE
#endif

typedef uint64_t kaddr_t;   /* kernel virtual address of an object */
typedef uint64_t paddr_t;

static inline void *kobj_ptr(kaddr_t ka) { return (void *)(uintptr_t)ka; }
static inline kaddr_t kobj_addr(const void *p) { return (kaddr_t)(uintptr_t)p; }
static inline paddr_t kobj_paddr(kaddr_t ka) { return ka - KOBJ_PHYS_OFFSET; }
static inline kaddr_t kobj_from_paddr(paddr_t pa) { return pa + KOBJ_PHYS_OFFSET; }

#endif
