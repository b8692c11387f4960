/*
 * nestor/errors.h - error codes returned by the kernel.
 *
 * An invocation of a kernel object returns its error in the label of the
 * reply message info (0 = success) and, for detail, the failing argument's
 * index or the offending value in MR0 (see each error below).
 */
#ifndef NESTOR_ERRORS_H
#define NESTOR_ERRORS_H

typedef enum {
    NESTOR_OK = 0,
    NESTOR_ERR_INVALID_ARGUMENT = 1,  /* MR0 = index of the bad argument */
    NESTOR_ERR_INVALID_CAPABILITY = 2,/* MR0 = 0 for the invoked cap, 1+i for extra cap i */
    NESTOR_ERR_ILLEGAL_OPERATION = 3, /* label unknown for this object type */
    NESTOR_ERR_RANGE = 4,             /* MR0 = minimum, MR1 = maximum allowed */
    NESTOR_ERR_ALIGNMENT = 5,
    NESTOR_ERR_FAILED_LOOKUP = 6,     /* MR0 = bits left unresolved */
    NESTOR_ERR_TRUNCATED_MESSAGE = 7,
    NESTOR_ERR_DELETE_FIRST = 8,      /* destination slot is not empty */
    NESTOR_ERR_REVOKE_FIRST = 9,      /* the object still has derived capabilities */
    NESTOR_ERR_NOT_ENOUGH_MEMORY = 10,/* MR0 = bytes available */
    NESTOR_ERR_INSUFFICIENT_RIGHTS = 11,
    NESTOR_ERR_DELETED = 12,          /* the object was deleted while we waited on it */
    NESTOR_ERR_WOULD_BLOCK = 13,      /* non-blocking operation found no partner */
    NESTOR_ERR_NO_REPLY = 14,         /* reply with nobody to reply to */
    NESTOR_ERR_UNKNOWN_SYSCALL = 15,
    NESTOR_ERR_TIMED_OUT = 16,        /* a bounded call got no reply in time (the receiver,
                                         if it took the message, can no longer reply) */
    NESTOR_ERR_COUNT
} nestor_error_t;

#endif
