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


KERNEL_NAME = 'nestor-kernel.elf'     # the kernel's file name in the ISO's /boot


# GRUB's command for the modules of each kernel-loading command.
MODULE_COMMAND = {'multiboot2': 'module2', 'multiboot': 'module', 'linux': 'initrd'}


def _grub_cfg(cmdline, modules, loader='multiboot2', kernel_name=KERNEL_NAME):
    lines = ['set timeout=0', 'set default=0', 'menuentry "Nestor" {',
             '    %s /boot/%s %s' % (loader, kernel_name, cmdline)]
    for i, (_, mod_cmdline) in enumerate(modules):
        lines.append(('    %s /boot/module%d %s' % (MODULE_COMMAND[loader], i, mod_cmdline)).rstrip())
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
    (build/guests/FILE.bin, a flat image; or, for guests built only as ELF
    executables, build/guests/FILE.elf; or a path, such as
    build/kernel/nestor-kernel.elf, a Multiboot2 kernel); NAME defaults to
    FILE (for a path: its file name less the extension)."""
    name, _, alias = spec.partition(':')
    try:
        path = _file(name)
    except NestorError:
        raise NestorError("guest '%s' not built (no %s, nor a file of that path)" %
                          (name, paths.rel(os.path.join(paths.BUILD, 'guests', name + '.bin'))))
    if not alias and path == name:
        alias = os.path.splitext(os.path.basename(name))[0]
    return (path, '%s %s' % (tag, alias or name))


GUEST_OPTS_TAG = 'guest-opts'  # a VM's options for the vmm root task (vmm-server/main.c)
GUEST_MOD_TAG = 'guest-mod'    # a VM's Multiboot modules, in order
MODULE_NAME_MAX = 47           # nestor_module_desc_t name, less its NUL


def _keyed(value, option):
    """Split 'NAME=REST' (an option for VM NAME)."""
    name, eq, rest = value.partition('=')
    if not eq or not name:
        raise NestorError("%s '%s': expected NAME=VALUE (NAME: the VM, as --guest names it)" %
                          (option, value))
    return name, rest


def _file(spec):
    """A module file: build/guests/FILE.bin (or .elf), or a path."""
    for path in (os.path.join(paths.BUILD, 'guests', spec + '.bin'),
                 os.path.join(paths.BUILD, 'guests', spec + '.elf'), spec):
        if os.path.isfile(path):
            return path
    raise NestorError("module file '%s' not found (build/guests/%s.bin or .elf, or a path)" %
                      (spec, spec))


def guest_modules(guests, mem=(), cmdline=(), module=()):
    """The boot modules of the vmm root task's VMs: for each --guest FILE[:NAME]
    its image, and, when options name the VM, a "guest-opts NAME" text module
    (mem=MIB, cmdline=ARGS, module=STRING lines) and its Multiboot module
    files as "guest-mod NAME" modules in order. @mem: 'NAME=MIB', @cmdline:
    'NAME=ARGS', @module: 'NAME=FILE[:STRING]'."""
    opts, files = {}, {}
    for v in mem:
        name, mib = _keyed(v, '--guest-mem')
        if not mib.isdigit():
            raise NestorError("--guest-mem '%s': expected NAME=MIB" % v)
        opts.setdefault(name, []).append('mem=' + mib)
    for v in cmdline:
        name, args = _keyed(v, '--guest-cmdline')
        if '\n' in args:
            raise NestorError("--guest-cmdline '%s': one line expected" % v)
        opts.setdefault(name, []).append('cmdline=' + args)
    for v in module:
        name, rest = _keyed(v, '--guest-module')
        f, _, string = rest.partition(':')
        opts.setdefault(name, []).append('module=' + string)
        files.setdefault(name, []).append(_file(f))
    mods, names = [], set()
    for g in guests:
        mod = guest_module(g)
        name = mod[1].split(' ', 1)[1]
        names.add(name)
        mods.append(mod)
        if name in opts:
            text = '\n'.join(opts[name]) + '\n'
            os.makedirs(paths.IMAGES, exist_ok=True)
            path = os.path.join(paths.IMAGES, 'guest-opts-%s-%s.txt' %
                                (name, hashlib.sha256(text.encode()).hexdigest()[:12]))
            with open(path, 'w') as fh:
                fh.write(text)
            mods.append((path, '%s %s' % (GUEST_OPTS_TAG, name)))
            mods += [(f, '%s %s' % (GUEST_MOD_TAG, name)) for f in files.get(name, [])]
    unknown = sorted(set(opts) - names)
    if unknown:
        raise NestorError("options for VM%s %s, which no --guest names" %
                          ('s' if len(unknown) > 1 else '', ', '.join(unknown)))
    for _, string in mods:
        if len(string) > MODULE_NAME_MAX:
            raise NestorError("boot module name '%s' longer than %d characters" %
                              (string, MODULE_NAME_MAX))
    return mods


def make_iso(cmdline='', modules=(), kernel=paths.KERNEL, loader='multiboot2'):
    """Return the path of an ISO booting @kernel with @cmdline and @modules
    ([(file, module command line)]) by GRUB's @loader command (multiboot2 for
    the Nestor kernel; multiboot for a bare test guest, see bare_iso). ISOs
    are cached by content."""
    kernel_name = KERNEL_NAME if kernel == paths.KERNEL else os.path.basename(kernel)
    cfg = _grub_cfg(cmdline, modules, loader, kernel_name)
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
            _build(iso, key, cfg, kernel, modules, kernel_name)
    return iso


BARE_CMDLINE = 'bare'   # tells a bare guest to print the verdict and end Bochs itself


def bare_iso(guest, cmdline=''):
    """An ISO on which GRUB boots test guest @guest (build/guests/NAME.bin, a
    Multiboot kernel with load addresses) itself, without Nestor, as
    `multiboot /boot/NAME.bin bare CMDLINE`: a guest that runs bare (vmxcheck)
    checks the emulator's own VMX, prints the verdict line and shuts the
    emulator down."""
    path = os.path.join(paths.BUILD, 'guests', guest + '.bin')
    if not os.path.isfile(path):
        raise NestorError("guest '%s' not built (no %s)" % (guest, paths.rel(path)))
    return make_iso(' '.join(w for w in (BARE_CMDLINE, cmdline) if w), (), path, 'multiboot')


LINUX_BARE_WORD = 'nestor.bare'  # linux/init: print the verdict, shut Bochs down


def linux_bare_iso(cmdline):
    """An ISO on which GRUB boots the Linux guest (build/guests/linux.bin with
    build/guests/initramfs.bin as its initrd) itself, without Nestor, by
    GRUB's `linux` command: the bare reference of `./nestor bench linux`."""
    kernel = os.path.join(paths.BUILD, 'guests', 'linux.bin')
    initrd = os.path.join(paths.BUILD, 'guests', 'initramfs.bin')
    for f in (kernel, initrd):
        if not os.path.isfile(f):
            raise NestorError('Linux guest not built (no %s): linux/README.md' % paths.rel(f))
    return make_iso(' '.join((cmdline, LINUX_BARE_WORD)), [(initrd, '')], kernel, 'linux')


