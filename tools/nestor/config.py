"""Stack configs: device tree sources compiled with dtc into boot modules."""
import os
import subprocess

from nestor import image, paths
from nestor.errors import NestorError

CONFIG_MODULE_TAG = 'stack-config'
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


def compile_dts(dts, out_dir=None):
    """Compile @dts to a DTB in @out_dir (default build/configs); return
    (dtb, module command line). The configs in stack-configs/ are compiled
    by the SCons build (build/stack-configs/): that DTB is used when current."""
    name = os.path.splitext(os.path.basename(dts))[0]
    built = os.path.join(paths.BUILD, 'stack-configs', name + '.dtb')
    if (out_dir is None and os.path.dirname(os.path.abspath(dts)) == paths.STACK_CONFIGS and
            os.path.isfile(built) and os.path.getmtime(built) >= os.path.getmtime(dts)):
        return built, '%s %s' % (CONFIG_MODULE_TAG, name)
    out_dir = out_dir or os.path.join(paths.BUILD, 'configs')
    os.makedirs(out_dir, exist_ok=True)
    dtb = os.path.join(out_dir, name + '.dtb')
    res = subprocess.run(['dtc', '-I', 'dts', '-O', 'dtb', '-o', dtb, dts],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        raise NestorError('config %s: dtc refused it:\n%s' % (paths.rel(dts), res.stdout.rstrip()))
    return dtb, '%s %s' % (CONFIG_MODULE_TAG, name)


TOOL = os.path.join(paths.BUILD, 'host', 'tools', 'nestor-config')


def tool(cmd, dts, dtb, configs_dir=paths.STACK_CONFIGS):
    """Run nestor-config @cmd on @dtb (source @dts); return its stdout. A
    refused config raises NestorError with every error it found."""
    if not os.access(TOOL, os.X_OK):
        raise NestorError('%s is not built (scons -Q builds it)' % paths.rel(TOOL))
    res = subprocess.run([TOOL, cmd, '--name', paths.rel(dts), '--build', paths.BUILD,
                          '--configs', configs_dir, dtb],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if res.returncode == 1:
        raise NestorError('config %s refused:\n%s' % (paths.rel(dts), res.stderr.rstrip()))
    if res.returncode != 0:
        raise NestorError('%s %s %s failed (exit %d):\n%s' %
                          (paths.rel(TOOL), cmd, paths.rel(dtb), res.returncode,
                           (res.stderr + res.stdout).rstrip()))
    return res.stdout


def check(dts):
    """Compile and validate @dts; return (dtb, module command line). A bad
    config raises NestorError with every error the validator found."""
    dtb, tag = compile_dts(dts)
    tool('check', dts, dtb)
    return dtb, tag


def facts(dts):
    """The 'topo: ...' lines of a good config @dts."""
    dtb, _ = check(dts)
    return tool('facts', dts, dtb).splitlines()


def _image_module(name):
    path = os.path.join(paths.BUILD, 'guests', name + '.bin')
    if not os.path.isfile(path):
        path = path[:-4] + '.elf'
    return (path, 'image %s' % name)


def boot_modules(dts, roottask=None, extra_guests=()):
    """The boot modules for config @dts, after the same checks init makes at
    boot: the root task (init, or @roottask), the monitors' programs and the
    VMs' images the config names, @extra_guests ("guest NAME" modules for a
    vmm root task), and the compiled config itself."""
    dtb, dtb_cmdline = check(dts)
    mods = [image.root_task_module(roottask or DEFAULT_ROOT_TASK)]
    for line in tool('modules', dts, dtb).splitlines():
        kind, _, name = line.partition(' ')
        if kind == 'program':
            mods.append((os.path.join(paths.BUILD, 'user', name + '.elf'), 'program %s' % name))
        elif kind == 'image':
            mods.append(_image_module(name))
    return mods + [image.guest_module(g) for g in extra_guests] + [(dtb, dtb_cmdline)]


class RefusedBeforeBoot:
    """A host-side test: a broken config in tests/configs is refused by the
    boot path ('./nestor run' and the harness) before anything boots, with
    the node and property of each error named."""
    kind = 'config'
    # (config, messages that must be among the errors)
    CASES = [('bad-at-boot', ["/monitors/pager: property 'compatible': expected "
                              "\"nestor,vmm-server\" or \"nestor,count-monitor\", got \"nestor,pager\"",
                              "/monitors/vmm: property 'memory-mib': expected at least 11 MiB",
                              "3 errors: the stack is refused, nothing boots"])]

    def __init__(self, name, wanted):
        self.id = 'config/refused/' + name
        self.dts = os.path.join(paths.ROOT, 'tests', 'configs', name + '.dts')
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


def tests():
    return [RefusedBeforeBoot(name, wanted) for name, wanted in RefusedBeforeBoot.CASES]
