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


def compile_dts(dts):
    """Compile @dts to a DTB under build/configs; return (dtb, module command line)."""
    name = os.path.splitext(os.path.basename(dts))[0]
    out_dir = os.path.join(paths.BUILD, 'configs')
    os.makedirs(out_dir, exist_ok=True)
    dtb = os.path.join(out_dir, name + '.dtb')
    res = subprocess.run(['dtc', '-I', 'dts', '-O', 'dtb', '-o', dtb, dts],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        raise NestorError('config %s: dtc refused it:\n%s' % (paths.rel(dts), res.stdout.rstrip()))
    return dtb, '%s %s' % (CONFIG_MODULE_TAG, name)


# What a config boots (until init reads it itself with libfdt): the root task
# in /boot/root-task, and one VM per child of /vms, named after the node, with
# the test guest in its 'guest' property:
#
#     boot { root-task = "vmm"; };
#     vms { hello { guest = "hello"; }; };
ROOT_TASK_PATH, ROOT_TASK_PROP = '/boot', 'root-task'
VMS_PATH, GUEST_PROP = '/vms', 'guest'


def _fdtget(dtb, *args):
    res = subprocess.run(['fdtget'] + list(args[:-2]) + [dtb] + list(args[-2:]),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return res.stdout.strip() if res.returncode == 0 else None


def _fdt_has_node(dtb, path):
    parent, _, name = path.rpartition('/')
    res = subprocess.run(['fdtget', '-l', dtb, parent or '/'], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    return res.returncode == 0 and name in res.stdout.split()


def plan(dts, dtb):
    """(root task or None, [guest module specs 'FILE:NAME']) that @dtb asks for."""
    roottask = None
    if _fdt_has_node(dtb, ROOT_TASK_PATH):
        roottask = _fdtget(dtb, '-t', 's', ROOT_TASK_PATH, ROOT_TASK_PROP)
        if not roottask:
            raise NestorError('config %s: %s has no string property %s' %
                              (paths.rel(dts), ROOT_TASK_PATH, ROOT_TASK_PROP))
    guests = []
    if _fdt_has_node(dtb, VMS_PATH):
        res = subprocess.run(['fdtget', '-l', dtb, VMS_PATH], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        for vm in res.stdout.split():
            guest = _fdtget(dtb, '-t', 's', '%s/%s' % (VMS_PATH, vm), GUEST_PROP)
            if not guest:
                raise NestorError('config %s: VM %s/%s has no string property %s' %
                                  (paths.rel(dts), VMS_PATH, vm, GUEST_PROP))
            guests.append('%s:%s' % (guest, vm))
    return roottask, guests


def boot_modules(dts, roottask=None, extra_guests=()):
    """The boot modules for config @dts: its root task (or @roottask), its VMs'
    guests plus @extra_guests, and the compiled config itself."""
    dtb, dtb_cmdline = compile_dts(dts)
    cfg_root, guests = plan(dts, dtb)
    root = roottask or cfg_root or DEFAULT_ROOT_TASK
    return ([image.root_task_module(root)] +
            [image.guest_module(g) for g in guests + list(extra_guests)] +
            [(dtb, dtb_cmdline)])
