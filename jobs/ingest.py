"""spark-submit entry point: `clout ingest`. All logic lives in lib/clout."""

import sys

from clout.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
