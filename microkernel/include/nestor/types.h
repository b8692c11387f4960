/* nestor/types.h - basic ABI types. */
#ifndef NESTOR_TYPES_H
#define NESTOR_TYPES_H
#include <stdint.h>

typedef uint64_t nestor_word_t;
typedef uint64_t nestor_cptr_t;     /* a capability address in a CSpace */

#define NESTOR_WORD_BITS 64

#endif
