"""spark-submit entry point: `clout daily`. All logic lives in lib/clout."""

import sys

from clout.cli import main

if __name__ == "__main__":
    sys.exit(main(["daily", *sys.argv[1:]]))
