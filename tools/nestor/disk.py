"""Disk images for the block server (device-servers/blk): a raw file the
emulator attaches as the primary ATA master (Bochs ata0-master, QEMU
-drive if=ide,index=0), so what a guest writes is on the host after the run.

Bochs's flat disks need a geometry: we use 16 heads and 63 sectors per
track (the largest an ATA CHS translation has), so an image is a whole
number of 516,096-byte cylinders. Sizes are rounded up to that.
"""
import os

from nestor.errors import NestorError

SECTOR_BYTES = 512
HEADS = 16
SECTORS_PER_TRACK = 63
CYLINDER_BYTES = HEADS * SECTORS_PER_TRACK * SECTOR_BYTES
MAX_CYLINDERS = 65535           # Bochs's limit for a flat image's cylinders
MIB = 1 << 20


def create(path, mib):
    """A fresh, zeroed (sparse) image of at least @mib MiB; returns its path."""
    if mib <= 0:
        raise NestorError('disk %s: size must be at least 1 MiB, got %s' % (path, mib))
    cylinders = -(-mib * MIB // CYLINDER_BYTES)
    if cylinders > MAX_CYLINDERS:
        raise NestorError('disk %s: %d MiB is more than %d cylinders of %d bytes' %
                          (path, mib, MAX_CYLINDERS, CYLINDER_BYTES))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # Bochs locks a flat image with PATH.lock and leaves the lock behind when
    # it is killed (a test's timeout): the next run then could not open its
    # fresh image. A fresh image is no running emulator's.
    try:
        os.unlink(path + '.lock')
    except FileNotFoundError:
        pass
    with open(path, 'wb') as fh:
        fh.truncate(cylinders * CYLINDER_BYTES)
    return path


def cylinders(path):
    """The image's cylinders for Bochs; a clear error for a file that is
    missing or not a whole number of cylinders."""
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise NestorError('disk %s: %s' % (path, e.strerror))
    if size == 0 or size % CYLINDER_BYTES or size // CYLINDER_BYTES > MAX_CYLINDERS:
        raise NestorError('disk %s: %d bytes is not 1 to %d whole cylinders of %d heads x %d '
                          'sectors (%d bytes each), the geometry the emulators are given; '
                          'resize it (truncate -s) or make one with --disk-mib' %
                          (path, size, MAX_CYLINDERS, HEADS, SECTORS_PER_TRACK, CYLINDER_BYTES))
    return size // CYLINDER_BYTES


def parse_spec(value):
    """A spec's 'disk: NAME=SIZE_MIB' -> (NAME, MIB)."""
    name, sep, mib = value.partition('=')
    if not sep or not name or not mib.isdigit() or int(mib) == 0 or \
            not all(c.isalnum() or c in '-_' for c in name):
        raise ValueError("disk: expected NAME=SIZE_MIB (a name of a-z 0-9 - _, a size >= 1)")
    return name, int(mib)
