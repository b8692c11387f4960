"""Stack configs: device tree sources compiled with dtc into boot modules."""
import os
import subprocess

from nestor import emulators, image, paths
from nestor.errors import NestorError

# Boot module tags: SC_MODULE_* in stackcfg/stackcfg.h (what init looks for).
CONFIG_MODULE_TAG = 'stack-config'
PROGRAM_TAG = 'program'
IMAGE_TAG = 'image'
DEFAULT_ROOT_TASK = 'init'           # when neither the config nor the caller names one


def resolve(config):
    """Accept a path, or a bare name of a file in stack-configs/."""
    candidates = [config, os.path.join(paths.STACK_CONFIGS, config),
                  os.path.join(paths.STACK_CONFIGS, config + '.dts')]
    for c in candidates:
        if os.path.isfile(c):
            if not c.endswith('.dts'):
                raise NestorError('config %s: expected a device tree source (.dts)' % c)
            return os.path.abspath(c)
    raise NestorError("config '%s' not found (looked for %s)" %
                      (config, ', '.join(paths.rel(os.path.abspath(c)) for c in candidates)))


# Configs in these folders are compiled by the SCons build (stackcfg/SConscript),
# so that tests booting them in parallel read one finished blob.
BUILT_CONFIGS = {paths.STACK_CONFIGS: os.path.join(paths.BUILD, 'stack-configs'),
                 paths.TEST_CONFIGS: os.path.join(paths.BUILD, 'test-configs')}