MKRESCUE_ATTEMPTS = 2


def _build(iso, key, cfg, kernel, modules, kernel_name=KERNEL_NAME):
    stage = os.path.join(paths.IMAGES, key + '.d')
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(os.path.join(stage, 'boot', 'grub'))
    shutil.copy(kernel, os.path.join(stage, 'boot', kernel_name))
    for i, (f, _) in enumerate(modules):
        shutil.copy(f, os.path.join(stage, 'boot', 'module%d' % i))
    with open(os.path.join(stage, 'boot', 'grub', 'grub.cfg'), 'w') as fh:
        fh.write(cfg)
    tmp = iso + '.tmp'
    # xorriso (under grub-mkrescue) has been seen to die of SIGSEGV while
    # shutting down after writing a good image, on a loaded machine: a
    # failure is tried once more before it counts.
    for attempt in range(MKRESCUE_ATTEMPTS):
        res = subprocess.run(['grub-mkrescue', '-o', tmp, stage], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        if res.returncode == 0:
            break
    if res.returncode != 0:
        raise NestorError('image: grub-mkrescue failed %d times:\n%s' %
                          (MKRESCUE_ATTEMPTS, res.stdout.rstrip()))
    os.replace(tmp, iso)
    shutil.rmtree(stage, ignore_errors=True)
