/*
 * nestor/bits.h - the one BIT() macro, usable from C and assembly.
 */
#ifndef NESTOR_BITS_H
#define NESTOR_BITS_H

#ifdef __ASSEMBLER__
#define BIT(n) (1 << (n))
#else
#define BIT(n) (1ULL << (n))
#endif

#endif
