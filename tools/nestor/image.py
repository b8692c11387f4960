"""Boot images: a GRUB Multiboot2 ISO holding the kernel and its modules."""
import hashlib
import os
import shutil
import subprocess
import threading

from nestor import paths
from nestor.errors import NestorError

_locks = {}
_locks_guard = threading.Lock()


def _grub_cfg(cmdline, modules):
    lines = ['set timeout=0', 'set default=0', 'menuentry "Nestor" {',
             '    multiboot2 /boot/nestor-kernel.elf %s' % cmdline]
    for i, (_, mod_cmdline) in enumerate(modules):
        lines.append('    module2 /boot/module%d %s' % (i, mod_cmdline))
    lines += ['    boot', '}', '']
    return '\n'.join(lines)


ROOT_TASK_TAG = 'roottask'   # must match ROOT_TASK_MODULE_TAG in microkernel/kernel/boot_root.h


def user_module(name, tag):
    """The boot module "@tag NAME" for user program build/user/NAME.elf."""
    path = os.path.join(paths.BUILD, 'user', name + '.elf')
    if not os.path.isfile(path):
        raise NestorError("program '%s' not built (no %s)" % (name, paths.rel(path)))
    return (path, '%s %s' % (tag, name))


def root_task_module(name):
    """The boot module for root task @name (build/user/NAME.elf)."""
    return user_module(name, ROOT_TASK_TAG)


GUEST_TAG = 'guest'          # the VMM's guest modules: "guest NAME"


def guest_module(spec, tag=GUEST_TAG):
    """The boot module "@tag NAME" for test guest FILE or FILE:NAME
    (build/guests/FILE.bin, a flat image; or, for guests built only as ELF64
    executables, build/guests/FILE.elf); NAME defaults to FILE."""
    name, _, alias = spec.partition(':')
    path = os.path.join(paths.BUILD, 'guests', name + '.bin')
    if not os.path.isfile(path) and os.path.isfile(path[:-4] + '.elf'):
        path = path[:-4] + '.elf'
    if not os.path.isfile(path):
        raise NestorError("guest '%s' not built (no %s)" % (name, paths.rel(path)))
    return (path, '%s %s' % (tag, alias or name))


def make_iso(cmdline='', modules=(), kernel=paths.KERNEL):
    """Return the path of an ISO booting @kernel with @cmdline and @modules
    ([(file, module command line)]). ISOs are cached by content."""
    cfg = _grub_cfg(cmdline, modules)
    h = hashlib.sha256(cfg.encode())
    for f in [kernel] + [m[0] for m in modules]:
        if not os.path.isfile(f):
            raise NestorError('image: %s does not exist' % paths.rel(f))
        with open(f, 'rb') as fh:
            h.update(fh.read())
    key = h.hexdigest()[:16]
    iso = os.path.join(paths.IMAGES, key + '.iso')
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if not os.path.exists(iso):
            _build(iso, key, cfg, kernel, modules)
    return iso


def _build(iso, key, cfg, kernel, modules):
    stage = os.path.join(paths.IMAGES, key + '.d')
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(os.path.join(stage, 'boot', 'grub'))
    shutil.copy(kernel, os.path.join(stage, 'boot', 'nestor-kernel.elf'))
    for i, (f, _) in enumerate(modules):
        shutil.copy(f, os.path.join(stage, 'boot', 'module%d' % i))
    with open(os.path.join(stage, 'boot', 'grub', 'grub.cfg'), 'w') as fh:
        fh.write(cfg)
    tmp = iso + '.tmp'
    res = subprocess.run(['grub-mkrescue', '-o', tmp, stage], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        raise NestorError('image: grub-mkrescue failed:\n' + res.stdout.rstrip())
    os.replace(tmp, iso)
    shutil.rmtree(stage, ignore_errors=True)
