"""Stack configs: device tree sources compiled with dtc into boot modules."""
import os
import subprocess

from nestor import paths
from nestor.errors import NestorError

CONFIG_MODULE_TAG = 'stack-config'


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
