"""Where things are in the tree and the build folder."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, 'build')
KERNEL = os.path.join(BUILD, 'kernel', 'nestor-kernel.elf')
JUDGE = os.path.join(BUILD, 'host', 'tools', 'serial-judge')
CKPT_TOOL = os.path.join(BUILD, 'host', 'tools', 'nestor-ckpt')
UNIT_DIR = os.path.join(BUILD, 'host', 'tests', 'unit')
IMAGES = os.path.join(BUILD, 'images')
RUNS = os.path.join(BUILD, 'runs')
TEST_LOGS = os.path.join(BUILD, 'test-logs')
SYSTEM_TESTS = os.path.join(ROOT, 'tests', 'system')
STACK_CONFIGS = os.path.join(ROOT, 'stack-configs')
TEST_CONFIGS = os.path.join(ROOT, 'tests', 'configs')
DEFAULT_CONFIG = os.path.join(STACK_CONFIGS, 'demo.dts')


def rel(path):
    """A path as the user should see it: relative to the tree when inside it."""
    r = os.path.relpath(path, ROOT)
    return path if r.startswith('..') else r
