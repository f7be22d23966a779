"""spark-submit entry point: `clout backfill`. All logic lives in lib/clout."""

import sys

from clout.cli import main

if __name__ == "__main__":
    sys.exit(main(["backfill", *sys.argv[1:]]))
