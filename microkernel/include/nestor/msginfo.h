/*
 * nestor/msginfo.h - the message info word that describes every message.
 *
 *   bits  0..6   length: message registers used (0..NESTOR_MSG_MAX_LENGTH)
 *   bits  7..8   extra_caps: capabilities sent (0..NESTOR_MSG_MAX_EXTRA_CAPS)
 *   bits  9..11  caps_unwrapped: bit i set if extra cap i arrived as a badge
 *   bits 12..63  label: free for the sender; the invocation label for kernel
 *                objects, the error code in kernel replies
 */
#ifndef NESTOR_MSGINFO_H
#define NESTOR_MSGINFO_H
#include <nestor/types.h>

#define NESTOR_MSG_MAX_LENGTH      120
#define NESTOR_MSG_MAX_EXTRA_CAPS  3

#define NESTOR_MSGINFO_LENGTH_BITS   7
#define NESTOR_MSGINFO_EXTRA_SHIFT   7
#define NESTOR_MSGINFO_EXTRA_BITS    2
#define NESTOR_MSGINFO_UNWRAP_SHIFT  9
#define NESTOR_MSGINFO_UNWRAP_BITS   3
#define NESTOR_MSGINFO_LABEL_SHIFT   12
#define NESTOR_MSGINFO_LABEL_BITS    52

#define NESTOR_MSGINFO_FIELD(w, shift, bits) (((w) >> (shift)) & ((1ULL << (bits)) - 1))

typedef nestor_word_t nestor_msginfo_t;

static inline nestor_msginfo_t nestor_msginfo(nestor_word_t label, unsigned caps_unwrapped,
                                              unsigned extra_caps, unsigned length)
{
    return (label & ((1ULL << NESTOR_MSGINFO_LABEL_BITS) - 1)) << NESTOR_MSGINFO_LABEL_SHIFT |
           (nestor_word_t)(caps_unwrapped & ((1u << NESTOR_MSGINFO_UNWRAP_BITS) - 1))
               << NESTOR_MSGINFO_UNWRAP_SHIFT |
           (nestor_word_t)(extra_caps & ((1u << NESTOR_MSGINFO_EXTRA_BITS) - 1))
               << NESTOR_MSGINFO_EXTRA_SHIFT |
           (nestor_word_t)(length & ((1u << NESTOR_MSGINFO_LENGTH_BITS) - 1));
}

static inline nestor_word_t nestor_msginfo_label(nestor_msginfo_t m)
{
    return NESTOR_MSGINFO_FIELD(m, NESTOR_MSGINFO_LABEL_SHIFT, NESTOR_MSGINFO_LABEL_BITS);
}

static inline unsigned nestor_msginfo_length(nestor_msginfo_t m)
{
    return (unsigned)NESTOR_MSGINFO_FIELD(m, 0, NESTOR_MSGINFO_LENGTH_BITS);
}

static inline unsigned nestor_msginfo_extra_caps(nestor_msginfo_t m)
{
    return (unsigned)NESTOR_MSGINFO_FIELD(m, NESTOR_MSGINFO_EXTRA_SHIFT, NESTOR_MSGINFO_EXTRA_BITS);
}

static inline unsigned nestor_msginfo_caps_unwrapped(nestor_msginfo_t m)
{
    return (unsigned)NESTOR_MSGINFO_FIELD(m, NESTOR_MSGINFO_UNWRAP_SHIFT,
                                          NESTOR_MSGINFO_UNWRAP_BITS);
}

#endif
