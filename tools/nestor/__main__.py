import sys

from nestor.cli import main

sys.exit(main(sys.argv[1:]))