def compile_dts(dts):
    """The DTB of @dts and its module command line: the build's blob for a
    config in stack-configs/ or tests/configs/, else compiled now into
    build/configs."""
    name = os.path.splitext(os.path.basename(dts))[0]
    built_dir = BUILT_CONFIGS.get(os.path.dirname(os.path.abspath(dts)))
    if built_dir:
        dtb = os.path.join(built_dir, name + '.dtb')
        if not os.path.isfile(dtb):
            raise NestorError('config %s: not built (no %s; scons -Q builds it)' %
                              (paths.rel(dts), paths.rel(dtb)))
        return dtb, '%s %s' % (CONFIG_MODULE_TAG, name)
    out_dir = os.path.join(paths.BUILD, 'configs')
    os.makedirs(out_dir, exist_ok=True)
    dtb = os.path.join(out_dir, name + '.dtb')
    res = subprocess.run(['dtc', '-I', 'dts', '-O', 'dtb', '-o', dtb, dts],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        raise NestorError('config %s: dtc refused it:\n%s' % (paths.rel(dts), res.stdout.rstrip()))
    return dtb, '%s %s' % (CONFIG_MODULE_TAG, name)


TOOL = os.path.join(paths.BUILD, 'host', 'tools', 'nestor-config')


def tool(cmd, dts, dtb):
    """Run nestor-config @cmd on @dtb (source @dts); return its stdout. Every
    command checks the config first: a refused one raises NestorError with
    every error it found."""
    if not os.access(TOOL, os.X_OK):
        raise NestorError('%s is not built (scons -Q builds it)' % paths.rel(TOOL))
    res = subprocess.run([TOOL, cmd, '--name', paths.rel(dts), '--build', paths.BUILD,
                          '--configs', paths.STACK_CONFIGS,
                          '--memory', str(emulators.MACHINE_MEMORY_MIB), dtb],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if res.returncode == 1:
        raise NestorError('config %s refused:\n%s' % (paths.rel(dts), res.stderr.rstrip()))
    if res.returncode != 0:
        raise NestorError('%s %s %s failed (exit %d):\n%s' %
                          (paths.rel(TOOL), cmd, paths.rel(dtb), res.returncode,
                           (res.stderr + res.stdout).rstrip()))
    return res.stdout


def facts(dts):
    """The 'topo: ...' lines of a good config @dts."""
    dtb, _ = compile_dts(dts)
    return tool('facts', dts, dtb).splitlines()


CHECKPOINT_KIND = 'nestor,checkpoint'


def _fdtget(*args):
    """fdtget's answer, split on white space; [] when it has none (a
    property or node that is not there)."""
    res = subprocess.run(['fdtget'] + list(args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    return res.stdout.split() if res.returncode == 0 else []


def checkpoint_partitions(dts):
    """(monitor name, first sector) of each checkpoint monitor of @dts: where
    its images start on the disk ('blk = <&SERVER FIRST COUNT>')."""
    dtb, _ = compile_dts(dts)
    out = []
    for name in _fdtget('-l', dtb, '/monitors'):
        node = '/monitors/' + name
        if _fdtget(dtb, node, 'compatible') == [CHECKPOINT_KIND]:
            blk = _fdtget('-t', 'u', dtb, node, 'blk')
            if len(blk) == 3:
                out.append((name, int(blk[1])))
    return out


BLK_KIND = 'nestor,blk'


def disk_sectors(dts):
    """The sectors the machine's ATA disk needs for config @dts: the end of
    the last partition on it, a block server's VM disk ('vm-sectors =
    <FIRST COUNT>') or a client's ('blk = <&SERVER FIRST COUNT>'); 0 when
    no monitor uses the disk (stack-configs/BINDINGS.md)."""
    dtb, _ = compile_dts(dts)
    end = 0
    for name in _fdtget('-l', dtb, '/monitors'):
        node = '/monitors/' + name
        if _fdtget(dtb, node, 'compatible') == [BLK_KIND]:
            part = _fdtget('-t', 'u', dtb, node, 'vm-sectors')
            if len(part) == 2:
                end = max(end, int(part[0]) + int(part[1]))
        part = _fdtget('-t', 'u', dtb, node, 'blk')
        if len(part) == 3:
            end = max(end, int(part[1]) + int(part[2]))
    return end


# A VM with nested-config NAME boots a whole Nestor (stackcfg.h, SC_NESTED_*):
# the kernel and what NAME boots with on a machine of its own, each file an
# image of the outer stack called "NAME/STRING" (STRING: its module string
# there), the kernel "NAME/kernel".
NESTED_SEP = '/'
NESTED_KERNEL = 'kernel'
MAX_BOOT_MODULES = 19                # NESTOR_BOOTINFO_MAX_MODULES: a kernel maps no more


def nested_modules(name):
    """The boot modules nested stack @name (stack-configs/NAME.dts) adds to
    the stack around it: "image NAME/kernel" (the Nestor kernel), then each
    of NAME's own boot modules (as it boots on a machine of its own, its
    nested stacks' files included) as "image NAME/STRING"."""
    dts = resolve(os.path.join(paths.STACK_CONFIGS, name + '.dts'))
    if not os.path.isfile(paths.KERNEL):
        raise NestorError('nested stack %s: the kernel is not built (no %s)' %
                          (name, paths.rel(paths.KERNEL)))
    prefix = '%s %s%s' % (IMAGE_TAG, name, NESTED_SEP)
    return [(paths.KERNEL, prefix + NESTED_KERNEL)] + \
        [(path, prefix + string) for path, string in boot_modules(dts)]


def boot_modules(dts, roottask=None, extra_guests=(), guest_opts=None):
    """The boot modules for config @dts, after the same checks init makes at
    boot (nested stacks' configs included): the root task (init, or
    @roottask), the monitors' programs and the VMs' images the config names,
    each nested stack's files (nested_modules), @extra_guests ("guest NAME"
    modules for a vmm root task), and the compiled config itself."""
    dtb, dtb_cmdline = compile_dts(dts)
    mods = [image.root_task_module(roottask or DEFAULT_ROOT_TASK)]
    nested = []
    for line in tool('modules', dts, dtb).splitlines():
        kind, _, name = line.partition(' ')
        if kind == 'program':
            mods.append(image.user_module(name, PROGRAM_TAG))
        elif kind == 'image':
            mods.append(image.guest_module(name, IMAGE_TAG))
        elif kind == 'nested':
            nested.append(name)
    for name in nested:
        mods += nested_modules(name)
    mods += image.guest_modules(extra_guests, **(guest_opts or {})) + [(dtb, dtb_cmdline)]
    for _, string in mods:
        if len(string) > image.MODULE_NAME_MAX:
            raise NestorError("config %s: boot module name '%s' longer than %d characters" %
                              (paths.rel(dts), string, image.MODULE_NAME_MAX))
    if len(mods) > MAX_BOOT_MODULES:
        raise NestorError('config %s: %d boot modules, more than the %d a kernel maps' %
                          (paths.rel(dts), len(mods), MAX_BOOT_MODULES))
    return mods


class RefusedBeforeBoot:
    """A host-side test: a broken config in tests/configs is refused by the
    boot path ('./nestor run' and the harness) before anything boots, with
    the node and property of each error named."""
    kind = 'config'
    # (config, messages that must be among the errors)
    CASES = [('bad-at-boot', ["/monitors/pager: property 'compatible': expected "
                              "\"nestor,vmm-server\", \"nestor,count-monitor\", \"nestor,nested-vmx\", "
                              "\"nestor,virtio-console\", \"nestor,inspector\", \"nestor,blk\", "
                              "\"nestor,pager\", \"nestor,checkpoint\" or \"nestor,net\", got \"nestor,snapshot\"",
                              "/monitors/vmm: property 'memory-mib': expected at least 11 MiB",
                              "3 errors: the stack is refused, nothing boots"]),
             ('budget-at-boot', ["/machine: property 'memory-mib': expected at most the %d MiB "
                                 "of the machine it boots on, got 8192" %
                                 emulators.MACHINE_MEMORY_MIB]),
             ('nested-unfit', ["/vms/inner: property 'nested-config': expected a VM whose "
                               "'monitors' include a nestor,nested-vmx (the Nestor it runs "
                               "needs VMX), got a stack of 'vmm' only",
                               "/vms/inner: property 'memory-mib': expected at least the 256 MiB "
                               "of the machine its nested stack \"demo\" is written for (its "
                               "/machine memory-mib), got 32",
                               "2 errors: the stack is refused, nothing boots"])]

    def __init__(self, name, wanted):
        self.id = 'config/refused/' + name
        self.dts = os.path.join(paths.TEST_CONFIGS, name + '.dts')
        self.wanted = wanted

    def run(self):
        from nestor import harness
        try:
            boot_modules(self.dts)
        except NestorError as e:
            missing = [w for w in self.wanted if w not in str(e)]
            if missing:
                return harness.Outcome(failed=1, detail='refused, but without: %s\n%s' %
                                       ('; '.join(missing), e))
            return harness.Outcome(passed=1, note='refused with %d lines' %
                                   len(str(e).splitlines()))
        return harness.Outcome(failed=1, detail='%s was not refused' % paths.rel(self.dts))


class NestedModules:
    """A host-side test: the boot modules of a config with a nested stack
    carry the nested stack's files, each by the name its VMM finds it by
    ("image demo/...") and with the string the nested kernel and init expect
    (what booting that config itself by GRUB gives)."""
    kind = 'config'
    id = 'config/nested-modules'
    DTS = os.path.join(paths.TEST_CONFIGS, 'nested.dts')
    INNER = 'demo'
    WANTED = ['roottask init', 'program vmm', 'program nested-vmx', 'image hello',
              'image demo/kernel', 'image demo/roottask init', 'image demo/program vmm',
              'image demo/image hello', 'image demo/stack-config demo', 'stack-config nested']

    def run(self):
        from nestor import harness
        try:
            mods = boot_modules(self.DTS)
            inner = boot_modules(resolve(self.INNER))
        except NestorError as e:
            return harness.Outcome(failed=1, detail=str(e))
        got = [string for _, string in mods]
        problems = []
        if got != self.WANTED:
            problems.append('modules %s, expected %s' % (got, self.WANTED))
        prefix = '%s %s%s' % (IMAGE_TAG, self.INNER, NESTED_SEP)
        nested = [(path, string[len(prefix):]) for path, string in mods
                  if string.startswith(prefix)]
        if nested[:1] != [(paths.KERNEL, NESTED_KERNEL)]:
            problems.append('no kernel first: %s' % nested[:1])
        if nested[1:] != inner:
            problems.append('nested files %s, but %s boots with %s' %
                            (nested[1:], self.INNER, inner))
        if problems:
            return harness.Outcome(failed=1, detail='\n'.join(problems))
        return harness.Outcome(passed=1, note='%d modules, %d of them the nested stack\'s' %
                               (len(mods), len(nested)))


def tests():
    return [RefusedBeforeBoot(name, wanted) for name, wanted in RefusedBeforeBoot.CASES] + \
        [NestedModules()]
