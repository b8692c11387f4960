"""Run the SCons build."""
import os
import subprocess

from nestor import paths
from nestor.errors import NestorError


def scons(quiet=True, jobs=None):
    """Build everything; on failure raise with the compiler's output."""
    jobs = jobs or os.cpu_count() or 1
    cmd = ['scons', '-Q', '-j%d' % jobs]
    res = subprocess.run(cmd, cwd=paths.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    if res.returncode != 0:
        raise NestorError('build failed (%s):\n%s' % (' '.join(cmd), res.stdout.rstrip()))
    if not quiet and res.stdout.strip():
        print(res.stdout.rstrip())
